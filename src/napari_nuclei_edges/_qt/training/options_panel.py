"""The training dock's options: one control per TrainingOptions field, each with its tooltip.

The panel is the main grid (a preset, the model, the optimiser and its rate, the
steps, the normalisation); :attr:`TrainingOptionsPanel.more` holds the rest, which
the dock shows in a section folded at first, so that the loss and the kernel stay
in view on a laptop.
"""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from ...training.options import (
    DEFAULT_OPTIMISERS,
    MAX_KERNEL_SIZE,
    NORMALISATIONS,
    OPTIMISERS,
    TrainingOptions,
    default_learning_rate,
)
from ...training.presets import PRESETS, preset
from ..common import settings as _settings

#: Options the panel shows and remembers (the rest keep their defaults).
SHOWN = ("model", "kernel_size", "optimiser", "learning_rate", "steps", "normalisation",
         "bias", "batch_size", "validation_fraction", "seed", "layers", "channels",
         "patience", "pace")  # fmt: skip
#: How many of SHOWN, in order, the main grid holds (the others are in ``more``).
MAIN = 6
MODEL_LABELS = {"linear": "linear", "gradient_pair": "gradient pair", "cnn": "small cnn"}
PRESET_LABELS = {"defaults": "defaults", "watch it learn": "watch it learn (slow)",
                 "course notebook": "course notebook (diverges)"}  # fmt: skip
CUSTOM = "custom"
LABELS = {"kernel_size": "kernel", "bias": "", "learning_rate": "learning rate",
          "batch_size": "batch", "validation_fraction": "validation",
          "normalisation": "normalise", "layers": "cnn layers", "channels": "cnn channels",
          "patience": "plateau stop", "pace": "pause a step"}  # fmt: skip


