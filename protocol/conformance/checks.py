"""The nine conformance checks, and running them: each check gets a fresh client process and a
fresh :class:`~protocol.conformance.harness.Harness`, judges the answers against SPEC.md, and
ends with the client killed.

Threads: a check runs entirely in the calling thread (see :mod:`protocol.conformance.harness`).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from protocol import codec, messages
from protocol.conformance.harness import (
    AT_ONCE_S,
    HELLO_RETRY_S,
    LIMITS,
    PROTO,
    REPLY_S,
    STAY_CALM_S,
    WATCHDOG_SLACK_S,
    CheckResult,
    CheckTimeout,
    Fail,
    Frame,
    Harness,
    Options,
    is_safety,
    is_status,
    status_of,
)
from protocol.timing import now


def _fmt(value: float) -> str:
    return f"{value:g}"


# ---------------------------------------------------------------------------------------
# The checks. Each returns the reason it passed, or raises Fail with the reason it did not.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckSpec:
    name: str
    title: str
    run: Callable[[Harness], str]


CHECKS: list[CheckSpec] = []


def _check(name: str, title: str) -> Callable[[Callable[[Harness], str]], Callable[[Harness], str]]:
    def register(fn: Callable[[Harness], str]) -> Callable[[Harness], str]:
        CHECKS.append(CheckSpec(name, title, fn))
        return fn

    return register


@_check(
    "handshake",
    "hello (fields, version, repeated until welcome); after welcome scene_catalogue, scene_status and heartbeats",
)
def check_handshake(h: Harness) -> str:
    first = h.expect_hello()
    hello = first.message
    assert isinstance(hello, messages.Hello)
    problems = []
    if hello.name != h.options.name:
        problems.append(f"hello.name is {hello.name!r}, not the {h.options.name!r} given in VRCLINIC_HEADSET")
    if hello.protocol_major != PROTO.major:
        problems.append(
            f"hello says protocol {hello.protocol_major}.{hello.protocol_minor}, this suite checks {PROTO.version}"
        )
    if not hello.instance_id.strip():
        problems.append("hello.instance_id is empty; it must be a random token chosen when the app starts")
    # No welcome yet: the client must repeat its hello (one sent before TCP is up is lost).
    h.pump(first.at + 2.5 * HELLO_RETRY_S)
    hellos = [f for f in h.of("hello") if f.route == first.route]
    others = [f for f in h.frames if f.type not in ("hello", "bye", "(invalid)")]
    if others:
        problems.append(
            f"before welcome the client sent {', '.join(sorted({f.type for f in others}))}; "
            "an engine sends nothing but hello and bye until welcomed (SPEC §4)"
        )
    if len(hellos) < 2:
        problems.append(
            f"hello was not repeated within {2.5 * HELLO_RETRY_S * 1000:.0f} ms without a welcome; an engine sends "
            "hello again every 250 ms until a welcome arrives (SPEC §4)"
        )
    tokens = {_hello(f).instance_id for f in hellos}
    if len(tokens) > 1:
        problems.append(
            f"the repeated hellos carry different instance_ids {sorted(tokens)}; the token is fixed per app start"
        )
    if problems:
        raise Fail("; ".join(problems))
    gaps = [b.at - a.at for a, b in itertools.pairwise(hellos)]
    h.note(f"{len(hellos)} hellos before welcome, every {statistics.median(gaps) * 1000:.0f} ms")
    mark = len(h.frames)
    h.welcome(hellos[-1])
    welcomed_at = now()
    h.start_beating()
    catalogue = h.expect(
        lambda f: f.type == "scene_catalogue",
        REPLY_S,
        "after welcome the client did not send scene_catalogue (SPEC §4)",
        mark,
    ).message
    status = h.expect(
        lambda f: f.type == "scene_status",
        REPLY_S,
        "after welcome the client did not send scene_status (SPEC §4)",
        mark,
    ).message
    assert isinstance(catalogue, messages.SceneCatalogue) and isinstance(status, messages.SceneStatus)
    ids = [s.id for s in catalogue.scenes]
    if not ids:
        raise Fail("the scene_catalogue is empty; it must list every loadable scene, the calm one included (SPEC §7)")
    if status.scene_id not in ids:
        raise Fail(f"scene_status names scene {status.scene_id!r}, which is not in the catalogue ({', '.join(ids)})")
    calm = [s.id for s in catalogue.scenes if s.calm]
    if len(calm) != 1:
        h.note(f"note: {len(calm)} scenes have calm = true; exactly one should (the one make_safe fades to)")
    beat_within = max(3 * h.interval_s, 0.3)
    beat = h.expect(
        lambda f: f.type == "heartbeat",
        max(0.0, welcomed_at + beat_within - now()),
        f"no heartbeat from the client within {beat_within * 1000:.0f} ms (3 intervals) of welcome (SPEC §5)",
        mark,
    )
    late_hellos = [f for f in h.of("hello", mark) if f.at > welcomed_at + 0.1]
    if late_hellos:
        raise Fail("the client went on sending hello after the welcome; it must stop once welcomed (SPEC §4)")
    return (
        f"hello from {hello.name!r} (protocol {hello.protocol_major}.{hello.protocol_minor}, {hello.engine!r}) "
        f"repeated every {statistics.median(gaps) * 1000:.0f} ms until welcome; then scene_catalogue "
        f"({len(ids)} scenes), scene_status ({status.scene_id} {status.state}) and a heartbeat "
        f"{(beat.at - welcomed_at) * 1000:.0f} ms after welcome"
    )


def _hello(frame: Frame) -> messages.Hello:
    assert isinstance(frame.message, messages.Hello)
    return frame.message


@_check(
    "heartbeat", "heartbeats at the interval from welcome, seq +1, the console's last beat echoed (RTT, clock offset)"
)
def check_heartbeat(h: Harness) -> str:
    interval_ms, listen_s = 50, 2.0  # not the default 100 ms: the client must take the interval from welcome
    h.connect(interval_ms=interval_ms)
    mark = len(h.frames)
    h.pump(now() + listen_s)
    beats = [f for f in h.of("heartbeat", mark) if f.route == h.route]
    expected = listen_s * 1000 / interval_ms
    if len(beats) < 5:
        raise Fail(
            f"only {len(beats)} heartbeats in {listen_s:g} s; welcome asked for one every {interval_ms} ms "
            f"(about {expected:.0f}) (SPEC §5)"
        )
    gaps = [b.at - a.at for a, b in itertools.pairwise(beats)]
    median_gap = statistics.median(gaps)
    if not 0.5 * interval_ms <= median_gap * 1000 <= 1.5 * interval_ms:
        raise Fail(
            f"heartbeats came every {median_gap * 1000:.0f} ms (median of {len(gaps)}); welcome asked for "
            f"heartbeat_interval_ms = {interval_ms} (SPEC §5: the interval comes from welcome)"
        )
    h.note(f"{len(beats)} heartbeats, median gap {median_gap * 1000:.1f} ms, longest {max(gaps) * 1000:.1f} ms")
    seqs = [_beat(b).seq for b in beats]
    if any(b <= a for a, b in itertools.pairwise(seqs)):
        raise Fail(f"heartbeat seq does not increase: {seqs[:12]}... (SPEC §5: +1 per beat)")
    if any(b != a + 1 for a, b in itertools.pairwise(seqs)):
        h.note(f"note: heartbeat seq skips numbers ({seqs[:12]}...); the spec says +1 per beat")
    rtts, offsets, lags = [], [], []
    for frame in beats:
        m = frame.message
        assert isinstance(m, messages.Heartbeat)
        if m.echo_seq < 0:
            continue
        t1 = h.beats_sent.get(m.echo_seq)
        if t1 is None:
            raise Fail(f"a heartbeat echoes seq {m.echo_seq}, which the console never sent (SPEC §5)")
        if abs(m.echo_sent_at - t1) > 1e-6:
            raise Fail(
                f"heartbeat echo_sent_at {m.echo_sent_at!r} is not the sent_at {t1!r} of the console's beat "
                f"{m.echo_seq} it echoes; echo it unchanged, in the console's clock (SPEC §5)"
            )
        t2, t3, t4 = m.echo_received_at, m.sent_at, frame.at
        if t3 - t2 < -0.001:
            raise Fail(
                f"echo_received_at ({t2!r}) is later than the beat's own sent_at ({t3!r}); both must be seconds "
                "of the client's monotonic clock (SPEC §5)"
            )
        rtt = (t4 - t1) - (t3 - t2)
        rtts.append(rtt)
        offsets.append((rtt, ((t2 - t1) + (t3 - t4)) / 2))
        latest = max((s for s, at in h.beats_sent.items() if at <= t4), default=m.echo_seq)
        lags.append(latest - m.echo_seq)
    if not rtts:
        raise Fail("the client never echoed the console's heartbeats (echo_seq stayed -1) (SPEC §5)")
    if min(rtts) < -0.002 or statistics.median(rtts) > 0.5:
        raise Fail(
            f"the heartbeat timestamps give a round trip of {statistics.median(rtts) * 1000:.1f} ms (median; least "
            f"{min(rtts) * 1000:.1f} ms) on loopback: timestamps must be seconds, echo_received_at the arrival time "
            "of the echoed beat (SPEC §5)"
        )
    if statistics.median(lags) > 3:
        raise Fail(
            f"the echoes lag {statistics.median(lags):.0f} console beats behind (median); a heartbeat echoes the "
            "last beat received (SPEC §5)"
        )
    rtt_ms = statistics.median(rtts) * 1000
    offset_s = min(offsets)[1]
    return (
        f"{len(beats)} heartbeats in {listen_s:g} s, every {median_gap * 1000:.0f} ms (asked {interval_ms}), seq +1, "
        f"echoing the console's beats: RTT {rtt_ms:.2f} ms (median), clock offset {offset_s:+.3f} s"
    )


@_check("version_welcome", "a welcome of another major version is refused with bye(version_mismatch), then silence")
def check_version_welcome(h: Harness) -> str:
    hello_frame = h.expect_hello()
    hello = _hello(hello_frame)
    other = PROTO.major + 1
    mark = len(h.frames)
    h.route = hello_frame.route
    h.welcome(hello_frame, major=other)
    bye_frame = h.wait_for(lambda f: f.type == "bye", REPLY_S, mark)
    proceeded = [f for f in h.frames[mark:] if f.type not in ("hello", "bye")]
    if proceeded:
        raise Fail(
            f"after a welcome for protocol {other}.0 the client went on as if connected (sent "
            f"{', '.join(sorted({f.type for f in proceeded}))}); a different major must be refused with "
            "bye(version_mismatch) and the client must stop (SPEC §3)"
        )
    if bye_frame is None:
        raise Fail(
            f"the client did not answer a welcome for protocol {other}.0 with bye within {REPLY_S:g} s "
            f"(it sent: {h.summary(mark)}); a different major must be refused with bye(version_mismatch) (SPEC §3)"
        )
    bye = bye_frame.message
    assert isinstance(bye, messages.Bye)
    h.note(f"bye: reason={bye.reason} text={bye.text!r}")
    if bye.reason != messages.ByeReason.VERSION_MISMATCH:
        raise Fail(
            f"the client answered the other major with bye reason {bye.reason!r}, not version_mismatch (SPEC §3)"
        )
    ours, theirs = f"{other}.0", f"{hello.protocol_major}.{hello.protocol_minor}"
    if ours not in bye.text or theirs not in bye.text:
        raise Fail(
            f"the bye text {bye.text!r} does not name both versions ({ours} and {theirs}); it must say both and "
            "what to update (SPEC §3)"
        )
    after = len(h.frames)
    h.pump(now() + 1.5)
    went_on = [f for f in h.frames[after:] if f.type != "bye"]
    if went_on:
        raise Fail(
            f"after its bye(version_mismatch) the client went on sending {h.summary(after)}; "
            "the side that refuses stops (SPEC §3)"
        )
    exit_note = f"; exited with code {h.proc.returncode}" if h.exited() and h.proc else "; process still running"
    return f"answered welcome {ours} with bye(version_mismatch) {bye.text!r}, then sent nothing for 1.5 s{exit_note}"


@_check("version_bye", "after the console's bye(version_mismatch) the client stops: no hello again")
def check_version_bye(h: Harness) -> str:
    hello_frame = h.expect_hello()
    h.route = hello_frame.route
    text = (
        f"Headset {_hello(hello_frame).name!r} speaks protocol {_hello(hello_frame).protocol_major}."
        f"{_hello(hello_frame).protocol_minor}, this console speaks {PROTO.major + 1}.0: update the headset app "
        "(conformance check)."
    )
    h.send(messages.Bye(reason=messages.ByeReason.VERSION_MISMATCH, text=text))
    refused_at = now()
    mark = len(h.frames)
    grace = HELLO_RETRY_S  # a hello already on its way when the bye left may still arrive
    h.pump(refused_at + grace + 2.0)
    went_on = [f for f in h.frames[mark:] if f.at > refused_at + grace and f.type != "bye"]
    if went_on:
        first = went_on[0]
        raise Fail(
            f"the console refused the client with bye(version_mismatch), yet {(first.at - refused_at) * 1000:.0f} ms "
            f"later it sent {first.type} (in all: {h.summary(mark)}); a refused engine shows the text to a person "
            "and stops, it does not retry (SPEC §3, 'Writing an engine client')"
        )
    exit_note = f"exited with code {h.proc.returncode}" if h.exited() and h.proc else "kept running without sending"
    return f"after bye(version_mismatch) the client sent nothing more for {grace + 2.0:g} s ({exit_note})"


def _value_in(p: messages.ParameterSpec, fraction: float) -> float:
    value = p.min + (p.max - p.min) * fraction
    if p.step > 0:
        value = p.min + round((value - p.min) / p.step) * p.step
    return min(p.max, max(p.min, value))


def _close(a: float, b: float, p: messages.ParameterSpec) -> bool:
    return abs(a - b) <= max(1e-6 * max(1.0, abs(b)), p.step / 2)


def _applied(frame: Frame) -> messages.ParameterApplied:
    assert isinstance(frame.message, messages.ParameterApplied)
    return frame.message


def _answers(frame: Frame, request_id: int) -> bool:
    """True for a parameter_applied or error that refers to request ``request_id``."""
    if frame.type == "parameter_applied":
        return _applied(frame).ref_id == request_id
    return frame.type == "error" and _error(frame).ref_id == request_id


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

    # 3. Unknown parameter: any error referring to it (the spec names no code; unknown_parameter fits).
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
        h.note(f"note: an unknown parameter was refused with {_error(answer).code}; unknown_parameter says it better")

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
        f"{p.name} = {_fmt(target)} applied at once ({at_once_ms:.0f} ms); {' and '.join(refusals)}; "
        f"a {ramp_s:g} s ramp reported {len(progress)} progress steps and ended after {took * 1000:.0f} ms"
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
        return sent

    # Running.
    before = h.status
    assert before is not None
    sent = make_safe("while running")
    done = h.wait_for(is_safety("make_safe_done"), 0.3 + REPLY_S, None)
    done_note = f"make_safe_done after {(done.at - sent) * 1000:.0f} ms" if done else "no make_safe_done (optional)"
    # Resume brings back the scene shown before.
    mark = len(h.frames)
    h.send(messages.Resume(fade_s=0.3))
    back = h.expect(
        is_status("running"),
        REPLY_S,
        "resume after make_safe did not bring the scene back: no scene_status running (SPEC §7)",
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


@_check(
    "watchdog", "when the console's heartbeats stop the client goes safe by itself and reports safety_event watchdog"
)
def check_watchdog(h: Harness) -> str:
    watchdog_ms = 300  # not the default 500: the client must take the timeout from welcome
    h.connect(watchdog_ms=watchdog_ms)
    scene, _ = h.stimulus()
    h.ensure_running(scene.id)
    mark = len(h.frames)
    h.pump(now() + 0.5)
    early = [f for f in h.frames[mark:] if f.type == "scene_status" and status_of(f).state == "safe"]
    if early:
        raise Fail("the client went safe while the console's heartbeats were still arriving on time")
    h.beating = False
    assert h.last_beat_at is not None
    last = h.last_beat_at
    allowed = h.watchdog_s + WATCHDOG_SLACK_S
    h.note(f"stopped the console's heartbeats (last one sent at {h.rel(last)})")
    mark = len(h.frames)
    safe = h.wait_for(is_status("safe"), max(0.0, last + allowed + 0.5 - now()), mark)
    if safe is None:
        raise Fail(
            f"the console's heartbeats stopped and the scene did not go safe within {(allowed + 0.5) * 1000:.0f} ms "
            f"(watchdog_timeout_ms = {watchdog_ms} from welcome; it sent: {h.summary(mark)}) (SPEC §6)"
        )
    delay = safe.at - last
    h.note(f"scene_status safe {delay * 1000:.0f} ms after the last console heartbeat")
    if safe.at > last + allowed:
        raise Fail(
            f"the scene went safe {delay * 1000:.0f} ms after the last console heartbeat; with watchdog_timeout_ms = "
            f"{watchdog_ms} from welcome it must happen at once after {watchdog_ms} ms (allowed up to "
            f"{allowed * 1000:.0f} ms) (SPEC §6)"
        )
    # The console is back: the client reports what happened, and stays calm.
    resumed_at = now()
    h.start_beating()
    report = h.wait_for(is_safety("watchdog"), REPLY_S, mark)
    if report is None:
        raise Fail(
            "the scene went safe, but no safety_event with kind watchdog came within "
            f"{REPLY_S:g} s of the heartbeats resuming (SPEC §6: say so as soon as the console is back)"
        )
    h.note(f"safety_event watchdog: {getattr(report.message, 'text', '')!r}")
    after = len(h.frames)
    h.pump(now() + STAY_CALM_S)
    back = [f for f in h.frames[after:] if f.type == "scene_status" and status_of(f).state != "safe"]
    if back:
        raise Fail(
            f"after the watchdog the client went back to {status_of(back[0]).scene_id} {status_of(back[0]).state} "
            "by itself; it stays calm until the console sends resume or load_scene (SPEC §6)"
        )
    when = "before" if report.at < resumed_at else f"{(report.at - resumed_at) * 1000:.0f} ms after"
    return (
        f"went safe {delay * 1000:.0f} ms after the last console heartbeat (watchdog {watchdog_ms} ms), reported "
        f"safety_event watchdog {when} the heartbeats resumed, and stayed calm"
    )


def _beat(frame: Frame) -> messages.Heartbeat:
    assert isinstance(frame.message, messages.Heartbeat)
    return frame.message


def _error(frame: Frame) -> messages.Error:
    assert isinstance(frame.message, messages.Error)
    return frame.message


def _marker_frame(msg_id: int, **extra: Any) -> bytes:
    return msgpack.packb(
        {"type": "marker", "id": msg_id, "label": "conformance", "at": 0.0, **extra}, use_bin_type=True
    )


@_check("malformed", "garbage, unknown type, wrong fields, too deep and too large frames → error, link stays up")
def check_malformed(h: Harness) -> str:
    h.connect()
    h.allow_unattributed_errors = True
    route = h.route
    connected = len(h.frames)
    status_id = h.new_id()
    wrong_way = codec.encode(messages.SceneStatus(scene_id="x", state=messages.SceneState.RUNNING), status_id)
    deep: Any = [1]
    for _ in range(LIMITS.max_depth + 2):  # with the envelope map: max_depth + 4 levels
        deep = [deep]
    unknown_id, field_id, deep_id, big_id = h.new_id(), h.new_id(), h.new_id(), h.new_id()
    # Just over the control-message limit: a client's transport limit (e.g. ZMQ_MAXMSGSIZE) should
    # let it through so that the client can answer too_large; far bigger frames may be dropped.
    big = _marker_frame(big_id, note="x" * (LIMITS.max_control_frame_bytes + 16))
    cases: list[tuple[str, bytes, str, int | None]] = [
        ("garbage bytes", b"\xc1 this is not msgpack \xff", "malformed", None),
        ("a msgpack array instead of a map", msgpack.packb([1, 2, 3]), "malformed", None),
        (
            "an unknown message type",
            msgpack.packb({"type": "conformance_teleport", "id": unknown_id}),
            "unknown_type",
            unknown_id,
        ),
        (
            "set_parameter with value 'loud'",
            msgpack.packb({"type": "set_parameter", "id": field_id, "name": "x", "value": "loud"}),
            "invalid_field",
            field_id,
        ),
        ("scene_status (engine → console only)", wrong_way, "wrong_direction", status_id),
        (f"nesting {LIMITS.max_depth + 4} levels deep", _marker_frame(deep_id, note=deep), "too_deep", deep_id),
        (f"a {len(big):,}-byte frame", big, "too_large", None),
    ]
    answered = []
    for what, frame, code, ref_id in cases:
        mark = len(h.frames)
        h.send_raw(frame, what, ref_id)
        error_frame = h.wait_for(lambda f: f.type == "error", REPLY_S, mark)
        if error_frame is None:
            new_routes = {f.route for f in h.frames[mark:]} - {route}
            dropped = (
                " (its connection dropped and came back: a transport limit below the frame?)" if new_routes else ""
            )
            raise Fail(
                f"the client did not answer {what} with error {code} within {REPLY_S:g} s{dropped} (it sent: "
                f"{h.summary(mark)}); a receiver that cannot accept a frame answers with error and keeps the link "
                "up (SPEC §9)"
            )
        err = error_frame.message
        assert isinstance(err, messages.Error)
        h.note(f"{what}: error {err.code} ref {err.ref_type or '-'} id {err.ref_id} {err.text!r}")
        if err.code != code:
            raise Fail(f"the client answered {what} with error {err.code}, not {code} (SPEC §9, ErrorCode)")
        if ref_id is not None and err.ref_id != ref_id:
            raise Fail(
                f"the error for {what} has ref_id {err.ref_id}, not {ref_id}; when the offending message's id can be "
                "read, the error carries it (SPEC §9)"
            )
        answered.append(code)
    # Still connected: same connection, no new hello, and our next heartbeat is echoed.
    mark = len(h.frames)
    first_seq = h.beat_seq
    echo = h.wait_for(
        lambda f: f.type == "heartbeat" and f.route == route and _beat(f).echo_seq >= first_seq,
        max(REPLY_S, 5 * h.interval_s),
        mark,
    )
    moved = [f for f in h.frames[connected:] if f.route != route or f.type == "hello"]
    if moved:
        raise Fail(
            "after the bad frames the client reconnected (a new connection or hello); one bad message never "
            "ends a session (SPEC §9)"
        )
    if echo is None:
        raise Fail(
            f"after the bad frames the client no longer echoes the console's heartbeats (it sent: {h.summary(mark)})"
        )
    return f"answered every bad frame with the right error ({', '.join(answered)}) and still echoes heartbeats"


@_check(
    "reconnection",
    "the console restarts on the same port → hello again (same instance_id), watchdog reported, scene calm",
)
def check_reconnection(h: Harness) -> str:
    h.connect()
    first_route, first_hello = h.route, h.hello
    assert first_hello is not None
    h.pump(now() + 0.3)
    h.drop_console()
    down_s = 2 * h.watchdog_s  # longer than the watchdog: the client goes safe meanwhile
    h.pump(now() + down_s)
    h.rebind()
    back_at = now()
    mark = len(h.frames)
    hello_frame = h.wait_for(lambda f: f.type == "hello", 6.0, mark)
    if hello_frame is None:
        hint = (
            f"; it got error not_connected {h.not_connected_sent} time(s) for what it sent and must answer "
            "that with hello"
            if h.not_connected_sent
            else ""
        )
        raise Fail(
            f"the console came back on the same port but the client did not say hello again within 6 s "
            f"(it sent: {h.summary(mark)}){hint} (SPEC §4)"
        )
    hello = _hello(hello_frame)
    h.note(
        f"hello again {(hello_frame.at - back_at) * 1000:.0f} ms after the console came back "
        f"({'after not_connected' if h.not_connected_sent else 'unprompted'}), resumed={hello.resumed}"
    )
    if hello.instance_id != first_hello.instance_id:
        raise Fail(
            f"the hello after reconnecting carries instance_id {hello.instance_id!r}, not {first_hello.instance_id!r}; "
            "the same app keeps its token, which marks a reconnection (SPEC §4)"
        )
    if hello.name != first_hello.name:
        raise Fail(f"the client came back as {hello.name!r}, not {first_hello.name!r}")
    mark = len(h.frames)
    h.welcome(hello_frame)
    h.start_beating()
    welcomed_at = now()
    h.expect(lambda f: f.type == "scene_catalogue", REPLY_S, "after the new welcome no scene_catalogue (SPEC §4)", mark)
    status = h.expect(
        lambda f: f.type == "scene_status", REPLY_S, "after the new welcome no scene_status (SPEC §4)", mark
    )
    report = h.wait_for(is_safety("watchdog"), max(0.0, welcomed_at + REPLY_S - now()), mark)
    if report is None:
        raise Fail(
            f"the console was gone for more than the watchdog timeout, yet after the new welcome no safety_event "
            f"watchdog came (it sent: {h.summary(mark)}) (SPEC §6: say so after the next welcome)"
        )
    h.pump(now() + 0.2)
    latest = h.status
    assert latest is not None
    if latest.state != messages.SceneState.SAFE:
        raise Fail(
            f"after an outage longer than the watchdog the client reports {latest.scene_id} {latest.state}; "
            "it must have gone calm and stay calm until resume or load_scene (SPEC §6)"
        )
    beat = h.wait_for(lambda f: f.type == "heartbeat" and f.route == h.route, REPLY_S, mark)
    if beat is None:
        raise Fail("after the new welcome the client sends no heartbeats (SPEC §5)")
    route_note = "a new connection" if hello_frame.route != first_route else "the same connection id"
    return (
        f"hello again {(hello_frame.at - back_at) * 1000:.0f} ms after the console came back ({route_note}, same "
        f"instance_id, resumed={hello.resumed}); after welcome: scene_catalogue, scene_status "
        f"{status_of(status).state}, safety_event watchdog, heartbeats"
    )


# ---------------------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------------------


def check_names() -> list[str]:
    return [c.name for c in CHECKS]


def run_check(spec: CheckSpec, options: Options) -> CheckResult:
    """Run one check against a fresh client process; the process is killed whatever happens."""
    started = now()
    h = Harness(options, started + options.timeout_s)
    passed, reason = False, ""
    try:
        h.start_client()
        reason = spec.run(h)
        passed = True
    except Fail as exc:
        reason = exc.reason
    except CheckTimeout:
        reason = (
            f"the check did not finish within {options.timeout_s:g} s (--timeout): the client stopped answering "
            "or is far too slow"
        )
    finally:
        h.stop_client()
        output = h.client_output()
        h.close()
    if h.invalid:
        first = h.invalid[0]
        text = f"the client sent {len(h.invalid)} frame(s) that do not decode, e.g. {first.problem}"
        passed, reason = False, text if passed else f"{reason}; also {text}"
    if h.violations:
        more = f" (and {len(h.violations) - 1} more)" if len(h.violations) > 1 else ""
        text = h.violations[0] + more
        passed, reason = False, text if passed else f"{reason}; also {text}"
    return CheckResult(spec.name, passed, reason, round(now() - started, 2), h.evidence, output)


def run(
    options: Options, only: Sequence[str] | None = None, progress: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Run the checks (all, or those named in ``only``) one after the other. Raises ValueError
    for an unknown check name. ``progress`` is called after each check (the calling thread)."""
    names = check_names()
    unknown = [n for n in only or () if n not in names]
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)}; the checks are {', '.join(names)}")
    results = []
    for spec in CHECKS:
        if only and spec.name not in only:
            continue
        result = run_check(spec, options)
        results.append(result)
        if progress is not None:
            progress(result)
    return results
