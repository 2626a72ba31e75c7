"""Helpers shared by the benchmarks: results, percentiles, the simulated headset process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from protocol.link import ConsoleLink
from protocol.security import EngineKeys, KeyPair, read_keys_file, write_keys_file


def result(value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {"value": round(float(value), 3), "unit": unit, **extra}


def pct(samples: list[float] | np.ndarray, q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def paired_keys_file(link: ConsoleLink, name: str) -> Path:
    """A keys file for an engine process that ``link`` admits as ``name``."""
    keys_file = Path(tempfile.mkdtemp(prefix="vrclinic-bench-keys-")) / f"{name}.keys.json"
    write_keys_file(keys_file, EngineKeys(KeyPair.generate(), link.public_key))
    link.pair(read_keys_file(keys_file).own.public, name)
    return keys_file


def start_headset_sim(link: ConsoleLink, name: str) -> subprocess.Popen:
    """The simulated headset as its own process, the way a real headset is, paired with ``link``."""
    keys_file = paired_keys_file(link, name)
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "console", "headset-sim"),
            *("--console", link.endpoint, "--name", name, "--answer-delay", "0", "--keys", str(keys_file)),
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


def console_stalls(lines: list[str], most: int = 20) -> list[str]:
    """Where a console's GUI thread was when its heartbeat loop stood still, from the console's
    output (its stall watch's warnings: "GUI thread stalled 620 ms in file.py:887 in f; ...")."""
    return [line.split("stalled ", 1)[1].split(";", 1)[0] for line in lines if "GUI thread stalled" in line][:most]
