"""The classifier dock's options: one control per ClassifierOptions field, with its tooltip."""

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

from ...classification.options import MODELS, NORMALISATIONS, OPTIMISERS, ClassifierOptions
from ...gradients import available_devices
from ..common import settings as _settings

MODEL_LABELS = {
    "features": "measurements (small network)",
    "cnn": "small CNN (pixels)",
    "cnn+features": "CNN + measurements",
}
#: Label of each option's control (its field name otherwise).
LABELS = {
    "learning_rate": "learning rate", "batch_size": "batch", "weight_decay": "weight decay",
    "validation_fraction": "validation", "normalisation": "normalise", "layers": "CNN blocks",
    "channels": "CNN filters", "augment": "", "shift": "shift (px)", "rotate": "turn (±°)",
}  # fmt: skip
#: Options that only a CNN reads (disabled for the feature model).
CNN_ONLY = ("layers", "channels", "normalisation", "augment", "shift", "rotate", "jitter",
            "dropout", "batch_size")  # fmt: skip
#: The device the dock starts with: a GPU when torch sees one.
DEFAULT_DEVICE = "auto"


class ClassifierOptionsPanel(QWidget):
    """Compact controls for :class:`ClassifierOptions`, two to a row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.controls = {
            "model": QComboBox(),
            "epochs": QSpinBox(minimum=0, maximum=10_000),
            "optimiser": QComboBox(),
            "learning_rate": QDoubleSpinBox(
                decimals=5, minimum=0.0, maximum=10.0, singleStep=1e-3
            ),
            "weight_decay": QDoubleSpinBox(
                decimals=5, minimum=-1e-5, maximum=1.0, singleStep=1e-3
            ),
            "patience": QSpinBox(minimum=-1, maximum=1000),
            "validation_fraction": QSpinBox(minimum=5, maximum=50, suffix=" %"),
            "seed": QSpinBox(minimum=0, maximum=2**31 - 1),
            "layers": QSpinBox(minimum=1, maximum=6),
            "channels": QSpinBox(minimum=1, maximum=128),
            "normalisation": QComboBox(),
            "batch_size": QSpinBox(minimum=2, maximum=4096),
            "dropout": QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05),
            "augment": QCheckBox("flips and 90° turns"),
            "shift": QSpinBox(minimum=0, maximum=20),
            "rotate": QDoubleSpinBox(decimals=0, minimum=0.0, maximum=45.0, singleStep=5.0),
            "jitter": QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05),
            "device": QComboBox(),
        }
        c = self.controls
        for name in MODELS:
            c["model"].addItem(MODEL_LABELS[name], name)
        c["optimiser"].addItem("auto", "")
        for name in OPTIMISERS:  # read by their data: "" is auto
            c["optimiser"].addItem(name, name)
        c["normalisation"].addItems(NORMALISATIONS)
        c["device"].addItems(available_devices())
        c["epochs"].setSpecialValueText("auto")
        c["learning_rate"].setSpecialValueText("auto")
        c["weight_decay"].setSpecialValueText("auto")
        c["patience"].setSpecialValueText("auto")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for index, (name, control) in enumerate(c.items()):
            tip = ClassifierOptions.help(name)
            control.setToolTip(tip)
            label = QLabel(LABELS.get(name, name))
            label.setToolTip(tip)
            if name == "model":  # the model's names are long: a row of its own
                layout.addWidget(label, 0, 0)
                layout.addWidget(control, 0, 1, 1, 3)
                continue
            row, column = divmod(index + 1, 2)
            layout.addWidget(label, row, 2 * column)
            layout.addWidget(control, row, 2 * column + 1)
        c["model"].currentIndexChanged.connect(self._on_model_changed)
        self.set_options(**ClassifierOptions().to_dict())
        self.set_options(device=DEFAULT_DEVICE)

    def options(self) -> ClassifierOptions:
        """The options the controls describe (raises ValueError with a sentence)."""
        c = self.controls
        return ClassifierOptions(
            model=c["model"].currentData(),
            epochs=c["epochs"].value() or None,
            optimiser=c["optimiser"].currentData() or "",
            learning_rate=c["learning_rate"].value() or None,
            weight_decay=None if c["weight_decay"].value() < 0 else c["weight_decay"].value(),
            patience=None if c["patience"].value() < 0 else c["patience"].value(),
            validation_fraction=c["validation_fraction"].value() / 100,
            seed=c["seed"].value(),
            layers=c["layers"].value(),
            channels=c["channels"].value(),
            normalisation=c["normalisation"].currentText(),
            batch_size=c["batch_size"].value(),
            dropout=c["dropout"].value(),
            augment=c["augment"].isChecked(),
            shift=c["shift"].value(),
            rotate=c["rotate"].value(),
            jitter=c["jitter"].value(),
            device=c["device"].currentText(),
        )

    def set_options(self, **values) -> None:
        """Set controls by :class:`ClassifierOptions` field name (None: auto)."""
        c = self.controls
        for name, value in values.items():
            if name not in c:
                continue  # options the panel does not show keep their defaults
            control = c[name]
            if name in ("model", "optimiser"):
                control.setCurrentIndex(max(0, control.findData(value or "")))
            elif name == "normalisation":
                control.setCurrentText(value)
            elif name == "device":  # None is the CPU; one this machine lacks: auto
                index = control.findText(value or "cpu")
                control.setCurrentIndex(index if index >= 0 else control.findText("auto"))
            elif name == "augment":
                control.setChecked(bool(value))
            elif name == "validation_fraction":
                control.setValue(round(value * 100))
            elif name == "weight_decay":
                control.setValue(-1e-5 if value is None else value)
            elif name == "patience":
                control.setValue(-1 if value is None else value)
            else:
                control.setValue(value or 0)

    def save(self, settings) -> None:
        for name, value in self.options().to_dict().items():
            if name in self.controls:
                settings.setValue(f"options/{name}", "" if value is None else value)

    def restore(self, settings) -> None:
        """Set the controls from ``settings``; an unusable value keeps its default."""
        defaults = ClassifierOptions().to_dict()
        values = {}
        for name, control in self.controls.items():
            key = f"options/{name}"
            stored = settings.value(key, None)
            if stored in ("", None):
                continue
            default = DEFAULT_DEVICE if name == "device" else defaults[name]
            if default is None:  # "auto": the control's own type
                default = 0.0 if name in ("learning_rate", "weight_decay") else 0
                if name == "patience":
                    default = -1
            within = _settings.limits(control, 100 if name == "validation_fraction" else 1)
            if name == "device":  # one this machine lacks is auto (set_options), not an error
                within = None
            values[name] = _settings.read(settings, key, default, within)
        self.set_options(**values)

    def _on_model_changed(self, *_) -> None:
        cnn = self.controls["model"].currentData() != "features"
        for name in CNN_ONLY:
            self.controls[name].setEnabled(cnn)
