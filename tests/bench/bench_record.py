"""Recording to XDF: 64 channels of EEG at 1 kHz plus the standard streams, pushed into real
LSL outlets faster than real time, recorded by :class:`~console.recording.recorder.SessionRecorder`
(LabRecorder's engine), read back with pyxdf, against a plain binary write of the same data
in the same run (the floor: what writing these bytes costs at all).

The streams are the physiology simulator's (ECG 500 Hz, PPG 100 Hz, EDA 32 Hz, RESP 50 Hz,
1 channel each, float32) plus EEG 64 × 1 kHz float32 and a string marker stream (2 JSON
markers a second, irregular). ``SECONDS`` of sensor time are generated up front, every
value identifiable (sample k of a 1-channel stream is k; EEG sample k, channel c is 64 k + c;
marker k carries k), stamped at the nominal rate on ``pylsl.local_clock()``, and pushed with
``push_chunk`` in 20 ms chunks like a wireless sensor, at each of ``PACES`` × real time
(0: as fast as Python pushes), each pace into fresh outlets and a fresh recording:

- each outlet is resolved (``resolve_byprop``) as soon as it exists, its address filled in
  (the recorder runs in a process of its own, and a resolved description crossing a process
  boundary has none), the recorder started on those infos without watching for other
  streams, and pushing starts once every outlet has its consumer (an LSL inlet gets only
  what is pushed after it connected: ``wait_for_consumers``, no guessed settle time);
- after the last push the bench waits until the file has not grown for ``QUIET_S``, then
  stops the recorder; the recording time is first push -> last growth of the file (the
  recorder's ``stop()``, clock offsets and footers, is reported apart as ``stop_s``);
- the file is read back with pyxdf and every stream compared with what was pushed: count,
  values, timestamps (as stored, within 1 µs). pyxdf's clock synchronization
  (``synchronize_clocks=True``, ``dejitter_timestamps=False``) applies the offsets LSL
  measured between the two ends, which on one machine are measurement noise (tens of µs on a
  loaded machine), not zero: the largest shift it applies is reported (``sync_shift_max_us``),
  not counted as loss.

``record_samples_lost`` (goal 0) counts the samples (one per timestamp, all its channels)
not read back exactly, over all paces; ``record_throughput_ratio`` is the recording path's
samples/s (first push -> complete data in the file) at the fastest pace that lost nothing,
over the samples/s of ``ndarray.tofile`` + fsync of the same arrays into the same folder.
Unpaced, the Python loop pushing 20 ms chunks takes most of that time (``recorder_push_s``):
the figure is what the recording path sustains fed this way, a lower bound of the engine's.

All of it runs in a child process (``python -m tests.bench.bench_record --child``) whose
liblsl reads ``LSLAPICFG`` from its start: the caller's if set, else a configuration that
resolves on this machine only (as the tests') on a port range of its own, so that other LSL
programs on the machine (a running simulator, other test runs) neither answer nor take the
ports. liblsl reads its configuration once per process, and the other benches use LSL first.
"""

from __future__ import annotations

import collections
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.bench.common import result

SECONDS = 60.0  # sensor time recorded at each pace
PACES = (8.0, 16.0, 32.0, 0.0)  # × real time; 0 = unpaced
CHUNK_S = 0.02  # sensor time per pushed chunk
QUIET_S = 1.5  # the file has not grown for this long after the last push: all written
CONNECT_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 30.0  # after the last push
CHILD_TIMEOUT_S = 300.0
TS_TOLERANCE_S = 1e-6
MARKER_INTERVAL_S = 0.5
# The tests' configuration (tests/conftest.py) on ports of its own; see the module docstring.
LSL_CONFIG = (
    "[ports]\nMulticastPort = 23571\nBasePort = 23572\nPortRange = 64\nIPv6 = disable\n"
    "[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n"
)


@dataclass(frozen=True)
class Spec:
    kind: str
    rate: float  # 0: irregular (markers)
    channels: int


SPECS = (
    Spec("EEG", 1000.0, 64),
    Spec("ECG", 500.0, 1),
    Spec("PPG", 100.0, 1),
    Spec("EDA", 32.0, 1),
    Spec("RESP", 50.0, 1),
    Spec("Markers", 0.0, 1),
)


