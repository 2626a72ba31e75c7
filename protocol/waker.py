"""Wake a thread that is blocked in ``zmq.Poller.poll`` from any other thread.

A socket pair rather than an inproc ZeroMQ socket: a ZeroMQ socket must not be shared
between threads, while writing one byte to an OS socket from any thread is safe, and a
socket pair works with zmq's poller on every platform (a pipe does not on Windows).
"""

from __future__ import annotations

import contextlib
import socket


class Waker:
    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def fileno(self) -> int:
        """For zmq.Poller.register (the polling thread)."""
        return self._reader.fileno()

    def wake(self) -> None:
        """Any thread. Cheap; a full buffer means a wake-up is already pending."""
        # A one-byte send is atomic, so no lock is needed between threads waking at once.
        try:
            self._writer.send(b"\x01")
        except OSError:  # full buffer (a wake-up is pending anyway) or closed at shutdown
            return

    def drain(self) -> None:
        """The polling thread, after the poller reported the waker readable."""
        # One read takes every pending wake-up byte (each wake() writes one); anything left
        # keeps the socket readable and is taken on the next round.
        with contextlib.suppress(BlockingIOError, OSError):
            self._reader.recv(4096)

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
