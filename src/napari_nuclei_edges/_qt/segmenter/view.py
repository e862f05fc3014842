"""The segmenter dock's view: its controls, and the curves it draws from the state.

No computation and no viewer here: the dock (``widget.py``) reads the controls,
runs the work and writes the results into :class:`~.state.SegmenterState`, which
:class:`CurvesView` draws.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...segmenter.options import LOSSES, SegmenterOptions
from ..common import settings as _settings
from ..common.layout import WrappingLabel
from ..common.plots import legend_above, style_plot_item, theme_colors
from ..common.progress import ProgressBar
from .state import LABEL_KINDS, SegmenterState

#: Okabe-Ito: training solid blue, validation dashed orange, F1 green, the threshold grey.
TRAIN_COLOR, VAL_COLOR, F1_COLOR = "#56B4E9", "#E69F00", "#009E73"
PLOT_HEIGHT = 170
#: Settings remembered between sessions, with their defaults.
REMEMBERED = {"seconds": 30, "depth": 3, "channels": 16, "learning_rate": 3e-3, "loss": "ce+dice"}


def option_spin(name: str, low, high, *, decimals: int | None = None, step=None):
    """A spin box for option ``name`` of :class:`SegmenterOptions`, its help as tooltip."""
    spin = QSpinBox() if decimals is None else QDoubleSpinBox(decimals=decimals)
    spin.setRange(low, high)
    if step is not None:
        spin.setSingleStep(step)
    spin.setValue(getattr(SegmenterOptions(), name))
    spin.setToolTip(SegmenterOptions.help(name))
    return spin


class SegmenterControls(QWidget):
    """What to learn from, how long, the network's size; then Predict and the files."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image_combo = QComboBox(toolTip="The image the network learns from.")
        self.labels_combo = QComboBox(toolTip=(
            "Its nuclei: a Labels layer (the sample's truth, a corrected threshold result) "
            "or one you paint; an Image layer of integers works too."))  # fmt: skip
        self.kind_combo = QComboBox(toolTip=(
            "nuclei: every nucleus painted whole, one id each. scribbles: strokes of 1 "
            "(nucleus) and 2 (background) with napari's brush; the rest is not "
            "learned from."))  # fmt: skip
        self.kind_combo.addItems(LABEL_KINDS)
        self.seconds_spin = QSpinBox(minimum=2, maximum=3600, suffix=" s", toolTip=(
            "How long to train (Stop ends it sooner)."))  # fmt: skip
        self.depth_spin = option_spin("depth", 1, 5)
        self.channels_spin = option_spin("channels", 1, 64)
        self.rate_spin = option_spin("learning_rate", 1e-5, 1.0, decimals=5, step=1e-3)
        self.loss_combo = QComboBox(toolTip=SegmenterOptions.help("loss"))
        self.loss_combo.addItems(LOSSES)
        self.receptive_label = WrappingLabel()
        self.predict_combo = QComboBox(toolTip="The image layer to segment with the network.")
        self.predict_button = QPushButton("Predict", toolTip=(
            "Segment the chosen layer into <layer>_segmentation (any size: in "
            "tiles)."))  # fmt: skip
        self.patches_button = QPushButton("Show training patches", toolTip=(
            "What the network is shown: 8 patches of the image as a training step draws "
            "them (turned, flipped, brightness jittered, noised), and their "
            "classes."))  # fmt: skip
        self.save_button = QPushButton("Save model…")
        self.load_button = QPushButton("Load model…")

        form = QFormLayout()
        form.addRow("image", self.image_combo)
        form.addRow("labels", self.labels_combo)
        form.addRow("they are", self.kind_combo)
        form.addRow("train for", self.seconds_spin)
        net = QHBoxLayout()
        for label, spin in (("levels", self.depth_spin), ("filters", self.channels_spin)):
            net.addWidget(WrappingLabel(label))
            net.addWidget(spin)
        form.addRow("U-Net", net)
        form.addRow("learning rate", self.rate_spin)
        form.addRow("loss", self.loss_combo)
        predict = QHBoxLayout()
        predict.addWidget(self.predict_combo, 1)
        predict.addWidget(self.predict_button)
        files = QHBoxLayout()
        files.addWidget(self.save_button)
        files.addWidget(self.load_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.receptive_label)
        layout.addWidget(self.patches_button)
        self.predict_row, self.files_row = predict, files

    def set_options(self, seconds: float | None = None, **options) -> None:
        """Set ``seconds`` and any of depth, channels, learning_rate, loss."""
        if seconds is not None:
            self.seconds_spin.setValue(int(seconds))
        setters = {"depth": self.depth_spin.setValue, "channels": self.channels_spin.setValue,
                   "learning_rate": self.rate_spin.setValue,
                   "loss": self.loss_combo.setCurrentText}  # fmt: skip
        for name, value in options.items():
            setters[name](value)

    def restore(self, settings) -> None:
        """The remembered values, each checked (a bad one is reset and noted)."""
        controls = {"seconds": self.seconds_spin, "depth": self.depth_spin,
                    "channels": self.channels_spin, "learning_rate": self.rate_spin}  # fmt: skip
        values = {name: _settings.read(settings, name, REMEMBERED[name],
                                       _settings.limits(control))
                  for name, control in controls.items()}  # fmt: skip
        values["loss"] = _settings.read(settings, "loss", REMEMBERED["loss"], set(LOSSES))
        self.set_options(**values)

    def remember(self, settings) -> None:
        settings.setValue("seconds", self.seconds_spin.value())
        for name, value in self.options().items():
            settings.setValue(name, value)

    def ask_path(self, then, *, save: bool) -> None:
        """A file dialog for a model; ``then(path)`` when the user chose one."""
        if save:
            path, _ = QFileDialog.getSaveFileName(self, "Save the model", "nuclei.pt",
                                                  "PyTorch weights (*.pt)")  # fmt: skip
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Load a model", "",
                                                  "Segmenters (*.pt *.json)")  # fmt: skip
        if path:
            then(path)

    def options(self) -> dict:
        """The :class:`SegmenterOptions` fields the controls set."""
        return {"depth": self.depth_spin.value(), "channels": self.channels_spin.value(),
                "learning_rate": self.rate_spin.value(),
                "loss": self.loss_combo.currentText()}  # fmt: skip