class TrainingOptionsPanel(QWidget):
    """Compact controls for :class:`TrainingOptions`, two to a row, and a preset menu."""

    #: A preset was chosen (its name): the dock sets its target and says what it shows.
    presetChosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._target = "gx"  # the dock's target kind, to tell whether a preset still holds
        self._make_controls()
        self.more = QWidget()
        main, more = QGridLayout(self), QGridLayout(self.more)
        main.setContentsMargins(0, 0, 0, 0)
        more.setContentsMargins(0, 0, 0, 0)
        main.addWidget(QLabel("preset"), 0, 0)
        main.addWidget(self._preset_combo, 0, 1, 1, 3)
        for index, (name, control) in enumerate(self._controls.items()):
            control.setToolTip(TrainingOptions.help(name))
            grid, shift = (main, 2) if index < MAIN else (more, -MAIN)
            row, column = divmod(index + shift, 2)
            grid.addWidget(QLabel(LABELS.get(name, name)), row, 2 * column)
            grid.addWidget(control, row, 2 * column + 1)
        self._optimiser_combo.currentIndexChanged.connect(self._on_optimiser_changed)
        self._model_combo.currentIndexChanged.connect(self._on_model_changed)
        self._preset_combo.activated.connect(self._on_preset_activated)
        for control in self._controls.values():
            _changed_signal(control).connect(self._sync_preset)
        self._on_model_changed()
        self._sync_preset()

    def _make_controls(self) -> None:
        self._preset_combo = QComboBox()
        self._preset_combo.addItem(CUSTOM, None)
        for name, label in PRESET_LABELS.items():
            self._preset_combo.addItem(label, name)
            index = self._preset_combo.count() - 1
            self._preset_combo.setItemData(index, PRESETS[name].about, Qt.ItemDataRole.ToolTipRole)
        self._model_combo = QComboBox()
        for name, label in MODEL_LABELS.items():
            self._model_combo.addItem(label, name)
        self._optimiser_combo = QComboBox()
        self._optimiser_combo.addItem("auto", None)  # the model's default: LBFGS for the pair
        for name in OPTIMISERS:
            self._optimiser_combo.addItem(name, name)
        self._rate_spin = QDoubleSpinBox(decimals=6, minimum=0.0, maximum=100.0)
        self._normalisation_combo = QComboBox()
        self._normalisation_combo.addItems(NORMALISATIONS)
        self._batch_spin = QSpinBox(minimum=0, maximum=100_000)
        self._batch_spin.setSpecialValueText("all")
        self._patience_spin = QSpinBox(minimum=0, maximum=1_000_000, value=100, singleStep=50,
                                       suffix=" steps")  # fmt: skip
        self._patience_spin.setSpecialValueText("never")
        self._pace_spin = QSpinBox(minimum=0, maximum=1000, suffix=" ms")
        self._pace_spin.setSpecialValueText("none")
        self._controls = dict(zip(SHOWN, (
            self._model_combo, QSpinBox(minimum=1, maximum=MAX_KERNEL_SIZE, singleStep=2),
            self._optimiser_combo, self._rate_spin,
            QSpinBox(minimum=1, maximum=1_000_000, singleStep=100), self._normalisation_combo,
            QCheckBox("bias"), self._batch_spin, QSpinBox(minimum=0, maximum=90, suffix=" %"),
            QSpinBox(minimum=0, maximum=2**31 - 1), QSpinBox(minimum=2, maximum=6),
            QSpinBox(minimum=1, maximum=64), self._patience_spin, self._pace_spin,
        ), strict=True))  # fmt: skip
        self.set_options(**{name: getattr(TrainingOptions(), name) for name in SHOWN})
        self.set_options(optimiser=None)

    def options(self, **fixed) -> TrainingOptions:
        """The options the controls describe, plus ``fixed`` ones the panel does not show."""
        c = self._controls
        return TrainingOptions(
            model=c["model"].currentData(),
            layers=c["layers"].value(),
            channels=c["channels"].value(),
            kernel_size=c["kernel_size"].value(),
            bias=c["bias"].isChecked(),
            optimiser=c["optimiser"].currentData(),
            learning_rate=c["learning_rate"].value() or None,
            steps=c["steps"].value(),
            batch_size=c["batch_size"].value() or None,
            validation_fraction=c["validation_fraction"].value() / 100,
            normalisation=c["normalisation"].currentText(),
            seed=c["seed"].value(),
            patience=c["patience"].value(),
            pace=c["pace"].value() / 1000,
            **fixed,
        )

    def set_options(self, **values) -> None:
        """Set controls by :class:`TrainingOptions` field name (``learning_rate=None``: auto)."""
        c = self._controls

        def by_data(combo):
            return lambda v: combo.setCurrentIndex(max(0, combo.findData(v)))

        setters = {
            "model": by_data(c["model"]),
            "optimiser": by_data(c["optimiser"]),
            "bias": c["bias"].setChecked,
            "learning_rate": lambda v: c["learning_rate"].setValue(v or 0.0),
            "batch_size": lambda v: c["batch_size"].setValue(v or 0),
            "validation_fraction": lambda v: c["validation_fraction"].setValue(round(v * 100)),
            "normalisation": c["normalisation"].setCurrentText,
            "pace": lambda v: c["pace"].setValue(round(v * 1000)),
        }
        for name, value in values.items():
            if name not in c:
                raise TypeError(f"no option {name!r}; options are {sorted(c)}.")
            setters.get(name, getattr(c[name], "setValue", None))(value)

    # ------------------------------------------------------------------ presets

    @property
    def preset(self) -> str:
        """The preset the options (and the dock's target) match, or ``"custom"``."""
        return self._preset_combo.currentData() or CUSTOM

    def apply_preset(self, name: str) -> None:
        """Set every option of preset ``name`` and tell the dock its target."""
        options, target = preset(name)
        self.set_options(**options)
        self._target = target
        self._sync_preset()
        self.presetChosen.emit(name)

    def set_target(self, kind: str | None) -> None:
        """The dock's target changed to ``kind`` (a Sobel kind, or None for a layer)."""
        self._target = kind
        self._sync_preset()

    def _on_preset_activated(self, index: int) -> None:
        name = self._preset_combo.itemData(index)
        if name is not None:
            self.apply_preset(name)

    def _sync_preset(self, *_) -> None:
        """Show the preset the options match now, or "custom" once one was changed."""
        shown = self._current_values()
        match = next((name for name in PRESETS if _matches(name, shown, self._target)), None)
        self._preset_combo.blockSignals(True)
        self._preset_combo.setCurrentIndex(max(0, self._preset_combo.findData(match)))
        self._preset_combo.blockSignals(False)
        about = PRESETS[match].about if match else "Your own options."
        self._preset_combo.setToolTip(f"Sets every option at once (the target too). {about}")

    def _current_values(self) -> dict:
        options = self.options()
        values = {name: getattr(options, name) for name in SHOWN}
        values["optimiser"] = self._controls["optimiser"].currentData()
        return values

    # ------------------------------------------------------------------ settings

    def save(self, settings) -> None:
        for name, value in self._current_values().items():
            settings.setValue(name, "" if value is None else value)

    def restore(self, settings) -> None:
        """Set the controls from ``settings``; an unusable value keeps its default."""
        defaults = TrainingOptions()
        auto = {"optimiser": "", "learning_rate": 0.0, "batch_size": 0}  # stored as ""
        values = {}
        for name in SHOWN:
            if name in auto and settings.value(name, "") == "":
                values[name] = None
                continue
            default = getattr(defaults, name)
            default = auto[name] if default is None else default
            scale = 100 if name == "validation_fraction" else 1
            within = _settings.limits(self._controls[name], scale)
            values[name] = _settings.read(settings, name, default, within)
        for name in auto:
            values[name] = values[name] or None
        self.set_options(**values)

    # ------------------------------------------------------------------ auto labels

    def _on_model_changed(self, *_) -> None:
        model = self._controls["model"].currentData()
        self._controls["layers"].setEnabled(model == "cnn")
        self._controls["channels"].setEnabled(model == "cnn")
        self._optimiser_combo.setItemText(0, f"auto ({DEFAULT_OPTIMISERS[model]})")
        self._on_optimiser_changed()

    def _on_optimiser_changed(self, *_) -> None:
        model = self._controls["model"].currentData()
        name = self._optimiser_combo.currentData() or DEFAULT_OPTIMISERS[model]
        self._rate_spin.setSpecialValueText(f"auto ({default_learning_rate(model, name):g})")


def _matches(name: str, values: dict, target: str | None) -> bool:
    options, kind = preset(name)
    return kind == target and all(values[key] == options[key] for key in options)


def _changed_signal(control):
    """The signal a control emits when the user changes its value."""
    if isinstance(control, QComboBox):
        return control.currentIndexChanged
    if isinstance(control, QCheckBox):
        return control.toggled
    return control.valueChanged
