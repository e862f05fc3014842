"""How the classifier dock's controls are made, laid out and connected.

A mixin of :class:`~.widget.StageClassifierWidget`. Each action's sentence sits
right under its button (:class:`~.results.ResultLabel`), and the cross-validation
button over the confusion table it fills, so that a result is read where the
user clicked, on a laptop's screen too.
"""

from __future__ import annotations

from qtpy.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton

from ..common.layout import WrappingLabel, scrolling_layout, section
from ..common.progress import ProgressBar, RunProgressWidget
from .apply_panel import ApplyPanel
from .files import FileActions
from .measurements_panel import MeasurementsPanel
from .options_panel import ClassifierOptionsPanel
from .results import ResultLabel
from .views import ConfusionView, CurvesView, FiltersView, ThumbnailsView

#: The confusion table's heading before anything was counted.
CONFUSION_HEADING = "validation confusion (rows: true stage)"


class DockLayout:
    """The controls of the classifier dock, in the order a user reads them."""

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
        self._cv_progress = RunProgressWidget()
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
        self._confusion_heading = WrappingLabel(CONFUSION_HEADING)
        self.files = FileActions(self)
        self.measurements = MeasurementsPanel(viewer, lambda: self.image_name)
        # each action's sentence under its button; the training one keeps two lines of
        # room from the start: a new sentence each epoch must not move the dock
        self.results = {
            "train": ResultLabel(lines=2), "cv": ResultLabel(), "inside": ResultLabel(),
            "apply": ResultLabel(), "files": self.files.result,
            "measure": self.measurements.result,
        }  # fmt: skip

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
        inside.addWidget(self.results["inside"])
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
        layout.addWidget(self.results["train"])
        layout.addWidget(self._curves)
        layout.addWidget(self._cv_button)  # over the confusion it fills
        layout.addWidget(self._cv_progress)
        layout.addWidget(self.results["cv"])
        layout.addWidget(self._confusion_heading)
        layout.addWidget(self._confusion)
        layout.addWidget(inside)
        layout.addWidget(self.apply)
        layout.addWidget(self._task_progress)
        layout.addWidget(self.results["apply"])
        layout.addLayout(self.files.layout())
        layout.addWidget(measured)

    def _connect(self) -> None:
        self._start_button.clicked.connect(self.start)
        self._pause_button.clicked.connect(self._on_pause_clicked)
        self._stop_button.clicked.connect(self.stop)
        self._reset_button.clicked.connect(self.reset)
        self._cv_button.clicked.connect(self.cross_validate)
        self._saliency_button.clicked.connect(self.saliency)
        self._augment_button.clicked.connect(self.show_augmentation)
        self._predict_button.clicked.connect(self.predict)
        self._image_combo.activated.connect(self._on_image_picked)
        self._image_combo.currentTextChanged.connect(self._offer_nuclei)
        self._thumbnails.chosen.connect(self._on_thumbnail_chosen)
        self._task_progress.stop_requested.connect(self._on_task_stop)
        self._cv_progress.stop_requested.connect(self._on_task_stop)
