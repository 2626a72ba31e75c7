"""The conformance checks, and running them: each check gets a fresh client process and a
fresh :class:`~protocol.conformance.harness.Harness` (a fresh console key pair, client key pair
and keys file among it), judges the answers against SPEC.md, and ends with the client killed.
SPEC.md section 11.10 lists every MUST with the check that holds a client to it.

Threads: a check runs entirely in the calling thread (see :mod:`protocol.conformance.harness`).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

from protocol import codec, messages
from protocol.codegen.spec_md import link_thresholds
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
    Setup,
    is_safety,
    is_status,
    status_of,
)
from protocol.timing import now

ERRORS_PER_S = 10  # SPEC §9.2: a bucket of 10, refilled at 10 a second
BURST_DONE_S = 1.0  # a client has read 60 garbage frames long before this
RESUME_FADE_S = 2.0  # longer than "at once": running must be reported when the fade back starts


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
    setup: Setup = field(default_factory=Setup)


CHECKS: list[CheckSpec] = []


def _check(
    name: str, title: str, setup: Setup | None = None
) -> Callable[[Callable[[Harness], str]], Callable[[Harness], str]]:
    def register(fn: Callable[[Harness], str]) -> Callable[[Harness], str]:
        CHECKS.append(CheckSpec(name, title, fn, setup or Setup()))
        return fn

    return register


def _catalogue_problems(catalogue: messages.SceneCatalogue) -> list[str]:
    """What is wrong with a scene catalogue (SPEC §4.1), in words; empty when nothing."""
    problems = []
    ids = [s.id for s in catalogue.scenes]
    if not ids:
        problems.append("the scene_catalogue is empty; it must list every loadable scene, the calm one included")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        problems.append(f"scene ids {', '.join(twice)} appear more than once in the scene_catalogue")
    calm = [s.id for s in catalogue.scenes if s.calm]
    if ids and len(calm) != 1:
        problems.append(
            f"{len(calm)} scenes have calm = true ({', '.join(calm) or 'none'}); exactly one must: the scene "
            "make_safe and the watchdog fade to"
        )
    for scene in catalogue.scenes:
        names = [p.name for p in scene.parameters]
        if len(set(names)) != len(names):
            problems.append(f"scene {scene.id!r} declares a parameter name twice")
        for p in scene.parameters:
            if not p.min <= p.default <= p.max:
                problems.append(
                    f"parameter {scene.id}.{p.name}: min {_fmt(p.min)}, default {_fmt(p.default)}, max {_fmt(p.max)} "
                    "are not in order (min ≤ default ≤ max)"
                )
    return problems


@_check(
    "handshake",
    "CURVE with the keys from VRCLINIC_KEYS; hello (fields, version, repeated until welcome); after welcome "
    "scene_catalogue, scene_status and heartbeats from 0, no hello",
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
    problems = _catalogue_problems(catalogue)
    if problems:
        raise Fail("; ".join(problems) + " (SPEC §4.1)")
    if status.scene_id not in ids:
        raise Fail(f"scene_status names scene {status.scene_id!r}, which is not in the catalogue ({', '.join(ids)})")
    beat_within = max(3 * h.interval_s, 0.3)
    beat = h.expect(
        lambda f: f.type == "heartbeat",
        max(0.0, welcomed_at + beat_within - now()),
        f"no heartbeat from the client within {beat_within * 1000:.0f} ms (3 intervals) of welcome (SPEC §5)",
        mark,
    )
    if _beat(beat).seq != 0:
        raise Fail(
            f"the client's first heartbeat after welcome has seq {_beat(beat).seq}; on every connection the "
            "numbering starts at 0 after the welcome (SPEC §5)"
        )
    h.pump(beat.at + 3 * HELLO_RETRY_S)  # long enough for a client that keeps saying hello to show it
    late_hellos = [f for f in h.of("hello", mark) if f.at > welcomed_at + 0.1]
    if late_hellos:
        raise Fail(
            f"the client went on sending hello after the welcome ({len(late_hellos)} in "
            f"{(h.frames[-1].at - welcomed_at) * 1000:.0f} ms); once welcomed it must stop (SPEC §4.1)"
        )
    keys = sorted(h.user_ids)
    return (
        f"encrypted with the key from VRCLINIC_KEYS ({', '.join(k[:8] + '…' for k in keys if k)}); hello from "
        f"{hello.name!r} (protocol {hello.protocol_major}.{hello.protocol_minor}, {hello.engine!r}) "
        f"repeated every {statistics.median(gaps) * 1000:.0f} ms until welcome; then scene_catalogue "
        f"({len(ids)} scenes), scene_status ({status.scene_id} {status.state}) and heartbeat 0 "
        f"{(beat.at - welcomed_at) * 1000:.0f} ms after welcome; no hello after it"
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


_STOPPING = ("not_paired", "revoked", "refused")  # besides version_mismatch (its own check)


@_check(
    "refusals",
    "after bye not_paired, revoked or refused the client stops: nothing more, no hello again",
)
def check_refusals(h: Harness) -> str:
    grace, watch = HELLO_RETRY_S, 1.25
    seen = []
    for i, reason in enumerate(_STOPPING):
        if i:
            h.restart_client()
        mark = len(h.frames)
        if reason == "revoked":  # the technician removes a headset that is connected
            h.connect(since=mark)
        else:
            hello_frame = h.expect_hello(mark)
            h.route = hello_frame.route
        text = f"conformance check: {reason}, a person must act before this headset comes back."
        h.send(messages.Bye(reason=messages.ByeReason(reason), text=text))
        h.beating = False
        said_at = now()
        h.note(f"sent bye {reason}")
        mark = len(h.frames)
        h.pump(said_at + grace + watch)
        went_on = [f for f in h.frames[mark:] if f.at > said_at + grace and f.type != "bye"]
        if went_on:
            first = went_on[0]
            raise Fail(
                f"the console ended the link with bye {reason}, yet {(first.at - said_at) * 1000:.0f} ms later the "
                f"client sent {first.type} (in all: {h.summary(mark)}); after bye {reason} an engine makes its "
                "scene safe, shows the text and stops until a person acts (SPEC §4.2)"
            )
        seen.append(reason)
    return f"stopped after bye {', '.join(seen)}: nothing from {grace * 1000:.0f} ms after each, for {watch:g} s"


@_check("bye", "after bye shutdown the client makes its scene safe and says hello again")
def check_bye(h: Harness) -> str:
    h.connect()
    first = h.hello
    assert first is not None
    scene, _ = h.stimulus()
    h.ensure_running(scene.id)
    mark = len(h.frames)
    h.send(messages.Bye(reason=messages.ByeReason.SHUTDOWN, text="conformance check: the console is closing."))
    h.beating = False
    said_at = now()
    h.note("sent bye shutdown")
    hello_frame = h.wait_for(lambda f: f.type == "hello", HELLO_RETRY_S + REPLY_S, mark)
    went_on = [
        f
        for f in h.frames[mark:]
        if f.at > said_at + 0.1
        and f.type not in ("hello", "bye", "scene_status", "safety_event")
        and (hello_frame is None or f.at < hello_frame.at)
    ]
    if went_on:
        raise Fail(
            f"after bye shutdown the client went on as if still connected (sent {h.summary(mark)}); the link has "
            "ended: make the scene safe and say hello again (SPEC §4.2)"
        )
    if hello_frame is None:
        raise Fail(
            f"after bye shutdown the client did not say hello again within {(HELLO_RETRY_S + REPLY_S) * 1000:.0f} ms "
            f"(it sent: {h.summary(mark)}); after shutdown an engine keeps saying hello every 250 ms (SPEC §4.2)"
        )
    if _hello(hello_frame).instance_id != first.instance_id:
        raise Fail("the hello after bye carries another instance_id; the same app run keeps its token (SPEC §4.1)")
    mark = len(h.frames)
    h.welcome(hello_frame)
    h.start_beating()
    status = h.expect(
        lambda f: f.type == "scene_status", REPLY_S, "after the new welcome no scene_status (SPEC §4.1)", mark
    )
    if status_of(status).state != messages.SceneState.SAFE:
        raise Fail(
            f"after bye shutdown and a new welcome the client reports {status_of(status).scene_id} "
            f"{status_of(status).state}; on every bye an engine makes its scene safe at once (SPEC §4.2)"
        )
    report = h.wait_for(is_safety("watchdog"), REPLY_S, mark)
    if report is None:
        raise Fail(
            "after bye shutdown and a new welcome no safety_event watchdog came; an engine that made its scene "
            "safe on its own reports it after the next welcome (SPEC §4.2, §6)"
        )
    return (
        f"hello again {(hello_frame.at - said_at) * 1000:.0f} ms after bye shutdown; after the new welcome "
        "scene_status safe and safety_event watchdog"
    )


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


@_check(
    "watchdog",
    "when the console's heartbeats stop counting the client goes safe by itself, reports safety_event watchdog "
    "and stays calm until resume",
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
    assert h.last_beat_at is not None
    last = h.last_beat_at
    # From now on only beats that must not count (SPEC §5): the last one again, and new
    # numbers whose sent_at is older than the watchdog timeout (queued during a freeze).
    fakes = {"repeated": 0, "late": 0}

    def stale_beat(seq: int, t: float) -> messages.Heartbeat:
        if (fakes["repeated"] + fakes["late"]) % 2 == 0:
            fakes["repeated"] += 1
            return messages.Heartbeat(seq=seq - 1, sent_at=last)
        fakes["late"] += 1
        h.beat_seq += 1
        return messages.Heartbeat(seq=seq, sent_at=t - 2 * watchdog_ms / 1000)

    h.beat_override = stale_beat
    allowed = h.watchdog_s + WATCHDOG_SLACK_S
    h.note(
        f"from {h.rel(last)} on the console sends only heartbeats that must not count: its last beat again, and "
        f"new numbers sent {2 * watchdog_ms} ms before they leave"
    )
    mark = len(h.frames)
    safe = h.wait_for(is_status("safe"), max(0.0, last + allowed + 0.5 - now()), mark)
    if safe is None:
        raise Fail(
            f"the console's heartbeats stopped counting (only repeated and late beats came: {fakes['repeated']} "
            f"and {fakes['late']}) and the scene did not go safe within {(allowed + 0.5) * 1000:.0f} ms "
            f"(watchdog_timeout_ms = {watchdog_ms} from welcome; it sent: {h.summary(mark)}); a beat counts only "
            "when its seq is newer and it is not late (SPEC §5, §6)"
        )
    delay = safe.at - last
    h.note(f"scene_status safe {delay * 1000:.0f} ms after the last console heartbeat that counted")
    if safe.at > last + allowed:
        raise Fail(
            f"the scene went safe {delay * 1000:.0f} ms after the last console heartbeat; with watchdog_timeout_ms = "
            f"{watchdog_ms} from welcome it must happen at once after {watchdog_ms} ms (allowed up to "
            f"{allowed * 1000:.0f} ms) (SPEC §6)"
        )
    # The console is back: the client reports what happened, and stays calm.
    h.beat_override = None
    resumed_at = now()
    h.start_beating()
    report = h.wait_for(is_safety("watchdog"), REPLY_S, mark)
    if report is None:
        raise Fail(
            "the scene went safe, but no safety_event with kind watchdog came within "
            f"{REPLY_S:g} s of the heartbeats resuming (SPEC §6: say so as soon as the console is back)"
        )
    h.note(f"safety_event watchdog: {getattr(report.message, 'text', '')!r}")
    h.pump(max(now(), report.at) + STAY_CALM_S)
    # Everything since the scene went safe, not only what came after the report: a client
    # that goes back the moment the beats resume may say so before it reports the watchdog.
    since_safe = h.frames.index(safe)
    back = [f for f in h.frames[since_safe:] if f.type == "scene_status" and status_of(f).state != "safe"]
    if back:
        went = status_of(back[0])
        raise Fail(
            f"after the watchdog the client went back to {went.scene_id} {went.state} by itself "
            f"{(back[0].at - resumed_at) * 1000:+.0f} ms from the heartbeats resuming; it stays calm until the "
            "console sends resume or load_scene (SPEC §6)"
        )
    mark = len(h.frames)
    h.send(messages.Resume(fade_s=RESUME_FADE_S))
    again = h.expect(
        is_status("running"),
        AT_ONCE_S,
        f"resume (fade_s {RESUME_FADE_S:g}) after the watchdog gave no scene_status running within "
        f"{AT_ONCE_S * 1000:.0f} ms: the scene did not come back, or not at once (SPEC §6, §7)",
        mark,
    )
    if status_of(again).scene_id != scene.id:
        raise Fail(
            f"resume after the watchdog brought back {status_of(again).scene_id!r}, not the scene shown before "
            f"({scene.id!r}) (SPEC §7)"
        )
    when = "before" if report.at < resumed_at else f"{(report.at - resumed_at) * 1000:.0f} ms after"
    return (
        f"ignored {fakes['repeated']} repeated and {fakes['late']} late beats and went safe "
        f"{delay * 1000:.0f} ms after the last beat that counted (watchdog {watchdog_ms} ms), reported "
        f"safety_event watchdog {when} the heartbeats resumed, stayed calm for {STAY_CALM_S:g} s, and resume "
        f"brought {scene.id!r} back"
    )


@_check(
    "lost",
    "a console lost for 4 watchdog timeouts: hello again by itself; heartbeats numbered from 0 on the new "
    "handshake, both ways",
)
def check_lost(h: Harness) -> str:
    watchdog_ms = 300
    h.connect(watchdog_ms=watchdog_ms)
    first = h.hello
    assert first is not None
    h.pump(now() + 0.3)
    h.beating = False
    assert h.last_beat_at is not None
    last = h.last_beat_at
    lost_s = link_thresholds(round(h.interval_s * 1000), watchdog_ms).lost_s
    allowed = lost_s + AT_ONCE_S
    h.note(f"stopped beating at {h.rel(last)}, leaving the connection open and answering nothing")
    mark = len(h.frames)
    hello_frame = h.wait_for(lambda f: f.type == "hello", max(0.0, last + allowed - now()), mark)
    if hello_frame is None:
        raise Fail(
            f"no console heartbeat for {allowed * 1000:.0f} ms, yet the client did not start over with hello "
            f"(it sent: {h.summary(mark)}); after 4 × watchdog_timeout_ms ({lost_s * 1000:.0f} ms) without a "
            "counted beat the console is lost and an engine says hello again on its own (SPEC §4.3)"
        )
    hello = _hello(hello_frame)
    h.note(f"hello again {(hello_frame.at - last) * 1000:.0f} ms after the last console beat")
    if hello.instance_id != first.instance_id:
        raise Fail(
            f"the hello after losing the console carries instance_id {hello.instance_id!r}, not "
            f"{first.instance_id!r}: the same app run keeps its token (SPEC §4.1)"
        )
    mark = len(h.frames)
    h.welcome(hello_frame, watchdog_ms=watchdog_ms)
    welcomed_at = now()
    h.start_beating()
    beat = h.expect(
        lambda f: f.type == "heartbeat", REPLY_S, "after the new welcome the client sends no heartbeat (SPEC §5)", mark
    )
    if _beat(beat).seq != 0:
        raise Fail(
            f"after the new welcome the client's first heartbeat has seq {_beat(beat).seq}, not 0; heartbeats are "
            "numbered from 0 after every welcome the engine waited for (SPEC §5)"
        )
    quiet_s = 1.5
    h.pump(welcomed_at + quiet_s)
    again = [f for f in h.of("hello", mark) if f.at > welcomed_at + 0.1]
    if again:
        raise Fail(
            f"{(again[0].at - welcomed_at) * 1000:.0f} ms after the new welcome the client said hello again: it did "
            "not count the console's heartbeats, which start from 0 after every welcome (SPEC §5)"
        )
    echoed = [f for f in h.of("heartbeat", mark) if _echoes_current(h, _beat(f))]
    if not echoed:
        raise Fail("after the new welcome the client's heartbeats echo none of the console's new beats (SPEC §5)")
    # A welcome repeated on the same connection (as when it crosses a hello) renumbers the
    # console's beats, but not the engine's own.
    seq_before = _beat(h.of("heartbeat")[-1]).seq
    mark = len(h.frames)
    h.welcome(hello_frame, watchdog_ms=watchdog_ms)
    repeated_at = now()
    h.pump(repeated_at + quiet_s)
    beats = [_beat(f).seq for f in h.of("heartbeat", mark)]
    if beats and beats[0] < seq_before:
        raise Fail(
            f"after a repeated welcome on the same connection the client numbered its beats from {beats[0]} again "
            f"(it was at {seq_before}); only the welcome it waited for restarts its numbering (SPEC §5)"
        )
    again = [f for f in h.frames[mark:] if f.type == "hello" or is_safety("watchdog")(f)]
    if again:
        raise Fail(
            f"after a repeated welcome the client sent {again[0].type} {(again[0].at - repeated_at) * 1000:.0f} ms "
            "later: it did not count the console's heartbeats, numbered from 0 again after that welcome (SPEC §5)"
        )
    return (
        f"hello again {(hello_frame.at - last) * 1000:.0f} ms after the last console beat (lost after "
        f"{lost_s * 1000:.0f} ms); after the new welcome heartbeats from seq 0, counting the console's renumbered "
        "beats, also after a repeated welcome"
    )


def _echoes_current(h: Harness, beat: messages.Heartbeat) -> bool:
    """True when ``beat`` echoes a console beat sent since the last welcome, unchanged."""
    t1 = h.beats_sent.get(beat.echo_seq)
    return t1 is not None and abs(beat.echo_sent_at - t1) <= 1e-6


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


@_check(
    "malformed",
    "garbage, unknown types and fields, wrong, out-of-range and too long fields, too deep and too large frames → "
    "the right error, at most 10 a second; the link stays up",
)
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
    ids = {name: h.new_id() for name in ("unknown", "field", "type", "range", "long", "deep", "big", "error")}
    # Just over the control-message limit: a client's transport limit (e.g. ZMQ_MAXMSGSIZE) should
    # let it through so that the client can answer too_large; far bigger frames may be dropped.
    big = _marker_frame(ids["big"], note="x" * (LIMITS.max_control_frame_bytes + 16))
    label_max = next(f.max_len for f in PROTO.by_type["marker"].fields if f.name == "label")
    cases: list[tuple[str, bytes, str, int | None]] = [
        ("garbage bytes", b"\xc1 this is not msgpack \xff", "malformed", None),
        ("a msgpack array instead of a map", msgpack.packb([1, 2, 3]), "malformed", None),
        (
            "an unknown message type",
            msgpack.packb({"type": "conformance_teleport", "id": ids["unknown"]}),
            "unknown_type",
            ids["unknown"],
        ),
        (
            "a marker with a field protocol " + PROTO.version + " does not have",
            _marker_frame(ids["field"], colour="red"),
            "invalid_field",
            ids["field"],
        ),
        (
            "set_parameter with value 'loud'",
            msgpack.packb({"type": "set_parameter", "id": ids["type"], "name": "x", "value": "loud"}),
            "invalid_field",
            ids["type"],
        ),
        (
            "set_parameter with ramp_s -1 (its range is 0 … 600)",
            msgpack.packb({"type": "set_parameter", "id": ids["range"], "name": "x", "value": 1.0, "ramp_s": -1.0}),
            "out_of_range",
            ids["range"],
        ),
        (
            f"a marker label of {label_max + 1} bytes (its max_len is {label_max})",
            msgpack.packb({"type": "marker", "id": ids["long"], "label": "x" * (label_max + 1), "at": 0.0}),
            "too_large",
            ids["long"],
        ),
        ("scene_status (engine → console only)", wrong_way, "wrong_direction", status_id),
        (f"nesting {LIMITS.max_depth + 4} levels deep", _marker_frame(ids["deep"], note=deep), "too_deep", ids["deep"]),
        (f"a {len(big):,}-byte frame", big, "too_large", None),
    ]
    answered = []
    pace = 1.0 / ERRORS_PER_S  # one bad frame per refilled token: the rate limit must not hide an answer
    for what, frame, code, ref_id in cases:
        mark = len(h.frames)
        h.send_raw(frame, what, ref_id)
        sent_at = now()
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
            raise Fail(f"the client answered {what} with error {err.code}, not {code} (SPEC §9.1)")
        if ref_id is not None and err.ref_id != ref_id:
            raise Fail(
                f"the error for {what} has ref_id {err.ref_id}, not {ref_id}; when the offending message's id can be "
                "read, the error carries it (SPEC §9)"
            )
        answered.append(code)
        h.pump(sent_at + pace)
    # An error the client cannot read is not answered: two peers would echo mistakes for ever.
    mark = len(h.frames)
    bad_error = msgpack.packb({"type": "error", "id": ids["error"], "code": "conformance_nonsense", "text": "x"})
    h.send_raw(bad_error, "an error with an unknown code", ids["error"])
    h.pump(now() + 0.5)
    echo = [f for f in h.of("error", mark) if _error(f).ref_id == ids["error"]]
    if echo:
        raise Fail(
            f"the client answered a broken error (code 'conformance_nonsense', id {ids['error']}) with error "
            f"{_error(echo[0]).code}; never answer an error with an error (SPEC §9.1)"
        )
    # A burst: at most ERRORS_PER_S answers at once, the rest dropped (not delayed).
    h.pump(now() + 1.0 + pace)  # a full bucket again
    burst, window = 60, 2.0
    mark = len(h.frames)
    for i in range(burst):
        h.send_raw(b"\xc1 burst %d" % i, "garbage (burst)")
    burst_at = now()
    h.pump(burst_at + window)
    errors = [f for f in h.of("error", mark) if _error(f).ref_id == -1]
    h.note(f"{burst} garbage frames at once: {len(errors)} errors in {window:g} s")
    if not errors:
        raise Fail(f"the client answered none of {burst} garbage frames sent at once; the first must get errors")
    # A bucket of ERRORS_PER_S refilled at ERRORS_PER_S a second: the k-th error cannot come
    # sooner than that allows (one of slack for timing), and none is held back for later.
    for k, frame in enumerate(errors, start=1):
        allowed = ERRORS_PER_S + ERRORS_PER_S * (frame.at - burst_at) + 1
        if k > allowed:
            raise Fail(
                f"the client answered {len(errors)} of {burst} garbage frames sent at once, {k} of them within "
                f"{(frame.at - burst_at) * 1000:.0f} ms; it must rate-limit its errors: {ERRORS_PER_S} at once, "
                f"{ERRORS_PER_S} a second after that, the rest dropped (SPEC §9.2)"
            )
    late = [f for f in errors if f.at > burst_at + BURST_DONE_S]
    if late:
        raise Fail(
            f"{len(late)} of the errors for {burst} garbage frames sent at once came more than "
            f"{BURST_DONE_S * 1000:.0f} ms after them; errors over the limit are dropped, not delayed (SPEC §9.2)"
        )
    # Still connected: same connection, no new hello, and our next heartbeat is echoed.
    mark = len(h.frames)
    first_seq = h.beat_seq
    echo_beat = h.wait_for(
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
    if echo_beat is None:
        raise Fail(
            f"after the bad frames the client no longer echoes the console's heartbeats (it sent: {h.summary(mark)})"
        )
    return (
        f"answered every bad frame with the right error ({', '.join(answered)}), not the broken error, "
        f"{len(errors)} of {burst} garbage frames sent at once; still echoes heartbeats"
    )


@_check("newer_minor", "a console of a newer minor: unknown fields and message types are ignored, not refused")
def check_newer_minor(h: Harness) -> str:
    newer = PROTO.minor + 1
    h.connect(minor=newer)
    scene, p = h.stimulus()
    h.ensure_running(scene.id)
    current = {v.name: v.value for v in h.status.parameters} if h.status else {}
    target = _value_in(p, 0.25)
    if p.name in current and _close(current[p.name], target, p):
        target = _value_in(p, 0.75)
    req = h.new_id()
    body = msgpack.unpackb(codec.encode(messages.SetParameter(name=p.name, value=target), req))
    body.update(conformance_priority=3, conformance_note="a field of protocol " + f"{PROTO.major}.{newer}")
    mark = len(h.frames)
    h.send_raw(msgpack.packb(body, use_bin_type=True), "set_parameter with two newer fields", req, expect_error=False)
    answer = h.expect(
        lambda f: _answers(f, req),
        REPLY_S,
        f"set_parameter {p.name} = {_fmt(target)} with two fields of protocol {PROTO.major}.{newer} got no "
        f"parameter_applied with ref_id {req}; from a peer of a newer minor unknown fields are ignored (SPEC §3)",
        mark,
    )
    if answer.type == "error":
        raise Fail(
            f"the client refused a set_parameter from a console that announced protocol {PROTO.major}.{newer} "
            f"because of its newer fields ({_error(answer).code}: {_error(answer).text!r}); from a peer of a newer "
            "minor, unknown fields are ignored and the rest of the message is acted on (SPEC §3)"
        )
    unknown = h.new_id()
    mark = len(h.frames)
    h.send_raw(
        msgpack.packb({"type": "conformance_hologram", "id": unknown, "colour": "red"}),
        "a message type of a newer minor",
        unknown,
        expect_error=False,
    )
    h.pump(now() + 0.5)
    refused = [f for f in h.of("error", mark) if _error(f).ref_id == unknown]
    if refused:
        raise Fail(
            f"the client refused a message type it does not know from a console of protocol {PROTO.major}.{newer} "
            f"with error {_error(refused[0]).code}; from a newer minor it is ignored (SPEC §3)"
        )
    if not [f for f in h.of("heartbeat", mark)]:
        raise Fail("after the newer message type the client stopped sending heartbeats")
    return (
        f"with a console of protocol {PROTO.major}.{newer}: applied a set_parameter with two unknown fields, ignored "
        "an unknown message type, went on beating"
    )


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


@_check(
    "reconnection",
    "the console restarts on the same port → hello again (same instance_id), watchdog reported, scene calm",
)
def check_reconnection(h: Harness) -> str:
    # A 1 s watchdog: the console is back long before the client would find it lost (4 s),
    # so the hello must come from not_connected.
    h.connect(watchdog_ms=1000)
    first_route, first_hello = h.route, h.hello
    assert first_hello is not None
    h.pump(now() + 0.3)
    h.drop_console()
    down_s = 1.5 * h.watchdog_s  # longer than the watchdog: the client goes safe meanwhile
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
    told = h.first_not_connected_at
    if told is not None and told < hello_frame.at and hello_frame.at - told > AT_ONCE_S:
        raise Fail(
            f"the client said hello {(hello_frame.at - told) * 1000:.0f} ms after the first error not_connected; "
            "an engine answers not_connected with hello at once (SPEC §4.1)"
        )
    mark = len(h.frames)
    h.welcome(hello_frame, watchdog_ms=1000)
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
    if _beat(beat).seq != 0:
        raise Fail(
            f"on the new connection the client's first heartbeat has seq {_beat(beat).seq}, not 0; heartbeats are "
            "numbered from 0 on every connection (SPEC §5)"
        )
    route_note = "a new connection" if hello_frame.route != first_route else "the same connection id"
    return (
        f"hello again {(hello_frame.at - back_at) * 1000:.0f} ms after the console came back ({route_note}, same "
        f"instance_id, resumed={hello.resumed}); after welcome: scene_catalogue, scene_status "
        f"{status_of(status).state}, safety_event watchdog, heartbeats"
    )


@_check(
    "pairing",
    "keys without console_public: key_request on the pairing port (asked again while pairing is closed), then the "
    "encrypted port with the console's key; console_public kept once welcomed",
    Setup(paired=False, pairing_port=True),
)
def check_pairing(h: Harness) -> str:
    h.pairing_open = False
    give_up = now() + h.options.startup_s
    while not h.key_requests:
        if h.exited():
            raise Fail(
                "the client exited without asking the pairing port for the console's key; with a keys file that has "
                "no console_public an engine pairs first (SPEC §10.2, §10.4)"
            )
        if now() >= give_up:
            raise Fail(
                f"no key_request on the pairing port (main port + 1) within {h.options.startup_s:g} s (it sent: "
                f"{h.summary()}); with a keys file that has no console_public an engine pairs first (SPEC §10.4)"
            )
        h.pump(min(give_up, now() + 0.1))
    first_at, request = h.key_requests[0]
    if request.public_key == h.client_keys.secret:
        raise Fail("the key_request carries the client's SECRET key; it must send its public key (SPEC §10.4)")
    if request.public_key != h.client_keys.public:
        raise Fail(
            f"the key_request carries the key {request.public_key!r}, not the client's public key "
            f"{h.client_keys.public} from VRCLINIC_KEYS (SPEC §10.4)"
        )
    h.pairing_open = True
    while len(h.key_requests) < 2:
        if now() > first_at + 6.0:
            raise Fail(
                "the pairing port answered pairing_open = false and the client did not ask again within 6 s; "
                "while pairing is not open an engine asks again at least every 5 s (SPEC §10.4)"
            )
        h.pump(min(first_at + 6.0, now() + 0.1))
    again_at = h.key_requests[1][0]
    if again_at - first_at < 0.9:
        raise Fail(
            f"the client asked the pairing port again {(again_at - first_at) * 1000:.0f} ms after the first "
            "answer; at most once a second (SPEC §10.4)"
        )
    mark = len(h.frames)
    hello_frame = h.expect_hello(mark, within_s=5.0)
    h.connect(since=h.frames.index(hello_frame))
    h.pump(now() + 0.5)
    keys = h.keys_file()
    if keys is None or keys.console_public != h.console_keys.public:
        held = keys.console_public if keys else "(unreadable)"
        raise Fail(
            f"after the welcome the keys file holds console_public {held!r}, not the console's key "
            f"{h.console_keys.public}; an engine keeps the console's key once welcomed (SPEC §10.2)"
        )
    return (
        f"key_request with its own public key, again {(again_at - first_at) * 1000:.0f} ms after pairing_open = "
        "false; then CURVE with the console's key, hello, welcome, and console_public in its keys file"
    )


# ---------------------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------------------


def check_names() -> list[str]:
    return [c.name for c in CHECKS]


def run_check(spec: CheckSpec, options: Options) -> CheckResult:
    """Run one check against a fresh client process; the process is killed whatever happens."""
    started = now()
    h = Harness(options, started + options.timeout_s, spec.setup)
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
