"""The training dock's live views: the loss plot and the learned kernel beside the true one."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QPainter
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..common.plots import style_plot, theme_colors, themed_plot

#: Kernels up to this size show their numbers in the cells.
NUMBERED_UP_TO = 5


class LossView(QWidget):
    """Training and validation loss against the step (log y), and the closed-form optimum."""

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        self.plot = themed_plot(viewer, x_label="step", y_label="loss (MSE, normalised)")
        self.plot.getPlotItem().setLogMode(x=False, y=True)
        self.plot.setMinimumHeight(200)
        self.train_curve = self.plot.plot(pen=pg.mkPen("#56B4E9", width=2), name="training")
        # no symbols: a scatter item re-lays out every point on every update
        self.val_curve = self.plot.plot(
            pen=pg.mkPen("#E69F00", width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
            name="validation",
        )
        self.test_curve = self.plot.plot(
            pen=pg.mkPen("#CC79A7", width=2, style=pg.QtCore.Qt.PenStyle.DotLine),
            name="held-out layers",
        )
        for curve in (self.train_curve, self.val_curve, self.test_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.optimum_line = pg.InfiniteLine(angle=0)
        self.optimum_line.hide()
        self.plot.addItem(self.optimum_line)
        self._optimum_sample = pg.PlotDataItem()  # the legend's sample of the line
        self.plot.getPlotItem().legend.addItem(self._optimum_sample, "closed-form optimum")
        self.note = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        layout.addWidget(self.note)
        self.restyle(theme_colors(viewer))
        self.clear()

    def restyle(self, colors: dict[str, str]) -> None:
        """Colour the plot and the optimum line from napari's theme ``colors``."""
        style_plot(self.plot, colors)
        pen = pg.mkPen(colors["text"], width=1, style=pg.QtCore.Qt.PenStyle.DotLine)
        self.optimum_line.setPen(pen)
        self._optimum_sample.setPen(pen)

    def clear(self) -> None:
        self._steps: list[int] = []
        self._losses: list[float] = []
        self._val_steps: list[int] = []
        self._val_losses: list[float] = []
        self._test_steps: list[int] = []
        self._test_losses: list[float] = []
        self.train_curve.setData([], [])
        self.val_curve.setData([], [])
        self.test_curve.setData([], [])
        self.optimum_line.hide()
        self.note.setText("")

    def add(self, report) -> None:
        """Append one reported step (its whole trace) and redraw with ``setData``."""
        self._steps.extend(report.trace_steps)
        self._losses.extend(report.trace_losses)
        if report.val_loss is not None:
            self._val_steps.append(report.step)
            self._val_losses.append(report.val_loss)
        if report.test_loss is not None:
            self._test_steps.append(report.step)
            self._test_losses.append(report.test_loss)
        # log axes cannot show 0: an exact fit is drawn at the floor of float64 precision
        floor = 1e-300
        self.test_curve.setData(self._test_steps, np.maximum(self._test_losses, floor))
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
        train, val, test = self.train_curve, self.val_curve, self.test_curve
        return {
            "steps": _array(train.xData),
            "loss": _array(train.yData),
            "val_steps": _array(val.xData),
            "val_loss": _array(val.yData),
            "test_steps": _array(test.xData),
            "test_loss": _array(test.yData),
        }


class KernelView(QWidget):
    """The learned kernels (left) beside the reference kernels (right), one row per output.

    Painted with QPainter (coloured cells and their numbers): a pyqtgraph
    layout of image and text items costs tens of milliseconds per update in
    software rendering, enough to starve the training thread of the GIL.
    """

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        self._text_color = QColor(theme_colors(viewer)["text"])
        self._lookup = _diverging_lookup()
        self.canvas = _KernelCanvas(self)
        self.errors = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        layout.addWidget(self.errors)
        self.learned: np.ndarray | None = None
        self.reference: np.ndarray | None = None

    def restyle(self, colors: dict[str, str]) -> None:
        """Draw the titles in napari's theme text colour."""
        self._text_color = QColor(colors["text"])
        self.canvas.update()

    def clear(self) -> None:
        self.learned = self.reference = None
        self.errors.setText("")
        self.canvas.update()

    def show_kernels(self, learned: np.ndarray, reference: np.ndarray | None, error=None,
                     step=None) -> None:  # fmt: skip
        """Draw ``(C_out, C_in, k, k)`` kernels (first input channel) and ``step``'s numbers."""
        self.learned, self.reference = learned, reference
        self.canvas.update()
        self.errors.setText(_describe(error, step))

    def panels(self) -> list[tuple[str, np.ndarray]]:
        """``(title, kernels)`` of each column shown."""
        if self.learned is None:
            return []
        shown = [("learned", self.learned)]
        if self.reference is not None:
            shown.append(("true", self.reference))
        return shown


