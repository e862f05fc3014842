"""The training dock's live loss plot (the kernels beside it are in :mod:`.kernel_view`)."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..common.plots import style_plot, theme_colors, themed_plot
from .axes import LossAxis, StepAxis

#: The height the loss view asks for: on a laptop (1366 × 768) the plot, the kernels
#: beside it and their numbers below are all in view; a taller dock gives it more.
PLOT_HEIGHT = 190


class LossView(QWidget):
    """Training and validation loss against the step (log y), and the closed-form optimum.

    The training loss, known at every step, is a line; the validation and held-out
    losses, measured at some steps only, are points (a line between two of them
    would draw values nobody measured). The legend is a line of text above the
    plot (never over the curves) naming only what is drawn. A run that diverged is
    drawn up to its explosion, with a line at the step it stopped that gives the
    largest stable rate.
    """

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        self.plot = themed_plot(viewer)
        item = self.plot.getPlotItem()
        item.setAxisItems({"bottom": StepAxis("bottom"), "left": LossAxis("left")})
        item.setLabel("bottom", "step")
        self.set_units(normalised=True)
        if item.legend is not None:  # the legend is the line of text above the plot
            item.legend.hide()
        item.setLogMode(x=False, y=True)
        self.plot.setMinimumHeight(170)
        self._colors = theme_colors(viewer)
        self.train_curve = self.plot.plot(pen=pg.mkPen(CURVE_COLORS["training"], width=2))
        self.train_curve.setDownsampling(auto=True, method="peak")
        self.train_curve.setClipToView(True)
        # measured points (one per report, 15 a second at most): symbols, no line
        self.val_curve, self.test_curve = (
            self.plot.plot(pen=None, symbol=SYMBOLS[name], symbolSize=6, symbolPen=None,
                           symbolBrush=CURVE_COLORS[name])
            for name in ("validation", "held-out layers")
        )  # fmt: skip
        self.optimum_line = pg.InfiniteLine(angle=0)
        self.optimum_line.hide()
        self.plot.addItem(self.optimum_line)
        self.stop_line = pg.InfiniteLine(angle=90)  # where a diverged run stopped
        self.stop_line.hide()
        self.plot.addItem(self.stop_line)
        # the legend: what is drawn, and the optimum. The dock places it above the plot
        # (a wrapping label inside this view would make the view ask for the plot's
        # full 480 px height-for-width, pushing the kernel out of sight)
        # no layer names in it: wrapped at spaces only, never inside "≈ 3.9e-05"
        self.note = QLabel(wordWrap=True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.restyle(self._colors)
        self.clear()

    def restyle(self, colors: dict[str, str]) -> None:
        """Colour the plot and the optimum line from napari's theme ``colors``."""
        self._colors = colors
        style_plot(self.plot, colors)
        pen = pg.mkPen(colors["text"], width=1, style=Qt.PenStyle.DotLine)
        self.optimum_line.setPen(pen)
        self.stop_line.setPen(pg.mkPen(DIVERGED_COLOR, width=1, style=Qt.PenStyle.DashLine))
        if hasattr(self, "_steps"):
            self._update_legend()

    def sizeHint(self) -> QSize:
        # a plot asks for 480 px; less leaves the kernel in view without scrolling,
        # and the layout's stretch still gives the plot any height to spare
        hint = super().sizeHint()
        return QSize(hint.width(), min(hint.height(), PLOT_HEIGHT))

    def set_units(self, normalised: bool) -> None:
        """Label the loss axis with the units of the run: normalised, or the images' own."""
        # short: the axis is 150 px tall on a laptop, and a label longer is cut
        units = "normalised" if normalised else "raw values"
        colors = getattr(self, "_colors", None)
        self.plot.getPlotItem().setLabel(
            "left", f"MSE ({units})", **({"color": colors["text"]} if colors else {})
        )

    def clear(self, steps: int | None = None) -> None:
        """Empty the plot; ``steps``: the run about to start, to frame its x axis."""
        self._steps: list[int] = []
        self._losses: list[float] = []
        self._val_steps: list[int] = []
        self._val_losses: list[float] = []
        self._test_steps: list[int] = []
        self._test_losses: list[float] = []
        self._optimum: float | None = None
        self._diverged: str | None = None
        self.train_curve.setData([], [])
        self.val_curve.setData([], [])
        self.test_curve.setData([], [])
        self.optimum_line.hide()
        self.stop_line.hide()
        item = self.plot.getPlotItem()
        # an empty plot still reads as steps and losses: whole steps, a few decades
        item.setXRange(0, max(1, min(steps or 10, 10)), padding=0.02)
        item.setYRange(-3, 1, padding=0)
        item.enableAutoRange()
        self._update_legend()

    def add(self, report) -> None:
        """Append one reported step (its whole trace) and redraw with ``setData``."""
        for step, loss in zip(report.trace_steps, report.trace_losses, strict=True):
            if math.isfinite(loss):  # a NaN/inf loss cannot be drawn on a log axis
                self._steps.append(step)
                self._losses.append(loss)
        if report.val_loss is not None and math.isfinite(report.val_loss):
            self._val_steps.append(report.step)
            self._val_losses.append(report.val_loss)
        if report.test_loss is not None and math.isfinite(report.test_loss):
            self._test_steps.append(report.step)
            self._test_losses.append(report.test_loss)
        # log axes cannot show 0: an exact fit is drawn at the floor of float64 precision
        floor = 1e-300
        self.test_curve.setData(self._test_steps, np.maximum(self._test_losses, floor))
        self.train_curve.setData(self._steps, np.maximum(self._losses, floor))
        self.val_curve.setData(self._val_steps, np.maximum(self._val_losses, floor))
        optimum = report.optimum_loss
        if optimum is not None and self._losses:
            self._optimum = optimum
            if optimum > 1e-12 * self._losses[0]:
                self.optimum_line.setValue(math.log10(optimum))
                self.optimum_line.show()
            else:
                self.optimum_line.hide()
        if report.status == "diverged":
            self._show_divergence(report)
        self._update_legend()

    def _show_divergence(self, report) -> None:
        rate = f"rate {report.learning_rate:g}"
        if report.stable_rate is not None:  # no break inside "≈ 3.9e-05"
            rate += f" > largest stable ≈\u00a0{report.stable_rate:.2g}"
        self._diverged = f"diverged at step {report.step}: {rate}"
        self.stop_line.setValue(report.step)
        self.stop_line.show()

    def legend(self) -> list[str]:
        """The names of what is drawn (a line needs two points, points one), in order."""
        names = [name for name, data, least in (("training", self._steps, 2),
                 ("validation", self._val_steps, 1), ("held-out layers", self._test_steps, 1))
                 if len(data) >= least]  # fmt: skip
        if self.optimum_line.isVisible():
            names.append("optimum")
        if self._diverged is not None:
            names.append("diverged")
        return names

    def _update_legend(self) -> None:
        text_color = self._colors["text"]
        parts = []
        for name in self.legend():
            if name == "optimum":
                parts.append(_legend_entry("┈┈", text_color, f"optimum {self._optimum:.3g}"))
            elif name == "diverged":
                parts.append(_legend_entry("╎", DIVERGED_COLOR, self._diverged))
            else:
                parts.append(_legend_entry(GLYPHS[name], CURVE_COLORS[name], name))
        if self._optimum is not None and self._steps and not self.optimum_line.isVisible():
            # 0 has no place on a log axis: said, not drawn
            parts.append(html.escape("(optimum 0: an exact fit exists)"))
        self.note.setText("&nbsp;&nbsp; ".join(parts))
        self.note.setVisible(bool(parts))

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


#: The curves' colours (Okabe-Ito, colour-blind safe), symbols and legend glyphs.
CURVE_COLORS = {"training": "#56B4E9", "validation": "#E69F00", "held-out layers": "#CC79A7"}
SYMBOLS = {"validation": "o", "held-out layers": "d"}
GLYPHS = {"training": "━━", "validation": "●", "held-out layers": "◆"}
DIVERGED_COLOR = "#D55E00"


def _legend_entry(glyph: str, color: str, text: str) -> str:
    return f'<span style="color:{color}"><b>{glyph}</b></span>&nbsp;{html.escape(text)}'


def _array(values) -> np.ndarray:
    return np.asarray([] if values is None else values, dtype=float)
