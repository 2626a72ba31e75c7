"""Live metrics computed in a process of its own.

NeuroKit2 takes 3–4 s to import (scikit-learn, SciPy, pandas) and holds the interpreter's
lock while it does; a NeuroKit computation also holds it for milliseconds at a time. In the
console's process that delayed the window and the heartbeats it sends (the headset made its
scene calm), or made the console start 4 s later. So the console sends each window of data
to this process and waits for a few numbers back, with its lock released.

Wire format, both ways: one msgpack map per message on stdin/stdout. Requests:
``{"op": "heart", "kind": "ECG"|"PPG", "rate": Hz, "t0": s, "data": float64 bytes}`` →
``{"bpm": float|None, "quality": str}``; ``{"op": "skin", "rate", "t0", "data"}`` →
``{"scl_us", "scr_per_min", "quality"}``; any failure → ``{"error": text}``. Once NeuroKit
is loaded the process says ``{"ready": true}`` first. The process ends when its stdin closes,
which also happens when the console dies.

:class:`MetricsProcess` is the console's side; one thread (the live-metrics worker) calls it.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import subprocess
import sys
import threading
from typing import Any

import msgpack
import numpy as np

# The wait for NeuroKit's import, counted apart from the answers: the process is niced, and on
# a saturated computer it loaded for longer than 30 s; restarting it then only began the
# import again, so the metrics never came.
READY_S = 180.0
ANSWER_S = 10.0


class MetricsUnavailable(RuntimeError):
    """The metrics process did not answer; it is restarted on the next request."""


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def compute(request: dict[str, Any]) -> dict[str, Any]:
    """One request, answered (in the metrics process)."""
    from console.physio import metrics

    data = np.frombuffer(request["data"], dtype=np.float64)
    rate, t0 = float(request["rate"]), float(request["t0"])
    if request["op"] == "heart":
        fn = metrics.heart_rate_from_ecg if request["kind"] == "ECG" else metrics.heart_rate_from_ppg
        hr = fn(data, rate, t0=t0)
        t_end = t0 + (len(data) - 1) / rate
        bpm = _finite(hr.bpm_at(t_end, window_s=10.0)) if hr.quality != "poor" else None
        return {"bpm": bpm, "quality": hr.quality}
    if request["op"] == "skin":
        sc = metrics.skin_conductance(data, rate, t0=t0)
        if sc.quality == "poor" or not len(sc.t):
            return {"scl_us": None, "scr_per_min": None, "quality": sc.quality}
        # The metric's own time axis: the samples' jittered stamps can end past it.
        return {
            "scl_us": _finite(sc.scl_at(float(sc.t[-1]))),
            "scr_per_min": _finite(sc.scr_per_min(float(sc.t[0]), float(sc.t[-1]))),
            "quality": sc.quality,
        }
    raise ValueError(f"unknown op {request['op']!r}")


def main() -> int:
    """The metrics process: NeuroKit first, then one answer per request until stdin closes."""
    from console.physio import metrics

    # Second to the console: its window sends the heartbeats that keep the patient's scene
    # running, and on a two-core computer this process must not take their time.
    with contextlib.suppress(OSError):
        os.nice(10)
    metrics.preload()
    out = sys.stdout.buffer
    out.write(msgpack.packb({"ready": True}))
    out.flush()
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=64 * 1024 * 1024)
    stdin = sys.stdin.fileno()
    # os.read returns what has arrived; a buffered read would wait for a whole buffer.
    while chunk := os.read(stdin, 1 << 20):
        unpacker.feed(chunk)
        for request in unpacker:
            try:
                answer = compute(request)
            except Exception as exc:  # a bad window must not end the process: say what went wrong
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            out.write(msgpack.packb(answer))
            out.flush()
    return 0


class MetricsProcess:
    """The console's side: starts the process at once (so NeuroKit loads while the console
    starts), sends a window, waits for the answer off the GIL. Restarts a process that died or
    stopped answering. Calls come from one thread."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._unpacker: msgpack.Unpacker | None = None
        self._ready = False
        self._lock = threading.Lock()  # close() may come from another thread
        self.restarts = 0
        self.start()

    def start(self) -> None:
        with self._lock:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "console.physio.metrics_proc"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._unpacker = msgpack.Unpacker(raw=False)
            self._ready = False

    @property
    def pid(self) -> int | None:
        """The metrics process's id (for measuring its CPU), None between processes."""
        proc = self._proc
        return proc.pid if proc is not None else None

    def heart(self, kind: str, data: np.ndarray, rate: float, t0: float) -> tuple[float | None, str]:
        answer = self._ask({"op": "heart", "kind": kind, "rate": rate, "t0": t0, "data": _bytes(data)})
        return answer["bpm"], answer["quality"]

    def skin(self, data: np.ndarray, rate: float, t0: float) -> tuple[float | None, float | None, str]:
        answer = self._ask({"op": "skin", "rate": rate, "t0": t0, "data": _bytes(data)})
        return answer["scl_us"], answer["scr_per_min"], answer["quality"]

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        proc, unpacker = self._proc, self._unpacker
        if proc is None or unpacker is None or proc.poll() is not None:
            self._restart()
            proc, unpacker = self._proc, self._unpacker
        assert proc is not None and proc.stdin is not None and proc.stdout is not None and unpacker is not None
        try:
            proc.stdin.write(msgpack.packb(request))
            proc.stdin.flush()
            if not self._ready:
                said = self._read(proc, unpacker, READY_S)
                if not said.get("ready"):
                    raise ValueError(f"the process said {said!r} before it was ready")
                self._ready = True
            answer = self._read(proc, unpacker, ANSWER_S)
        except (OSError, ValueError) as exc:
            self._restart()
            raise MetricsUnavailable(f"the metrics process stopped ({exc}); restarted") from exc
        if "error" in answer:
            raise ValueError(answer["error"])
        return answer

    def _read(self, proc: subprocess.Popen, unpacker: msgpack.Unpacker, timeout: float) -> dict[str, Any]:
        fd = proc.stdout.fileno()
        while True:
            for answer in unpacker:
                return answer
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                raise OSError(f"no answer in {timeout:g} s")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise OSError("the process ended")
            unpacker.feed(chunk)

    def _restart(self) -> None:
        self.close()
        self.restarts += 1
        self.start()

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # the process ends when its stdin closes
            proc.wait(3)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(3)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


def _bytes(data: np.ndarray) -> bytes:
    return np.ascontiguousarray(data, dtype=np.float64).tobytes()


if __name__ == "__main__":
    sys.exit(main())