@dataclass
class Stream:
    spec: Spec
    name: str
    data: np.ndarray | list[str]  # samples × channels (float32), or the marker strings
    stamps: np.ndarray  # float64, one per sample
    bounds: np.ndarray  # chunk i is samples bounds[i]:bounds[i + 1]

    @property
    def count(self) -> int:
        return len(self.stamps)

    @property
    def nbytes(self) -> int:
        if isinstance(self.data, np.ndarray):
            return self.data.nbytes + self.stamps.nbytes
        return sum(len(s.encode()) for s in self.data) + self.stamps.nbytes


def make_streams(prefix: str, t0: float) -> list[Stream]:
    ticks = round(SECONDS / CHUNK_S)
    edges = np.arange(ticks + 1) * CHUNK_S
    streams = []
    for spec in SPECS:
        if spec.rate > 0:
            n = round(SECONDS * spec.rate)
            k = np.arange(n)
            rel = k / spec.rate
            data = (k[:, None] * spec.channels + np.arange(spec.channels)).astype(np.float32)
            if n * spec.channels >= 2**24:
                raise ValueError("SECONDS too long: the counters would not be exact in float32")
        else:
            n = round(SECONDS / MARKER_INTERVAL_S)
            k = np.arange(n)
            rel = k * MARKER_INTERVAL_S + 0.137 * (k % 3)  # irregular
            data = [
                json.dumps({"seq": i, "text": f"bench marker {i}", "stimulus": {"distance": i % 7}}) for i in range(n)
            ]
        stamps = t0 + rel
        bounds = np.searchsorted(rel, edges, side="left")
        bounds[-1] = n
        streams.append(Stream(spec, f"{prefix}-{spec.kind}", data, stamps, bounds))
    return streams


def _outlet(stream: Stream):
    import pylsl

    from unity_bridge.sim.lsl import stream_info

    spec = stream.spec
    if spec.rate > 0:
        labels = [f"{spec.kind}{c + 1}" for c in range(spec.channels)]
        info = stream_info(stream.name, spec.kind, spec.rate, [(label, "a.u.") for label in labels])
    else:
        info = pylsl.StreamInfo(stream.name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, stream.name)
    return pylsl.StreamOutlet(info)


def _wait_quiet(path: Path) -> float:
    """Poll the file's size until it has not grown for QUIET_S; the time of its last growth."""
    last_size, last_growth = -1, time.perf_counter()
    give_up = last_growth + DRAIN_TIMEOUT_S
    while True:
        size = path.stat().st_size if path.exists() else 0
        now = time.perf_counter()
        if size != last_size:
            last_size, last_growth = size, now
        elif now - last_growth >= QUIET_S:
            return last_growth
        if now > give_up:
            return last_growth  # still growing: whatever is missing shows as lost
        time.sleep(0.005)


def _start(recorder, infos) -> None:
    """Only the bench's streams: no watching for others that appear on this machine."""
    if "watch_for_new" in inspect.signature(recorder.start).parameters:
        recorder.start(infos, watch_for_new=False)
    else:
        recorder.start(infos)


def _resolved(name: str):
    """The stream's info as a recorder in another process needs it: resolved, with the
    address filled in (a resolved description leaves it empty; see info_from_xml)."""
    import pylsl

    from console.physio.streams import info_from_xml

    # Resolved right after its outlet is made: with ResolveScope = machine, the query's
    # datagram to the multicast port reaches only the socket bound there last.
    found = pylsl.resolve_byprop("name", name, 1, CONNECT_TIMEOUT_S)
    if not found:
        raise RuntimeError(f"the bench's own stream {name} did not resolve")
    return info_from_xml(found[0].as_xml(), "127.0.0.1")


def record_once(pace: float, folder: Path) -> dict:
    import pylsl

    from console.recording.recorder import SessionRecorder

    prefix = f"bench-rec-{os.getpid()}-{int(pace)}x"
    streams = make_streams(prefix, pylsl.local_clock())
    outlets, infos = [], []
    for s in streams:
        outlets.append(_outlet(s))
        infos.append(_resolved(s.name))
    recorder = SessionRecorder(folder / f"pace-{int(pace)}")
    _start(recorder, infos)
    try:
        deadline = time.perf_counter() + CONNECT_TIMEOUT_S
        for o, s in zip(outlets, streams, strict=True):
            if not o.wait_for_consumers(max(0.0, deadline - time.perf_counter())):
                raise RuntimeError(f"the recorder did not connect to {s.name}")
        ticks = len(streams[0].bounds) - 1
        start = time.perf_counter()
        for i in range(ticks):
            if pace > 0:
                delay = start + (i + 1) * CHUNK_S / pace - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            for o, s in zip(outlets, streams, strict=True):
                lo, hi = s.bounds[i], s.bounds[i + 1]
                if hi > lo:
                    o.push_chunk(s.data[lo:hi], s.stamps[lo:hi].tolist())
        pushed = time.perf_counter()
        written = _wait_quiet(recorder.path)
        stopping = time.perf_counter()
        recorder.stop()
        stopped = time.perf_counter()
    finally:
        if recorder.recording:
            recorder.stop()
        outlets.clear()
    lost, detail, shift = verify(recorder.path, streams)
    return {
        "pace": pace,
        "streams": streams,
        "push_s": pushed - start,
        "record_s": written - start,
        "stop_s": stopped - stopping,
        "lost": lost,
        "detail": detail,
        "sync_shift_s": shift,
        "file_bytes": recorder.path.stat().st_size,
    }


