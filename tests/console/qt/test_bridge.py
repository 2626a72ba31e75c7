"""The bridge between the link's threads and the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, QThread, Slot
from PySide6.QtGui import QImage

from console.qt.bridge import LinkBridge
from protocol import messages
from protocol.link import HeadsetJoined, LinkConfig
from tests.conftest import wait_until


def close(bridge: LinkBridge) -> None:
    """Close ``bridge`` and deliver what its threads had queued meanwhile while it still
    exists: a frame delivered after the bridge was gone failed the next test in this
    process ("Signal source has been deleted")."""
    bridge.close()
    QCoreApplication.sendPostedEvents()
    QCoreApplication.processEvents()


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
        close(bridge)


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
        close(bridge)


def test_only_the_headset_on_screen_is_decoded_and_every_headsets_view_is_recorded(qtbot, sims):
    """Seen in the soak: every headset's frames were decoded, though the window shows one;
    with two headsets that doubled the decoding competing with the GUI thread."""
    bridge = LinkBridge(LinkConfig(bind="tcp://127.0.0.1:*"))
    receiver = Receiver()
    bridge.frame.connect(receiver.frame)
    tapped: list[tuple[str, int, int]] = []
    bridge.frame_tap = lambda name, jpeg, at, width, height: tapped.append((name, width, height))
    bridge.show_mirror_of("shown")
    bridge.open()
    try:
        for name, width in (("shown", 320), ("aside", 256)):
            sims(bridge.link, name)
            wait_until(lambda name=name: name in bridge.link.headsets(), what="the handshake")
            bridge.link.send(name, messages.MirrorSettings(enabled=True, max_fps=10, max_width=width))
        qtbot.waitUntil(lambda: {"shown", "aside"} <= {name for name, _, _ in tapped}, timeout=5000)
        qtbot.waitUntil(lambda: len(receiver.frames) >= 2, timeout=5000)
        assert {name for name, _, _ in receiver.frames} == {"shown"}
        assert {(name, width) for name, width, _ in tapped} == {("shown", 320), ("aside", 256)}
        bridge.show_mirror_of("aside")  # the therapist picks the other headset
        qtbot.waitUntil(lambda: receiver.frames[-1][:2] == ("aside", 256), timeout=5000)
        assert bridge.decode_errors == 0
    finally:
        close(bridge)


def jpeg_of(width: int, height: int, colour: tuple[int, int, int], quality: int = 90) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def test_a_mirror_jpeg_is_decoded_to_the_picture_it_holds():
    from console.qt.bridge import decode_jpeg

    image = decode_jpeg(jpeg_of(320, 180, (200, 40, 40)))
    assert image is not None and (image.width(), image.height()) == (320, 180)
    pixel = image.pixelColor(160, 90)
    assert abs(pixel.red() - 200) < 8 and abs(pixel.green() - 40) < 8 and abs(pixel.blue() - 40) < 8


def test_what_a_hostile_engine_sends_as_a_mirror_jpeg_is_refused_not_shown():
    from console.qt.bridge import MAX_MIRROR_SIDE, decode_jpeg, jpeg_size

    whole = jpeg_of(320, 180, (10, 120, 10))
    assert decode_jpeg(b"") is None
    assert decode_jpeg(b"not a jpeg at all" * 100) is None
    assert decode_jpeg(whole[: len(whole) // 2]) is None  # cut short
    # A header that claims a picture larger than any headset sends: refused before allocating.
    marker = whole.index(b"\xff\xc0")  # start of frame: length(2) precision(1) height(2) width(2)
    huge = bytearray(whole)
    big = (MAX_MIRROR_SIDE + 1).to_bytes(2, "big")
    huge[marker + 5 : marker + 7] = big
    huge[marker + 7 : marker + 9] = big
    assert decode_jpeg(bytes(huge)) is None
    # The header alone (a headset not on screen, recorded as it came): the same refusals.
    assert jpeg_size(whole) == (320, 180)
    assert jpeg_size(b"") is None and jpeg_size(b"not a jpeg at all" * 100) is None
    assert jpeg_size(bytes(huge)) is None


def test_a_mirror_jpeg_is_decoded_to_the_size_it_is_shown_at_and_remembers_its_own():
    from console.qt.bridge import decode_jpeg, source_size

    image = decode_jpeg(jpeg_of(1280, 720, (40, 40, 200)), fit=(400, 400))
    assert image is not None and (image.width(), image.height()) == (400, 225)  # aspect kept
    assert source_size(image) == (1280, 720)  # what the headset sent, for the fps/size caption
    pixel = image.pixelColor(200, 112)
    assert abs(pixel.blue() - 200) < 10 and pixel.red() < 60
    small = decode_jpeg(jpeg_of(320, 180, (40, 40, 200)), fit=(1000, 1000))  # never enlarged
    assert small is not None and (small.width(), small.height()) == (320, 180) and source_size(small) == (320, 180)
