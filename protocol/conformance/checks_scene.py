"""The conformance checks of what a client does with its scene: parameters (in range, out of
range, unknown, ramped), make_safe and resume, the mirror stream, and prompts.

Threads: a check runs entirely in the calling thread (see :mod:`protocol.conformance.harness`).
"""

from __future__ import annotations

from protocol import messages
from protocol.conformance.harness import (
    AT_ONCE_S,
    REPLY_S,
    STAY_CALM_S,
    Fail,
    Frame,
    Harness,
    is_safety,
    is_status,
    status_of,
)
from protocol.conformance.registry import RESUME_FADE_S, _answers, _applied, _check, _close, _error, _fmt, _value_in
from protocol.timing import now

# Each check returns the reason it passed, or raises Fail with the reason it did not.


@_check(
    "parameters", "set_parameter in range → parameter_applied (at once and ramped); out of range → error out_of_range"
)
def check_parameters(h: Harness) -> str:
    h.connect()
    scene, p = h.stimulus()
    h.ensure_running(scene.id)
    current = {v.name: v.value for v in h.status.parameters} if h.status else {}
    target = _value_in(p, 0.75)
    if p.name in current and _close(current[p.name], target, p):
        target = _value_in(p, 0.25)

    # 1. In range, at once.
    mark = len(h.frames)
    sent_at = now()
    req = h.send(messages.SetParameter(name=p.name, value=target))
    h.note(f"sent set_parameter {p.name} = {_fmt(target)} (range {_fmt(p.min)} … {_fmt(p.max)}), id {req}")
    answer = h.expect(
        lambda f: _answers(f, req),
        REPLY_S,
        f"set_parameter {p.name} = {_fmt(target)} (within range) got no parameter_applied with ref_id {req} (SPEC §7)",
        mark,
    )
    if answer.type == "error":
        err = answer.message
        assert isinstance(err, messages.Error)
        raise Fail(
            f"set_parameter {p.name} = {_fmt(target)} is within {_fmt(p.min)} … {_fmt(p.max)} but was refused: "
            f"{err.code} {err.text!r}"
        )
    applied = _applied(answer)
    if applied.name != p.name or not _close(applied.value, target, p) or applied.ramping:
        raise Fail(
            f"set_parameter {p.name} = {_fmt(target)} (no ramp) was answered with parameter_applied "
            f"name={applied.name!r} value={_fmt(applied.value)} ramping={applied.ramping}; "
            "expected the value applied at once"
        )
    at_once_ms = (answer.at - sent_at) * 1000
    h.note(f"parameter_applied {p.name} = {_fmt(applied.value)} after {at_once_ms:.0f} ms")

    # 2. Out of range, above and below: refused with out_of_range, never clamped.
    refusals = []
    for label, bad in (("above", p.max + max(p.max - p.min, 1.0)), ("below", p.min - max(p.max - p.min, 1.0))):
        mark = len(h.frames)
        req = h.send(messages.SetParameter(name=p.name, value=bad), expect_error=True)
        answer = h.expect(
            lambda f, req=req: _answers(f, req),
            REPLY_S,
            f"set_parameter {p.name} = {_fmt(bad)} ({label} the declared {_fmt(p.min)} … {_fmt(p.max)}) got no "
            f"error with ref_id {req}; it must be refused with error out_of_range (SPEC §7)",
            mark,
        )
        if answer.type == "parameter_applied":
            raise Fail(
                f"set_parameter {p.name} = {_fmt(bad)} is {label} the declared range {_fmt(p.min)} … {_fmt(p.max)} "
                f"but was applied (value {_fmt(_applied(answer).value)}); out of range must be refused with error "
                "out_of_range, never clamped silently (SPEC §7)"
            )
        err = answer.message
        assert isinstance(err, messages.Error)
        if err.code != messages.ErrorCode.OUT_OF_RANGE:
            raise Fail(
                f"set_parameter {p.name} = {_fmt(bad)} ({label} range) was refused with {err.code}, "
                "not out_of_range (SPEC §7)"
            )
        refusals.append(f"{_fmt(bad)} → out_of_range {err.text!r}")
        h.note(f"set_parameter {p.name} = {_fmt(bad)}: error out_of_range {err.text!r}")

    # 3. Unknown parameter: error unknown_parameter (SPEC §7).
    mark = len(h.frames)
    req = h.send(messages.SetParameter(name="conformance_no_such_parameter", value=0.0), expect_error=True)
    answer = h.expect(
        lambda f: _answers(f, req),
        REPLY_S,
        f"set_parameter for a parameter scene {scene.id!r} does not have got no error with ref_id {req} (SPEC §9)",
        mark,
    )
    if answer.type == "parameter_applied":
        raise Fail("set_parameter for an undeclared parameter was answered with parameter_applied instead of an error")
    if _error(answer).code != messages.ErrorCode.UNKNOWN_PARAMETER:
        raise Fail(
            f"set_parameter for a parameter scene {scene.id!r} does not have was refused with "
            f"{_error(answer).code}, not unknown_parameter (SPEC §7)"
        )

    # 4. Ramped: answered at once with ramping = true, progress at most 10/s, a final ramping = false.
    ramp_s = 0.6
    start_value = applied.value
    target2 = _value_in(p, 0.25) if _close(start_value, _value_in(p, 0.75), p) else _value_in(p, 0.75)
    mark = len(h.frames)
    sent_at = now()
    req = h.send(messages.SetParameter(name=p.name, value=target2, ramp_s=ramp_s))
    first = h.expect(
        lambda f: f.type == "parameter_applied" and _applied(f).ref_id == req,
        REPLY_S,
        f"set_parameter {p.name} = {_fmt(target2)} with ramp_s {ramp_s:g} got no parameter_applied "
        f"with ref_id {req} (SPEC §7)",
        mark,
    )
    if not _close(_applied(first).target, target2, p) or not _applied(first).ramping:
        raise Fail(
            f"the answer to a {ramp_s:g} s ramp to {_fmt(target2)} says target={_fmt(_applied(first).target)} "
            f"ramping={_applied(first).ramping}; while a ramp is under way target is where it heads and ramping is true"
        )
    final = h.expect(
        lambda f: f.type == "parameter_applied" and _applied(f).name == p.name and not _applied(f).ramping,
        ramp_s + REPLY_S,
        f"a {ramp_s:g} s ramp of {p.name} to {_fmt(target2)} never ended with parameter_applied "
        "ramping = false (SPEC §7)",
        mark,
    )
    took = final.at - sent_at
    if not _close(_applied(final).value, target2, p):
        raise Fail(f"the ramp of {p.name} ended at {_fmt(_applied(final).value)}, not at the target {_fmt(target2)}")
    if took < 0.8 * ramp_s:
        raise Fail(
            f"a ramp asked to take {ramp_s:g} s ended after {took * 1000:.0f} ms; "
            "ramp_s is how long it takes (SPEC, set_parameter)"
        )
    progress = [
        f
        for f in h.frames[mark:]
        if f.type == "parameter_applied" and _applied(f).ramping and _applied(f).ref_id != req
    ]
    most = ramp_s * 10 + 2
    if len(progress) > most:
        raise Fail(f"{len(progress)} progress reports during a {ramp_s:g} s ramp; at most 10 per second (SPEC §7)")
    return (
        f"{p.name} = {_fmt(target)} applied at once ({at_once_ms:.0f} ms); {' and '.join(refusals)}; an unknown "
        f"parameter → unknown_parameter; a {ramp_s:g} s ramp reported {len(progress)} progress steps and ended "
        f"after {took * 1000:.0f} ms"
    )


