"""SegmenterWidget (*Learn a segmentation*): a small U-Net trained live from labelled nuclei.

The dock is the controller: it reads the layers, runs the pure functions of
:mod:`napari_nuclei_edges.segmenter` through the one run lifecycle
(:class:`~.common.run.TrainingRun`) and the one worker path, and writes what they
give into its :class:`~.state.SegmenterState` (drawn by the view) and into layers:
``<image>_segmentation`` (the live prediction, then Predict's) and
``<image>_receptive_field`` (what one output pixel sees).
"""

from __future__ import annotations

import time

import napari.viewer
import numpy as np
from napari.layers import Image, Labels
from qtpy.QtWidgets import QWidget

from ..._values import looks_like_labels
from ...segmenter.options import SegmenterOptions, receptive_field
from ..common import settings as _settings
from ..common.choice import LayerChoice
from ..common.layers import layer_data, layer_problem
from ..common.layout import WrappingLabel, scroll_into_view, scrolling_layout
from ..common.lifetime import DockLife
from ..common.outputs import owned_output, put_labels, put_layer, redraw_labels_in_place
from ..common.plots import follow_theme
from ..common.run import RunButtons, TrainingRun
from ..common.workers import start_worker
from . import tasks
from .state import REFRESH_SECONDS, Baseline, SegmenterState, guess_kind
from .view import CurvesView, RunProgress, SegmenterControls

PURPOSE = "learning a segmentation"
FIRST_WORDS = ("Choose an image and its labels (whole nuclei, or scribbles: 1 nucleus, "
               "2 background), then Start.")  # fmt: skip


