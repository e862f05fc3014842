"""A dock's own progress: a bar and a Stop button, shown only while its work runs."""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget


class ProgressBar(QProgressBar):
    """A QProgressBar whose new value is drawn with the next frame, not at once.

    Qt's ``setValue`` repaints the bar synchronously; in napari's window, next to
    the OpenGL canvas, every synchronous repaint re-composes the whole window
    (about 20 ms in software rendering), once per training step. With updates
    off during the change, the bar is redrawn with the rest of the dock instead.
    """

    def setValue(self, value: int) -> None:
        self.setUpdatesEnabled(False)
        try:
            super().setValue(value)
        finally:
            self.setUpdatesEnabled(True)  # schedules one ordinary update

    def setRange(self, minimum: int, maximum: int) -> None:
        self.setUpdatesEnabled(False)
        try:
            super().setRange(minimum, maximum)
        finally:
            self.setUpdatesEnabled(True)


class RunProgressWidget(QWidget):
    """Progress of one piece of work in a dock, with Stop; hidden when nothing runs.

    The dock disables the button that started the work while :attr:`running`, and
    connects :attr:`stop_requested` to its worker's ``quit``.
    """

    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.progress_bar = ProgressBar()
        self.progress_bar.setTextVisible(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step; what is done is kept.")
        self.stop_button.clicked.connect(self._on_stop_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress_bar, 1)
        layout.addWidget(self.stop_button)
        self.running = False
        self.hide()

    def begin(self, total: int, text: str) -> None:
        """Show the bar at 0 of ``total`` (0: busy, no count) with ``text`` on it."""
        self.running = True
        self.progress_bar.setRange(0, max(total, 0))
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"{text} %v/%m" if total > 0 else text)
        self.stop_button.setEnabled(True)
        self.show()

    def advance(self, done: int, text: str | None = None) -> None:
        """``done`` of the total; ``text`` replaces the words on the bar."""
        self.progress_bar.setValue(done)
        if text is not None:
            self.progress_bar.setFormat(f"{text} %v/%m")

    def end(self) -> None:
        self.running = False
        self.hide()

    def _on_stop_clicked(self) -> None:
        self.stop_button.setEnabled(False)  # once: the worker stops after its current step
        self.stop_requested.emit()
