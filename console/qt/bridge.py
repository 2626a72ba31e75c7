"""Where the link's threads meet Qt: link events handed to the GUI thread in batches, and
mirror frames decoded off the GUI thread.

Threads:
- the link thread calls :meth:`LinkBridge._from_link_thread` (via ConsoleLink's on_event):
  it only queues the event (and wakes the GUI thread when the queue was empty) or wakes
  the decoder, never touches widgets;
- the GUI thread takes the queued events in :meth:`LinkBridge._deliver`, for at most
  :data:`SLICE_S` a turn: whatever a headset sends, the GUI thread's timers (the heartbeats
  to every headset among them) get their turn in between;
- the decoder thread (``vrclinic-mirror``) takes the newest frame of a headset from the
  link (latest wins: frames that arrived meanwhile were already replaced), decodes the JPEG
  into a QImage (QImage, unlike QPixmap, may be built outside the GUI thread) and emits it.
  Only the headset on screen (:meth:`LinkBridge.show_mirror_of`) is decoded: the others'
  frames go to the recording as they came, with their size read from the JPEG header.
  It decodes with Pillow, which lets go of the GIL while it decodes: Qt's own decoder
  (``QImage.fromData``) holds it for the whole 10-15 ms of a 1280 px frame, and under a CPU
  hog the GUI thread, waiting for the GIL to run its heartbeat, stalled behind it;
- receivers connected to :attr:`event` and :attr:`frame` are slots of QObjects living in
  the GUI thread, so Qt queues the calls into that thread.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from protocol.link import ConsoleLink, LinkConfig, LinkEvent, MirrorFrameReady
from protocol.timing import now

SLICE_S = 0.02  # the longest the GUI thread spends on link events before its other work
MAX_MIRROR_SIDE = 8192  # px: a frame said to be larger is refused before it is decoded


SOURCE_SIZE = "vrclinic-source-size"  # QImage text: the frame's own size, "WxH", when shown smaller


def _open_jpeg(jpeg: bytes):  # -> PIL.Image.Image | None (Pillow is imported lazily)
    """Pillow's view of a mirror frame's JPEG, its header read and nothing decoded yet, or
    None if it is not a JPEG or claims an absurd size (refused before anything is allocated).
    The caller closes it."""
    from PIL import Image  # here, not at the top: Pillow's ~10 ms import is not on the first paint's path

    try:
        picture = Image.open(io.BytesIO(jpeg), formats=("JPEG",))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    width, height = picture.size
    if not (0 < width <= MAX_MIRROR_SIDE and 0 < height <= MAX_MIRROR_SIDE):
        picture.close()
        return None
    return picture


def decode_jpeg(jpeg: bytes, fit: tuple[int, int] | None = None) -> QImage | None:
    """A mirror frame's JPEG as an RGB QImage, or None if it is not a JPEG we can show (not
    one, damaged, or absurdly large: the size is read from its header before anything is
    allocated). With ``fit`` (width, height), no larger than that, aspect kept: the JPEG is
    decoded at a reduced scale where it can be (much less work) and resized here, so that the
    GUI thread paints it as it is instead of scaling it smoothly in every paint; the frame's
    own size is then in the image's text ``SOURCE_SIZE``. Any thread; the decoding and
    resizing run without the GIL."""
    from PIL import Image

    picture = _open_jpeg(jpeg)
    if picture is None:
        return None
    try:
        with picture:
            width, height = picture.size
            target = None
            if fit is not None and fit[0] > 0 and fit[1] > 0:
                scale = min(fit[0] / width, fit[1] / height)
                if scale < 1.0:
                    target = (max(1, round(width * scale)), max(1, round(height * scale)))
                    picture.draft("RGB", target)  # decode at 1/2, 1/4 or 1/8 where that still covers it
            picture.load()  # the decoding
            rgb = picture if picture.mode == "RGB" else picture.convert("RGB")
            if target is not None and rgb.size != target:
                rgb = rgb.resize(target, Image.Resampling.BILINEAR)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    data = rgb.tobytes()
    image = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()  # owns its pixels
    if target is not None:
        image.setText(SOURCE_SIZE, f"{width}x{height}")
    return image


def jpeg_size(jpeg: bytes) -> tuple[int, int] | None:
    """The width and height a mirror frame's JPEG header gives, or None if it is not a JPEG
    we would show (the same refusals as :func:`decode_jpeg`); nothing is decoded. Any thread."""
    picture = _open_jpeg(jpeg)
    if picture is None:
        return None
    with picture:
        return picture.size


def source_size(image: QImage) -> tuple[int, int]:
    """The size of the frame ``image`` was decoded from (see :func:`decode_jpeg`)."""
    text = image.text(SOURCE_SIZE)
    if text:
        width, _, height = text.partition("x")
        return int(width), int(height)
    return image.width(), image.height()


class LinkBridge(QObject):
    event = Signal(object)  # a LinkEvent, delivered in the GUI thread
    _events_waiting = Signal()  # emitted in the link thread, received in the GUI thread
    frame = Signal(str, QImage, object, float, int)  # name, image, captured_at (console clock | None), received_at, seq

    def __init__(self, config: LinkConfig, parent: QObject | None = None, *, accepting: bool = True):
        """GUI thread. ``accepting``: see :class:`ConsoleLink` (``link.accept()`` later)."""
        super().__init__(parent)
        self._wanted: set[str] = set()
        self._wanted_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.decode_errors = 0
        # Called in the decoder thread with each decoded frame's JPEG (name, jpeg, console
        # clock, width, height): how the recording takes the patient's view, unchanged.
        self.frame_tap: Callable[[str, bytes, float, int, int], None] | None = None
        self._gate_lock = threading.Lock()
        self._open = False
        self._early: list[LinkEvent] = []
        self._inbox: deque[LinkEvent] = deque()
        self._delivery_due = False  # a _deliver call is queued or running (under _gate_lock)
        self.longest_backlog = 0  # most events waiting at once (a flood shows here)
        self._events_waiting.connect(self._deliver)
        self.link = ConsoleLink(config, on_event=self._from_link_thread, accepting=accepting)
        # The size the mirror is shown at (see set_mirror_size): frames are decoded to it.
        self._mirror_size: tuple[int, int] | None = None
        # The headset whose view is on screen (see show_mirror_of); None: every headset's.
        self._on_screen: str | None = None
        self._decoder = threading.Thread(target=self._decode_loop, name="vrclinic-mirror", daemon=True)
        self._decoder.start()

    def _from_link_thread(self, event: LinkEvent) -> None:
        """The link thread. Quick: a signal emit or a wake-up."""
        if isinstance(event, MirrorFrameReady):
            with self._wanted_lock:
                self._wanted.add(event.name)
            self._wake.set()
            return
        with self._gate_lock:
            if not self._open:
                # Nobody is connected yet (the window is still being built): a headset that
                # joins now must not be lost, so hold its events until open() is called.
                self._early.append(event)
                return
            self._inbox.append(event)
            if self._delivery_due:
                return  # the GUI thread will take it with the others
            self._delivery_due = True
        self._events_waiting.emit()

    def open(self) -> None:
        """GUI thread, once the receivers are connected: deliver what came in meanwhile."""
        with self._gate_lock:
            early, self._early, self._open = self._early, [], True
        for event in early:
            self.event.emit(event)

    def set_mirror_size(self, width: int, height: int) -> None:
        """GUI thread: the mirror is shown at ``width`` x ``height`` device pixels; the decoder
        thread decodes the next frames to that size (a tuple, replaced whole: no lock)."""
        self._mirror_size = (width, height)

    def show_mirror_of(self, name: str | None) -> None:
        """GUI thread: only ``name``'s frames are decoded and emitted from now on (None: every
        headset's); the others' still reach :attr:`frame_tap` (a string, replaced whole: no
        lock). With two headsets this halves the decoding that competes with the GUI thread."""
        self._on_screen = name

    @Slot()
    def _deliver(self) -> None:
        """GUI thread: hand the waiting events to the receivers, for at most SLICE_S; the
        rest on a later turn of the event loop, after the timers that are due."""
        deadline = now() + SLICE_S
        inbox = self._inbox
        self.longest_backlog = max(self.longest_backlog, len(inbox))
        while True:
            with self._gate_lock:
                if not inbox:
                    self._delivery_due = False
                    return
                event = inbox.popleft()
            self.event.emit(event)
            if now() >= deadline:
                QTimer.singleShot(0, self._deliver)
                return

    def _decode_loop(self) -> None:
        """The decoder thread."""
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            with self._wanted_lock:
                names, self._wanted = self._wanted, set()
            for name in names:
                item = self.link.take_mirror_frame(name)
                if item is None:
                    continue
                tap = self.frame_tap
                at = item.captured_at_local if item.captured_at_local is not None else item.received_at
                if self._on_screen not in (None, name):  # not shown: its header only, for the recording
                    if tap is not None:
                        size = jpeg_size(item.frame.jpeg)
                        if size is None:
                            self.decode_errors += 1
                        else:
                            tap(name, item.frame.jpeg, at, *size)
                    continue
                image = decode_jpeg(item.frame.jpeg, self._mirror_size)
                if image is None:
                    self.decode_errors += 1
                    continue
                self.frame.emit(name, image, item.captured_at_local, item.received_at, item.frame.seq)
                if tap is not None:
                    tap(name, item.frame.jpeg, at, *source_size(image))

    def close(self) -> None:
        """GUI thread, at exit: say bye to the headsets and close the socket, then stop decoding
        (the bye first: a decoder busy with a frame must not delay it)."""
        self.link.close()
        self._stop.set()
        self._wake.set()
        self._decoder.join(2)
