"""FocusWidget: which slice of a stack is sharpest, by five focus measures, plotted and picked.

The dock is the controller of a Qt-free :class:`~.state.FocusState` and its plot
(:class:`~.plot_view.FocusPlotView`): it reads the chosen layer, calls
:func:`napari_nuclei_edges.focus.iter_focus_measures` (in a worker when the stack
is large or lazy), moves napari's slider when the plot is clicked, and makes
``<layer>_best_focus``. It computes nothing itself.
"""

from __future__ import annotations

import napari.viewer
import numpy as np
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ...focus import (
    FOCUS_MEASURES,
    TILE,
    expand_map,
    focus_map,
    focus_measures,
    iter_focus_measures,
)
from ..common import settings as _settings
from ..common.choice import LayerChoice
from ..common.layers import is_lazy, layer_data, layer_problem
from ..common.layout import WrappingLabel, scrolling_layout
from ..common.lifetime import DockLife
from ..common.outputs import put_layer
from ..common.plots import follow_theme
from ..common.progress import RunProgressWidget
from ..common.workers import Failure, failures_as_values, start_worker
from .plot_view import LABELS, FocusPlotView
from .state import FocusState

#: Stacks with more pixels than this are measured in a worker thread (the GUI thread
#: measures smaller ones within a frame or two: `bench_focus` gives the speed).
WORKER_PIXELS = 500_000
OUTPUT = "best_focus"
MAP = "focus_map"


