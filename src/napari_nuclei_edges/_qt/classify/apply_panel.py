"""The classifier dock's "apply" rows: an image layer; Show augmentation, Saliency map, Predict."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QGridLayout, QLabel, QPushButton, QWidget

from ...classification.options import SALIENCY_METHODS
from ..common import settings as _settings

#: The choice of nuclei that finds them with ``segment_nuclei``'s defaults.
FIND = "find them (segment_nuclei)"


class ApplyPanel(QWidget):
    """The image layer to explain or classify, the saliency method, and the three buttons.

    The dock connects the buttons; the saliency method is remembered in ``settings``.
    """

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self._settings = settings
        self.image_combo = QComboBox()
        self.image_combo.setToolTip("The image layer to explain or to classify.")
        self.saliency_combo = QComboBox()
        self.saliency_combo.addItems(SALIENCY_METHODS)
        self.saliency_combo.setToolTip(
            "gradient × input: the pixels whose change moves the class score most; "
            "Grad-CAM: the regions the last convolution block's features fire on for it."
        )
        self.saliency_combo.setCurrentText(
            _settings.read(settings, "saliency/method", SALIENCY_METHODS[0], set(SALIENCY_METHODS))
        )
        self.saliency_combo.currentTextChanged.connect(self._on_saliency_method_changed)
        self.saliency_button = QPushButton("Saliency map")
        self.saliency_button.setToolTip(
            "Add <layer>_saliency over the layer, bright where the CNN looks to choose "
            "each image's predicted class."
        )
        self.augment_button = QPushButton("Show augmentation")
        self.augment_button.setToolTip(
            "Add <layer>_augmented: the image shown and 7 copies flipped, turned, shifted "
            "and jittered as the options say — what the CNN sees while training."
        )
        self.predict_button = QPushButton("Predict")
        self.predict_button.setToolTip(
            "Classify every image of the layer into <layer>_stage: a point per image at its "
            "nucleus with its class and probability."
        )
        self.nuclei_combo = QComboBox()
        self.nuclei_combo.setToolTip(
            "For a field (an image larger than the model's crops): its nuclei from a Labels "
            "layer of its size (Learn a segmentation's, Apply's), or found by segment_nuclei."
        )
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("image layer"), 0, 0)
        grid.addWidget(self.image_combo, 0, 1, 1, 2)
        grid.addWidget(QLabel("saliency"), 1, 0)
        grid.addWidget(self.saliency_combo, 1, 1)
        grid.addWidget(self.saliency_button, 1, 2)
        grid.addWidget(QLabel("nuclei from"), 2, 0)
        grid.addWidget(self.nuclei_combo, 2, 1, 1, 2)
        grid.addWidget(self.augment_button, 3, 0, 1, 2)
        grid.addWidget(self.predict_button, 3, 2)

    @property
    def saliency_method(self) -> str:
        return self.saliency_combo.currentText()

    @saliency_method.setter
    def saliency_method(self, method: str) -> None:
        if method not in SALIENCY_METHODS:
            raise ValueError(f"method must be one of {SALIENCY_METHODS}, not {method!r}.")
        self.saliency_combo.setCurrentText(method)

    def offer_nuclei(self, names: list[str], preferred: list[str]) -> None:
        """Offer :data:`FIND` and the Labels layers ``names``; keep the choice while offered,
        else the first of ``preferred`` offered."""
        combo, current = self.nuclei_combo, self.nuclei_combo.currentText()
        offered = [FIND, *names]
        if current not in offered or current == FIND:
            current = next((name for name in preferred if name in names), FIND)
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(offered)
        combo.setCurrentText(current)
        combo.blockSignals(False)

    @property
    def nuclei_layer(self) -> str | None:
        """The Labels layer whose nuclei a field's Predict classifies; None: find them."""
        text = self.nuclei_combo.currentText()
        return None if text in ("", FIND) else text

    def _on_saliency_method_changed(self, method: str) -> None:
        self._settings.setValue("saliency/method", method)
