"""Pulling the selected LSL streams into ring buffers: the :class:`Acquisition`.

Threads
-------
One **worker thread per selected stream**. Each owns its ``pylsl.StreamInlet`` (inlets are
not shared), pulls what has arrived every ``poll_interval_s`` with
``pull_chunk(timeout=0.0)`` straight into a preallocated numpy block, and appends it to the
stream's ring buffer under that stream's lock. One thread per inlet, rather than one for
all, because the calls that can block — opening the inlet, the first
``time_correction()`` (up to seconds over a bad network), recovering a lost source — then
hold up only their own stream; ``pull_chunk`` releases the GIL. A worker wakes every
``poll_interval_s`` (20 ms: new samples reach the plots within about a frame), and assesses
its stream's quality every ``status_interval_s`` in its own thread, so readers never pay
for it. The five streams of the plot bench (ECG, PPG, EDA, respiration, 32 × 1 kHz EEG)
cost about 7 % of one core, liblsl's receiving threads included.

Readers — the GUI thread's plot timer, the stream table, tests — call :meth:`Acquisition.latest`
and :meth:`Acquisition.read_from` (copies taken under the stream's lock) and
:meth:`Acquisition.status` (the snapshot the worker made); all return at once.
:meth:`Acquisition.select` and :meth:`Acquisition.deselect` never wait for the network
either: a new worker connects in the background, a stopped worker closes its inlet in its
own thread.

Clock
-----
Timestamps are mapped into the console's clock, ``pylsl.local_clock()`` (on Linux the same
as ``time.perf_counter()`` and :func:`protocol.timing.now`): each worker adds the inlet's
``time_correction()``, refreshed every ``clock_refresh_s`` seconds, to the sender's
timestamps. Marks, stimulus changes and ratings stamped with ``local_clock()`` therefore
line up with the samples on the plots.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pylsl
from pylsl.util import LostError
from pylsl.util import TimeoutError as LslTimeout

from console.physio.quality import QualityConfig, QualityFlag, QualityMonitor, Severity, format_rate, measured_rate
from console.physio.streams import StreamDescription

IRREGULAR_CAPACITY = 20_000  # samples kept for streams without a nominal rate


class RingBuffer:
    """The most recent samples of one stream, stored twice in a row so that any recent
    window is one contiguous slice (a copy is a single memcpy).

    Not thread-safe: the owner holds its lock around every call.
    """

    def __init__(self, capacity: int, channels: int, dtype: np.dtype | type = np.float32):
        self.capacity = max(2, int(capacity))
        self.channels = channels
        self._ts = np.zeros(2 * self.capacity, dtype=np.float64)
        self._data = np.zeros((2 * self.capacity, channels), dtype=dtype)
        self._head = 0  # where the next sample goes, 0 <= head < capacity
        self.count = 0  # valid samples, <= capacity
        self.total = 0  # samples ever appended

    def append(self, timestamps: np.ndarray, data: np.ndarray) -> None:
        """Append ``len(timestamps)`` samples (``data`` is samples × channels)."""
        n = len(timestamps)
        if n == 0:
            return
        self.total += n
        if n > self.capacity:  # more than fits: only the newest count
            timestamps, data, n = timestamps[-self.capacity :], data[-self.capacity :], self.capacity
        cap, head = self.capacity, self._head
        first = min(n, cap - head)
        for lo, src in ((head, slice(0, first)), (0, slice(first, n))):
            m = src.stop - src.start
            if m <= 0:
                continue
            self._ts[lo : lo + m] = timestamps[src]
            self._ts[lo + cap : lo + cap + m] = timestamps[src]
            self._data[lo : lo + m] = data[src]
            self._data[lo + cap : lo + cap + m] = data[src]
        self._head = (head + n) % cap
        self.count = min(cap, self.count + n)

    def _window(self) -> tuple[int, int]:
        end = self._head + self.capacity  # the newest sample is at end - 1
        return end - self.count, end

    def tail(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the newest ``n`` samples: (timestamps, data)."""
        start, end = self._window()
        start = max(start, end - n)
        return self._ts[start:end].copy(), self._data[start:end].copy()

    def since(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the samples with timestamp >= ``t``."""
        start, end = self._window()
        i = start + int(np.searchsorted(self._ts[start:end], t, side="left"))
        return self._ts[i:end].copy(), self._data[i:end].copy()

    def from_index(self, index: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Copies of the samples whose running number (0 = the first sample ever appended)
        is ``index`` or later, as far as they are still kept: (running number of the first
        sample returned, timestamps, data)."""
        start, end = self._window()
        first = self.total - self.count
        skip = min(max(0, index - first), self.count)
        return first + skip, self._ts[start + skip : end].copy(), self._data[start + skip : end].copy()

    def last_timestamp(self) -> float | None:
        return float(self._ts[self._head + self.capacity - 1]) if self.count else None


@dataclass(frozen=True)
class StreamStatus:
    """How one selected stream is doing, for the stream table (a snapshot)."""

    stream: StreamDescription
    state: str  # "connecting", "streaming", "lost", "failed"
    measured_rate: float | None
    samples_received: int
    last_sample_age_s: float | None  # console time since the newest sample's timestamp
    clock_offset_s: float | None  # the sender's clock minus ours, as LSL estimates it
    flags: tuple[QualityFlag, ...] = ()
    error: str = ""

    @property
    def severity(self) -> Severity:
        return max((f.severity for f in self.flags), default=Severity.OK)

    @property
    def summary(self) -> str:
        """The warnings in words, or 'OK'."""
        if self.error:
            return self.error
        return " ".join(f.text for f in self.flags) if self.flags else "OK"

    @property
    def rate_text(self) -> str:
        return format_rate(self.measured_rate)


@dataclass
class _Worker:
    stream: StreamDescription
    buffer: RingBuffer
    monitor: QualityMonitor
    selected_at: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    state: str = "connecting"
    error: str = ""
    offset: float | None = None
    last_arrival: float | None = None
    source_lost: bool = False
    quality_lock: threading.Lock = field(default_factory=threading.Lock)
    status: StreamStatus | None = None  # the latest assessment, replaced whole (readers need no lock)
    status_at: float = -math.inf


class Acquisition:
    """Inlets for the selected streams, their ring buffers, measured rates and quality flags.

    Threads: every public method may be called from any thread (the GUI thread in the
    console) and returns without waiting for the network; the workers are described in the
    module docstring.
    """

    def __init__(
        self,
        *,
        buffer_s: float = 60.0,
        poll_interval_s: float = 0.02,
        clock_refresh_s: float = 5.0,
        status_interval_s: float = 0.5,
        quality: QualityConfig | None = None,
        clock: Callable[[], float] = pylsl.local_clock,
    ):
        self.buffer_s = buffer_s
        self.poll_interval_s = poll_interval_s
        self.clock_refresh_s = clock_refresh_s
        self.status_interval_s = status_interval_s
        self.quality = quality or QualityConfig()
        self.clock = clock
        self._lock = threading.Lock()  # guards _workers and _stopping
        self._workers: dict[str, _Worker] = {}
        self._stopping: list[_Worker] = []

    # -- selection -------------------------------------------------------------------

    def select(self, stream: StreamDescription) -> None:
        """Start acquiring ``stream`` (no effect if it already is). Any thread; returns at once.

        Raises ValueError for a string (marker) stream: those carry events, not samples to
        plot.
        """
        if not stream.numeric:
            raise ValueError(f"'{stream.name}' carries text (markers), not numbers: it cannot be plotted.")
        with self._lock:
            if stream.uid in self._workers:
                return
            rate = stream.nominal_rate
            capacity = math.ceil(self.buffer_s * rate * 1.2) + 1024 if rate > 0 else IRREGULAR_CAPACITY
            dtype = np.float32 if stream.channel_format in ("float32", "int16", "int8") else np.float64
            worker = _Worker(
                stream=stream,
                buffer=RingBuffer(capacity, stream.channel_count, dtype),
                monitor=QualityMonitor(rate, stream.channel_labels, self.quality),
                selected_at=self.clock(),
            )
            worker.thread = threading.Thread(target=self._run, args=(worker,), name=f"lsl-{stream.name}", daemon=True)
            self._workers[stream.uid] = worker
            self._reap()
        worker.thread.start()

    def deselect(self, uid: str) -> None:
        """Stop acquiring the stream ``uid`` and drop its buffer. Any thread; returns at once
        (the worker closes its inlet within one poll interval)."""
        with self._lock:
            worker = self._workers.pop(uid, None)
            if worker is not None:
                worker.stop.set()
                self._stopping.append(worker)

    def set_selection(self, streams: Iterable[StreamDescription]) -> None:
        """Acquire exactly ``streams``: start the new ones, stop the others. Any thread."""
        wanted = {s.uid: s for s in streams if s.numeric}
        for uid in set(self.selected_uids()) - set(wanted):
            self.deselect(uid)
        for stream in wanted.values():
            self.select(stream)

    def selected_uids(self) -> list[str]:
        with self._lock:
            return list(self._workers)

    def selected(self) -> list[StreamDescription]:
        with self._lock:
            return [w.stream for w in self._workers.values()]

    def close(self, timeout: float = 3.0) -> None:
        """Stop every worker and wait (up to ``timeout`` s in all) for them to close their
        inlets. For shutdown and tests; any thread."""
        with self._lock:
            workers = list(self._workers.values()) + self._stopping
            self._workers.clear()
            self._stopping = []
        for worker in workers:
            worker.stop.set()
        deadline = time.monotonic() + timeout
        for worker in workers:
            if worker.thread is not None and worker.thread is not threading.current_thread():
                worker.thread.join(max(0.0, deadline - time.monotonic()))

    def _reap(self) -> None:
        self._stopping = [w for w in self._stopping if w.thread is not None and w.thread.is_alive()]

    # -- reading ---------------------------------------------------------------------

    def latest(self, uid: str, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the last ``seconds`` of stream ``uid``, measured back from its newest
        sample: (timestamps in console clock, shape (n,); data, shape (n, channels)).
        Empty arrays when the stream is not selected or has no data yet. Any thread."""
        with self._lock:
            worker = self._workers.get(uid)
        if worker is None:
            return np.empty(0), np.empty((0, 0), dtype=np.float32)
        with worker.lock:
            last = worker.buffer.last_timestamp()
            if last is None:
                return np.empty(0), np.empty((0, worker.buffer.channels), dtype=worker.buffer._data.dtype)
            return worker.buffer.since(last - seconds)

    def read_from(self, uid: str, index: int, max_seconds: float) -> tuple[int, np.ndarray, np.ndarray]:
        """Samples of stream ``uid`` from running number ``index`` on (0 = the first sample
        acquired), but no more than the last ``max_seconds``: (running number of the first
        sample returned, timestamps in console clock, data). A reader that keeps
        ``first + len(timestamps)`` as its next ``index`` gets every sample once, so it can
        process only what is new. ``(index, empty, empty)`` when the stream is not selected.
        Any thread."""
        with self._lock:
            worker = self._workers.get(uid)
        if worker is None:
            return index, np.empty(0), np.empty((0, 0), dtype=np.float32)
        with worker.lock:
            buffer = worker.buffer
            last = buffer.last_timestamp()
            if last is not None and buffer.count:
                # Do not go further back than max_seconds before the newest sample.
                start, end = buffer._window()
                oldest = start + int(np.searchsorted(buffer._ts[start:end], last - max_seconds, side="left"))
                index = max(index, buffer.total - (end - oldest))
            return buffer.from_index(index)

    def status(self, uid: str) -> StreamStatus | None:
        """The stream's state, measured rate and quality flags (None if not selected).

        Any thread, and cheap: each worker assesses its own stream every
        ``status_interval_s`` in its thread, and this returns that snapshot. Should a worker
        be held up (opening a slow inlet), the assessment is made here instead, so the
        answer is never older than twice the interval."""
        with self._lock:
            worker = self._workers.get(uid)
        if worker is None:
            return None
        cached = worker.status
        if cached is not None and self.clock() - worker.status_at <= 2 * self.status_interval_s:
            return cached
        return self._assess(worker)

    def _assess(self, worker: _Worker) -> StreamStatus:
        """Quality flags and measured rate of one stream now (any thread; the worker's own
        thread normally)."""
        now = self.clock()
        window = max(self.quality.flat_window_s, self.quality.rate_window_s) + 0.5
        with worker.lock:
            last = worker.buffer.last_timestamp()
            ts, data = worker.buffer.since(last - window) if last is not None else (np.empty(0), np.empty((0, 0)))
            total = worker.buffer.total
            state, error, offset = worker.state, worker.error, worker.offset
            last_arrival, source_lost = worker.last_arrival, worker.source_lost
        with worker.quality_lock:
            flags = worker.monitor.assess(now, ts, data, last_arrival, worker.selected_at, source_lost)
        rate_window = self.quality.rate_window_s
        if last_arrival is not None and now - last_arrival >= worker.monitor.stall_threshold_s():
            # Stalled: count what arrived in the last window, so the rate falls towards 0.
            rate: float | None = float(np.count_nonzero(ts > now - rate_window)) / rate_window
        else:
            rate = measured_rate(ts, rate_window)
        if any(f.kind == "lost" for f in flags) and state == "streaming":
            state = "lost"
        status = StreamStatus(
            stream=worker.stream,
            state=state,
            measured_rate=rate,
            samples_received=total,
            last_sample_age_s=(now - last) if last is not None else None,
            clock_offset_s=-offset if offset is not None else None,
            flags=tuple(flags),
            error=error,
        )
        worker.status, worker.status_at = status, now
        return status

    def statuses(self) -> dict[str, StreamStatus]:
        """:meth:`status` of every selected stream, by uid. Any thread."""
        out = {}
        for uid in self.selected_uids():
            s = self.status(uid)
            if s is not None:
                out[uid] = s
        return out

    # -- the worker threads ----------------------------------------------------------

    def _run(self, worker: _Worker) -> None:
        stream = worker.stream
        try:
            inlet = pylsl.StreamInlet(
                stream.info, max_buflen=max(30, int(self.buffer_s)), recover=True, processing_flags=0
            )
        except Exception as exc:
            with worker.lock:
                worker.state, worker.error = "failed", f"Could not open '{stream.name}': {exc}."
            return
        rate = stream.nominal_rate
        max_samples = max(256, math.ceil(rate * 0.5)) if rate > 0 else 1024
        dtype = worker.buffer._data.dtype
        scratch = np.empty((max_samples, stream.channel_count), dtype=inlet.np_dtype)
        next_correction = 0.0
        try:
            while not worker.stop.is_set():
                now = self.clock()
                if now >= next_correction:
                    # The first estimate waits for a few probes of the sender's clock; later
                    # ones return at once from liblsl's background updates.
                    next_correction = now + self.clock_refresh_s
                    try:
                        offset = inlet.time_correction(timeout=2.0 if worker.offset is None else 0.5)
                        with worker.lock:
                            worker.offset = offset
                    except LslTimeout:
                        next_correction = now + 1.0
                    except LostError:
                        raise
                    except Exception as exc:
                        with worker.lock:
                            worker.error = f"Clock correction failed for '{stream.name}': {exc}."
                while True:
                    chunk, ts = inlet.pull_chunk(timeout=0.0, max_samples=max_samples, dest_obj=scratch, as_numpy=True)
                    n = len(ts)
                    if n:
                        arrived = self.clock()
                        with worker.lock:
                            offset = worker.offset or 0.0
                            worker.buffer.append(ts + offset, chunk.astype(dtype, copy=False))
                            worker.last_arrival = arrived
                            worker.state = "streaming"
                    if n < max_samples or worker.stop.is_set():
                        break
                if self.clock() - worker.status_at >= self.status_interval_s:
                    self._assess(worker)  # here, so that readers (the GUI) never pay for it
                worker.stop.wait(self.poll_interval_s)
        except LostError:
            with worker.lock:
                worker.state, worker.source_lost = "lost", True
        except Exception as exc:  # report, never take the console down
            with worker.lock:
                worker.state, worker.error = "failed", f"Reading '{stream.name}' failed: {exc!r}."
        finally:
            with contextlib.suppress(Exception):
                inlet.close_stream()
            del inlet