class FocusWidget(QWidget):
    """Plot five focus measures of every slice of a stack; keep the sharpest slice.

    Examples
    --------
    >>> w = FocusWidget(viewer)  # doctest: +SKIP
    >>> w.measure(); w.go_to_slice(w.state.picked); w.keep_best_slice()  # doctest: +SKIP
    """

    def __init__(self, viewer: napari.viewer.Viewer, parent=None):
        super().__init__(parent)
        self._viewer = viewer
        self._settings = _settings.widget_settings("focus")
        self._worker = None
        self._run = 0  # a result from a stopped run is dropped
        self.state = FocusState()

        self._layer_combo = QComboBox()
        self._layer_combo.setToolTip("The stack of slices (a focus series or a z-stack).")
        self._axis_spin = QSpinBox(minimum=0, maximum=0)
        self._axis_spin.setToolTip("The layer's axis along which the focus changes (z).")
        self._pick_combo = QComboBox()
        self._pick_combo.addItems(FOCUS_MEASURES)
        self._pick_combo.setToolTip("The measure whose best slice Keep best slice keeps.")
        self._noise_spin = QDoubleSpinBox(minimum=0.0, maximum=10_000.0, decimals=1)
        self._noise_spin.setToolTip(
            "Add Gaussian noise of this σ (grey levels) before measuring: which measures "
            "keep a single peak as noise grows? 0: the stack as it is."
        )
        self._tile_spin = QSpinBox(minimum=3, maximum=8192, value=TILE, suffix=" px")
        self._tile_spin.setToolTip("The side of a focus map's tiles, in pixels.")
        self._map_button = QPushButton("Focus map")
        self._map_button.setToolTip(
            "Make <layer>_focus_map: the sharpest slice of each tile, by the chosen "
            "measure (a tilted sample is in focus at other slices across the field)."
        )
        self._measure_button = QPushButton("Measure")
        self._measure_button.setToolTip("Compute the five focus measures of every slice.")
        self._keep_button = QPushButton("Keep best slice")
        self._keep_button.setToolTip("Make <layer>_best_focus: the chosen measure's best slice.")
        self._keep_button.setEnabled(False)
        self.view = FocusPlotView(viewer, self.state)
        self._progress = RunProgressWidget()
        self._progress.stop_requested.connect(self.stop)
        self._status_label = WrappingLabel()

        form = QFormLayout()
        form.addRow("stack layer", self._layer_combo)
        form.addRow("slice axis", self._axis_spin)
        form.addRow("pick by", self._pick_combo)
        form.addRow("add noise σ", self._noise_spin)
        row = QHBoxLayout()
        row.addWidget(self._measure_button)
        row.addWidget(self._keep_button)
        map_row = QHBoxLayout()
        map_row.addWidget(self._map_button)
        tile_label = QLabel("tiles of")
        tile_label.setBuddy(self._tile_spin)
        map_row.addWidget(tile_label)
        map_row.addWidget(self._tile_spin)
        layout = scrolling_layout(self)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addLayout(map_row)
        layout.addWidget(self._progress)
        layout.addWidget(self.view)
        layout.addWidget(self._status_label)
        layout.addStretch()

        pick_by = _settings.limits(self._pick_combo)
        self._pick_combo.setCurrentText(
            _settings.read(self._settings, "pick_by", "brenner", pick_by)
        )
        self._say(_settings.reset_sentence(self._settings))  # once: the bad value is gone
        self.state.set_pick_by(self._pick_combo.currentText())
        self._pick_combo.currentTextChanged.connect(self._on_pick_changed)
        self._layer_combo.currentTextChanged.connect(self._on_layer_chosen)
        self._choice = LayerChoice(
            self._layer_combo, self._viewer, self._on_layers_changed, self.state.rename_layer
        )
        self._axis_spin.valueChanged.connect(self.state.set_axis)
        self._noise_spin.valueChanged.connect(self.state.set_noise)
        self._map_button.clicked.connect(self.make_focus_map)
        self.state.events.values.connect(self._on_values)
        self._measure_button.clicked.connect(self.measure)
        self._keep_button.clicked.connect(self.keep_best_slice)
        self.view.slice_clicked.connect(self.go_to_slice)
        self._attach()
        self._life = DockLife(self)

    # ------------------------------------------------------------------ public API

    @property
    def layer_name(self) -> str:
        return self._choice.name

    @layer_name.setter
    def layer_name(self, name: str) -> None:
        self._choice.name = name

    @property
    def axis(self) -> int:
        return self._axis_spin.value()

    @axis.setter
    def axis(self, axis: int) -> None:
        self._axis_spin.setValue(axis)

    @property
    def busy(self) -> bool:
        return self._progress.running

    def measure(self):
        """Measure every slice of the chosen layer (the Measure button).

        Small stacks are measured at once; large or lazy ones in a napari worker,
        which is returned (started) so a script can wait for it.
        """
        if self.busy:
            return self._worker
        name, axis, data = self._chosen_stack()
        if data is None:
            return None
        self.state.clear()
        run = self._begin()
        noise = {"axis": axis, "noise": self.state.noise}
        if not is_lazy(data) and data.size <= WORKER_PIXELS:
            result = failures_as_values(focus_measures)(data, FOCUS_MEASURES, **noise)
            return self._on_result(run, name, axis, result)
        slices = int(data.shape[axis])
        self._progress.begin(slices, f"Measuring the {slices} slices of {name}…")
        return self._start(
            iter_focus_measures,
            data,
            FOCUS_MEASURES,
            **noise,
            on_failure=lambda message: self._say(f"{name}: {message}"),
            on_yielded=lambda done: self._progress.advance(done),
            on_returned=lambda values: self._on_result(run, name, axis, values),
        )

    def make_focus_map(self):
        """Make (or update) ``<layer>_focus_map`` (the Focus map button): the sharpest
        slice of each tile by the chosen measure, painted at the slices' size.

        Computed in a napari worker, which is returned (started).
        """
        if self.busy:
            return self._worker
        name, axis, data = self._chosen_stack()
        if data is None:
            return None
        run, tile, measure = self._begin(), self._tile_spin.value(), self.state.pick_by
        self._progress.begin(0, f"Mapping the focus of {name} in {tile}-pixel tiles…")
        shape = tuple(np.delete(np.asarray(data.shape), axis))
        return self._start(
            failures_as_values(_painted_focus_map),
            data,
            measure,
            tile,
            axis,
            shape,
            on_failure=lambda message: self._say(f"{name}: {message}"),
            on_returned=lambda m: self._on_map(run, name, axis, tile, measure, m),
        )

    def stop(self) -> None:
        """Stop a measurement (the Stop button): its result is dropped."""
        self._run += 1
        if self._worker is not None:
            self._worker.quit()
            self._worker = None
        self._set_idle()
        self._say("Stopped.")

    def go_to_slice(self, index: int) -> None:
        """Show slice ``index`` of the layer in the viewer (what a click on the plot does)."""
        name, axis = self.state.layer, self.state.axis
        if name not in self._viewer.layers:
            return self._say(f"{name} was removed: choose another stack." if name else "")
        layer = self._viewer.layers[name]
        dims = self._viewer.dims
        world = dims.ndim - layer.ndim + axis
        if world in dims.displayed:  # the slice axis must be a slider, not on screen
            dims.order = (world, *(d for d in dims.order if d != world))
        step = list(dims.current_step)
        step[world] = int(index)
        dims.current_step = tuple(step)

    def keep_best_slice(self):
        """Make (or update) ``<layer>_best_focus``: the chosen measure's best slice."""
        name, axis, index = self.state.layer, self.state.axis, self.state.picked
        if index is None:
            return self._say("Measure the stack first (the Measure button).")
        if name not in self._viewer.layers:
            return self._say(f"{name} was removed: its best slice cannot be kept.")
        layer = self._viewer.layers[name]
        plane = np.asarray(np.take(layer_data(layer), index, axis=axis))
        params = {"slice": index, "axis": axis, "measure": self.state.pick_by}
        look = {"colormap": layer.colormap, "contrast_limits": layer.contrast_limits}
        kept = put_layer(self._viewer, "image", name, OUTPUT, plane, params, **look)
        by = LABELS[self.state.pick_by]
        self._say(f"{kept.name}: slice {index} of {name}, the sharpest by {by}.")
        return kept

    # ------------------------------------------------------------------ internals

    def _chosen_stack(self):
        """``(name, axis, data)`` of the chosen layer, or a sentence and data None."""
        name, axis = self.layer_name, self.axis
        if name not in self._viewer.layers:
            self._say("Choose a stack layer first.")
            return name, axis, None
        layer = self._viewer.layers[name]
        problem = layer_problem(layer, "finding the focus", max_ndim=3)
        if problem is None and layer.ndim < 3:
            problem = f"{name} is a single 2D image: finding the focus needs a stack of slices."
        if problem is not None:
            self._say(problem)
            return name, axis, None
        return name, axis, layer_data(layer)

    def _begin(self) -> int:
        """A new run: the result of any earlier one is dropped."""
        self._worker = None
        self._run += 1
        return self._run

    def _start(self, function, *args, **kwargs):
        self._measure_button.setEnabled(False)
        self._map_button.setEnabled(False)
        self._worker = start_worker(
            function, *args, on_finished=self._set_idle, owner=self, **kwargs
        )
        return self._worker

    def _on_map(self, run, name, axis, tile, measure, result) -> None:
        if run != self._run:
            return None
        if isinstance(result, Failure):
            return self._say(f"{name}: {result.message}")
        if name not in self._viewer.layers:
            return self._say(f"{name} was removed before its focus map was ready.")
        result, painted = result
        slices = int(self._viewer.layers[name].data.shape[axis])
        params = {"tile": tile, "axis": axis, "measure": measure}
        look = {"colormap": "turbo", "contrast_limits": (0, max(slices - 1, 1)), "opacity": 0.6}
        made = put_layer(self._viewer, "image", name, MAP, painted, params, **look)
        found = result[result >= 0]
        if found.size == 0:
            return self._say(f"{made.name}: every tile is constant, no slice is sharper.")
        low, high = int(found.min()), int(found.max())
        spread = f"slice {low}" if low == high else f"slices {low} to {high}"
        empty = int((result < 0).sum())
        said = f" ({empty} constant tiles: -1)" if empty else ""
        self._say(
            f"{made.name}: the sharpest slice of each {tile}-pixel tile by "
            f"{LABELS[measure]}: {spread}{said}."
        )

    def _on_result(self, run: int, name: str, axis: int, result) -> None:
        if run != self._run:
            return None
        if isinstance(result, Failure):
            return self._say(f"{name}: {result.message}")
        if name not in self._viewer.layers:
            return self._say(f"{name} was removed before its focus measures were ready.")
        self.state.set_layer(name)
        self.state.set_axis(axis)
        self.state.set_values(result)
        if self.state.picked is not None:
            self.go_to_slice(self.state.picked)  # the answer, on screen
        self._on_current_step()

    def _on_values(self, values) -> None:
        self._keep_button.setEnabled(bool(values))
        if not values:
            return self._say("")
        picked = self.state.picked
        sentences = [f"Sharpest slice by {LABELS[self.state.pick_by]}: {picked}."]
        sentences += [
            self.state.robustness(),
            self.state.disagreement(),
            self.state.constant_slices(),
        ]
        self._say(" ".join(s for s in sentences if s))

    def _on_pick_changed(self, measure: str) -> None:
        self.state.set_pick_by(measure)
        self._settings.setValue("pick_by", measure)
        self._on_values(self.state.values)

    def _on_layer_chosen(self, name: str) -> None:
        ndim = self._viewer.layers[name].ndim if name in self._viewer.layers else 3
        self._axis_spin.setMaximum(max(0, ndim - 1))
        self.state.set_layer(name)

    def _on_current_step(self, event=None) -> None:
        name = self.state.layer
        if not self.state.values or name not in self._viewer.layers:
            return self.view.set_current(None)
        dims = self._viewer.dims
        world = dims.ndim - self._viewer.layers[name].ndim + self.state.axis
        self.view.set_current(dims.current_step[world] if 0 <= world < dims.ndim else None)

    def _set_idle(self) -> None:
        self._progress.end()
        self._measure_button.setEnabled(True)
        self._map_button.setEnabled(True)

    def _on_layers_changed(self, names=None) -> None:
        self._on_layer_chosen(self.layer_name)

    def _say(self, text: str) -> None:
        self._status_label.setText(text)
        self._status_label.setVisible(bool(text))

    # ------------------------------------------------------------------ life (see DockLife)

    def _attach(self) -> None:
        self._choice.attach()
        self._viewer.dims.events.current_step.connect(self._on_current_step)
        self._unfollow_theme = follow_theme(self._viewer, self.view.restyle)

    def _detach(self) -> None:
        self._run += 1
        if self._worker is not None:
            self._worker.quit()
            self._worker = None
        self._set_idle()
        self._choice.detach()
        self._viewer.dims.events.current_step.disconnect(self._on_current_step)
        self._unfollow_theme()


def _painted_focus_map(data, measure: str, tile: int, axis: int, shape) -> tuple:
    """The worker's part of *Focus map*: the map and the map painted at the slices' size
    (int16: the GUI thread only inserts the layer)."""
    found = focus_map(data, measure, tile=tile, axis=axis)
    return found, expand_map(found, shape, tile).astype(np.int16)
