"""Real LSL outlets for the physiology tests, and the fixtures that make them: stream names
unique to each test (test name + uuid), so tests never see each other's streams, and
outlets closed after it. Test modules outside this folder import the fixtures from here."""

from __future__ import annotations

import dataclasses
import re
import threading
import uuid
from collections.abc import Callable, Iterator

import numpy as np
import pylsl
import pytest

from console.physio.streams import StreamDescription, describe
from unity_bridge.sim.lsl import stream_info


class Pusher:
    """An LSL outlet fed by its own thread in real time, with exact timestamps on
    ``pylsl.local_clock()``, in chunks like a wireless sensor. ``signal(t)`` gives the
    samples (times × channels) for sample times ``t``."""

    def __init__(
        self,
        name: str,
        stream_type: str = "ECG",
        rate: float = 250.0,
        channels: int = 1,
        labels: tuple[str, ...] = (),
        unit: str = "mV",
        signal: Callable[[np.ndarray], np.ndarray] | None = None,
        chunk_s: float = 0.02,
        source_id: str | None = None,
    ):
        self.name, self.rate, self.channels, self.chunk_s = name, rate, channels, chunk_s
        names = [labels[i] if i < len(labels) else f"{stream_type}{i + 1}" for i in range(channels)]
        info = stream_info(name, stream_type, rate, [(label, unit) for label in names], source_id=source_id)
        self.outlet: pylsl.StreamOutlet | None = pylsl.StreamOutlet(info)
        self.signal = signal or (lambda t: np.sin(2 * np.pi * 1.3 * t)[:, None] * np.arange(1, channels + 1))
        self.pushing = threading.Event()
        self.pushing.set()
        self.pushed: list[tuple[float, float]] = []  # (first, last) timestamp of each chunk
        self._stop = threading.Event()
        self.t0 = pylsl.local_clock()  # sample k is stamped t0 + k / rate
        self._thread = threading.Thread(target=self._run, name=f"push-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        t0 = self.t0
        sent = 0
        while not self._stop.wait(self.chunk_s):
            now = pylsl.local_clock()
            due = int((now - t0) * self.rate) - sent
            if due <= 0:
                continue
            times = t0 + (sent + np.arange(due)) / self.rate
            sent += due
            if not self.pushing.is_set() or self.outlet is None:
                continue  # stalled: the samples are never sent
            data = np.ascontiguousarray(self.signal(times), dtype=np.float32).reshape(due, self.channels)
            self.outlet.push_chunk(data, timestamp=float(times[-1]))
            self.pushed.append((float(times[0]), float(times[-1])))

    def stall(self) -> None:
        self.pushing.clear()

    def resume(self) -> None:
        self.pushing.set()

    def close(self) -> None:
        """Stop pushing and destroy the outlet: the stream disappears from the network."""
        self._stop.set()
        self._thread.join(2)
        self.outlet = None


def described(name: str, timeout: float = 5.0) -> StreamDescription:
    """The stream called ``name`` as the directory describes it: the resolved info (to open
    inlets from) with the full description's channel labels and units."""
    info = resolve(name, timeout)
    full = pylsl.StreamInlet(info, max_buflen=1, recover=False).info(timeout=timeout)
    return dataclasses.replace(describe(full), info=info)


def resolve(name: str, timeout: float = 5.0) -> pylsl.StreamInfo:
    """The resolved info of the stream called ``name`` (resolve_byprop returns in ms)."""
    found = pylsl.resolve_byprop("name", name, minimum=1, timeout=timeout)
    assert found, f"LSL stream '{name}' not found within {timeout} s"
    return found[0]


@pytest.fixture
def unique(request) -> Callable[[str], str]:
    """Stream names unique to this test: unique('ECG') -> 'test_x-ECG-1a2b3c4d'."""
    base = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:40]
    tag = uuid.uuid4().hex[:8]
    return lambda kind: f"{base}-{kind}-{tag}"


@pytest.fixture
def pushers() -> Iterator[Callable[..., Pusher]]:
    made: list[Pusher] = []

    def make(name: str, **kwargs) -> Pusher:
        pusher = Pusher(name, **kwargs)
        made.append(pusher)
        return pusher

    yield make
    for pusher in made:
        pusher.close()