@_check("make_safe", "make_safe is obeyed at once while running, paused and loading; resume brings the scene back")
def check_make_safe(h: Harness) -> str:
    h.connect()
    scene, _ = h.stimulus()
    h.ensure_running(scene.id)
    timings: list[str] = []

    def make_safe(why: str) -> float:
        mark = len(h.frames)
        sent = now()
        h.send(messages.MakeSafe(fade_s=0.3, reason=f"conformance: {why}"))
        shown = f"{h.status.scene_id} {h.status.state}" if h.status else "unknown"
        h.note(f"sent make_safe {why} (status before: {shown})")
        safe = h.expect(
            is_status("safe"),
            AT_ONCE_S,
            f"make_safe {why} was not obeyed: no scene_status with state safe within "
            f"{AT_ONCE_S * 1000:.0f} ms (SPEC §7)",
            mark,
        )
        took = safe.at - sent
        timings.append(f"{why} {took * 1000:.0f} ms")
        h.note(f"make_safe {why}: scene_status safe ({status_of(safe).scene_id}) after {took * 1000:.0f} ms")
        if status_of(safe).scene_id not in h.calm_ids():
            raise Fail(
                f"after make_safe {why} the scene_status safe names {status_of(safe).scene_id!r}, not the calm "
                f"scene ({', '.join(sorted(h.calm_ids()))}) (SPEC §7)"
            )
        return sent

    # Running.
    before = h.status
    assert before is not None
    sent = make_safe("while running")
    done = h.wait_for(is_safety("make_safe_done"), 0.3 + REPLY_S, None)
    done_note = f"make_safe_done after {(done.at - sent) * 1000:.0f} ms" if done else "no make_safe_done (optional)"
    make_safe("while safe")  # confirmed again; resume must still bring back the scene before the first
    # Resume brings back the scene shown before.
    mark = len(h.frames)
    h.send(messages.Resume(fade_s=RESUME_FADE_S))
    back = h.expect(
        is_status("running"),
        AT_ONCE_S,
        f"resume (fade_s {RESUME_FADE_S:g}) after make_safe gave no scene_status running within "
        f"{AT_ONCE_S * 1000:.0f} ms; it is reported at once, at the start of the fade back, when the stimulus "
        "starts to show (SPEC §7)",
        mark,
    )
    if status_of(back).scene_id != before.scene_id:
        raise Fail(
            f"resume after make_safe brought back {status_of(back).scene_id!r}, not the scene "
            f"shown before ({before.scene_id!r}) (SPEC §7)"
        )
    # Paused.
    mark = len(h.frames)
    h.send(messages.Pause())
    h.expect(
        is_status("paused"),
        REPLY_S,
        "pause gave no scene_status paused (SPEC §4: resend it when the state changes)",
        mark,
    )
    make_safe("while paused")
    # Loading: make_safe right behind load_scene; the load must not bring the stimulus back.
    h.send(messages.LoadScene(scene_id=scene.id))
    mark = len(h.frames)
    make_safe("while loading")
    first_safe = h.wait_for(is_status("safe"), 0, mark)
    assert first_safe is not None
    after = h.frames.index(first_safe) + 1
    h.pump(now() + STAY_CALM_S)
    back_again = [f for f in h.frames[after:] if f.type == "scene_status" and status_of(f).state != "safe"]
    if back_again:
        undone = status_of(back_again[0])
        raise Fail(
            f"make_safe during loading was undone: {(back_again[0].at - first_safe.at) * 1000:.0f} ms later the client "
            f"reported {undone.scene_id} {undone.state}; make_safe is obeyed in any "
            "state, including while loading (SPEC §7)"
        )
    return f"scene_status safe {', '.join(timings)}; {done_note}; resume brought back {before.scene_id!r}"