def _describe(error, step) -> str:
    lines = []
    alignment = getattr(step, "alignment", None)
    if alignment is not None:
        gram = np.asarray(alignment["gram"])
        reflected = " and reflected" if alignment["reflection"] else ""
        lines.append(
            f"learned pair = {alignment['scale']:.3g} × Sobel pair rotated by "
            f"{alignment['rotation_deg']:.1f}°{reflected}"
            f"; Gram matrix [[{gram[0, 0]:.3f}, {gram[0, 1]:.3f}], [{gram[1, 0]:.3f}, "
            f"{gram[1, 1]:.3f}]] (identity: an exact rotated Sobel pair)"
        )
    if error is not None:
        what = "after undoing the rotation" if alignment is not None else "learned vs true"
        lines.append(
            f"{what}: max |Δ| {error['max_abs']:.2e} · RMSE {error['rmse']:.2e} · "
            f"relative {error['relative']:.2e} · cosine {error['cosine']:.6f}"
        )
    numbers = []
    if getattr(step, "magnitude_error", None) is not None:
        numbers.append(f"magnitude error {step.magnitude_error:.2e} (relative RMS)")
    if getattr(step, "test_loss", None) is not None:
        numbers.append(f"held-out loss {step.test_loss:.3g}")
    if numbers:
        lines.append(" · ".join(numbers))
    return "\n".join(lines)


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
        # many kernels and nothing to compare with (a cnn's first layer): a square gallery
        per_row = int(np.ceil(np.sqrt(c_out))) if len(panels) == 1 and c_out > 2 else 1
        rows = int(np.ceil(c_out / per_row))
        title_height = 18
        column_width = self.width() / (len(panels) * per_row)
        row_height = (self.height() - title_height) / rows
        cell = max(1.0, min(column_width * 0.85, row_height * 0.9) / k)
        for column, (title, kernels) in enumerate(panels):
            painter.setPen(self._view._text_color)
            span = QRectF(column * column_width * per_row, 0, column_width * per_row, title_height)
            painter.drawText(span, Qt.AlignmentFlag.AlignCenter, title)
            for out in range(c_out):
                row, slot = divmod(out, per_row)
                left0 = (column * per_row + slot) * column_width + (column_width - cell * k) / 2
                top0 = title_height + row * row_height + (row_height - cell * k) / 2
                self._paint_kernel(painter, kernels[out, 0], left0, top0, cell, limit)
        painter.end()

    def _paint_kernel(self, painter, kernel, left0, top0, cell, limit) -> None:
        k = kernel.shape[-1]
        for (row, col), value in np.ndenumerate(kernel):
            rect = QRectF(left0 + col * cell, top0 + row * cell, cell, cell)
            index = min(255, max(0, round(float(value) / limit * 127.5 + 127.5)))
            r, g, b = self._view._lookup[index]
            painter.fillRect(rect, QColor(int(r), int(g), int(b)))
            if k <= NUMBERED_UP_TO and cell >= 24:
                painter.setPen(QColor("black"))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{value:.2f}")


def _diverging_lookup() -> np.ndarray:
    """napari's PiYG colormap (the Sobel layers' colormap) as a 256-entry RGB table."""
    from napari.utils.colormaps import ensure_colormap

    rgba = ensure_colormap("PiYG").map(np.linspace(0, 1, 256))
    return (rgba[:, :3] * 255).round().astype(np.uint8)


def _array(values) -> np.ndarray:
    return np.asarray([] if values is None else values, dtype=float)
