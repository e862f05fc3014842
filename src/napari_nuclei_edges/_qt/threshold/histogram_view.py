"""The histogram plot with its threshold lines, and the statistics table, of the threshold dock."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ...intensity import ClassHistograms, display_histogram
from ..common.layout import WrappingLabel, fit_table, set_row_names
from ..common.plots import layer_color, style_plot, theme_colors, themed_plot
from .model import counted

STAT_COLUMNS = ("mean ± sd", "median", "p1 – p99")


def number(value: float) -> str:
    """A number in at most 5 significant digits, never in exponent form below a million."""
    if value != value:
        return "—"
    if abs(value) >= 1e6 or (0 < abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.5g}"


def above_text(fractions: dict[str, float], threshold: float) -> str:
    """Rich text: each layer's share of pixels above ``t``, in its curve's colour."""
    parts = [
        f'<span style="color:{layer_color(name, i)}">■</span> {name} <b>{100 * value:.1f}%</b>'
        for i, (name, value) in enumerate(fractions.items())
    ]
    return f"above t = {number(threshold)}: " + " · ".join(parts)


class HistogramView(QWidget):
    """Overlaid step histograms, a draggable threshold (and upper) line, a method marker."""

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        self.plot = themed_plot(viewer, x_label="intensity", y_label="pixels", legend="above")
        colors = theme_colors(viewer)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.threshold_line = pg.InfiniteLine(
            angle=90, movable=True, pen=pg.mkPen(colors["current"], width=2),
            label="t={value:.1f}", labelOpts={"color": colors["text"], "position": 0.9},
        )  # fmt: skip
        self.upper_line = pg.InfiniteLine(
            angle=90, movable=True, pen=pg.mkPen(colors["current"], width=2, style=Qt.DashLine)
        )
        self.method_line = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(colors["highlight"], style=Qt.DotLine)
        )
        for line in (self.threshold_line, self.upper_line, self.method_line):
            self.plot.addItem(line, ignoreBounds=True)
        self.upper_line.hide()
        self.method_line.hide()
        self.restyle(colors)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def restyle(self, colors: dict[str, str]) -> None:
        """Take the colours of napari's theme (at start, and when the theme changes)."""
        style_plot(self.plot, colors)
        self.threshold_line.setPen(pg.mkPen(colors["current"], width=2))
        self.threshold_line.label.setColor(colors["text"])
        self.upper_line.setPen(pg.mkPen(colors["current"], width=2, style=Qt.DashLine))
        self.method_line.setPen(pg.mkPen(colors["highlight"], style=Qt.DotLine))

    def set_bounds(self, low: float, high: float) -> None:
        self.threshold_line.setBounds((low, high))
        self.upper_line.setBounds((low, high))

    def draw(
        self, histograms: ClassHistograms, *, density: bool, log: bool, bins: int | None = None
    ) -> None:
        """Update the curves in place (``setData``); add or drop one per layer as needed.

        ``bins``: at most this many drawn bins (None: a readable default; 0: every
        counted bin). Drawing merges whole bins; the counts themselves stay exact.
        """
        for name in list(self.curves):
            if name not in histograms.counts:
                self.plot.removeItem(self.curves.pop(name))
        edges, counts = display_histogram(histograms, bins)
        widths = np.diff(edges)
        for index, name in enumerate(histograms.names):
            y = counts[name].astype(float)
            if density:
                total = y.sum()
                y = y / (total * widths) if total else y
            if log:
                # log10(1 + y) keeps empty bins drawable
                y = np.log10(1 + y * (1e3 if density else 1))
            curve = self.curves.get(name)
            if curve is None:
                pen = pg.mkPen(layer_color(name, index), width=1.5)
                curve = self.plot.plot(stepMode="center", pen=pen, name=name)
                self.curves[name] = curve
            curve.setData(edges, y)
        label = "density" if density else "pixels"
        self.plot.getPlotItem().setLabel("left", f"log10(1 + {label})" if log else label)

    def clear(self) -> None:
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()


class StatisticsView(QWidget):
    """Per-layer statistics, and which classes intensity alone separates best."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QTableWidget(0, len(STAT_COLUMNS))
        self.table.setHorizontalHeaderLabels(STAT_COLUMNS)
        self.table.setToolTip(
            "Exact statistics of each layer's finite pixels (percentiles: numpy's linear rule);"
            " the pixel count and extremes are in each row's tooltip."
        )
        self.separability_label = WrappingLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(self.separability_label)

    def show_statistics(self, h: ClassHistograms) -> None:
        self.table.setRowCount(len(h.names))
        set_row_names(self.table, h.names)
        for row, name in enumerate(h.names):
            s = h.statistics[name]
            texts = (f"{number(s.mean)} ± {number(s.std)}", number(s.median),
                     f"{number(s.p01)} – {number(s.p99)}")  # fmt: skip
            tip = (f"{name}: {counted(s.count, 'pixel')}, min {number(s.minimum)}, max "
                   f"{number(s.maximum)}" + (f", {s.nonfinite:,} NaN/inf not counted"
                                              if s.nonfinite else ""))  # fmt: skip
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                self.table.setItem(row, column, item)
            self.table.verticalHeaderItem(row).setToolTip(tip)
        fit_table(self.table)

    def show_separability(self, h: ClassHistograms) -> None:
        if len(h.names) < 2:
            self.separability_label.setText("Select two or more layers to compare classes.")
            return
        aucs = [
            (h.separability(a, b)["auc"], a, b)
            for i, a in enumerate(h.names)
            for b in h.names[i + 1 :]
        ]
        aucs.sort(key=lambda item: abs(item[0] - 0.5), reverse=True)
        best = "; ".join(f"{a} vs {b}: AUC {auc:.2f}" for auc, a, b in aucs[:3])
        self.separability_label.setText(
            "Separability by intensity (ROC-AUC; 0.5 = same, 0/1 = apart) — most separable: "
            + best
        )

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.separability_label.clear()
