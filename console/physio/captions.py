"""What the live physiology view says, in words and ticks, without Qt: the stream table's
channel and quality cells, the warning in a plot's title, the time axis. The widget
(:mod:`console.qt.physio_panel`) only puts these into its items and picks their colours.
Pure functions, any thread."""

from __future__ import annotations

from console.physio.acquisition import StreamStatus
from console.physio.quality import Severity
from console.physio.streams import StreamDescription


def channels_caption(stream: StreamDescription, chosen: list[int]) -> str:
    """The table's channel cell: "1 (mV)", or "32 (µV), 3 of 32 shown"."""
    if stream.channel_count == 1:
        unit = stream.unit(0)
        return f"1 ({unit})" if unit else "1"
    units = sorted({u for u in stream.channel_units if u})
    suffix = f" ({', '.join(units)})" if units else ""
    shown = f"{len(chosen)} of {stream.channel_count}" if len(chosen) != stream.channel_count else "all"
    return f"{stream.channel_count}{suffix}, {shown} shown"


def quality_caption(stream: StreamDescription, status: StreamStatus | None, announced: bool) -> tuple[str, Severity]:
    """The table's quality cell and how serious it is. ``status`` None: the stream is not
    acquired. A stream no longer ``announced`` on the network is at least a warning."""
    if status is None:
        return ("Not plotted." if stream.numeric else "Marker stream (text)."), Severity.OK
    text = status.summary
    severity = status.severity if not status.error else max(status.severity, Severity.WARNING)
    if not announced and severity < Severity.LOST:
        return "Stream no longer announced on the network. " + text, Severity.WARNING
    return text, severity


def plot_warning(status: StreamStatus | None) -> tuple[str, Severity] | None:
    """The warning a plot's title adds, in the first words of each flag ("Dropout", "Flat
    line on ECG"; the table has the rest), and its severity; None when all is well."""
    if status is None or (status.severity == Severity.OK and not status.error):
        return None
    severity = max(status.severity, Severity.WARNING if status.error else Severity.OK)
    return status.error or "; ".join(f.text.split(":")[0] for f in status.flags), severity


def time_ticks(window_s: float) -> list[list[tuple[float, str]]]:
    """Ticks of the "seconds before now" axis: majors labelled "−8 s" … "now" (at most about
    six), unlabelled minors between them."""
    major = next(step for step in (1, 2, 5, 10, 15, 30, 60) if window_s / step <= 6)
    minor = major / 2 if major in (1, 2, 10, 30, 60) else major / 5
    majors = [(-k * major, "now" if k == 0 else f"−{k * major:g} s") for k in range(int(window_s // major) + 1)]
    minors = [(-k * minor, "") for k in range(int(window_s // minor) + 1)]
    return [majors, minors]


def time_label(session_elapsed_s: float | None) -> str:
    """Under the lowest plot: "seconds before now", and the session time of "now" when a
    session runs ("now = session 12:34", hours only when there are any)."""
    text = "seconds before now"
    if session_elapsed_s is not None:
        elapsed = max(0, int(session_elapsed_s))
        h, rem = divmod(elapsed, 3600)
        clock = f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"
        text += f"  ·  now = session {clock}"
    return text
