"""HistogramThresholdWidget: per-class histograms, a draggable threshold, live Labels previews.

The dock's state is a :class:`~.model.ThresholdState`; its controls and the
histogram view write to it and redraw on its events (see ``controls.py``). This
module does what needs the viewer: which layers are on offer, their histograms,
the previews, the segmentation and the scores.
"""

from __future__ import annotations

import time

import napari.viewer
import numpy as np
from napari.utils.notifications import show_warning
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QWidget

from ...intensity import THRESHOLD_METHODS, ClassHistograms, auto_threshold, class_histograms
from ..common import settings as _settings
from ..common.layers import histogram_input, is_lazy, layer_data, layer_problem
from ..common.lifetime import DockLife
from ..common.outputs import (
    guard_canvas_context,
    owned_output,
    put_labels,
)
from ..common.plots import follow_theme
from ..common.workers import start_worker
from .controls import ThresholdControls
from .histogram_view import above_text
from .layer_list import PURPOSE, LayerListMixin
from .model import AS_SET, MANUAL, REMEMBERED, ThresholdState, counted, used_thresholds
from .model import REMEMBERED_WITHIN as _WITHIN
from .previews import current_plane, show_mask_preview
from .runs import compare_with_gallery, segment_layers

#: What a remembered value may be; a method is one the dock offers.
REMEMBERED_WITHIN = {**_WITHIN, "method": {MANUAL, *THRESHOLD_METHODS}}
#: Requests closer together than this share one preview update.
FRAME_SECONDS = 1 / 60


