"""Describing an LSL stream the way the console reads it: one place for the simulators
(and the tests' fake sensors) to build a StreamInfo with labelled channels and units."""

from __future__ import annotations

from collections.abc import Sequence

import pylsl


def stream_info(
    name: str,
    kind: str,
    rate: float,
    channels: Sequence[tuple[str, str]],
    *,
    source_id: str | None = None,
    **desc: str,
) -> pylsl.StreamInfo:
    """A float32 StreamInfo; ``channels`` are (label, unit) pairs written to desc/channels
    (with ``type`` = ``kind``), ``desc`` extra top-level description values."""
    info = pylsl.StreamInfo(name, kind, len(channels), rate, pylsl.cf_float32, source_id or name)
    node = info.desc()
    for key, value in desc.items():
        node.append_child_value(key, value)
    chans = node.append_child("channels")
    for label, unit in channels:
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", kind)
    return info
