"""StageClassifierWidget: train a stage classifier live, and look inside it."""

from __future__ import annotations

import time

import napari.viewer
import numpy as np
from napari.utils.notifications import show_warning
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from ...classification.options import ClassifierOptions
from ..common import settings as _settings
from ..common.layers import fill_image_combo, user_image_layers
from ..common.layout import WrappingLabel, scrolling_layout, section
from ..common.lifetime import DockLife
from ..common.plots import follow_theme
from ..common.progress import ProgressBar, RunProgressWidget
from ..common.workers import start_worker
from . import actions
from .apply_panel import ApplyPanel
from .files import FileActions
from .measurements_panel import MeasurementsPanel
from .options_panel import ClassifierOptionsPanel
from .state import RunState
from .tasks import ModelTasks
from .views import ConfusionView, CurvesView, FiltersView, ThumbnailsView

#: The views show the latest epoch at most this often (ms): the feature model runs
#: 20–30 epochs a second, and each redraw re-composes napari's window.
REFRESH_MS = 100
#: The filters and the misclassified thumbnails are redrawn at most this often (s).
GALLERY_S = 1.0


class StageClassifierWidget(ModelTasks, QWidget):
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
        self.predictions = None  # the latest Predict's result
        self._stop_reason = ""
        self._gallery_at = 0.0  # when the filters and thumbnails were last drawn
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_due)
        self._make_task_timers()
        self._make_controls(viewer)
        self._lay_out()
        self._options_panel.restore(self._settings)
        self._say(_settings.reset_sentence(self._settings))  # once: the bad values are gone
        self._connect()
        self._attach()
        self._life = DockLife(self)
        self._update_buttons()
        self._warm_up()

    def _make_controls(self, viewer) -> None:
        self._class_list = QListWidget()
        self._class_list.setToolTip(
            "Tick one image layer per stage: each layer is one class, named after it."
        )
        self._class_list.setMaximumHeight(100)
        self._options_panel = ClassifierOptionsPanel()
        self._start_button = QPushButton("Start")
        self._start_button.setToolTip("Train the model on the ticked layers, live.")
        self._pause_button = QPushButton("Pause")
        self._stop_button = QPushButton("Stop")
        self._stop_button.setToolTip("Stop after this epoch; the model so far is kept.")
        self._reset_button = QPushButton("Reset")
        self._reset_button.setToolTip("Forget the model, its curves and its scores.")
        self._cv_button = QPushButton("Cross-validate (5 folds)")
        self._cv_button.setToolTip(
            "Train 5 times, each time scoring on a fifth of every class never trained on: "
            "an honest accuracy, with its spread."
        )
        self._progress_bar = ProgressBar()
        self._rate_label = QLabel()
        # as wide as its longest text from the start, so the progress bar never resizes
        # (with room for napari's style sheet, which sets its font after this)
        self._rate_label.setFixedWidth(
            int(1.3 * self._rate_label.fontMetrics().horizontalAdvance("0000.0 epochs/s"))
        )
        self._task_progress = RunProgressWidget()
        self._curves = CurvesView(viewer)
        self._confusion = ConfusionView()
        self._filters = FiltersView()
        self._thumbnails = ThumbnailsView()
        self.apply = ApplyPanel(self._settings)
        self._image_combo = self.apply.image_combo
        self._saliency_button = self.apply.saliency_button
        self._augment_button = self.apply.augment_button
        self._predict_button = self.apply.predict_button
        self._status_label = WrappingLabel()
        # room for three lines from the start: a sentence that appears or wraps
        # differently must not change the dock's height (each change redraws it all)
        self._status_label.setMinimumHeight(3 * self._status_label.fontMetrics().lineSpacing())
        self._status_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.files = FileActions(self)
        self.measurements = MeasurementsPanel(viewer, lambda: self.image_name, self._say)

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        for button in (self._start_button, self._pause_button, self._stop_button,
                       self._reset_button):  # fmt: skip
            buttons.addWidget(button)
        progress = QHBoxLayout()
        progress.addWidget(self._progress_bar, 1)
        progress.addWidget(self._rate_label)
        self.options_section = options = section(
            "Model and training", self._settings, "options", expanded=True,
            tooltip="Which model (measurements, CNN, both) and how it trains.",
        )  # fmt: skip
        options.addWidget(self._options_panel)
        inside = section(
            "Inside the model", self._settings, "inside", expanded=True,
            tooltip="The first-layer filters and the validation images it gets wrong.",
        )  # fmt: skip
        inside.addWidget(QLabel("first-layer filters"))
        inside.addWidget(self._filters)
        inside.addWidget(QLabel("misclassified validation images (click to view)"))
        inside.addWidget(self._thumbnails)
        measured = section(
            "Measurements", self._settings, "measurements",
            tooltip="Area, shape and intensity of every nucleus of the chosen image layer.",
        )  # fmt: skip
        measured.addWidget(self.measurements)
        layout = scrolling_layout(self)
        layout.addWidget(QLabel("class layers (one stage each)"))
        layout.addWidget(self._class_list)
        layout.addWidget(options)
        layout.addLayout(buttons)
        layout.addLayout(progress)
        layout.addWidget(self._cv_button)
        layout.addWidget(self._task_progress)
        layout.addWidget(self._curves)
        layout.addWidget(QLabel("validation confusion (rows: true stage)"))
        layout.addWidget(self._confusion)
        layout.addWidget(inside)
        layout.addWidget(self.apply)
        layout.addLayout(self.files.layout())
        layout.addWidget(measured)
        layout.addWidget(self._status_label)

    def _connect(self) -> None:
        self._start_button.clicked.connect(self.start)
        self._pause_button.clicked.connect(self._on_pause_clicked)
        self._stop_button.clicked.connect(self.stop)
        self._reset_button.clicked.connect(self.reset)
        self._cv_button.clicked.connect(self.cross_validate)
        self._saliency_button.clicked.connect(self.saliency)
        self._augment_button.clicked.connect(self.show_augmentation)
        self._predict_button.clicked.connect(self.predict)
        self._thumbnails.chosen.connect(self._on_thumbnail_chosen)
        self._task_progress.stop_requested.connect(self._on_task_stop)

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
    def class_layers(self) -> list[str]:
        """The ticked class layers, in list order."""
        items = (self._class_list.item(i) for i in range(self._class_list.count()))
        return [item.text() for item in items if item.checkState() == Qt.CheckState.Checked]

    @class_layers.setter
    def class_layers(self, names) -> None:
        for i in range(self._class_list.count()):
            item = self._class_list.item(i)
            item.setCheckState(
                Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked
            )

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
        self._image_combo.setCurrentText(name)

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
            return self._say(str(exc))
        self._options_panel.save(self._settings)
        self.reset()
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
            on_yielded=current(self._on_step), on_failure=current(self._on_error),
            on_finished=current(self._on_finished), owner=self,
        )  # fmt: skip
        worker.paused.connect(self._update_buttons)
        worker.resumed.connect(self._update_buttons)
        self._worker = worker
        self._active = True
        worker.start()
        total = sum(len(v) for v in images.values())
        self._say(f"Training {options.model} on {total} images of {len(images)} classes…")
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
        self._say("")
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
            items.append((layer, index, self._images[layer][index], true, predicted))
        self._thumbnails.show_items(items)

    def _on_error(self, message: str) -> None:
        self._stop_reason = message
        self._say(message)
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
            return self._say(f"{layer} is no longer a layer.")
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
        busy = self._task is not None and self._task.is_running
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

    def _on_layers_changed(self, event=None) -> None:
        fill_image_combo(self._image_combo, self._viewer)
        ticked = set(self.class_layers)
        names = [layer.name for layer in user_image_layers(self._viewer)]
        first = self._class_list.count() == 0
        default = set(actions.default_class_layers(self._viewer)) if first else ticked
        self._class_list.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if name in default else Qt.CheckState.Unchecked
            )
            self._class_list.addItem(item)

    def _on_layer_removed(self, event) -> None:
        if self.is_running and event.value.name in self.state.layer_names:
            message = f"{event.value.name} was removed: training stopped; the model is kept."
            self.stop(message)
            show_warning(message)

    def _restyle(self, colors: dict[str, str]) -> None:
        self._curves.restyle(colors)

    def _say(self, text: str) -> None:
        self._status_label.setText(text)

    # ------------------------------------------------------------------ life (see DockLife)

    def _attach(self) -> None:
        events = self._viewer.layers.events
        events.inserted.connect(self._on_layers_changed)
        events.removed.connect(self._on_layers_changed)
        events.removed.connect(self._on_layer_removed)
        self._unfollow_theme = follow_theme(self._viewer, self._restyle)
        self._on_layers_changed()

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
        events = self._viewer.layers.events
        events.inserted.disconnect(self._on_layers_changed)
        events.removed.disconnect(self._on_layers_changed)
        events.removed.disconnect(self._on_layer_removed)
        self._unfollow_theme()


def _ignore(message: str) -> None:
    """A warm-up that fails costs only its head start: the first Start does the work."""
