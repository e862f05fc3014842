"""StageClassifierWidget: train a stage classifier live, and look inside it."""

from __future__ import annotations

import time

import napari.viewer
import numpy as np
from napari.utils.notifications import show_warning
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QWidget

from ...classification.options import ClassifierOptions
from ..common import settings as _settings
from ..common.lifetime import DockLife
from ..common.plots import follow_theme
from ..common.workers import start_worker
from . import actions
from .dock_layout import CONFUSION_HEADING, DockLayout
from .layers_follow import ClassLayers
from .session import KeptModel
from .state import RunState
from .tasks import ModelTasks

#: The views show the latest epoch at most this often (ms): the feature model runs
#: 20–30 epochs a second, and each redraw re-composes napari's window.
REFRESH_MS = 100
#: The filters and the misclassified thumbnails are redrawn at most this often (s).
GALLERY_S = 1.0
#: What the dock says before anything was done (under Start).
FIRST_WORDS = "Tick one image layer per stage, then Start."


class StageClassifierWidget(DockLayout, ModelTasks, ClassLayers, KeptModel, QWidget):
    """Classify nuclei by stage: one image layer per class, a model trained live.

    Examples
    --------
    >>> c = StageClassifierWidget(viewer)   # doctest: +SKIP
    >>> c.start(); c.is_running              # doctest: +SKIP
    True
    """

    def __init__(self, viewer: napari.viewer.Viewer, parent=None):
        super().__init__(parent)
        self._viewer = viewer
        self._settings = _settings.widget_settings("classify")
        self.state = RunState()
        self._worker = None
        self._active = False  # from Start until the worker's finished signal
        self._task = None  # the cross-validation or prediction worker
        self._images: dict[str, np.ndarray] = {}  # the classes of the run, for thumbnails
        self._known: dict[str, str] = {}  # each layer's name by id, to see what a rename renamed
        self.predictions = None  # the latest Predict's result
        self._stop_reason = ""
        self._gallery_at = 0.0  # when the filters and thumbnails were last drawn
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_due)
        self._make_task_timers()
        self._make_controls(viewer)
        self._lay_out()
        self._options_panel.restore(self._settings)
        reset = _settings.reset_sentence(self._settings)  # once: the bad values are gone
        self._connect()
        self._say(f"{reset} {FIRST_WORDS}" if reset else FIRST_WORDS)
        self._attach()
        self._life = DockLife(self)
        self._update_buttons()
        self._warm_up()

    # ------------------------------------------------------------------ public API

    @property
    def is_running(self) -> bool:
        """Training from Start until the worker has finished (also while paused)."""
        return self._active

    @property
    def history(self) -> list:
        return self.state.history

    @property
    def model(self):
        return self.state.model

    @property
    def saliency_method(self) -> str:
        """The saliency the Saliency map button computes (one of ``SALIENCY_METHODS``)."""
        return self.apply.saliency_method

    @saliency_method.setter
    def saliency_method(self, method: str) -> None:
        self.apply.saliency_method = method

    @property
    def image_name(self) -> str:
        return self._image_combo.currentText()

    @image_name.setter
    def image_name(self, name: str) -> None:
        """Choose the image as the user does in the box (the selection is then not followed)."""
        self._image_combo.setCurrentText(name)
        self._image_picked = self._image_combo.currentText() == name

    def options(self) -> ClassifierOptions:
        return self._options_panel.options()

    def set_options(self, **values) -> None:
        """Set controls by :class:`ClassifierOptions` field name."""
        self._options_panel.set_options(**values)

    def start(self):
        """Train on the ticked layers (the Start button): the worker, or None and a sentence."""
        if self.is_running:
            return self._worker
        try:
            options = self.options()
            images = actions.class_images(self._viewer, self.class_layers)
        except (ValueError, TypeError) as exc:
            return self._say(str(exc), scroll=True)
        self._options_panel.save(self._settings)
        self.reset()
        stale = actions.mark_predictions_stale(self._viewer)
        self.state.begin(images, [len(v) for v in images.values()])
        self._images = images
        self._curves.set_chance(len(images))
        self._curves.begin(options.epoch_count)
        self._confusion.set_classes(list(images))
        self._progress_bar.setRange(0, options.epoch_count)
        self._progress_bar.setFormat("epoch %v/%m")
        self._stop_reason = ""

        def current(handler):  # a run that Reset left behind reaches nothing
            return lambda *args: handler(*args) if self._worker is worker else None

        worker = start_worker(
            actions.training_steps, images, options, True, start=False,
            on_yielded=current(self._on_step), on_failure=current(self._on_failure),
            on_finished=current(self._on_finished), owner=self,
        )  # fmt: skip
        worker.paused.connect(self._update_buttons)
        worker.resumed.connect(self._update_buttons)
        self._worker = worker
        self._active = True
        worker.start()
        total = sum(len(v) for v in images.values())
        note = f" {', '.join(stale)}: the previous model's, until Predict." if stale else ""
        self._say(f"Training {options.model} on {total} images of {len(images)} classes…{note}")
        self._update_buttons(running=True)
        return worker

    def stop(self, reason: str = "") -> None:
        """Stop after the current epoch (the Stop button)."""
        if self._worker is not None:
            self._stop_reason = reason
            self._worker.quit()
            if self._worker.is_paused:
                self._worker.resume()  # a paused generator only sees the quit when it runs

    def reset(self) -> None:
        """Stop, and forget the model, curves and scores (the Reset button)."""
        self.stop()
        if self._active:  # a run still ending: what it still sends is dropped
            self._worker, self._active = None, False
        self.state = RunState()
        self._curves.clear()
        self._confusion.clear_counts()
        self._filters.clear()
        self._thumbnails.clear()
        self._progress_bar.setValue(0)
        self._progress_bar.setFormat("")
        self._rate_label.setText("")
        self._confusion_heading.setText(CONFUSION_HEADING)
        self._say(FIRST_WORDS)
        self._update_buttons()

    # ------------------------------------------------------------------ worker events

    def _on_step(self, step) -> None:
        if isinstance(step, actions.Baseline):
            self.state.baseline = step.accuracy
            self._curves.set_baseline(step.accuracy)
            return
        self.state.add(step)
        if not self._refresh_timer.isActive():  # the views follow at most every REFRESH_MS
            self._refresh_timer.start()

    def _on_refresh_due(self) -> None:
        self._refresh()

    def _refresh(self, final: bool = False) -> None:
        """Show the latest epoch: curves, confusion, progress and sentence; now and then
        (and at the end) the filters and the misclassified images."""
        step = self.state.last
        if step is None:
            return
        self._curves.show(self.history)
        self._confusion.show_matrix(step.confusion)
        self._confusion_heading.setText(
            f"validation confusion, {int(step.confusion.sum())} images (rows: true stage)"
        )
        now = time.perf_counter()
        if final or len(self.history) == 1 or now - self._gallery_at >= GALLERY_S:
            self._gallery_at = now
            self._filters.show_filters(step.model.first_filters())
            self._show_misclassified()
        self._progress_bar.setValue(step.epoch)
        rate = self.state.epochs_per_second()
        self._rate_label.setText(f"{rate:.1f} epochs/s" if rate else "")
        ending = "."
        if step.status == "stopped early":
            ending = f" (stopped early; the best epoch, {step.best_epoch}, is kept)."
        self._say(
            f"Epoch {step.epoch}/{step.epochs}: validation accuracy {step.val_accuracy:.0%}, "
            f"macro F1 {step.macro_f1:.2f}{ending}"
        )
        self.files.update_buttons()

    def _show_misclassified(self) -> None:
        items = []
        for layer, index, true, predicted in self.state.misclassified():
            if layer not in self._images:
                continue  # a layer gone since (a run kept from a closed dock)
            items.append((layer, index, self._images[layer][index], true, predicted))
        self._thumbnails.show_items(items)

    def _on_failure(self, message: str) -> None:
        self._stop_reason = message
        self._on_error(message, "train")

    def _on_error(self, message: str, where: str) -> None:
        self._say(message, where, scroll=True)
        show_warning(message)

    def _on_finished(self) -> None:
        self._active = False
        self._refresh_timer.stop()
        self._refresh(final=True)
        if self._stop_reason:
            self._say(self._stop_reason)
        elif self.history and self.history[-1].status == "running":
            self._say(f"Stopped at epoch {self.history[-1].epoch}; the model so far is kept.")
        self._update_buttons(running=False)

    def _on_task_stop(self) -> None:
        if self._task is not None:
            self._task.quit()

    def _on_thumbnail_chosen(self, layer: str, index: int) -> None:
        if layer not in self._viewer.layers:
            return self._say(f"{layer} is no longer a layer.", "inside", scroll=True)
        self._say("", "inside")
        for other in self._viewer.layers:
            if other.name in self.state.layer_names:
                other.visible = other.name == layer
        self._viewer.layers.selection.active = self._viewer.layers[layer]
        self._viewer.dims.set_current_step(0, index)

    def _on_pause_clicked(self) -> None:
        if self._worker is None:
            return
        if self._worker.is_paused:
            self._worker.resume()
        else:
            self._worker.pause()

    def _update_buttons(self, *_, running: bool | None = None) -> None:
        running = self.is_running if running is None else running
        busy = self._task is not None and not getattr(self._task, "done", True)
        paused = self._worker is not None and self._worker.is_paused
        self._start_button.setEnabled(not running and not busy)
        self._cv_button.setEnabled(not running and not busy)
        self._pause_button.setEnabled(running)
        self._pause_button.setText("Resume" if paused else "Pause")
        self._stop_button.setEnabled(running)
        has_model = self.model is not None
        self._saliency_button.setEnabled(has_model and not busy)
        self._predict_button.setEnabled(has_model and not busy)
        self.files.update_buttons()

    def _restyle(self, colors: dict[str, str]) -> None:
        self._curves.restyle(colors)

    def _say(self, text: str, where: str = "train", scroll: bool = False) -> None:
        """Say ``text`` under the button of ``where`` (train, cv, inside, apply, files,
        measure); ``scroll``: bring it into the dock's view (an action's result)."""
        self.results[where].say(text, scroll=scroll)

    # ------------------------------------------------------------------ life (see DockLife)

    def _attach(self) -> None:
        self._follow_layers(True)
        self._unfollow_theme = follow_theme(self._viewer, self._restyle)
        self._take_kept()  # the model of a dock closed before, if there is one

    def _warm_up(self) -> None:
        """Import torch, scikit-image's measurements and torch's optimisers, and fit tiny
        models, in a worker while the user reads the dock: the first Start imports
        nothing and compiles nothing (in the GUI thread or, holding the GIL, beside it)."""
        self._warm_worker = start_worker(actions.warm_up, on_failure=_ignore, owner=self)

    def _detach(self) -> None:
        """Stop every worker and viewer event: the dock was closed or hidden."""
        self._refresh_timer.stop()
        self._end_prediction_bar()
        self.stop("The dock was closed: training stopped.")
        self._warm_worker.quit()
        if self._task is not None:
            self._task.quit()
        self.measurements.stop()
        self._follow_layers(False)
        self._unfollow_theme()
        self._keep()  # the model stays for the session: the next dock shows it again


def _ignore(message: str) -> None:
    """A warm-up that fails costs only its head start: the first Start does the work."""
