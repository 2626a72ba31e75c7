"""A user-space wire between two network interfaces, for kernels built without netem
(``CONFIG_NET_SCH_NETEM``): every Ethernet frame that arrives on one is sent out of the
other, at once, or dropped (``loss``), or held for a fixed time (``delay S``). Both ways.

It runs in a network namespace of its own between two veth pairs (see
:mod:`tests.faults.netns`): console namespace ⟷ veth ⟷ [this wire] ⟷ veth ⟷ headset
namespace. Frames are read and written with packet sockets (``AF_PACKET``) with the virtio
network header (``PACKET_VNET_HDR``), so that the kernel's segmentation and checksum
offload state travels with each frame (a large TCP segment goes through as one, and its
checksum is completed on the far side), as it does through a VM's tap device.

Order is kept in each direction (a frame never overtakes an earlier one): when the delay
ends, frames that arrive meanwhile wait behind those still held, as on a real link whose
latency dropped (netem, changed, would send them first). Dropped frames are lost for good;
TCP retransmits them once the wire passes frames again.

Commands, one a line on stdin, each answered on stdout with ``ok MODE T`` where T is the
moment (``perf_counter``, CLOCK_MONOTONIC) the wire began to behave so:
``pass``, ``loss``, ``delay SECONDS``, ``stats`` (answers ``ok stats {json}``), ``quit``.

    ip netns exec NS python -m tests.faults.wire IFACE_A IFACE_B

Threads: one (select over both sockets and stdin).
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import sys
from collections import deque
from time import perf_counter as now

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4  # sll_pkttype of frames this host sends: ours, seen again
MAX_FRAME = 65536 + 64  # a GSO frame (up to 64 KiB) plus the virtio header


def open_port(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    try:  # room for bursts while this process waits for the CPU (root: beyond rmem_max)
        sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((ifname, 0))
    sock.setblocking(False)
    return sock


class Wire:
    """Two ports and the frames held for each direction."""

    def __init__(self, a: str, b: str):
        self.ports = {a: open_port(a), b: open_port(b)}
        first, second = self.ports.values()
        self.peer = {first: second, second: first}
        self.held: dict[socket.socket, deque[tuple[float, bytes]]] = {s: deque() for s in self.peer}
        self.last_release = dict.fromkeys(self.peer, 0.0)
        self.mode = "pass"
        self.delay_s = 0.0
        self.stats = {"forwarded": 0, "dropped": 0, "delayed": 0, "send_errors": 0, "largest_frame": 0}

    def command(self, line: str) -> bool:
        """One command; False on quit."""
        words = line.split()
        if not words:
            return True
        if words[0] == "quit":
            return False
        if words[0] == "stats":
            print("ok stats " + json.dumps(self.stats), flush=True)
            return True
        if words[0] in ("pass", "loss"):
            self.mode, self.delay_s = words[0], 0.0
        elif words[0] == "delay" and len(words) == 2:
            self.mode, self.delay_s = "delay", float(words[1])
        else:
            print(f"error unknown command {line.strip()!r}: pass, loss, delay SECONDS, stats or quit", flush=True)
            return True
        print(f"ok {self.mode} {now():.9f}", flush=True)
        return True

    def receive(self, sock: socket.socket) -> None:
        """Every frame waiting on ``sock``: dropped, held or sent out of the other port."""
        while True:
            try:
                frame, addr = sock.recvfrom(MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            if self.mode == "loss":
                self.stats["dropped"] += 1
                continue
            self.stats["largest_frame"] = max(self.stats["largest_frame"], len(frame))
            t = now()
            release = max(t + self.delay_s, self.last_release[sock])
            self.last_release[sock] = release
            if release > t:
                self.stats["delayed"] += 1
                self.held[sock].append((release, frame))
            else:
                self.send(self.peer[sock], frame)

    def release_due(self) -> float | None:
        """Send what is due; the time of the next frame held, or None."""
        t = now()
        next_due = None
        for sock, held in self.held.items():
            while held and held[0][0] <= t:
                self.send(self.peer[sock], held.popleft()[1])
            if held:
                next_due = held[0][0] if next_due is None else min(next_due, held[0][0])
        return next_due

    def send(self, sock: socket.socket, frame: bytes) -> None:
        try:
            sock.send(frame)
            self.stats["forwarded"] += 1
        except OSError as exc:
            self.stats["send_errors"] += 1
            if self.stats["send_errors"] <= 5:
                print(
                    f"log send failed: {errno.errorcode.get(exc.errno or 0, exc.errno)} ({len(frame)} bytes)",
                    flush=True,
                )

    def run(self) -> None:
        stdin = sys.stdin.fileno()
        pending = b""
        watched = [*self.peer, stdin]
        print("ok pass " + f"{now():.9f}", flush=True)
        while True:
            next_due = self.release_due()
            wait = None if next_due is None else max(0.0, next_due - now())
            ready, _, _ = select.select(watched, [], [], wait)
            for item in ready:
                if item == stdin:
                    data = os.read(stdin, 4096)
                    if not data:
                        return  # the run ended without saying quit
                    pending += data
                    while b"\n" in pending:
                        line, pending = pending.split(b"\n", 1)
                        if not self.command(line.decode("ascii", "replace")):
                            return
                else:
                    self.receive(item)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.faults.wire IFACE_A IFACE_B", file=sys.stderr)
        return 2
    try:
        wire = Wire(argv[0], argv[1])
    except OSError as exc:
        print(f"error the wire could not open {argv}: {exc} (it needs root, in the namespace of both)", flush=True)
        return 2
    wire.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