def verify(path: Path, streams: list[Stream]) -> tuple[int, dict[str, str], float]:
    """Samples not read back exactly (count, values, timestamps as stored), what went wrong
    per stream, and the largest shift pyxdf's clock synchronization then applies."""
    import pyxdf

    raw, _ = pyxdf.load_xdf(str(path), synchronize_clocks=False, dejitter_timestamps=False)
    synced, _ = pyxdf.load_xdf(str(path), synchronize_clocks=True, dejitter_timestamps=False)
    raw_by_name = {r["info"]["name"][0]: r for r in raw}
    synced_by_name = {r["info"]["name"][0]: r for r in synced}
    lost, detail, shift = 0, {}, 0.0
    for s in streams:
        r = raw_by_name.get(s.name)
        if r is None:
            lost += s.count
            detail[s.spec.kind] = "missing from the file"
            continue
        stamps = np.asarray(r["time_stamps"], dtype=np.float64)
        if isinstance(s.data, np.ndarray):
            values = np.asarray(r["time_series"], dtype=np.float32).reshape(-1, s.spec.channels)
            ids = values[:, 0].astype(np.int64) // s.spec.channels
            in_range = (ids >= 0) & (ids < s.count)
            ok_vals = in_range & np.all(values == s.data[np.clip(ids, 0, s.count - 1)], axis=1)
        else:
            ids = np.array([json.loads(v[0])["seq"] for v in r["time_series"]], dtype=np.int64)
            ok_vals = np.array(
                [0 <= i < s.count and v[0] == s.data[i] for i, v in zip(ids, r["time_series"], strict=True)]
            )
        err = np.full(len(ids), np.inf)
        err[ok_vals] = np.abs(stamps[ok_vals] - s.stamps[ids[ok_vals]])
        ok = err <= TS_TOLERANCE_S
        good = np.unique(ids[ok]).size
        if good < s.count or len(ids) != s.count:
            worst = float(err[ok_vals].max()) if ok_vals.any() else float("nan")
            detail[s.spec.kind] = (
                f"{s.count - good} of {s.count} lost ({len(ids)} read back, {int((~ok_vals).sum())} wrong values, "
                f"worst timestamp error {worst:.3g} s)"
            )
        lost += s.count - good
        y = synced_by_name.get(s.name)
        if y is not None and len(y["time_stamps"]) == len(stamps):
            shift = max(shift, float(np.max(np.abs(np.asarray(y["time_stamps"]) - stamps), initial=0.0)))
    return lost, detail, shift


def plain_write(streams: list[Stream], folder: Path) -> float:
    """Seconds to write every stream's data and timestamps with ndarray.tofile, flushed and fsynced."""
    arrays = []
    for s in streams:
        if isinstance(s.data, np.ndarray):
            arrays.append(s.data)
        else:
            arrays.append(np.frombuffer("\n".join(s.data).encode(), dtype=np.uint8))
        arrays.append(s.stamps)
    path = folder / "plain.bin"
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        with open(path, "wb") as fh:
            for a in arrays:
                a.tofile(fh)
            fh.flush()
            os.fsync(fh.fileno())
        best = min(best, time.perf_counter() - t0)
        path.unlink()
    return best


