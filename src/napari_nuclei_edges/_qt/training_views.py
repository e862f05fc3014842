"""The training dock's live views: the loss plot and the learned kernel beside the true one."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
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
        self.val_curve = self.plot.plot(
            pen=pg.mkPen("#E69F00", width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
            symbol="o",
            symbolSize=4,
            symbolBrush="#E69F00",
            name="validation",
        )
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
    """The learned kernels (left) beside the reference kernels (right), one row per output."""

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        colors = theme_colors(viewer)
        self._text_color = colors["text"]
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground(colors["background"])
        self.canvas.setMinimumHeight(150)
        self.errors = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        layout.addWidget(self.errors)
        self._lookup = _diverging_lookup()
        self._cells: list[tuple[pg.ImageItem, list]] = []
        self._shape: tuple | None = None
        self.learned: np.ndarray | None = None
        self.reference: np.ndarray | None = None

    def clear(self) -> None:
        self.canvas.clear()
        self._cells, self._shape = [], None
        self.learned = self.reference = None
        self.errors.setText("")

    def show_kernels(self, learned: np.ndarray, reference: np.ndarray | None, error=None) -> None:
        """Draw ``(C_out, C_in, k, k)`` kernels (first input channel) with ``setImage``."""
        self.learned, self.reference = learned, reference
        columns = 1 if reference is None else 2
        if self._shape != (learned.shape, columns):
            self._build(learned.shape, columns)
        panels = [learned] if reference is None else [learned, reference]
        limit = max(float(np.abs(p).max()) for p in panels) or 1.0
        for index, (image, texts) in enumerate(self._cells):
            out, column = divmod(index, columns)
            kernel = panels[column][out, 0]
            # ImageItem's first axis is x: transpose so rows stay rows
            image.setImage(kernel.T, levels=(-limit, limit))
            if texts:
                for text, value in zip(texts, kernel.ravel(), strict=True):
                    text.setText(f"{value:.2f}")
        if error is not None:
            self.errors.setText(
                f"learned vs {'reference' if reference is not None else '—'}: "
                f"max |Δ| {error['max_abs']:.2e} · RMSE {error['rmse']:.2e} · "
                f"relative {error['relative']:.2e} · cosine {error['cosine']:.6f}"
            )

    def _build(self, shape: tuple, columns: int) -> None:
        self.canvas.clear()
        self._cells = []
        c_out, _, k, _ = shape
        titles = ("learned", "true" if columns == 2 else "")
        for out in range(c_out):
            for column in range(columns):
                box = self.canvas.addViewBox(row=out, col=column, lockAspect=True)
                box.setMouseEnabled(False, False)
                box.invertY(True)
                image = pg.ImageItem(axisOrder="col-major")
                image.setLookupTable(self._lookup)
                box.addItem(image)
                texts = []
                if k <= NUMBERED_UP_TO:
                    for row in range(k):
                        for col in range(k):
                            text = pg.TextItem(color="#000000", anchor=(0.5, 0.5))
                            text.setPos(col + 0.5, row + 0.5)
                            box.addItem(text)
                            texts.append(text)
                self._cells.append((image, texts))
                if out == 0:
                    label = pg.TextItem(titles[column], color=self._text_color, anchor=(0, 1))
                    label.setPos(0, 0)
                    box.addItem(label)
        self._shape = (shape, columns)


def _diverging_lookup() -> np.ndarray:
    """napari's PiYG colormap (the Sobel layers' colormap) as a 256-entry RGB table."""
    from napari.utils.colormaps import ensure_colormap

    rgba = ensure_colormap("PiYG").map(np.linspace(0, 1, 256))
    return (rgba[:, :3] * 255).round().astype(np.uint8)


def _array(values) -> np.ndarray:
    return np.asarray([] if values is None else values, dtype=float)
