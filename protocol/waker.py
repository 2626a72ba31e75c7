"""Wake a thread that is blocked in ``zmq.Poller.poll`` from any other thread.

A socket pair rather than an inproc ZeroMQ socket: a ZeroMQ socket must not be shared
between threads, while writing one byte to an OS socket from any thread is safe, and a
socket pair works with zmq's poller on every platform (a pipe does not on Windows).
"""

from __future__ import annotations

import contextlib
import socket
import threading


class Waker:
    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._lock = threading.Lock()

    def fileno(self) -> int:
        """For zmq.Poller.register (the polling thread)."""
        return self._reader.fileno()

    def wake(self) -> None:
        """Any thread. Cheap; a full buffer means a wake-up is already pending."""
        with self._lock, contextlib.suppress(BlockingIOError, OSError):
            self._writer.send(b"\x01")

    def drain(self) -> None:
        """The polling thread, after the poller reported the waker readable."""
        try:
            while self._reader.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