def measure(folder: Path) -> dict:
    """The child's part: every pace, then the plain write; plain numbers for the parent."""
    runs = []
    for pace in PACES:
        r = record_once(pace, folder)
        r["label"] = f"{pace:g}x" if pace else "unpaced"
        print(
            f"record at {r['label']}: pushed in {r['push_s']:.2f} s, in the file {r['record_s']:.2f} s after the "
            f"first push ({SECONDS / r['record_s']:.1f}x real time), stop {r['stop_s']:.2f} s, "
            f"clock sync shifts up to {r['sync_shift_s'] * 1e6:.1f} us, lost {r['lost']}"
            + (f": {r['detail']}" if r["detail"] else ""),
            file=sys.stderr,
            flush=True,
        )
        runs.append(r)
    streams = runs[0]["streams"]
    return {
        "plain_s": plain_write(streams, folder),
        "samples": sum(s.count for s in streams),
        "values": sum(s.count * s.spec.channels for s in streams),
        "nbytes": sum(s.nbytes for s in streams),
        "per_stream": {s.spec.kind: s.count for s in streams},
        "runs": [{k: v for k, v in r.items() if k != "streams"} for r in runs],
    }


def run() -> dict[str, dict]:
    tmp = Path(tempfile.mkdtemp(prefix="vrclinic-bench-rec-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if not env.get("LSLAPICFG"):
        cfg = tmp / "lsl_api.cfg"
        cfg.write_text(LSL_CONFIG)
        env["LSLAPICFG"] = str(cfg)
    out_path = tmp / "measured.json"
    log: collections.deque[str] = collections.deque(maxlen=40)
    try:
        with open(tmp / "child-stdout.txt", "w") as child_out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.bench.bench_record", "--child", str(tmp), str(out_path)],
                stdout=child_out,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            deadline = time.monotonic() + CHILD_TIMEOUT_S
            assert proc.stderr is not None
            for line in proc.stderr:  # the progress lines, and liblsl's log
                if line.startswith("record"):
                    print("  " + line.rstrip(), flush=True)
                else:
                    log.append(line.rstrip())
                if time.monotonic() > deadline:
                    proc.kill()
                    break
            code = proc.wait()
        if code != 0 or not out_path.exists():
            tail = "\n".join(log) + "\n" + (tmp / "child-stdout.txt").read_text()[-2000:]
            raise RuntimeError(f"the recording bench failed (exit {code}):\n{tail}")
        m = json.loads(out_path.read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    runs, samples, nbytes = m["runs"], m["samples"], m["nbytes"]
    lost = sum(r["lost"] for r in runs)
    clean = [r for r in runs if r["lost"] == 0]
    best = min(clean or runs, key=lambda r: r["record_s"])
    rec_rate = samples / best["record_s"]
    plain_rate = samples / m["plain_s"]
    ratio = rec_rate / plain_rate
    rt = SECONDS / best["record_s"]
    shift_us = max(r["sync_shift_s"] for r in runs) * 1e6
    out = {
        "record_samples_lost": result(
            lost,
            "samples",
            goal="0",
            of=samples * len(runs),
            per_pace={r["label"]: r["lost"] for r in runs},
            problems={r["label"]: r["detail"] for r in runs if r["detail"]},
            streams=m["per_stream"],
            sync_shift_max_us=round(shift_us, 1),
        ),
        "record_throughput_ratio": result(
            ratio,
            "x",
            floor="ndarray.tofile + fsync of the same arrays, same folder, same run",
            pace=best["label"],
            recorder_samples_per_s=round(rec_rate),
            recorder_mb_per_s=round(nbytes / best["record_s"] / 1e6, 2),
            recorder_real_time_factor=round(rt, 2),
            recorder_s=round(best["record_s"], 3),
            recorder_push_s=round(best["push_s"], 3),
            recorder_stop_s=round(best["stop_s"], 3),
            xdf_mb=round(best["file_bytes"] / 1e6, 2),
            data_mb=round(nbytes / 1e6, 2),
            plain_samples_per_s=round(plain_rate),
            plain_mb_per_s=round(nbytes / m["plain_s"] / 1e6, 1),
            plain_s=round(m["plain_s"], 4),
            samples=samples,
            channel_values=m["values"],
            sensor_seconds=SECONDS,
            real_time_factor_per_pace={r["label"]: round(SECONDS / r["record_s"], 2) for r in runs},
        ),
    }
    print(f"record_samples_lost {lost} of {samples * len(runs):,}", flush=True)
    print(
        f"record_throughput_ratio {ratio:.4f} (recorder {rec_rate / 1e3:.0f} k samples/s, "
        f"{nbytes / best['record_s'] / 1e6:.1f} MB/s, {rt:.1f}x real time, {best['label']} vs plain write "
        f"{plain_rate / 1e6:.1f} M samples/s, {nbytes / m['plain_s'] / 1e6:.0f} MB/s)",
        flush=True,
    )
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        Path(sys.argv[3]).write_text(json.dumps(measure(Path(sys.argv[2]))))
    else:
        run()
