"""The training dock's options: one control per TrainingOptions field, each with its tooltip."""

from __future__ import annotations

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
    DEFAULT_LEARNING_RATES,
    DEFAULT_OPTIMISERS,
    MAX_KERNEL_SIZE,
    NORMALISATIONS,
    OPTIMISERS,
    TrainingOptions,
)
from ..common import settings as _settings

#: Options the panel shows and remembers (the rest keep their defaults).
SHOWN = ("model", "kernel_size", "bias", "optimiser", "learning_rate", "steps", "batch_size",
         "validation_fraction", "normalisation", "seed", "layers", "channels",
         "patience")  # fmt: skip
MODEL_LABELS = {"linear": "linear", "gradient_pair": "gradient pair", "cnn": "small cnn"}


class TrainingOptionsPanel(QWidget):
    """Compact controls for :class:`TrainingOptions`, two to a row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        help_ = TrainingOptions.help
        self._model_combo = QComboBox()
        for name, label in MODEL_LABELS.items():
            self._model_combo.addItem(label, name)
        self._layers_spin = QSpinBox(minimum=2, maximum=6, value=2)
        self._channels_spin = QSpinBox(minimum=1, maximum=64, value=8)
        self._kernel_spin = QSpinBox(minimum=1, maximum=MAX_KERNEL_SIZE, singleStep=2, value=3)
        self._bias_check = QCheckBox("bias")
        self._optimiser_combo = QComboBox()
        self._optimiser_combo.addItem("auto", None)  # the model's default: LBFGS for the pair
        for name in OPTIMISERS:
            self._optimiser_combo.addItem(name, name)
        self._rate_spin = QDoubleSpinBox(decimals=6, minimum=0.0, maximum=100.0)
        self._steps_spin = QSpinBox(minimum=1, maximum=1_000_000, value=1000, singleStep=100)
        self._batch_spin = QSpinBox(minimum=0, maximum=100_000)
        self._batch_spin.setSpecialValueText("all")
        self._validation_spin = QSpinBox(minimum=0, maximum=90, value=20, suffix=" %")
        self._normalisation_combo = QComboBox()
        self._normalisation_combo.addItems(NORMALISATIONS)
        self._seed_spin = QSpinBox(minimum=0, maximum=2**31 - 1)
        self._patience_spin = QSpinBox(minimum=0, maximum=1_000_000, value=100, singleStep=50,
                                       suffix=" steps")  # fmt: skip
        self._patience_spin.setSpecialValueText("never")
        self._controls = controls = dict(zip(SHOWN, (
            self._model_combo, self._kernel_spin, self._bias_check, self._optimiser_combo,
            self._rate_spin, self._steps_spin, self._batch_spin, self._validation_spin,
            self._normalisation_combo, self._seed_spin, self._layers_spin, self._channels_spin,
            self._patience_spin,
        ), strict=True))  # fmt: skip
        labels = {"kernel_size": "kernel", "bias": "", "learning_rate": "learning rate",
                  "batch_size": "batch", "validation_fraction": "validation",
                  "normalisation": "normalise", "layers": "cnn layers",
                  "channels": "cnn channels", "patience": "plateau stop"}  # fmt: skip
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for index, (name, control) in enumerate(controls.items()):
            control.setToolTip(help_(name))
            row, column = divmod(index, 2)
            layout.addWidget(QLabel(labels.get(name, name)), row, 2 * column)
            layout.addWidget(control, row, 2 * column + 1)
        self._optimiser_combo.currentIndexChanged.connect(self._on_optimiser_changed)
        self._model_combo.currentIndexChanged.connect(self._on_model_changed)
        self._on_model_changed()

    def options(self, **fixed) -> TrainingOptions:
        """The options the controls describe, plus ``fixed`` ones the panel does not show."""
        return TrainingOptions(
            model=self._model_combo.currentData(),
            layers=self._layers_spin.value(),
            channels=self._channels_spin.value(),
            kernel_size=self._kernel_spin.value(),
            bias=self._bias_check.isChecked(),
            optimiser=self._optimiser_combo.currentData(),
            learning_rate=self._rate_spin.value() or None,
            steps=self._steps_spin.value(),
            batch_size=self._batch_spin.value() or None,
            validation_fraction=self._validation_spin.value() / 100,
            normalisation=self._normalisation_combo.currentText(),
            seed=self._seed_spin.value(),
            patience=self._patience_spin.value(),
            **fixed,
        )

    def set_options(self, **values) -> None:
        """Set controls by :class:`TrainingOptions` field name (``learning_rate=None``: auto)."""
        setters = {
            "model": lambda v: self._model_combo.setCurrentIndex(self._model_combo.findData(v)),
            "layers": self._layers_spin.setValue,
            "channels": self._channels_spin.setValue,
            "kernel_size": self._kernel_spin.setValue,
            "bias": self._bias_check.setChecked,
            "optimiser": lambda v: self._optimiser_combo.setCurrentIndex(
                self._optimiser_combo.findData(v) if v else 0
            ),
            "learning_rate": lambda v: self._rate_spin.setValue(v or 0.0),
            "steps": self._steps_spin.setValue,
            "batch_size": lambda v: self._batch_spin.setValue(v or 0),
            "validation_fraction": lambda v: self._validation_spin.setValue(round(v * 100)),
            "normalisation": self._normalisation_combo.setCurrentText,
            "seed": self._seed_spin.setValue,
            "patience": self._patience_spin.setValue,
        }
        for name, value in values.items():
            if name not in setters:
                raise TypeError(f"no option {name!r}; options are {sorted(setters)}.")
            setters[name](value)

    def save(self, settings) -> None:
        options = self.options()
        for name in SHOWN:
            value = getattr(options, name)
            if name == "optimiser":  # "auto" stays auto: the model picks it
                value = self._optimiser_combo.currentData()
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

    def _on_model_changed(self, *_) -> None:
        model = self._model_combo.currentData()
        self._layers_spin.setEnabled(model == "cnn")
        self._channels_spin.setEnabled(model == "cnn")
        self._optimiser_combo.setItemText(0, f"auto ({DEFAULT_OPTIMISERS[model]})")
        self._on_optimiser_changed()

    def _on_optimiser_changed(self, *_) -> None:
        name = (
            self._optimiser_combo.currentData()
            or DEFAULT_OPTIMISERS[self._model_combo.currentData()]
        )
        self._rate_spin.setSpecialValueText(f"auto ({DEFAULT_LEARNING_RATES[name]:g})")
