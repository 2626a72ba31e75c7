"""The conformance checks of the link itself: the handshake (hello, welcome, what follows),
heartbeats, version refusals both ways, the console's bye (refusals and shutdown), the
watchdog, a console that is lost or restarts, and pairing on the pairing port.

Threads: a check runs entirely in the calling thread (see :mod:`protocol.conformance.harness`).
"""

from __future__ import annotations

import itertools
import statistics

from protocol import messages
from protocol.codegen.spec_md import link_thresholds
from protocol.conformance.harness import (
    AT_ONCE_S,
    HELLO_RETRY_S,
    PROTO,
    REPLY_S,
    STAY_CALM_S,
    WATCHDOG_SLACK_S,
    Fail,
    Frame,
    Harness,
    Setup,
    is_safety,
    is_status,
    status_of,
)
from protocol.conformance.registry import RESUME_FADE_S, _beat, _check, _fmt
from protocol.timing import now

# Each check returns the reason it passed, or raises Fail with the reason it did not.


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
