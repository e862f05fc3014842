"""The focus plot: every measure against the slice, each scaled to its maximum, best marked.

A view of :class:`~.state.FocusState`: it redraws on the state's events and
reports a click as the slice under the mouse (:attr:`FocusPlotView.slice_clicked`);
what a click does is the dock's business.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QVBoxLayout, QWidget

from ...focus import FOCUS_MEASURES, MEASURE_LABELS
from ..common.plots import layer_color, style_plot, themed_plot
from .state import FocusState

LABELS = MEASURE_LABELS


def measure_color(name: str) -> str:
    """One colour per measure, from the plots' colour-blind-safe palette."""
    return layer_color(name, FOCUS_MEASURES.index(name))


class FocusPlotView(QWidget):
    """The curves of a :class:`FocusState`, a marker on each best slice, the current slice."""

    #: The slice (an int) under a click on the plot.
    slice_clicked = Signal(int)

    def __init__(self, viewer, state: FocusState, parent: QWidget | None = None):
        super().__init__(parent)
        self._state = state
        self.plot = themed_plot(
            viewer, x_label="slice", y_label="measure / its maximum", legend="above", columns=3
        )
        self.plot.setToolTip("Click a slice to show it in the viewer.")
        item = self.plot.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.markers: dict[str, pg.ScatterPlotItem] = {}
        for name in FOCUS_MEASURES:
            color = measure_color(name)
            self.curves[name] = item.plot([], [], pen=pg.mkPen(color, width=2), name=LABELS[name])
            self.markers[name] = pg.ScatterPlotItem(size=11, symbol="t1", brush=color, pen=color)
            item.addItem(self.markers[name])
        self.current_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#999999", style=Qt.DashLine))
        item.addItem(self.current_line)
        self.current_line.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_clicked)
        state.events.values.connect(self.redraw)

    def redraw(self, *_) -> None:
        """Draw the state's curves, each scaled to its maximum, and mark each best slice."""
        scaled = self._state.scaled()
        for name in FOCUS_MEASURES:
            y = scaled.get(name)
            if y is None:
                self.curves[name].setData([], [])
                self.markers[name].setData([], [])
                continue
            self.curves[name].setData(np.arange(y.size), y)
            best = self._state.best[name]
            self.markers[name].setData([best], [y[best]])
        if scaled:
            size = max(v.size for v in scaled.values())
            self.plot.getPlotItem().setRange(xRange=(0, max(size - 1, 1)), yRange=(0, 1.05))

    def set_current(self, index: int | None) -> None:
        """The dashed line on the slice the viewer shows (None: no line)."""
        self.current_line.setVisible(index is not None)
        if index is not None:
            self.current_line.setValue(index)

    def restyle(self, colors: dict[str, str]) -> None:
        style_plot(self.plot, colors)

    def slice_at(self, scene_pos) -> int | None:
        """The slice under a point of the plot's scene, None outside the curves."""
        item = self.plot.getPlotItem()
        if not item.vb.sceneBoundingRect().contains(scene_pos):
            return None
        x = item.vb.mapSceneToView(scene_pos).x()
        sizes = [v.size for v in self._state.values.values()]
        if not sizes:
            return None
        return int(np.clip(round(x), 0, max(sizes) - 1))

    def _on_scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        index = self.slice_at(event.scenePos())
        if index is not None:
            self.slice_clicked.emit(index)