@_check("mirror", "mirror frames: only when enabled, no wider and no faster than asked, one unacknowledged at most")
def check_mirror(h: Harness) -> str:
    h.connect()
    fps, width = 10.0, 160
    h.auto_ack = False
    mark = len(h.frames)
    h.send(messages.MirrorSettings(enabled=True, max_fps=fps, max_width=width, quality=50))
    first = h.expect(
        lambda f: f.type == "mirror_frame",
        2.0,
        f"mirror_settings enabled ({fps:g} fps, {width} px) brought no mirror_frame within 2 s (SPEC §8)",
        mark,
    )
    unacked_s = 1.5
    h.pump(first.at + unacked_s)
    frames = h.of("mirror_frame", mark)
    h.note(f"{len(frames)} mirror frames in {unacked_s:g} s without an acknowledgement")
    if len(frames) > 2:
        raise Fail(
            f"the client sent {len(frames)} mirror frames in {unacked_s:g} s while the first was never acknowledged; "
            "at most one frame is unacknowledged at a time (and the newest may be sent again after 1 s) (SPEC §8)"
        )
    h.auto_ack = True
    for frame in frames:  # let the flow start again
        h.send(messages.MirrorAck(seq=_mirror(frame).seq, received_at=frame.at))
    acked_s = 1.5
    mark = len(h.frames)
    h.pump(now() + acked_s)
    flowing = h.of("mirror_frame", mark)
    if not flowing:
        raise Fail("after the acknowledgements the client sent no further mirror frame (SPEC §8)")
    most = int(fps * 1.2 * acked_s) + 1
    if len(flowing) > most:
        raise Fail(
            f"{len(flowing)} mirror frames in {acked_s:g} s; mirror_settings asked for at most {fps:g} a second "
            "(SPEC §8: never more than asked)"
        )
    wide = [_mirror(f) for f in frames + flowing if _mirror(f).width > width]
    if wide:
        raise Fail(f"a mirror frame is {wide[0].width} px wide; mirror_settings asked for at most {width} (SPEC §8)")
    mark = len(h.frames)
    h.send(messages.MirrorSettings(enabled=False))
    off_at = now()
    h.pump(off_at + 1.0)
    late = [f for f in h.of("mirror_frame", mark) if f.at > off_at + AT_ONCE_S]
    if late:
        raise Fail(
            f"{len(late)} mirror frames more than {AT_ONCE_S * 1000:.0f} ms after mirror_settings enabled = false "
            "(SPEC §8)"
        )
    return (
        f"{len(frames)} frame(s) in {unacked_s:g} s unacknowledged, {len(flowing)} in {acked_s:g} s acknowledged "
        f"(asked {fps:g} fps), none wider than {width} px, none after disabling"
    )


