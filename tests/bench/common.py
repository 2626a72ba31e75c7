"""Helpers shared by the benchmarks: results, percentiles, the simulated headset process."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np


def result(value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {"value": round(float(value), 3), "unit": unit, **extra}


def pct(samples: list[float] | np.ndarray, q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def start_headset_sim(endpoint: str, name: str) -> subprocess.Popen:
    """The simulated headset as its own process, the way a real headset is."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console",
            "headset-sim",
            "--console",
            endpoint,
            "--name",
            name,
            "--answer-delay",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
