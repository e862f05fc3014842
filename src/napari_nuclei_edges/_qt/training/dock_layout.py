"""The training dock's controls and their places: options above, the run's results below."""

from __future__ import annotations

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
)

from ..common.layout import WrappingLabel, scrolling_layout, section
from .kernel_view import KernelView
from .options_panel import TrainingOptionsPanel
from .progress import TrainingProgressWidget
from .views import LossView


def make_controls(dock, viewer) -> None:
    """The dock's controls and views, as its attributes (the widget connects them)."""
    dock._input_combo = QComboBox()
    dock._input_combo.setToolTip("The stack of images the kernel is applied to.")
    dock._held_out_check = QCheckBox("test on other layers")
    dock._held_out_check.setToolTip(
        "Also measure the loss on every other image layer of the same image size (e.g. "
        "train on metaphase, test on the other four classes): does what was learned "
        "generalise to images never trained on?"
    )
    dock._target_combo = QComboBox()
    dock._target_combo.setToolTip(
        "What the kernel should produce from each image: a Sobel filter of it, or "
        "another image layer (learn any linear filter from pairs), one target per image, "
        "of the image's size or of the valid size (no padding: k − 1 pixels smaller)."
    )
    dock._options_panel = TrainingOptionsPanel()

    dock._start_button = QPushButton("Start")
    dock._pause_button = QPushButton("Pause")
    dock._stop_button = QPushButton("Stop")
    dock._reset_button = QPushButton("Reset")
    dock._progress = TrainingProgressWidget()
    dock._progress_bar, dock._rate_label = dock._progress.bar, dock._progress.rate
    dock._loss_view = LossView(viewer)
    dock._kernel_view = KernelView(viewer)
    dock._apply_button = QPushButton("Apply kernel")
    dock._apply_button.setToolTip("Make <input>_learned: the input filtered by the kernel.")
    dock._save_button = QPushButton("Save kernel…")
    dock._load_button = QPushButton("Load kernel…")
    dock._csv_button = QPushButton("Export loss CSV…")
    dock._status_label = WrappingLabel()


def lay_out(dock) -> None:
    """Place the controls: the options, the run's buttons, then its results, in view on
    a laptop (the kernels beside the plot, the less used options folded)."""
    form = QFormLayout()
    trained = QHBoxLayout()  # what is trained on, and what is tested on: one row
    trained.addWidget(dock._input_combo, 1)
    trained.addWidget(dock._held_out_check)
    form.addRow("input", trained)
    form.addRow("target", dock._target_combo)
    buttons = QHBoxLayout()
    for button in (dock._start_button, dock._pause_button, dock._stop_button,
                   dock._reset_button):  # fmt: skip
        buttons.addWidget(button)
    files = QGridLayout()
    for index, button in enumerate((dock._apply_button, dock._save_button,
                                    dock._load_button, dock._csv_button)):  # fmt: skip
        files.addWidget(button, *divmod(index, 2))
    options = section(
        "Model and optimiser", dock._settings, "options", expanded=True,
        tooltip="A preset, what is learned (kernel, gradient pair, small cnn) and how: "
        "optimiser, learning rate, steps, normalisation.",
    )  # fmt: skip
    options.addWidget(dock._options_panel)
    more = section(
        "More options", dock._settings, "more",
        tooltip="Bias, batch, validation share, seed, the cnn's size, the plateau "
        "stop, and a pause after each step to watch a run.",
    )  # fmt: skip
    more.addWidget(dock._options_panel.more)
    layout = scrolling_layout(dock)
    layout.setSpacing(4)  # tight: the results below the options fit a laptop's dock
    layout.addLayout(form)
    layout.addWidget(options)
    layout.addWidget(more)
    layout.addLayout(buttons)
    layout.addWidget(dock._progress)
    # how the run ended, and its lesson, where the eye is after Start: above the plot
    layout.addWidget(dock._status_label)
    layout.addWidget(dock._loss_view.note)  # the plot's legend, above its data
    # the kernel is half the lesson: beside the plot, so both are in view on a laptop
    results = QHBoxLayout()
    results.addWidget(dock._loss_view, 3)
    results.addWidget(dock._kernel_view, 2)
    layout.addLayout(results, 1)
    layout.addWidget(dock._kernel_view.errors)
    layout.addLayout(files)
