"""The vocabulary of stage classification: options, reported steps, results.

numpy and the standard library only (no torch, no Qt), so that the dock can build
its controls and check options without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .predictions import Predictions as Predictions  # its home before it had a module

#: "features": a small network (one hidden layer; 0 units: logistic regression) on the
#: measurements; "cnn": a small CNN on the pixels; "cnn+features": the CNN with the
#: measurements joined before its last layer.
MODELS = ("features", "cnn", "cnn+features")
NORMALISATIONS = ("percentile", "standardise", "none")
OPTIMISERS = ("adam", "sgd", "lbfgs")
#: Saliency maps (see ``saliency.saliency_maps``): which pixels move the class score,
#: and which regions the last convolution block's features fire on for it.
SALIENCY_METHODS = ("gradient × input", "Grad-CAM")
#: The feature model's hidden units by default, and the most one may ask for.
DEFAULT_HIDDEN = 16
MAX_HIDDEN = 1024
#: The loss growing by this factor over its start means the run diverged.
DIVERGENCE_FACTOR = 1e3


class ClassifierDiverged(ArithmeticError):
    """The loss became NaN/inf or exploded; ``step`` is the last good step (or None).

    An ArithmeticError (not a RuntimeError, which superqt's workers drop).
    """

    def __init__(self, message: str, step: ClassifierStep | None = None) -> None:
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class ClassifierOptions:
    """Everything that shapes a classifier's training; the dock shows each ``help``."""

    model: str = field(
        default="features",
        metadata={
            "help": "features: a small network on the measured shape, intensity and texture; "
            "cnn: a small network that learns its own features from the pixels; "
            "cnn+features: both, joined before the last layer."
        },
    )
    layers: int = field(
        default=4,
        metadata={"help": "Convolution blocks of the CNN (1–6), each halving the image."},
    )
    channels: int = field(
        default=8,
        metadata={"help": "Filters in the first CNN block (doubling per block, at most 128)."},
    )
    normalisation: str = field(
        default="percentile",
        metadata={
            "help": "Rescale each image before the CNN: percentile (its 1–99.8 % range to "
            "0–1), standardise (mean 0, std 1) or none (raw values)."
        },
    )
    low_percentile: float = field(
        default=1.0, metadata={"help": "Percentile mapped to 0 by percentile normalisation."}
    )
    high_percentile: float = field(
        default=99.8, metadata={"help": "Percentile mapped to 1 by percentile normalisation."}
    )
    augment: bool = field(
        default=True,
        metadata={
            "help": "Show the CNN each training image flipped and turned by 90° at random: "
            "the stage does not depend on the nucleus' orientation."
        },
    )
    shift: int = field(
        default=3,
        metadata={"help": "Augmentation: shift training images by up to this many pixels."},
    )
    rotate: float = field(
        default=15.0,
        metadata={
            "help": "Augmentation: turn training images by a random angle of up to ± this "
            "many degrees (0–45), on top of the 90° turns."
        },
    )
    jitter: float = field(
        default=0.0,
        metadata={
            "help": "Augmentation: scale training images' intensity by up to ± this fraction."
        },
    )
    dropout: float = field(
        default=0.2,
        metadata={"help": "Share of the last layer's inputs dropped at random while training."},
    )
    hidden: int | None = field(
        default=None,
        metadata={
            "help": "Units of the feature model's hidden layer (tanh) between the "
            "measurements and the classes; 0: logistic regression. Empty: 16."
        },
    )
    weight_decay: float | None = field(
        default=None,
        metadata={
            "help": "Pull the weights towards 0 (L2): simpler models over-fit less. "
            "Empty: 0.01 for the feature model, 0.001 for a CNN."
        },
    )
    optimiser: str = field(
        default="",
        metadata={
            "help": "adam, sgd or lbfgs; empty: LBFGS for the feature model, Adam for a CNN."
        },
    )
    learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Step size; too large and the loss explodes. Empty: one that suits "
            "the optimiser."
        },
    )
    batch_size: int = field(
        default=32, metadata={"help": "Images per CNN step (the feature model uses all)."}
    )
    epochs: int | None = field(
        default=None,
        metadata={
            "help": "The most passes over the training images. Empty: 40 for the feature "
            "model, 120 for a CNN."
        },
    )
    patience: int | None = field(
        default=None,
        metadata={
            "help": "Stop after this many epochs without a better validation loss, and "
            "keep the best model (early stopping); 0 never stops early. Empty: 30 for "
            "a CNN, never for the feature model (LBFGS converges on its own)."
        },
    )
    validation_fraction: float = field(
        default=0.2,
        metadata={"help": "Share of each class held out to validate on images never trained on."},
    )
    seed: int = field(
        default=0, metadata={"help": "Random split, start and order: the same seed, the same run."}
    )
    device: str | None = field(
        default=None,
        metadata={
            "help": "Where torch trains and predicts: auto (a GPU when there is one), "
            "cpu, cuda or mps; empty: the CPU, where a seed repeats a run exactly."
        },
    )
    features: tuple[str, ...] | None = field(
        default=None,
        metadata={
            "help": "Measured columns the model reads; empty: every shape, intensity and "
            "texture measurement (not the position)."
        },
    )

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, not {self.model!r}.")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(
                f"normalisation must be one of {NORMALISATIONS}, not {self.normalisation!r}."
            )
        if self.optimiser and self.optimiser not in OPTIMISERS:
            raise ValueError(f"optimiser must be one of {OPTIMISERS}, not {self.optimiser!r}.")
        if not (isinstance(self.layers, int) and 1 <= self.layers <= 6):
            raise ValueError(f"layers must be an integer from 1 to 6, not {self.layers!r}.")
        if not (isinstance(self.channels, int) and 1 <= self.channels <= 128):
            raise ValueError(f"channels must be an integer from 1 to 128, not {self.channels!r}.")
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise ValueError("The percentiles must satisfy 0 ≤ low < high ≤ 100.")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout!r}.")
        if self.hidden is not None and not (isinstance(self.hidden, int)
                                            and 0 <= self.hidden <= MAX_HIDDEN):  # fmt: skip
            raise ValueError(f"hidden must be an integer from 0 to {MAX_HIDDEN}, not "
                             f"{self.hidden!r}.")  # fmt: skip
        if self.hidden and self.model != "features":
            raise ValueError(
                f"hidden is for the feature model; the {self.model} model joins the "
                "measurements to its CNN directly: leave hidden empty."
            )
        if self.weight_decay is not None and self.weight_decay < 0:
            raise ValueError(f"weight_decay must be ≥ 0, not {self.weight_decay!r}.")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, not {self.learning_rate!r}.")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size!r}.")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs!r}.")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in (0, 1), not {self.validation_fraction!r}."
            )
        if self.shift < 0 or self.jitter < 0 or (self.patience or 0) < 0:
            raise ValueError("shift, jitter and patience must be ≥ 0.")
        if not 0 <= self.rotate <= 45:
            raise ValueError(f"rotate must be from 0 to 45 degrees, not {self.rotate!r}.")

    @property
    def uses_images(self) -> bool:
        return self.model != "features"

    @property
    def uses_features(self) -> bool:
        return self.model != "cnn"

    @property
    def optimiser_in_use(self) -> str:
        return self.optimiser or ("lbfgs" if self.model == "features" else "adam")

    @property
    def rate(self) -> float:
        """The learning rate in use (the optimiser's default when none was given)."""
        if self.learning_rate:
            return self.learning_rate
        if self.model == "cnn+features" and self.optimiser_in_use == "adam":
            # smaller steps keep the joined model near its measurement start: 5-fold
            # accuracy 78 % against 76 % with 0.003 (within the folds' spread of ± 7 %)
            return 1e-3
        return {"lbfgs": 1.0, "adam": 3e-3, "sgd": 0.05}[self.optimiser_in_use]

    @property
    def hidden_units(self) -> int:
        """Units of the hidden layer in use (0: none, always with a CNN)."""
        if self.model != "features":
            return 0
        # 16: 5-fold accuracy on the 250 reference images 81.4 % (seeds 0-4; 82.0 % for
        # seed 0) against 79.1 % for logistic regression on them; 8 or 32 units alike
        return DEFAULT_HIDDEN if self.hidden is None else self.hidden

    @property
    def decay(self) -> float:
        """The weight decay in use (the model's default when none was given)."""
        if self.weight_decay is not None:
            return self.weight_decay
        return 1e-2 if self.model == "features" else 1e-3

    @property
    def patience_epochs(self) -> int:
        """Epochs without improvement before stopping (0: never stop early)."""
        if self.patience is not None:
            return self.patience
        # 30: on 200 images the validation loss is noisy, and 10 stopped CNNs early
        # (5-fold accuracy 51 % with 10, 64 % with 30 and 120 epochs, 68 % with the turns)
        return 0 if self.model == "features" else 30

    @property
    def epoch_count(self) -> int:
        return self.epochs or (40 if self.model == "features" else 120)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["features"] = list(self.features) if self.features is not None else None
        return out

    @classmethod
    def from_dict(cls, values: dict) -> ClassifierOptions:
        """Options from :meth:`to_dict`'s form (a file's): unknown keys ignored, each
        value's type checked (a ValueError naming the option, never a TypeError).

        >>> ClassifierOptions.from_dict({"model": "cnn", "layers": 2, "extra": 1}).layers
        2
        >>> ClassifierOptions.from_dict({"layers": "2"})
        Traceback (most recent call last):
        ...
        ValueError: option layers must be int, not str ('2').
        """
        if not isinstance(values, dict):
            raise ValueError(f"options must be a mapping, not {type(values).__name__}.")
        known = {f.name: f.type for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        for name, value in values.items():
            _check_type(name, value, known[name])
        if values.get("features") is not None:
            values["features"] = tuple(values["features"])
        return cls(**values)

    @classmethod
    def help(cls, name: str) -> str:
        """The one-sentence explanation of option ``name``."""
        return next(f.metadata["help"] for f in fields(cls) if f.name == name)


@dataclass(frozen=True)
class ClassifierStep:
    """One epoch of :func:`fit_classifier` (numbers and small numpy copies only)."""

    epoch: int
    epochs: int  # the most epochs of the run
    loss: float  # training cross-entropy (mean over the epoch's batches)
    val_loss: float
    accuracy: float  # training accuracy over the epoch
    val_accuracy: float
    confusion: np.ndarray  # (C, C) validation counts, rows true class, columns predicted
    precision: np.ndarray  # (C,) validation, per class
    recall: np.ndarray
    f1: np.ndarray
    macro_f1: float
    elapsed: float  # seconds since the run started, data preparation included
    model: Any  # the Classifier as trained so far (the best so far once early stopping chose)
    class_names: tuple[str, ...]
    val_index: np.ndarray  # indices (into the classes' images in order) of validation images
    val_predicted: np.ndarray  # predicted class index of each validation image
    best_epoch: int = 0
    status: str = "running"  # "running", "stopped early" or "finished"
    learning_rate: float = 0.0


@dataclass(frozen=True)
class CrossValidation:
    """The result of :func:`cross_validate`."""

    accuracy: np.ndarray  # (folds,)
    macro_f1: np.ndarray  # (folds,)
    confusion: np.ndarray  # (C, C) summed over the folds' held-out images
    seconds: np.ndarray  # (folds,) wall time of each fold
    class_names: tuple[str, ...]
    model: str

    @property
    def mean_accuracy(self) -> float:
        return float(np.mean(self.accuracy))

    @property
    def std_accuracy(self) -> float:
        return float(np.std(self.accuracy))

    @property
    def mean_macro_f1(self) -> float:
        return float(np.mean(self.macro_f1))

    @property
    def seconds_per_fold(self) -> float:
        return float(np.mean(self.seconds))


def _check_type(name: str, value, annotation: str) -> None:
    """``value`` fits the field's annotation (``int``, ``float | None``, ``tuple[str, ...]``)."""
    kinds = [kind.strip() for kind in str(annotation).split("|")]
    if value is None and "None" in kinds:
        return
    kind = kinds[0]
    if kind.startswith("tuple"):
        fits = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        kind = "a list of names"
    elif kind == "bool":
        fits = isinstance(value, bool)
    elif kind in ("int", "float"):
        numbers = (int,) if kind == "int" else (int, float)
        fits = isinstance(value, numbers) and not isinstance(value, bool)
        if fits and not abs(value) < 2**63:  # NaN, infinities, integers torch cannot hold
            raise ValueError(f"option {name} must be a finite number, not {value!r}.")
    else:
        fits = isinstance(value, str)
    if not fits:
        shown = repr(value) if len(repr(value)) <= 20 else repr(value)[:19] + "…"
        raise ValueError(f"option {name} must be {kind}, not {type(value).__name__} ({shown}).")
