"""The histogram plot with its threshold lines, and the statistics table, of the threshold dock."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ...intensity import ClassHistograms
from ..common.plots import layer_color, style_plot, theme_colors, themed_plot

STAT_COLUMNS = ("n", "mean", "median", "std", "p1", "p99", "% > t")


class HistogramView(QWidget):
    """Overlaid step histograms, a draggable threshold (and upper) line, a method marker."""

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        self.plot = themed_plot(viewer, x_label="intensity", y_label="pixels")
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

    def draw(self, histograms: ClassHistograms, *, density: bool, log: bool) -> None:
        """Update the curves in place (``setData``); add or drop one per layer as needed."""
        for name in list(self.curves):
            if name not in histograms.counts:
                self.plot.removeItem(self.curves.pop(name))
        for index, name in enumerate(histograms.names):
            y = histograms.density(name) if density else histograms.counts[name].astype(float)
            if log:
                # log10(1 + y) keeps empty bins drawable
                y = np.log10(1 + y * (1e3 if density else 1))
            curve = self.curves.get(name)
            if curve is None:
                pen = pg.mkPen(layer_color(name, index), width=1.5)
                curve = self.plot.plot(stepMode="center", pen=pen, name=name)
                self.curves[name] = curve
            curve.setData(histograms.edges, y)
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
        self.table.setMinimumHeight(170)
        self.separability_label = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(self.separability_label)

    def show_statistics(self, h: ClassHistograms, threshold: float) -> None:
        self.table.setRowCount(len(h.names))
        self.table.setVerticalHeaderLabels(h.names)
        above = h.centers > threshold
        for row, name in enumerate(h.names):
            s, counts = h.statistics[name], h.counts[name]
            fraction = counts[above].sum() / counts.sum() if counts.sum() else float("nan")
            values = (s.count, s.mean, s.median, s.std, s.p01, s.p99, 100 * fraction)
            for column, value in enumerate(values):
                text = f"{value:d}" if isinstance(value, int) else f"{value:.4g}"
                self.table.setItem(row, column, QTableWidgetItem(text))

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