class HistogramThresholdWidget(LayerListMixin, ThresholdControls):
    """Histograms of image layers, a threshold on them, and live ``<layer>_mask`` previews.

    Parameters
    ----------
    viewer : napari.Viewer
        Works on the viewer's image layers (all of them are selected at first).

    Examples
    --------
    >>> w = HistogramThresholdWidget(viewer)  # doctest: +SKIP
    >>> w.threshold = 80.0      # moves the line, updates every <layer>_mask  # doctest: +SKIP
    >>> w.method = "otsu"       # computes Otsu's threshold and applies it  # doctest: +SKIP
    """

    def __init__(self, viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        settings = _settings.widget_settings("threshold")
        super().__init__(viewer, ThresholdState(), settings, parent)
        self._viewer = viewer
        self._settings = settings
        self._histograms: ClassHistograms | None = None
        self._counted: tuple | None = None  # the layers (and data) the histograms counted
        self._stacks: dict = {}  # what the histograms counted (a sample of a lazy layer)
        self._worker = self._exact_worker = self._methods_worker = None
        self._stop_requested = False
        self._last_preview = 0.0
        self._opening = True  # opening the dock shows; it does not make layers
        self._following = False  # the data changed, not the user: no new previews
        self._known_names: dict[int, str] = {}
        self._deleted: list[str] = []  # layers deleted: their outputs go at the next turn
        self._preview_timer = QTimer(self, singleShot=True, interval=round(FRAME_SECONDS * 1e3))
        self._preview_timer.timeout.connect(self._update_preview)
        _settings.restore_fields(self.state, self._settings, REMEMBERED, REMEMBERED_WITHIN)
        self.show_state()
        self._segmentation_panel.apply_button.clicked.connect(self.apply)
        self._segmentation_panel.progress.stop_requested.connect(self._on_stop_clicked)
        self._exact_button.clicked.connect(self.exact_histograms)
        self._connect_state()
        self._attach()
        self._life = DockLife(self)
        # what the switch says agrees with the canvas: on when previews are already shown
        self.state.preview = any(
            owned_output(viewer, layer.name, "mask") is not None for layer in self.selected_layers
        )
        self._opening = False
        self._show_plan()
        if note := _settings.reset_sentence(self._settings):  # once: the bad values are gone
            self._say(note)

    # ------------------------------------------------------------------ public API

    @property
    def threshold(self) -> float:
        return self.state.threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self.state.set_threshold(value)

    @property
    def method(self) -> str:
        return self.state.method

    @method.setter
    def method(self, name: str) -> None:
        if name not in (MANUAL, *THRESHOLD_METHODS):
            raise ValueError(f"unknown method {name!r}; choose one of {THRESHOLD_METHODS}.")
        self._on_method_chosen(name)

    @property
    def selected_layers(self) -> list:
        """The selected image layers that can be thresholded, in layer order."""
        return [layer for layer in self._image_layers() if layer.name in self.state.layers]

    def select_layers(self, names: list[str]) -> None:
        """Select exactly the named image layers."""
        offered = self._offered()
        for name, *_ in offered:
            self.state.choices = {**self.state.choices, name: name in names}
        self.state.offer(offered)

    def apply(self):
        """Run the improved segmentation on every selected layer into ``<layer>_labels``.

        Returns the napari worker (already started), so a script can wait for it.
        """
        panel = self._segmentation_panel
        if panel.progress.running:
            return self._worker  # the button is disabled meanwhile; a script gets the same run
        layers = [layer for layer in self.selected_layers if not layer_problem(layer, PURPOSE)]
        if not layers:
            self._say("Select an image layer to segment.")
            return None
        options = self._segmentation_panel.options()
        state = self.state
        rule, method, polarity = state.apply_rule, state.method, state.polarity
        # as set: the dock's one threshold, whatever made it; per image: the method's rule
        threshold = state.threshold if rule == AS_SET else None
        jobs = [(layer.name, np.asarray(layer_data(layer))) for layer in layers]

        parameters = {"rule": rule, "method": method, "threshold": threshold,
                      "polarity": polarity, **options}  # fmt: skip
        used_lines: list[str] = []
        done = []

        def on_labels(result) -> None:
            done.append(result[0])
            panel.progress.advance(len(done))
            self._on_labels_ready(result, parameters)
            used_lines.append(used_thresholds(result[0], np.atleast_1d(result[2]), rule, method,
                                              layers=len(jobs)))  # fmt: skip
            panel.show_used("Used — " + "\n".join(used_lines))

        def on_finished() -> None:
            if self._stop_requested:
                self._say(f"Segmentation stopped after {len(done)} of "
                          f"{counted(len(jobs), 'layer')}: their labels are kept.")  # fmt: skip
            panel.progress.end()
            panel.apply_button.setEnabled(True)

        self._stop_requested = False
        panel.show_used("")
        panel.apply_button.setEnabled(False)
        panel.progress.begin(len(jobs), "Segmenting")
        self._worker = start_worker(
            segment_layers, jobs, threshold, method, polarity, options,
            on_yielded=on_labels, on_finished=on_finished,
            on_failure=lambda message: self._say(f"Segmentation failed: {message}"),
            progress={"total": len(jobs), "desc": "Segmenting"}, owner=self,
        )  # fmt: skip
        return self._worker

    def exact_histograms(self):
        """Histogram every image of the selected layers in a worker (lazy layers: all blocks).

        Returns the started worker; its result replaces the sampled histograms
        until the selection or the bins change.
        """
        from ...intensity import iter_class_histograms

        stacks = {layer.name: layer_data(layer) for layer in self.selected_layers
                  if not layer_problem(layer, PURPOSE)}  # fmt: skip
        if not stacks:
            return None
        if self._exact_worker is not None:
            self._exact_worker.quit()
        blocks = sum(int(np.ceil(np.prod(d.shape[:-2] or (1,)) / 16)) for d in stacks.values())
        self._exact_button.setEnabled(False)
        self._say(f"Reading every image of {', '.join(stacks)}…")
        self._exact_worker = start_worker(
            iter_class_histograms, stacks, None,
            threshold=self.state.threshold, on_returned=self._on_exact_histograms,
            on_failure=lambda message: self._say(f"Exact histograms failed: {message}"),
            on_finished=lambda: self._exact_button.setEnabled(True),
            progress={"total": 2 * blocks, "desc": "Exact histograms"}, owner=self,
        )  # fmt: skip
        return self._exact_worker

    # ------------------------------------------------------------------ state → dock

    def _connect_state(self) -> None:
        events = self.state.events
        events.threshold.connect(self._on_threshold_changed)
        for name in ("upper", "band", "polarity", "preview"):
            getattr(events, name).connect(self._schedule_preview)
        for name in ("log", "density", "bins"):  # drawing only: the counts stay exact
            getattr(events, name).connect(self._draw_histograms)
        events.layers.connect(self._on_selection_changed)
        for name in ("method", "segment_rule", "threshold"):
            getattr(events, name).connect(self._show_plan)
        panel = self._segmentation_panel
        panel.rule_combo.currentTextChanged.connect(self.state.set_segment_rule)
        panel._sigma_spin.valueChanged.connect(self._show_plan)
        _settings.remember_fields(self.state, self._settings, REMEMBERED)

    def _on_threshold_changed(self, value: float) -> None:
        self._show_above()
        self._schedule_preview()

    def _show_above(self) -> None:
        """Each layer's exact share above t: from unit bins, else from its pixels."""
        h, t = self._histograms, self.state.threshold
        if h is None:
            self._above_label.clear()
            return
        fractions = {}
        for name in h.names:
            exact = h.fraction_above(name, t)
            if exact is None:
                pixels = self._stacks[name]
                count = h.statistics[name].count
                exact = np.count_nonzero(pixels > t) / count if count else float("nan")
            fractions[name] = exact
        self._above_label.setText(above_text(fractions, t))

    def _show_plan(self, *_) -> None:
        """Which thresholds Apply will use, before it runs; the rule offered by the method."""
        panel = self._segmentation_panel
        panel.show_rule(self.state.segment_rule, self.state.method != MANUAL)
        images = sum(int(np.prod(layer.data.shape[:-2])) for layer in self.selected_layers
                     if not layer_problem(layer, PURPOSE))  # fmt: skip
        panel.plan_label.setText(self.state.apply_plan(panel.options()["sigma"], images))

    def _on_selection_changed(self, *_) -> None:
        self._show_selection()
        self._recompute()
        self._show_plan()  # how many images Apply will segment

    # ------------------------------------------------------------------ histograms

    def _recompute(self, *_) -> None:
        """Histograms, statistics and plot of the selected layers; a method follows them."""
        stacks, notes = {}, []
        self._counted = self._counted_key()
        for layer in self.selected_layers:
            problem = layer_problem(layer, PURPOSE)
            if problem:
                notes.append(problem)
                continue
            stacks[layer.name], note = histogram_input(layer)
            notes.append(note or "")
        self._say(" ".join(note for note in notes if note))
        self._exact_button.setVisible(
            any(is_lazy(layer_data(layer)) for layer in self.selected_layers)
        )
        self._stacks = stacks
        if not stacks:
            self._show_histograms(None)
            return
        self._show_histograms(class_histograms(stacks, threshold=self.threshold))
        if self.method != MANUAL:
            self._following = True  # a method is a rule: its threshold follows the data
            try:
                self._on_method_chosen(self.method)
            finally:
                self._following = False

    def _show_histograms(self, histograms: ClassHistograms | None) -> None:
        self._histograms = histograms
        if histograms is None:
            self._histogram_view.clear()
            self._statistics_view.clear()
            self._above_label.clear()
            return
        self._following = True  # the range clamps the handles: no new previews for that
        try:
            self._set_range(histograms)
        finally:
            self._following = False
        self._draw_histograms()
        self._statistics_view.show_statistics(histograms)
        self._statistics_view.show_separability(histograms)
        self._show_above()

    def _draw_histograms(self, *_) -> None:
        if self._histograms is not None:
            self._histogram_view.draw(
                self._histograms, density=self.state.density, log=self.state.log,
                bins=self.state.bins or None,
            )  # fmt: skip

    def _on_exact_histograms(self, histograms) -> None:
        if set(histograms.counts) != {layer.name for layer in self.selected_layers}:
            return  # the selection changed meanwhile: that result is stale
        self._show_histograms(histograms)
        pixels = sum(st.count for st in histograms.statistics.values())
        self._say(f"Exact histograms of every image ({counted(pixels, 'pixel')}).")

    # ------------------------------------------------------------------ methods

    def _on_method_chosen(self, method: str) -> None:
        if method == MANUAL:
            self.state.clear_method()
            return
        self.state.use_method(method, self._compute_method(method))

    def _compute_method(self, method: str) -> float | None:
        layers = [layer for layer in self.selected_layers if not layer_problem(layer, PURPOSE)]
        if not layers:
            self._say("Select an image layer first.")
            return None
        try:
            return auto_threshold(
                {layer.name: histogram_input(layer)[0] for layer in layers}, method
            )
        except ValueError as exc:
            self._say(f"{method}: {exc}")
            show_warning(f"{method}: {exc}")
            return None

    def _on_try_all_clicked(self):
        """Every method side by side: threshold, share above and Dice per layer, a gallery.

        In a worker: some methods iterate (``minimum`` smooths a 16-bit image's
        65,536-bin histogram up to 10,000 times). Returns the started worker.
        """
        layers = [layer for layer in self.selected_layers if not layer_problem(layer, PURPOSE)]
        if not layers:
            self._say("Select an image layer first.")
            return
        stacks = {layer.name: histogram_input(layer)[0] for layer in layers}
        panel = self._segmentation_panel
        truths = {}
        for name, stack in stacks.items():
            truth = panel.truth_layer(self._viewer, name)
            if truth is not None and truth.data.shape == stack.shape:
                truths[name] = np.asarray(truth.data)
        polarity = self.state.polarity
        planes = {layer.name: current_plane(self._viewer, layer) for layer in layers}

        def compare():
            return compare_with_gallery(stacks, truths, planes, polarity)

        def on_compared(result) -> None:
            rows, thumbnails, tips = result
            self._methods_panel.show_rows(rows)
            self._methods_panel.show_gallery(thumbnails, tips)
            problems = [f"{row.method}: {row.problem}" for row in rows if row.threshold is None]
            self._say(" ".join(problems))

        if self._methods_worker is not None:
            self._methods_worker.quit()
        self._try_all_button.setEnabled(False)
        self._say("Trying every method…")
        self._methods_worker = start_worker(
            compare, on_returned=on_compared,
            on_failure=lambda message: self._say(f"Trying the methods failed: {message}"),
            on_finished=lambda: self._try_all_button.setEnabled(True), owner=self,
        )  # fmt: skip
        return self._methods_worker

    # ------------------------------------------------------------------ preview

    def _schedule_preview(self, *_) -> None:
        """Preview now, in the frame that moves the line; coalesce bursts.

        A deferred update costs a second frame (the line, then the masks), so the
        first request is served at once. Requests that follow within one frame are
        folded into a single deferred update with the latest value: stale values
        are dropped rather than queued behind the hand.
        """
        if self._opening or not self.state.preview:
            return
        if self._following and not any(
            owned_output(self._viewer, layer.name, "mask") for layer in self.selected_layers
        ):
            return  # a layer added elsewhere must not conjure up previews nobody asked for
        if time.perf_counter() - self._last_preview < FRAME_SECONDS:
            self._preview_timer.start()
            return
        self._preview_timer.stop()
        self._update_preview()

    def _update_preview(self) -> None:
        self._last_preview = time.perf_counter()
        state = self.state
        upper = state.upper if state.band else None
        parameters = {
            "threshold": state.threshold, "upper": upper, "polarity": state.polarity,
            "method": state.method,
            "rule": "x > threshold" if upper is None else "threshold < x <= upper",
        }  # fmt: skip
        for layer in self.selected_layers:
            if not layer_problem(layer, PURPOSE):
                show_mask_preview(
                    self._viewer, layer, state.threshold, upper, state.polarity, parameters
                )

    # ------------------------------------------------------------------ apply

    def _on_stop_clicked(self) -> None:
        if self._worker is not None:
            self._stop_requested = True
            self._worker.quit()

    def _on_labels_ready(self, result, parameters: dict) -> None:
        name, labels, used = result
        if name not in self._viewer.layers:
            return self._say(f"{name} was removed before its labels were ready.")
        parameters = {**parameters, "thresholds": np.atleast_1d(used).tolist()}
        put_labels(self._viewer, name, "labels", labels, parameters)
        self._show_scores()

    def _show_scores(self) -> None:
        problems = self._segmentation_panel.score(
            self._viewer, [layer.name for layer in self.selected_layers]
        )
        if problems:
            self._say(" ".join(problems))

    # ------------------------------------------------------------------ life (see DockLife)

    def _attach(self) -> None:
        """Follow the viewer's layers and theme (on opening, and when shown again)."""
        self._stop_theme = follow_theme(self._viewer, self._histogram_view.restyle)
        # the dock's relayouts redraw the canvas after napari frees a removed layer's
        # GL objects: those must be freed in the canvas's own context (see outputs.py)
        self._stop_canvas_guard = guard_canvas_context(self._viewer, self)
        for emitter in self._layer_events():
            emitter.connect(self._on_layers_changed)
        self._viewer.layers.events.removed.connect(self._on_layer_removed)
        self._on_layers_changed()

    def _detach(self) -> None:
        """Stop the workers and every viewer or layer event: the dock was closed or hidden."""
        self._preview_timer.stop()
        for worker in (self._worker, self._exact_worker, self._methods_worker):
            if worker is not None:
                worker.quit()
        for emitter in self._layer_events():
            emitter.disconnect(self._on_layers_changed)
        self._viewer.layers.events.removed.disconnect(self._on_layer_removed)
        for layer in self._viewer.layers:
            layer.events.name.disconnect(self._on_layer_renamed)
        self._stop_theme()
        self._stop_canvas_guard()
