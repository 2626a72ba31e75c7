"""The bridge between the link's threads and the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Slot
from PySide6.QtGui import QImage

from console.qt.bridge import LinkBridge
from protocol import messages
from protocol.link import HeadsetJoined, LinkConfig
from tests.conftest import wait_until


class Receiver(QObject):
    """Lives in the GUI thread, so signals from other threads are queued to it."""

    def __init__(self):
        super().__init__()
        self.events: list = []
        self.frames: list = []
        self.threads: set = set()

    @Slot(object)
    def take(self, event):
        self.events.append(event)

    @Slot(str, QImage, object, float, int)
    def frame(self, name, image, captured_at, received_at, seq):
        self.threads.add(QThread.currentThread())
        self.frames.append((name, image.width(), seq))


def test_a_headset_joining_before_the_window_is_ready_is_not_lost(qtbot, sims):
    bridge = LinkBridge(LinkConfig(bind="tcp://127.0.0.1:*"))
    try:
        sim = sims(bridge.link, "early-bird")
        wait_until(lambda: "early-bird" in bridge.link.headsets(), what="the handshake")
        receiver = Receiver()
        bridge.event.connect(receiver.take)
        bridge.open()
        qtbot.waitUntil(lambda: any(isinstance(e, HeadsetJoined) for e in receiver.events), timeout=3000)
        sim.close()
    finally:
        bridge.close()


def test_mirror_frames_arrive_decoded_in_the_gui_thread(qtbot, sims):
    bridge = LinkBridge(LinkConfig(bind="tcp://127.0.0.1:*"))
    receiver = Receiver()
    frames = receiver.frames
    bridge.frame.connect(receiver.frame)
    bridge.open()
    try:
        sims(bridge.link, "mirror")
        wait_until(lambda: "mirror" in bridge.link.headsets(), what="the handshake")
        bridge.link.send("mirror", messages.MirrorSettings(enabled=True, max_fps=10, max_width=320))
        qtbot.waitUntil(lambda: len(frames) >= 3, timeout=5000)
        assert frames[0][:2] == ("mirror", 320)
        assert [seq for _, _, seq in frames] == sorted(seq for _, _, seq in frames)
        assert receiver.threads == {QThread.currentThread()}  # this test runs in the GUI thread
    finally:
        bridge.close()
