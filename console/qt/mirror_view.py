"""The patient's view: the newest mirror frame, aspect-correct, with its age and rate, and
an unmistakable "no signal" state. Controls ask the headset for a cheaper or richer mirror.

GUI thread only.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QResizeEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from console.qt.bridge import source_size
from protocol import messages
from protocol.timing import now

NO_SIGNAL_AFTER_S = 2.0
SIZES = (320, 480, 640, 960, 1280)
RATES = (5.0, 10.0, 15.0, 24.0, 30.0)


class MirrorCanvas(QWidget):
    """Paints the frame letterboxed, with frame age and fps in a corner. ``resized`` says the
    size in device pixels, at which frames are best decoded (then painted as they are, not
    scaled in every paint)."""

    resized = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.received_at = 0.0
        self.captured_at: float | None = None
        self.headset = ""
        self.lost_text = ""
        self._arrivals: deque[float] = deque(maxlen=60)
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._repaint = QTimer(self, interval=250)  # keeps age and "no signal" current
        self._repaint.timeout.connect(self.update)
        self._repaint.start()

    def show_frame(self, name: str, image: QImage, captured_at: float | None, received_at: float) -> None:
        self.headset = name
        self.image, self.captured_at, self.received_at = image, captured_at, received_at
        self._arrivals.append(received_at)
        self.update()

    @property
    def fps(self) -> float:
        if len(self._arrivals) < 2 or now() - self._arrivals[-1] > NO_SIGNAL_AFTER_S:
            return 0.0
        span = self._arrivals[-1] - self._arrivals[0]
        return (len(self._arrivals) - 1) / span if span > 0 else 0.0

    @property
    def has_signal(self) -> bool:
        return self.image is not None and not self.lost_text and now() - self.received_at <= NO_SIGNAL_AFTER_S

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        ratio = self.devicePixelRatioF()
        self.resized.emit(round(self.width() * ratio), round(self.height() * ratio))

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#1d2126"))
        if self.image is not None:
            ratio = self.devicePixelRatioF()
            iw, ih = self.image.width() / ratio, self.image.height() / ratio
            scale = min(self.width() / iw, self.height() / ih)
            w, h = iw * scale, ih * scale
            target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
            # A frame decoded to this size is drawn as it is; scaling smoothly (a frame from
            # before a resize) costs the GUI thread milliseconds per paint.
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, abs(scale - 1.0) > 0.01)
            p.drawImage(target, self.image)
        font = QFont(self.font())
        if not self.has_signal:
            p.fillRect(self.rect(), QColor(20, 22, 26, 200 if self.image is not None else 255))
            font.setPointSizeF(font.pointSizeF() * 1.6)
            font.setBold(True)
            p.setFont(font)
            p.setPen(QColor("#f2b84b"))
            why = self.lost_text or (
                "waiting for the headset's first frame" if self.image is None else "no new frame for a while"
            )
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, f"NO SIGNAL\n{why}")
            return
        age_ms = (now() - self.captured_at) * 1000 if self.captured_at is not None else None
        width, height = source_size(self.image)
        text = f"{self.fps:4.1f} fps · {width}×{height}"
        if age_ms is not None:
            text += f" · frame {age_ms:.0f} ms old"
        p.setFont(font)
        metrics = p.fontMetrics()
        box = metrics.boundingRect(text).adjusted(-6, -3, 6, 3)
        box.moveTop(8)
        box.moveRight(self.width() - 8)
        p.fillRect(box, QColor(0, 0, 0, 150))
        p.setPen(QColor("#e8e8e8"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


class MirrorView(QWidget):
    """The canvas plus size and rate choices; ``settings_changed`` carries new MirrorSettings."""

    settings_changed = Signal(object)

    def __init__(self, settings: messages.MirrorSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = MirrorCanvas(self)
        self.title = QLabel("Patient view")
        self.title.setObjectName("panelTitle")
        self.size_box = QComboBox()
        self.size_box.addItem("Off", 0)
        for w in SIZES:
            self.size_box.addItem(f"{w} px", w)
        self.rate_box = QComboBox()
        for r in RATES:
            self.rate_box.addItem(f"{r:g} fps", r)
        self.size_box.setToolTip("Mirror resolution: smaller spares the headset's frame rate and battery")
        self.rate_box.setToolTip("Mirror frame rate: lower spares the headset")
        self.set_settings(settings)
        self.size_box.currentIndexChanged.connect(self._changed)
        self.rate_box.currentIndexChanged.connect(self._changed)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(QLabel("Mirror"))
        top.addWidget(self.size_box)
        top.addWidget(self.rate_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.canvas, 1)

    def set_settings(self, settings: messages.MirrorSettings) -> None:
        self.size_box.blockSignals(True)
        self.rate_box.blockSignals(True)
        self.size_box.setCurrentIndex(self.size_box.findData(settings.max_width if settings.enabled else 0))
        index = self.rate_box.findData(settings.max_fps)
        self.rate_box.setCurrentIndex(index if index >= 0 else 2)
        self.size_box.blockSignals(False)
        self.rate_box.blockSignals(False)

    def _changed(self) -> None:
        width = self.size_box.currentData()
        settings = messages.MirrorSettings(
            enabled=bool(width), max_fps=float(self.rate_box.currentData()), max_width=int(width or 640), quality=70
        )
        self.settings_changed.emit(settings)
