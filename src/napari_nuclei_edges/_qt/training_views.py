"""The training dock's live views: the loss plot and the learned kernel beside the true one."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QPainter
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from .plots import theme_colors, themed_plot

#: Kernels up to this size show their numbers in the cells.
NUMBERED_UP_TO = 5


class LossView(QWidget):
    """Training and validation loss against the step (log y), and the closed-form optimum."""

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        colors = theme_colors(viewer)
        self.plot = themed_plot(viewer, x_label="step", y_label="loss (MSE, normalised)")
        self.plot.getPlotItem().setLogMode(x=False, y=True)
        self.plot.setMinimumHeight(200)
        self.train_curve = self.plot.plot(pen=pg.mkPen("#56B4E9", width=2), name="training")
        # no symbols: a scatter item re-lays out every point on every update
        self.val_curve = self.plot.plot(
            pen=pg.mkPen("#E69F00", width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
            name="validation",
        )
        for curve in (self.train_curve, self.val_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.optimum_line = pg.InfiniteLine(
            angle=0, pen=pg.mkPen(colors["text"], width=1, style=pg.QtCore.Qt.PenStyle.DotLine)
        )
        self.optimum_line.hide()
        self.plot.addItem(self.optimum_line)
        self.plot.getPlotItem().legend.addItem(
            pg.PlotDataItem(pen=self.optimum_line.pen), "closed-form optimum"
        )
        self.note = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        layout.addWidget(self.note)
        self.clear()

    def clear(self) -> None:
        self._steps: list[int] = []
        self._losses: list[float] = []
        self._val_steps: list[int] = []
        self._val_losses: list[float] = []
        self.train_curve.setData([], [])
        self.val_curve.setData([], [])
        self.optimum_line.hide()
        self.note.setText("")

    def add(self, report) -> None:
        """Append one reported step (its whole trace) and redraw with ``setData``."""
        self._steps.extend(report.trace_steps)
        self._losses.extend(report.trace_losses)
        if report.val_loss is not None:
            self._val_steps.append(report.step)
            self._val_losses.append(report.val_loss)
        # log axes cannot show 0: an exact fit is drawn at the floor of float64 precision
        floor = 1e-300
        self.train_curve.setData(self._steps, np.maximum(self._losses, floor))
        self.val_curve.setData(self._val_steps, np.maximum(self._val_losses, floor))
        optimum = report.optimum_loss
        if optimum is not None and self._losses:
            if optimum > 1e-12 * self._losses[0]:
                self.optimum_line.setValue(math.log10(optimum))
                self.optimum_line.show()
                self.note.setText(f"closed-form optimum: {optimum:.3g}")
            else:
                self.optimum_line.hide()
                self.note.setText("closed-form optimum: 0 (a kernel can fit the target exactly)")

    def data(self) -> dict[str, np.ndarray]:
        """What the curves show (for tests and export)."""
        # xData/yData are what setData received; getData() is already log10 on a log axis
        train, val = self.train_curve, self.val_curve
        return {
            "steps": _array(train.xData),
            "loss": _array(train.yData),
            "val_steps": _array(val.xData),
            "val_loss": _array(val.yData),
        }


class KernelView(QWidget):
    """The learned kernels (left) beside the reference kernels (right), one row per output.

    Painted with QPainter (coloured cells and their numbers): a pyqtgraph
    layout of image and text items costs tens of milliseconds per update in
    software rendering, enough to starve the training thread of the GIL.
    """

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        colors = theme_colors(viewer)
        self._text_color = QColor(colors["text"])
        self._lookup = _diverging_lookup()
        self.canvas = _KernelCanvas(self)
        self.errors = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        layout.addWidget(self.errors)
        self.learned: np.ndarray | None = None
        self.reference: np.ndarray | None = None

    def clear(self) -> None:
        self.learned = self.reference = None
        self.errors.setText("")
        self.canvas.update()

    def show_kernels(self, learned: np.ndarray, reference: np.ndarray | None, error=None) -> None:
        """Draw ``(C_out, C_in, k, k)`` kernels (first input channel)."""
        self.learned, self.reference = learned, reference
        self.canvas.update()
        if error is not None:
            self.errors.setText(
                f"learned vs {'reference' if reference is not None else '—'}: "
                f"max |Δ| {error['max_abs']:.2e} · RMSE {error['rmse']:.2e} · "
                f"relative {error['relative']:.2e} · cosine {error['cosine']:.6f}"
            )

    def panels(self) -> list[tuple[str, np.ndarray]]:
        """``(title, kernels)`` of each column shown."""
        if self.learned is None:
            return []
        shown = [("learned", self.learned)]
        if self.reference is not None:
            shown.append(("true", self.reference))
        return shown


class _KernelCanvas(QWidget):
    def __init__(self, view: KernelView):
        super().__init__(view)
        self._view = view
        self.setMinimumHeight(150)

    def paintEvent(self, event) -> None:
        panels = self._view.panels()
        if not panels:
            return
        painter = QPainter(self)
        limit = max(float(np.abs(k).max()) for _, k in panels) or 1.0
        c_out, k = panels[0][1].shape[0], panels[0][1].shape[-1]
        title_height = 18
        column_width = self.width() / len(panels)
        row_height = (self.height() - title_height) / c_out
        cell = max(1.0, min(column_width * 0.8, row_height * 0.95) / k)
        painter.setPen(self._view._text_color)
        for column, (title, kernels) in enumerate(panels):
            left0 = column * column_width + (column_width - cell * k) / 2
            painter.drawText(QRectF(left0, 0, cell * k, title_height),
                             Qt.AlignmentFlag.AlignCenter, title)  # fmt: skip
            for out in range(c_out):
                top0 = title_height + out * row_height + (row_height - cell * k) / 2
                for (row, col), value in np.ndenumerate(kernels[out, 0]):
                    rect = QRectF(left0 + col * cell, top0 + row * cell, cell, cell)
                    index = min(255, max(0, round(float(value) / limit * 127.5 + 127.5)))
                    r, g, b = self._view._lookup[index]
                    painter.fillRect(rect, QColor(int(r), int(g), int(b)))
                    if k <= NUMBERED_UP_TO:
                        painter.setPen(QColor("black"))
                        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{value:.2f}")
        painter.end()


def _diverging_lookup() -> np.ndarray:
    """napari's PiYG colormap (the Sobel layers' colormap) as a 256-entry RGB table."""
    from napari.utils.colormaps import ensure_colormap

    rgba = ensure_colormap("PiYG").map(np.linspace(0, 1, 256))
    return (rgba[:, :3] * 255).round().astype(np.uint8)


def _array(values) -> np.ndarray:
    return np.asarray([] if values is None else values, dtype=float)
