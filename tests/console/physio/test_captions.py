"""The words and ticks of the live physiology view (no Qt)."""

from __future__ import annotations

from console.physio.acquisition import StreamStatus
from console.physio.captions import channels_caption, plot_warning, quality_caption, time_label, time_ticks
from console.physio.quality import QualityFlag, Severity
from console.physio.streams import StreamDescription


def stream(channels: int = 1, unit: str = "mV", fmt: str = "float32") -> StreamDescription:
    return StreamDescription(
        uid="u1",
        name="chest",
        type="ECG",
        channel_count=channels,
        nominal_rate=500.0,
        channel_format=fmt,
        source_id="s",
        hostname="h",
        channel_units=(unit,) * channels,
    )


def status(*flags: QualityFlag, error: str = "") -> StreamStatus:
    return StreamStatus(stream(), "streaming", 500.0, 1000, 0.01, 0.0, flags=flags, error=error)


DROPOUT = QualityFlag("dropout", Severity.WARNING, "Dropout: no sample for 1.2 s (expected every 2 ms).")


def test_the_channel_cell_says_units_and_how_many_are_shown():
    assert channels_caption(stream(1), [0]) == "1 (mV)"
    assert channels_caption(stream(1, unit=""), [0]) == "1"
    assert channels_caption(stream(32, unit="µV"), list(range(32))) == "32 (µV), all shown"
    assert channels_caption(stream(32, unit="µV"), [0, 5, 7]) == "32 (µV), 3 of 32 shown"


def test_the_quality_cell_in_words_and_severity():
    assert quality_caption(stream(), None, True) == ("Not plotted.", Severity.OK)
    assert quality_caption(stream(fmt="string"), None, True) == ("Marker stream (text).", Severity.OK)
    assert quality_caption(stream(), status(), True) == ("OK", Severity.OK)
    assert quality_caption(stream(), status(DROPOUT), True) == (DROPOUT.text, Severity.WARNING)
    gone, severity = quality_caption(stream(), status(), False)
    assert gone.startswith("Stream no longer announced") and severity == Severity.WARNING
    failed = quality_caption(stream(), status(error="Could not open 'chest': boom."), True)
    assert failed == ("Could not open 'chest': boom.", Severity.WARNING)


def test_a_plot_title_warns_in_the_first_words():
    assert plot_warning(None) is None and plot_warning(status()) is None
    assert plot_warning(status(DROPOUT)) == ("Dropout", Severity.WARNING)


def test_the_time_axis_reads_seconds_before_now():
    majors, minors = time_ticks(10.0)
    assert [label for _, label in majors] == ["now", "−2 s", "−4 s", "−6 s", "−8 s", "−10 s"]
    assert majors[-1][0] == -10 and len(minors) == 11
    assert [label for _, label in time_ticks(60.0)[0]][-1] == "−60 s"
    assert time_label(None) == "seconds before now"
    assert time_label(754.6) == "seconds before now  ·  now = session 12:34"
    assert time_label(3725.0).endswith("session 1:02:05")