class SegmenterWidget(QWidget):
    """Train a U-Net on an image and its labels, live; segment any image layer with it.

    Examples
    --------
    >>> w = SegmenterWidget(viewer)            # doctest: +SKIP
    >>> w.image_name, w.labels_name = "field", "field_truth"   # doctest: +SKIP
    >>> w.start(); w.is_running                # doctest: +SKIP
    True
    """

    def __init__(self, viewer: napari.viewer.Viewer, parent=None):
        super().__init__(parent)
        self._viewer = viewer
        self._settings = _settings.widget_settings("segmenter")
        self.state = SegmenterState()
        self.controls = c = SegmenterControls()
        self.curves = CurvesView(self.state, viewer)
        self.run = TrainingRun(self)
        self.buttons = RunButtons(self.run, self.start, self.reset, tips={
            "start": "Train the network on the image and its labels, live."})  # fmt: skip
        self.progress = RunProgress()
        self.status = WrappingLabel(FIRST_WORDS)
        self.result = WrappingLabel()
        self._image = LayerChoice(c.image_combo, viewer, on_refill=self._refill_labels)
        self._predict_choice = LayerChoice(c.predict_combo, viewer)
        self._task = None  # Predict's worker
        self._overlay = None  # the live prediction's worker
        self._last_overlay = 0.0
        self._trained_on = ""
        self._stop_reason = ""  # why a run was stopped, said over its last epochs
        layout = scrolling_layout(self)
        for part in (c, self.buttons, self.progress, self.status, self.curves):
            layout.addWidget(part)
        layout.addLayout(c.predict_row)
        layout.addWidget(self.result)
        layout.addLayout(c.files_row)
        layout.addStretch()
        self.buttons.busy = lambda: self._task is not None and not self._task.done
        c.predict_button.clicked.connect(self.predict)
        c.patches_button.clicked.connect(self.show_patches)
        c.labels_combo.currentTextChanged.connect(self._on_labels_chosen)
        c.save_button.clicked.connect(lambda: c.ask_path(self.save_model, save=True))
        c.load_button.clicked.connect(lambda: c.ask_path(self.load_model, save=False))
        c.depth_spin.valueChanged.connect(self._show_receptive_field)
        c.image_combo.currentTextChanged.connect(self._show_receptive_field)
        self.run.changed.connect(self._update_buttons)
        c.restore(self._settings)
        if note := _settings.reset_sentence(self._settings):
            self._say(note)
        self._attach()
        self._life = DockLife(self)

    # ------------------------------------------------------------------ public API

    @property
    def image_name(self) -> str:
        return self._image.name

    @image_name.setter
    def image_name(self, name: str) -> None:
        self._image.name = name

    @property
    def labels_name(self) -> str:
        return self.controls.labels_combo.currentText()

    @labels_name.setter
    def labels_name(self, name: str) -> None:
        self.controls.labels_combo.setCurrentText(name)

    @property
    def is_running(self) -> bool:
        """Training, from Start until its worker has finished (paused included)."""
        return self.run.running

    @property
    def model(self):
        return self.state.model

    def set_options(self, seconds: float | None = None, **options) -> None:
        """Set the controls: ``seconds`` and any of depth, channels, learning_rate, loss."""
        self.controls.set_options(seconds, **options)

    def start(self):
        """Train on the chosen image and labels (Start): the worker, or None and a sentence."""
        if self.run.running:
            return self.run.worker
        inputs = self._inputs()
        if isinstance(inputs, str):
            return self._say(inputs)
        image, labels, sparse = inputs
        self.controls.remember(self._settings)
        options = self.controls.options()
        try:
            SegmenterOptions(**options)
        except ValueError as exc:
            return self._say(str(exc))
        seconds = float(self.controls.seconds_spin.value())
        self.state.begin()
        self.state.image, self.state.labels = self.image_name, self.labels_name
        self._trained_on, self._last_overlay = self.image_name, time.perf_counter()
        self._stop_reason = ""
        self.progress.begin(seconds)
        self.result.clear()
        self._show_receptive_field(draw=True)
        self._say(f"Training a U-Net on {self.image_name} with {self.labels_name} for "
                  f"{seconds:.0f} s…")  # fmt: skip
        return self.run.start(tasks.training_steps, image, labels, sparse, seconds, options,
                              on_step=self._on_step, on_failure=self._on_failure,
                              on_finished=self._on_finished)  # fmt: skip

    def reset(self) -> None:
        """Stop, and forget the model and its curves (Reset)."""
        self.run.drop()
        self.state.begin()
        self.curves.draw()
        self.curves.draw_baseline()
        self.progress.setValue(0)
        self.progress.setFormat("")
        self._say(FIRST_WORDS)

    def predict(self):
        """Segment the chosen layer with the network into ``<layer>_segmentation``."""
        name = self.controls.predict_combo.currentText()
        if self.model is None:
            return self._say_result("Train the network (Start) or load one first.")
        if name not in self._viewer.layers:
            return self._say_result("Choose an image layer to segment.")
        layer = self._viewer.layers[name]
        problem = layer_problem(layer, "segmenting")
        if problem:
            return self._say_result(problem)
        data, model = layer_data(layer), self.model

        def on_labels(labels) -> None:
            if name not in self._viewer.layers:
                return self._say_result(f"{name} was removed before its segmentation was ready.")
            made = put_labels(self._viewer, name, "segmentation", labels,
                              {"model": model.options.to_dict()})  # fmt: skip
            count = int(labels.max()) if labels.ndim == 2 else "one id per nucleus"
            self._say_result(f"{made.name}: {count} nuclei found by the network.")

        self._task = start_worker(
            tasks.segmented, model, data, on_returned=on_labels,
            on_failure=lambda message: self._say_result(f"Predict failed: {message}"),
            on_finished=self._update_buttons, progress={"desc": f"Segmenting {name}"},
            owner=self,
        )  # fmt: skip
        self._update_buttons()
        return self._task

    def show_patches(self):
        """``<image>_patches`` and ``<image>_patch_classes``: what a training step draws."""
        inputs = self._inputs()
        if isinstance(inputs, str):
            return self._say(inputs)
        image, labels, sparse = inputs
        name = self.image_name

        def on_patches(found) -> None:
            patches, classes, cuts = found
            if name not in self._viewer.layers:
                return
            put_layer(self._viewer, "image", name, "patches", patches, {}, colormap="gray")
            put_labels(self._viewer, name, "patch_classes", classes, {}, opacity=0.4)
            self._say(tasks.patches_sentence(name, classes, cuts))

        return start_worker(
            tasks.patches_and_cut_offs, image, labels, sparse, self.controls.options(),
            on_returned=on_patches, on_failure=self._say, owner=self,
        )  # fmt: skip

    def save_model(self, path) -> None:
        """Save the network (``.pt`` weights beside a ``.json`` description)."""
        from ...segmenter import save_segmenter

        if self.model is None:
            return self._say_result("There is no model to save yet: Start first.")
        saved = save_segmenter(path, self.model)
        self._say_result(f"Saved the model as {saved.name} and {saved.with_suffix('.json').name}.")

    def load_model(self, path) -> None:
        """Load a saved network; a file that is not one leaves the dock as it was."""
        from ...segmenter import load_segmenter

        try:
            model = load_segmenter(path)
        except ValueError as exc:
            return self._say_result(str(exc))
        self.reset()
        self.state.model = model
        self.controls.depth_spin.setValue(model.options.depth)
        self._say_result(f"Loaded {model.options.depth} levels × {model.options.channels} "
                         "filters: Predict to use it.")  # fmt: skip
        self._update_buttons()

    # ------------------------------------------------------------------ the run

    def _inputs(self):
        """(image, labels, sparse) of the chosen layers, or the sentence why not."""
        names = {layer.name: layer for layer in self._viewer.layers}
        image, labels = names.get(self.image_name), names.get(self.labels_name)
        if image is None:
            return "Choose the image to learn from."
        if labels is None:
            return ("Choose its labels: a Labels layer of the image's size (paint one with "
                    "napari's brush: 1 nucleus, 2 background).")  # fmt: skip
        problem = layer_problem(image, PURPOSE)
        if problem:
            return problem
        if labels.data.shape != image.data.shape:
            return (f"{labels.name} is {' × '.join(map(str, labels.data.shape))}, "
                    f"{image.name} {' × '.join(map(str, image.data.shape))}: the labels must "
                    "be of the image's size.")  # fmt: skip
        sparse = self.controls.kind_combo.currentText() == "scribbles"
        return np.asarray(layer_data(image)), np.asarray(labels.data), sparse

    def _on_step(self, step) -> None:
        if isinstance(step, Baseline):
            self.state.baseline = step
            return
        self.state.add(step)
        self.progress.show_step(step, float(self.controls.seconds_spin.value()))
        self._say(self._stop_reason or self.state.progress_text(step))
        if time.perf_counter() - self._last_overlay >= REFRESH_SECONDS:
            self._refresh_overlay(step.model)

    def _refresh_overlay(self, model) -> None:
        """The image as the network segments it now, in a worker (one at a time)."""
        name = self._trained_on
        busy = self._overlay is not None and not self._overlay.done
        if busy or name not in self._viewer.layers:
            return
        self._last_overlay = time.perf_counter()

        def on_labels(labels) -> None:
            if name not in self._viewer.layers:
                return
            shown = owned_output(self._viewer, name, "segmentation")
            if shown is not None and getattr(shown.data, "shape", None) == labels.shape:
                shown.data[...] = labels  # in place: napari re-uploads the texture only
                return redraw_labels_in_place(shown, self._viewer)
            put_labels(self._viewer, name, "segmentation", labels,
                       {"model": model.options.to_dict(), "live": True})  # fmt: skip

        self._overlay = start_worker(
            tasks.segmented, model, layer_data(self._viewer.layers[name]),
            on_returned=on_labels, on_failure=lambda message: None, owner=self,
        )  # fmt: skip

    def _on_failure(self, message: str) -> None:
        self._say(f"Training stopped: {message}")

    def _on_finished(self) -> None:
        last = self.state.epochs[-1] if self.state.epochs else 0
        self.progress.ended(f"done: {last} epochs" if last else "stopped")
        if self.state.model is not None:
            self._refresh_overlay(self.state.model)
            verdict = self.state.verdict()
            self._say_result(verdict or "Trained: Predict segments any image layer with it.")
        self._update_buttons()

    # ------------------------------------------------------------------ layers

    def _refill_labels(self, _names=None) -> None:
        """Offer the Labels layers, and the Image layers of integers, of the image's size."""
        combo = self.controls.labels_combo
        layers = {layer.name: layer for layer in self._viewer.layers}
        image = layers.get(self.image_name)
        shape = None if image is None else image.data.shape
        offered = [layer.name for layer in self._viewer.layers
                   if layer is not image and getattr(layer.data, "shape", None) == shape
                   and (isinstance(layer, Labels) or (isinstance(layer, Image)
                                                      and looks_like_labels(layer.data)))
                   and not layer.name.endswith("_segmentation")]  # fmt: skip
        current = combo.currentText()
        if current not in offered:
            truth = f"{self.image_name}_truth"
            current = truth if truth in offered else (offered[0] if offered else "")
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(offered)
        combo.setCurrentText(current)
        combo.blockSignals(False)
        self._on_labels_chosen(current)

    def _on_labels_chosen(self, name: str) -> None:
        """Whole nuclei or scribbles, as the chosen layer's values say (the user may change it)."""
        if name in self._viewer.layers:
            values = np.asarray(self._viewer.layers[name].data)
            self.controls.kind_combo.setCurrentText(guess_kind(values[..., ::2, ::2]))

    def _show_receptive_field(self, *_, draw: bool = False) -> None:
        """The square one output pixel sees, said in pixels; drawn on the image from Start
        on (opening the dock makes no layer)."""
        side = receptive_field(self.controls.depth_spin.value())
        self.controls.receptive_label.setText(
            f"Each pixel's class is decided from the {side} × {side} px square around it "
            "(its receptive field; drawn on the image as <image>_receptive_field).")  # fmt: skip
        name = self.image_name
        drawn = owned_output(self._viewer, name, "receptive_field") is not None
        if (draw or drawn) and name in self._viewer.layers and self._viewer.layers[name].ndim == 2:
            square = tasks.receptive_square(self._viewer.layers[name].data.shape, side)
            put_layer(self._viewer, "shapes", name, "receptive_field", [square],
                      {"side": side}, shape_type="rectangle", edge_color="yellow",
                      face_color="transparent", edge_width=1)  # fmt: skip

    def _on_layer_removed(self, event) -> None:
        name = event.value.name
        if self.run.running and name in (self.state.image, self.state.labels):
            self._stop_reason = f"{name} was removed: training stopped; the model so far is kept."
            self.run.stop()
            self._say(self._stop_reason)

    # ------------------------------------------------------------------ small things

    def _update_buttons(self, *_) -> None:
        self.buttons.refresh()
        busy = self._task is not None and not self._task.done
        self.controls.predict_button.setEnabled(self.model is not None and not busy)
        self.controls.save_button.setEnabled(self.model is not None)

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def _say_result(self, text: str) -> None:
        self.result.setText(text)
        scroll_into_view(self.result)

    # ------------------------------------------------------------------ life (see DockLife)

    def _attach(self) -> None:
        self._image.attach()
        self._predict_choice.attach()
        events = self._viewer.layers.events
        for event in (events.inserted, events.removed, events.renamed):
            event.connect(self._refill_labels)
        events.removed.connect(self._on_layer_removed)
        self._stop_theme = follow_theme(self._viewer, self.curves.restyle)
        self._refill_labels()
        self._show_receptive_field()
        self._update_buttons()

    def _detach(self) -> None:
        self.run.drop()
        for worker in (self._task, self._overlay):
            if worker is not None:
                worker.quit()
        self._image.detach()
        self._predict_choice.detach()
        events = self._viewer.layers.events
        for event in (events.inserted, events.removed, events.renamed):
            event.disconnect(self._refill_labels)
        events.removed.disconnect(self._on_layer_removed)
        self._stop_theme()
