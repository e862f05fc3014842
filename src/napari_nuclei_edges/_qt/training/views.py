"""The training dock's live views: the loss plot and the learned kernel beside the true one."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import QRectF, QSize, Qt
from qtpy.QtGui import QColor, QPainter
from qtpy.QtWidgets import QVBoxLayout, QWidget

from ..common.layout import WrappingLabel
from ..common.plots import style_plot, theme_colors, themed_plot
from .axes import LossAxis, StepAxis

#: The height the loss view asks for: on a laptop (1366 × 768) the plot, the kernels
#: beside it and their numbers below are all in view; a taller dock gives it more.
PLOT_HEIGHT = 190
#: Kernels up to this size show their numbers in the cells.
NUMBERED_UP_TO = 5


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
        self.note = WrappingLabel()
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


class KernelView(QWidget):
    """The learned kernels (left) beside the reference kernels (right), one row per output.

    The reference is titled for what it is: *true (Sobel)* for a kernel that makes
    the targets exactly, *least squares* for the best linear kernel, found in
    closed form (for the magnitude, or a target layer). ``errors``, the numbers
    under it, is placed by the dock (full width, below the plot and the kernels).

    Painted with QPainter (coloured cells and their numbers): a pyqtgraph
    layout of image and text items costs tens of milliseconds per update in
    software rendering, enough to starve the training thread of the GIL.
    """

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        self._text_color = QColor(theme_colors(viewer)["text"])
        self._lookup = _diverging_lookup()
        self.canvas = _KernelCanvas(self)
        self.errors = WrappingLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.learned: np.ndarray | None = None
        self.reference: np.ndarray | None = None
        self.reference_title = REFERENCE_TITLES["true"]
        self._measured: dict[str, tuple[int, float]] = {}

    def restyle(self, colors: dict[str, str]) -> None:
        """Draw the titles in napari's theme text colour."""
        self._text_color = QColor(colors["text"])
        self.canvas.update()

    def clear(self) -> None:
        self.learned = self.reference = None
        self._measured: dict[str, tuple[int, float]] = {}
        self.errors.setText("")
        self.canvas.update()

    def show_kernels(self, learned: np.ndarray, reference: np.ndarray | None, error=None,
                     step=None) -> None:  # fmt: skip
        """Draw ``(C_out, C_in, k, k)`` kernels (first input channel) and ``step``'s numbers."""
        self.learned, self.reference = learned, reference
        kind = getattr(step, "reference_kind", None) or "true"
        self.reference_title = REFERENCE_TITLES[kind]
        self.canvas.update()
        # the held-out numbers are measured every few steps: the last ones stay shown
        for name in ("magnitude_error", "test_loss"):
            value = getattr(step, name, None)
            if value is not None:
                self._measured[name] = (step.step, value)
        self.errors.setText(_describe(error, step, self._measured))

    def panels(self) -> list[tuple[str, np.ndarray]]:
        """``(title, kernels)`` of each column shown."""
        if self.learned is None:
            return []
        shown = [("learned", self.learned)]
        if self.reference is not None:
            shown.append((self.reference_title, self.reference))
        return shown


#: The reference kernel's title, by TrainingStep.reference_kind.
REFERENCE_TITLES = {"true": "true (Sobel)", "least squares": "least squares"}
#: How the errors line names what the learned kernel is compared with.
COMPARED = {"true": "learned vs true (Sobel)",
            "least squares": "learned vs least squares (the best linear kernel)"}  # fmt: skip


def _describe(error, step, measured: dict | None = None) -> str:
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
        kind = getattr(step, "reference_kind", None) or "true"
        what = "after undoing the rotation" if alignment is not None else COMPARED[kind]
        lines.append(
            f"{what}: max |Δ| {error['max_abs']:.2e} · RMSE {error['rmse']:.2e} · "
            f"relative {error['relative']:.2e} · cosine {error['cosine']:.6f}"
        )
    numbers = []
    measured = measured or {}
    current = getattr(step, "step", None)

    def when(name: str) -> str:
        at = measured[name][0]
        return "" if at == current else f" at step {at}"

    if "magnitude_error" in measured:
        value = measured["magnitude_error"][1]
        where = "held-out layers" if "test_loss" in measured else "validation"
        shown = f"{value:.0%}" if value >= 0.01 else f"{value:.1e}"  # 59 %, or 1.2e-06
        numbers.append(f"magnitude error {shown} (relative RMS, {where}){when('magnitude_error')}")
    if "test_loss" in measured:
        numbers.append(f"held-out loss {measured['test_loss'][1]:.3g}{when('test_loss')}")
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
                painter.setPen(QColor(contrasting_text(r, g, b)))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, cell_text(value))


def cell_text(value: float) -> str:
    """A kernel value in at most five characters, so it fits its cell.

    Examples
    --------
    >>> cell_text(-2.0), cell_text(0.004), cell_text(543.3), cell_text(-5492.2), cell_text(54921.0)
    ('-2.00', '0.00', '543', '-5492', '5e+04')
    """
    size = abs(value)
    if size < 100:
        return f"{value:.2f}"
    if size < 1e4:
        return f"{value:.0f}"
    return f"{value:.0e}"


def contrasting_text(r: int, g: int, b: int) -> str:
    """Black or white, whichever reads better on the colour ``(r, g, b)`` (0–255).

    By relative luminance (WCAG): the darker cells of PiYG's ends take white.

    Examples
    --------
    >>> contrasting_text(142, 1, 82), contrasting_text(247, 247, 247)
    ('white', 'black')
    """

    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    # the contrast with black, (L + 0.05) / 0.05, beats white's, 1.05 / (L + 0.05), above ~0.18
    return "black" if luminance > 0.179 else "white"


def _diverging_lookup() -> np.ndarray:
    """napari's PiYG colormap (the Sobel layers' colormap) as a 256-entry RGB table."""
    from napari.utils.colormaps import ensure_colormap

    rgba = ensure_colormap("PiYG").map(np.linspace(0, 1, 256))
    return (rgba[:, :3] * 255).round().astype(np.uint8)


def _array(values) -> np.ndarray:
    return np.asarray([] if values is None else values, dtype=float)
