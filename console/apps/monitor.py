"""A text-mode console: runs the link, beats from its own control loop, and prints what
the headsets say in words. A technician uses it to check a headset without the window
(``vrclinic monitor``).

Threads: everything here runs in the caller's thread (the control loop), except the
link's own thread inside :class:`~protocol.link.ConsoleLink`.
"""

from __future__ import annotations

import queue
import sys
from collections.abc import Callable

from protocol import messages
from protocol.link import (
    ConsoleLink,
    HeadsetJoined,
    HeadsetStateChanged,
    LinkConfig,
    LinkEvent,
    MessageReceived,
    MirrorFrameReady,
    PeerProtocolError,
    PeerRefused,
    SendFailed,
)
from protocol.timing import now


class Monitor:
    """Prints link events for people. ``out`` receives each line (default: print)."""

    def __init__(self, link: ConsoleLink, out: Callable[[str], None] = print):
        self.link = link
        self.out = out
        self.started = now()
        self.mirror_stats: dict[str, list[float]] = {}
        self._last_mirror_report = now()
        self._last_progress: dict[tuple[str, str], float] = {}

    def line(self, text: str) -> None:
        self.out(f"[{now() - self.started:7.2f}] {text}")

    def handle(self, event: LinkEvent) -> None:
        if isinstance(event, HeadsetJoined):
            h = event.hello
            self.line(
                f"{event.name}: {'reconnected' if event.resumed else 'connected'} — {h.engine} {h.app_version}"
                f"{', ' + h.device if h.device else ''}, protocol {h.protocol_major}.{h.protocol_minor}"
            )
        elif isinstance(event, HeadsetStateChanged):
            extra = f" ({event.reason})" if event.reason else ""
            self.line(f"{event.name}: link {event.previous} -> {event.state.upper()}{extra}")
        elif isinstance(event, MessageReceived):
            msg = event.message
            if isinstance(msg, messages.ParameterApplied) and msg.ramping and msg.ref_id < 0:
                # Ramp progress comes ten times a second: one line a second is enough to read.
                key = (event.name, msg.name)
                if now() - self._last_progress.get(key, 0.0) < 1.0:
                    return
                self._last_progress[key] = now()
            self.line(f"{event.name}: {describe(msg)}")
        elif isinstance(event, MirrorFrameReady):
            frame = self.link.take_mirror_frame(event.name)
            if frame is not None:
                latency = None if frame.captured_at_local is None else frame.received_at - frame.captured_at_local
                self.mirror_stats.setdefault(event.name, []).append(latency or 0.0)
                self._mirror_report(frame.frame)
        elif isinstance(event, PeerRefused):
            self.line(f"REFUSED {event.name} ({event.reason}): {event.text}")
        elif isinstance(event, PeerProtocolError):
            self.line(f"bad message from {event.name} ({event.code}): {event.text}")
        elif isinstance(event, SendFailed):
            self.line(f"could not send {event.msg_type} to {event.name}: {event.text}")

    def _mirror_report(self, frame: messages.MirrorFrame) -> None:
        t = now()
        if t - self._last_mirror_report < 3.0:
            return
        span = t - self._last_mirror_report
        self._last_mirror_report = t
        for name, latencies in self.mirror_stats.items():
            if latencies:
                lat = sorted(latencies)[len(latencies) // 2] * 1000
                self.line(
                    f"{name}: mirror {len(latencies) / span:.1f} fps, {frame.width}x{frame.height}, "
                    f"{len(frame.jpeg) / 1024:.0f} KiB/frame, capture->console {lat:.1f} ms (median)"
                )
            latencies.clear()

    def run(self, duration_s: float | None) -> None:
        """The control loop: beat every interval, print events."""
        interval = self.link.config.heartbeat_interval_s
        next_beat = now()
        end = None if duration_s is None else now() + duration_s
        while end is None or now() < end:
            t = now()
            if t >= next_beat:
                self.link.beat()
                next_beat += interval
                if next_beat < t:  # we were held up; do not try to catch up with a burst
                    next_beat = t + interval
            try:
                event = self.link.events.get(timeout=max(0.0, min(next_beat - now(), 0.05)))
            except queue.Empty:
                event = None
            if event is not None:
                self.handle(event)


def describe(msg: messages.Message) -> str:
    """One line a person understands for an incoming message."""
    if isinstance(msg, messages.SceneCatalogue):
        return "offers " + "; ".join(
            f"{s.id}" + (f" ({', '.join(p.name for p in s.parameters)})" if s.parameters else " (calm)")
            for s in msg.scenes
        )
    if isinstance(msg, messages.SceneStatus):
        values = ", ".join(f"{p.name} {p.value:g}" for p in msg.parameters)
        return f"scene {msg.scene_id} {msg.state.upper()}" + (f" — {values}" if values else "")
    if isinstance(msg, messages.ParameterApplied):
        ramp = f" (ramping to {msg.target:g})" if msg.ramping else ""
        return f"{msg.name} = {msg.value:.2f}{ramp}"
    if isinstance(msg, messages.PromptAnswer):
        return f"patient answered {msg.kind.upper()} {msg.value}" if msg.answered else f"prompt {msg.prompt_id} expired"
    if isinstance(msg, messages.Telemetry):
        return f"telemetry: {msg.fps:.0f} fps, battery {msg.battery_pct:.0f} %, {msg.temperature_c:.1f} °C"
    if isinstance(msg, messages.SafetyEvent):
        return f"SAFETY {msg.kind}: {msg.text}"
    if isinstance(msg, messages.Marker):
        return f"marker: {msg.label}"
    if isinstance(msg, messages.Error):
        return f"error ({msg.code}) about {msg.ref_type or 'a message'}: {msg.text}"
    if isinstance(msg, messages.Bye):
        return f"said bye ({msg.reason}): {msg.text}"
    return msg.TYPE


def run_monitor(bind: str, duration_s: float | None, quiet_telemetry: bool = True) -> int:
    """``vrclinic monitor``: listen on ``bind`` and print until Ctrl+C or ``duration_s``."""
    from console.core.paths import data_dir
    from console.core.secrets import SecretError
    from console.session.devices import DeviceListError, link_identity

    try:
        keys, devices = link_identity(data_dir())
    except (SecretError, DeviceListError) as exc:
        print(f"vrclinic monitor: {exc}", file=sys.stderr)
        return 2
    link = ConsoleLink(LinkConfig(bind=bind, keys=keys, devices=devices.paired()))

    def out(text: str) -> None:
        if quiet_telemetry and "telemetry:" in text:
            return
        print(text, flush=True)

    monitor = Monitor(link, out)
    monitor.line(f"console listening on {link.endpoint} (session {link.config.session_id})")
    try:
        monitor.run(duration_s)
    except KeyboardInterrupt:
        monitor.line("stopping")
    finally:
        link.close()
    return 0
