"""Which stage is this nucleus? Measurements, classifiers, cross-validation, prediction.

- :func:`measure`: region properties of the centre nucleus of each image (or of
  every object of a labels array): scikit-image's ``regionprops_table``, the
  intensity distribution, shape moments and texture.
- :func:`fit_classifier`: train a classifier — a small network (one hidden layer)
  on the measurements (``model="features"``), a small CNN on the pixels (``"cnn"``) or
  both joined (``"cnn+features"``) — as a generator of :class:`ClassifierStep`,
  one per epoch, like :func:`~napari_nuclei_edges.training.fit_kernel`.
- :func:`cross_validate`: stratified k-fold accuracy, macro F1 and confusion.
- :func:`predict`: classes and probabilities for any stack, lazy ones block by block.
- :func:`classify_nuclei`: the stage of every nucleus of a field, each in a crop of
  the model's size.
- :func:`save_classifier` / :func:`load_classifier`: a state dict (loaded with
  ``weights_only=True``) and a JSON file; nothing executes code on load.

Importing this package imports torch only when a function that needs it is
called; no Qt, no napari.
"""

from __future__ import annotations

from .api import (
    augmentation_examples,
    baseline_accuracy,
    cross_validate,
    fit_classifier,
    iter_cross_validation,
    iter_predict,
    predict,
)
from .field import classify_nuclei
from .measurements import FEATURES, MODEL_FEATURES, measure
from .metrics import confusion_matrix, scores
from .options import (
    MODELS,
    ClassifierDiverged,
    ClassifierOptions,
    ClassifierStep,
    CrossValidation,
    Predictions,
)

__all__ = [
    "FEATURES",
    "MODELS",
    "MODEL_FEATURES",
    "ClassifierDiverged",
    "ClassifierOptions",
    "ClassifierStep",
    "CrossValidation",
    "Predictions",
    "augmentation_examples",
    "baseline_accuracy",
    "classify_nuclei",
    "confusion_matrix",
    "cross_validate",
    "fit_classifier",
    "iter_cross_validation",
    "iter_predict",
    "load_classifier",
    "measure",
    "predict",
    "save_classifier",
    "scores",
]


def __getattr__(name: str):
    if name in ("save_classifier", "load_classifier", "history_csv"):
        from . import model_io

        return getattr(model_io, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