class CurvesView(QWidget):
    """Loss, and held-out Dice and F1, against the epoch; the threshold's scores as lines."""

    def __init__(self, state: SegmenterState, viewer, parent=None):
        super().__init__(parent)
        self.state = state
        self.view = pg.GraphicsLayoutWidget()
        self.view.setFixedHeight(2 * PLOT_HEIGHT)
        self.loss_plot = self.view.addPlot(row=0, col=0)
        self.score_plot = self.view.addPlot(row=1, col=0)
        self.score_plot.setXLink(self.loss_plot)
        for plot, label in ((self.loss_plot, "loss"), (self.score_plot, "held-out score")):
            legend_above(plot, columns=2)
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", label)
            plot.getAxis("left").enableAutoSIPrefix(False)
        dash = Qt.PenStyle.DashLine
        self.curves = {
            "loss": self.loss_plot.plot(pen=pg.mkPen(TRAIN_COLOR, width=2), name="training"),
            "val_loss": self.loss_plot.plot(
                pen=pg.mkPen(VAL_COLOR, width=2, style=dash), name="validation"
            ),
            "val_dice": self.score_plot.plot(pen=pg.mkPen(VAL_COLOR, width=2), name="Dice"),
            "val_f1": self.score_plot.plot(pen=pg.mkPen(F1_COLOR, width=2), name="nuclei F1"),
        }
        self.baseline_lines = {
            what: pg.InfiniteLine(
                angle=0, label=f"threshold {label}", labelOpts={"position": position}
            )
            for what, label, position in (("dice", "Dice", 0.25), ("f1", "F1", 0.7))
        }
        for line in self.baseline_lines.values():
            line.hide()
            self.score_plot.addItem(line)
        self.score_plot.setYRange(0, 1, padding=0.02)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.restyle(theme_colors(viewer))
        state.events.epochs.connect(self.draw)
        state.events.baseline.connect(self.draw_baseline)

    def restyle(self, colors: dict[str, str]) -> None:
        self.view.setBackground(colors["background"])
        for plot in (self.loss_plot, self.score_plot):
            style_plot_item(plot, colors)
        pens = {"dice": VAL_COLOR, "f1": F1_COLOR}
        for what, line in self.baseline_lines.items():
            line.setPen(pg.mkPen(pens[what], width=1.5, style=Qt.PenStyle.DotLine))
            line.label.setColor(colors["text"])

    def draw(self, *_) -> None:
        """Every curve from the state (``setData``; NaN points left out)."""
        x = np.asarray(self.state.epochs, float)
        for name, curve in self.curves.items():
            y = np.asarray(getattr(self.state, name), float)[: len(x)]
            keep = np.isfinite(y)
            curve.setData(x[: len(y)][keep], y[keep])

    def draw_baseline(self, *_) -> None:
        base = self.state.baseline
        for what, line in self.baseline_lines.items():
            value = None if base is None else getattr(base, what)
            line.setVisible(value is not None and not math.isnan(value))
            if line.isVisible():
                line.setValue(value)

    def series(self, name: str) -> list[float]:
        """The points a curve shows (what a user reads off the plot)."""
        return list(self.curves[name].getData()[1] if self.curves[name].getData()[1]
                    is not None else [])  # fmt: skip


class RunProgress(ProgressBar):
    """Seconds trained of the budget, and the epoch."""

    def begin(self, seconds: float) -> None:
        self.setRange(0, max(1, round(seconds)))
        self.setValue(0)
        self.setFormat("starting…")

    def show_step(self, step, seconds: float) -> None:
        self.setValue(min(round(step.elapsed), round(seconds)))
        self.setFormat(f"epoch {step.epoch}: {step.elapsed:.0f} s of {seconds:.0f} s")

    def ended(self, text: str) -> None:
        self.setValue(self.maximum())
        self.setFormat(text)