def _mirror(frame: Frame) -> messages.MirrorFrame:
    assert isinstance(frame.message, messages.MirrorFrame)
    return frame.message


@_check("prompt", "a prompt gets exactly one prompt_answer: answered within its range, or expired after timeout_s")
def check_prompt(h: Harness) -> str:
    h.connect()
    timeout_s = 1.0
    prompt = messages.Prompt(
        prompt_id=7, kind=messages.PromptKind.SUDS, text="Conformance: how anxious are you?", timeout_s=timeout_s
    )
    mark = len(h.frames)
    h.send(prompt)
    sent_at = now()
    answer_frame = h.expect(
        lambda f: f.type == "prompt_answer" and getattr(f.message, "prompt_id", None) == prompt.prompt_id,
        timeout_s + 0.5,
        f"a prompt with timeout_s {timeout_s:g} got no prompt_answer within {(timeout_s + 0.5) * 1000:.0f} ms; "
        "each prompt gets exactly one answer, with answered = false when it expires (SPEC §7)",
        mark,
    )
    answer = answer_frame.message
    assert isinstance(answer, messages.PromptAnswer)
    took = answer_frame.at - sent_at
    if answer.kind != prompt.kind:
        raise Fail(f"the prompt_answer says kind {answer.kind}, the prompt asked {prompt.kind} (SPEC §7)")
    if answer.answered and not prompt.min <= answer.value <= prompt.max:
        raise Fail(f"the answer {answer.value} is outside the prompt's {prompt.min} … {prompt.max} (SPEC §7)")
    if not answer.answered and took < timeout_s - 0.1:
        raise Fail(f"the prompt expired after {took * 1000:.0f} ms; its timeout_s was {timeout_s:g} s (SPEC §7)")
    if answer.answered_at < answer.shown_at:
        raise Fail("the prompt_answer was answered (answered_at) before it was shown (shown_at)")
    h.pump(now() + 0.5)  # a second answer would be a violation (the harness watches every check)
    verdict = f"answered {answer.value}" if answer.answered else "expired (answered = false)"
    return f"one prompt_answer for prompt {prompt.prompt_id}, {verdict}, {took * 1000:.0f} ms after the prompt"
