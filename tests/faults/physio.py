"""The physiology simulator of ``vrclinic physio-sim`` (the same class and loop), in a process
of its own, that also keeps what it sent: for every sample of every stream its LSL
timestamp and a fingerprint of its values, written at the end (SIGTERM) to ``--out``
(``.npz``), so that the soak can find every sample in the recorded XDF or count it lost.

The fingerprint of a sample is the sum over its channels of the float32 value's bits times
an odd weight per channel (``(2 c + 1)``, modulo 2**64): a changed or shifted value changes
it. Timestamps are those liblsl gives the samples of a chunk pushed with the last one's
(``push_chunk(..., timestamp)`` at a regular rate: each earlier sample 1/rate before).

    python -m tests.faults.physio --prefix vrclinic-sim-p1 --follow soak-headset-1 --out p1.npz

Threads: the simulator loop in the main thread; the outlets' wrappers are called by it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import numpy as np


def fingerprint(rows: np.ndarray) -> np.ndarray:
    """One uint64 per sample (row) of float32 values; see the module docstring."""
    bits = np.ascontiguousarray(rows, dtype=np.float32).reshape(len(rows), -1).view(np.uint32).astype(np.uint64)
    weights = (2 * np.arange(bits.shape[1], dtype=np.uint64) + 1)[None, :]
    return (bits * weights).sum(axis=1, dtype=np.uint64)


class Kept:
    """An outlet that also keeps the timestamps and fingerprints of what it pushed."""

    def __init__(self, outlet: object, rate: float):
        self.outlet = outlet
        self.rate = rate
        self.stamps: list[np.ndarray] = []
        self.prints: list[np.ndarray] = []

    def push_chunk(self, data: np.ndarray, timestamp: float) -> None:
        self.outlet.push_chunk(data, timestamp=timestamp)  # raises: not sent, not kept
        n = len(data)
        self.stamps.append(timestamp - np.arange(n - 1, -1, -1, dtype=np.float64) / self.rate)
        self.prints.append(fingerprint(data))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.stamps:
            return np.zeros(0), np.zeros(0, dtype=np.uint64)
        return np.concatenate(self.stamps), np.concatenate(self.prints)


def main(argv: list[str] | None = None) -> int:
    from unity_bridge.sim.physio import FollowedArousal, PhysioSimulator

    parser = argparse.ArgumentParser(prog="python -m tests.faults.physio", description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", required=True, help="stream name prefix (PREFIX-ECG, ...)")
    parser.add_argument("--follow", default=None, help="follow this simulated headset's patient")
    parser.add_argument("--eeg32", action="store_true", help="also 32 channels of EEG at 1 kHz")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", required=True, help="the .npz to write what was sent into, at the end")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(f"[physio {args.prefix}] {line}", flush=True)

    arousal = FollowedArousal(args.follow, log) if args.follow else None
    sim = PhysioSimulator(args.prefix, arousal=arousal, eeg32=args.eeg32, seed=args.seed, log=log)
    kept = {}
    for spec in sim.specs:
        kept[spec.kind] = Kept(sim._outlets[spec.kind], spec.rate)
        sim._outlets[spec.kind] = kept[spec.kind]  # the loop pushes through it
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sim.request_stop())
    log("streaming " + ", ".join(f"{sim.stream_names[s.kind]} ({s.rate:g} Hz)" for s in sim.specs))
    try:
        sim.run()
    finally:
        sim.arousal_source.close()
        arrays = {}
        for spec in sim.specs:
            stamps, prints = kept[spec.kind].arrays()
            name = sim.stream_names[spec.kind]
            arrays[f"{name}|stamps"] = stamps
            arrays[f"{name}|prints"] = prints
            arrays[f"{name}|rate"] = np.array(spec.rate)
        partial = Path(args.out).with_suffix(".partial.npz")
        np.savez(partial, **arrays)
        partial.replace(args.out)
        log("sent " + ", ".join(f"{k.split('|')[0]} {len(v)}" for k, v in arrays.items() if k.endswith("|stamps")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
