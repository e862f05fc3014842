"""The vocabulary of kernel training: options, reported steps, kernel errors.

numpy and the standard library only (no torch, no Qt, no napari), so that the dock
can build its controls and check options without loading torch;
:mod:`napari_nuclei_edges.training` re-exports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

OPTIMISERS = ("adam", "sgd", "momentum", "rmsprop", "lbfgs")
#: One convolution; two kernels and the fixed magnitude/direction head; a small cnn.
MODELS = ("linear", "gradient_pair", "cnn")
NORMALISATIONS = ("standardise", "scale", "none")
#: Targets computed from the inputs: Sobel Gx, Gy, or both (two output channels).
BUILTIN_TARGET_NAMES = ("gx", "gy", "both")
#: A learning rate that works for each optimiser on normalised inputs (the linear model).
DEFAULT_LEARNING_RATES = {
    "adam": 0.1,
    "sgd": 0.02,
    "momentum": 0.01,
    "rmsprop": 0.01,
    "lbfgs": 1.0,
}
#: The default learning rate of each model and optimiser, measured once on the course's
#: images (standardised; docs/training.md): a table, not a range test before each run, so
#: that a run starts at once and the same options always make the same run. The cnn
#: stalls at the linear kernel's Adam 0.1 (69 % magnitude error) and learns at 0.01 (7 %).
MODEL_LEARNING_RATES = {
    "linear": DEFAULT_LEARNING_RATES,
    "gradient_pair": {"adam": 0.1, "sgd": 0.05, "momentum": 0.01, "rmsprop": 0.003,
                      "lbfgs": 1.0},
    "cnn": {"adam": 0.01, "sgd": 0.01, "momentum": 0.003, "rmsprop": 0.003, "lbfgs": 1.0},
}  # fmt: skip
#: The optimiser each model uses when none is given: LBFGS where curvature pays off.
DEFAULT_OPTIMISERS = {"linear": "adam", "gradient_pair": "lbfgs", "cnn": "adam"}
#: The loss growing by this factor over its start means the run diverged: large enough
#: that a few steps of the explosion are drawn, small enough to stop long before inf.
DIVERGENCE_FACTOR = 1e10
#: Where a run can end: the optimum reached, every step taken, the validation loss
#: on a plateau, or the loss/weights no longer finite or exploding.
STATUSES = ("running", "converged", "finished", "plateau", "diverged")
#: Largest kernel a run, a file or the dock takes.
MAX_KERNEL_SIZE = 15


class TrainingDiverged(ArithmeticError):
    """The loss became NaN/inf or grew by orders of magnitude; ``step`` is the last good one.

    An ArithmeticError, not a RuntimeError: superqt's workers take a RuntimeError
    for a deleted Qt object and drop it without their ``errored``/``finished`` signals.
    """

    def __init__(self, message: str, step: TrainingStep | None) -> None:
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class TrainingOptions:
    """Everything that shapes a training run; the dock shows each with its ``help``."""

    kernel_size: int = field(
        default=3, metadata={"help": "Width of the square kernel (odd, 1–15). Sobel is 3."}
    )
    bias: bool = field(
        default=False,
        metadata={
            "help": "Learn a constant added to every output pixel as well (Sobel has none)."
        },
    )
    optimiser: str | None = field(
        default=None,
        metadata={
            "help": "How each step moves the weights: plain SGD, SGD with momentum, "
            "RMSprop, Adam (adapts the step per weight) or LBFGS (uses curvature). "
            "Empty: Adam for the linear model and the cnn, LBFGS for the gradient pair."
        },
    )
    learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Step size. Too large and the loss explodes or stays stuck; too small "
            "and it crawls. Empty: the rate measured to suit the model and the optimiser "
            "on normalised inputs."
        },
    )
    steps: int = field(default=1000, metadata={"help": "The most optimiser steps to take."})
    patience: int = field(
        default=100,
        metadata={
            "help": "Stop once the validation loss has not improved for this many steps "
            "(a plateau); 0 never stops early on a plateau."
        },
    )
    batch_size: int | None = field(
        default=None,
        metadata={
            "help": "Images per step: empty for all training images (full batch), "
            "fewer for noisier, cheaper mini-batch steps."
        },
    )
    validation_fraction: float = field(
        default=0.2,
        metadata={
            "help": "Share of the images held out of training to check the kernel "
            "on data it never saw (the validation loss)."
        },
    )
    normalisation: str = field(
        default="standardise",
        metadata={
            "help": "Rescale inputs and targets together before training: 'standardise' "
            "(mean 0, std 1), 'scale' (to 0..1 like the course) or 'none' (raw values: "
            "steep loss, tiny stable learning rates). Kernels are reported in original units."
        },
    )
    seed: int = field(default=0, metadata={"help": "Random start and batch order."})
    model: str = field(
        default="linear",
        metadata={
            "help": "linear: one convolution; gradient pair: two kernels (a, b) then the "
            "fixed √(a²+b²) and angle of (a, b); cnn: a few convolutions with ReLU."
        },
    )
    layers: int = field(default=2, metadata={"help": "Convolution layers of the cnn (2–6)."})
    channels: int = field(
        default=8, metadata={"help": "Channels of each hidden layer of the cnn (1–64)."}
    )
    device: str | None = field(
        default=None, metadata={"help": "Torch device for engine 'conv'; default the CPU."}
    )
    engine: str = field(
        default="auto",
        metadata={
            "help": "'moments': exact loss from patch statistics (fast); 'conv': convolve "
            "every step like the course notebook; 'auto': moments up to 7 × 7 kernels."
        },
    )
    tolerance: float = field(
        default=1e-12,
        metadata={
            "help": "Stop early once the loss is this close (relative to where it started) "
            "to the closed-form optimum; 0 runs every step."
        },
    )
    pace: float = field(
        default=0.0,
        metadata={
            "help": "Seconds to wait after each step, so that a run can be watched and "
            "paused by hand; 0 runs at full speed."
        },
    )
    report_interval: float = field(
        default=0.0,
        metadata={
            "help": "Seconds between yielded steps (0: every step); losses in between "
            "are carried in each step's trace."
        },
    )

    def __post_init__(self) -> None:
        k = self.kernel_size
        if not (_integer(k) and 1 <= k <= MAX_KERNEL_SIZE and k % 2 == 1):
            raise ValueError(
                f"kernel_size must be an odd integer from 1 to {MAX_KERNEL_SIZE}, not {k!r}."
            )
        if not isinstance(self.bias, bool | np.bool_):
            raise ValueError(f"bias must be True or False, not {self.bias!r}.")
        if self.model not in MODELS:
            raise ValueError(
                f"model must be 'linear', 'gradient_pair' or 'cnn', not {self.model!r}."
            )
        if self.optimiser is None:  # resolved here, so every reader sees the one in use
            object.__setattr__(self, "optimiser", DEFAULT_OPTIMISERS[self.model])
        if self.optimiser not in OPTIMISERS:
            raise ValueError(f"optimiser must be one of {OPTIMISERS}, not {self.optimiser!r}.")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(
                f"normalisation must be one of {NORMALISATIONS}, not {self.normalisation!r}."
            )
        if not (_integer(self.layers) and 2 <= self.layers <= 6):
            raise ValueError(f"layers must be an integer from 2 to 6, not {self.layers!r}.")
        if not (_integer(self.channels) and 1 <= self.channels <= 64):
            raise ValueError(f"channels must be an integer from 1 to 64, not {self.channels!r}.")
        if self.engine not in ("auto", "moments", "conv"):
            raise ValueError(f"engine must be 'auto', 'moments' or 'conv', not {self.engine!r}.")
        if self.device is not None and not (isinstance(self.device, str) and self.device):
            raise ValueError(
                f"device must be a torch device name such as 'cpu' or 'cuda', not {self.device!r}."
            )
        if self.engine == "moments" and (self.device or "cpu") != "cpu":
            raise ValueError(
                f"engine 'moments' works on the CPU (each step costs microseconds there); "
                f"device {self.device!r} needs engine 'conv' or 'auto'."
            )
        if self.engine == "moments" and self.model != "linear":
            raise ValueError(
                f"engine 'moments' is exact only for the linear model; the {self.model} "
                "model needs engine 'conv' or 'auto'."
            )
        rate = self.learning_rate
        if rate is not None and not (_real(rate) and math.isfinite(rate) and rate > 0):
            raise ValueError(
                f"learning_rate must be a positive finite number, not {rate!r}: "
                "leave it empty for the optimiser's default."
            )
        if not (_integer(self.steps) and self.steps >= 1):
            raise ValueError(f"steps must be a whole number of at least 1, not {self.steps!r}.")
        if not (_integer(self.patience) and self.patience >= 0):
            raise ValueError(
                f"patience must be a whole number of steps (0: never stop early), "
                f"not {self.patience!r}."
            )
        batch = self.batch_size
        if batch is not None and not (_integer(batch) and batch >= 1):
            raise ValueError(
                f"batch_size must be a whole number of images, at least 1 (or None for "
                f"all), not {batch!r}."
            )
        fraction = self.validation_fraction
        if not (_real(fraction) and 0 <= fraction < 1):
            raise ValueError(f"validation_fraction must be in [0, 1), not {fraction!r}.")
        if not (_integer(self.seed) and self.seed >= 0):
            raise ValueError(f"seed must be a whole number, 0 or more, not {self.seed!r}.")
        for name in ("tolerance", "report_interval", "pace"):
            value = getattr(self, name)
            if not (_real(value) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number, 0 or more, not {value!r}.")

    @property
    def rate(self) -> float:
        """The learning rate in use (the model's and optimiser's default when none was given)."""
        return self.learning_rate or default_learning_rate(self.model, self.optimiser)

    def as_dict(self) -> dict:
        """The options as plain values (what a kernel file's metadata records)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def help(cls, name: str) -> str:
        """The one-sentence explanation of option ``name``."""
        return next(f.metadata["help"] for f in fields(cls) if f.name == name)


@dataclass(frozen=True)
class TrainingStep:
    """One reported step of :func:`fit_kernel` (numbers and small numpy copies only)."""

    step: int
    loss: float  # training loss (normalised units) at this step's weights
    val_loss: float | None  # the same on the held-out images
    weight: np.ndarray  # (C_out, C_in, k, k), original units
    bias: np.ndarray | None  # (C_out,), original units
    elapsed: float  # seconds since the run started, setup included
    trace_steps: tuple[int, ...]  # every step since the previous report ...
    trace_losses: tuple[float, ...]  # ... and its training loss
    optimum_loss: float | None  # the closed-form optimum's training loss
    reference: np.ndarray | None  # the kernel to approach (true Sobel, else the optimum)
    error: dict | None  # kernel_error(weight, reference)
    status: str = "running"  # one of STATUSES
    learning_rate: float = 0.0
    test_loss: float | None = None  # on the held-out images given to fit_kernel
    magnitude_error: float | None = None  # relative RMS error of the predicted magnitude
    alignment: dict | None = None  # gradient pair: its best rotation onto Sobel
    first_loss: float | None = None  # the loss at the random start (step 0)
    stable_rate: float | None = None  # SGD/momentum on a quadratic: the largest stable rate
    targets: str | None = None  # image targets taken as "same" or "valid"; None: built in
    message: str | None = None  # why a run ended as it did ("diverged", "plateau")
    best_step: int | None = None  # the step of the lowest validation (else training) loss
    reference_kind: str | None = None  # "true" (Sobel) or "least squares" (the best kernel)


def default_learning_rate(model: str, optimiser: str) -> float:
    """The learning rate a run of ``model`` with ``optimiser`` uses when none is given.

    Examples
    --------
    >>> default_learning_rate("linear", "adam"), default_learning_rate("cnn", "adam")
    (0.1, 0.01)
    """
    return MODEL_LEARNING_RATES[model][optimiser]


def kernel_error(learned, reference) -> dict:
    """How far a kernel is from a reference kernel of the same shape.

    The shapes may differ by leading axes of length 1 only: a learned
    ``(1, 1, 3, 3)`` weight is compared with a ``(3, 3)`` kernel.

    Returns
    -------
    dict
        ``max_abs`` (largest absolute difference), ``rmse``, ``relative``
        (Frobenius norm of the difference over the reference's) and ``cosine``
        (1 when the two point the same way, whatever their scale).

    Examples
    --------
    >>> sobel_x = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    >>> kernel_error(2 * sobel_x, sobel_x)["cosine"]
    1.0
    >>> kernel_error(sobel_x + 0.5, sobel_x)["max_abs"]
    0.5
    >>> kernel_error(sobel_x[None, None], sobel_x)["max_abs"]  # (1, 1, 3, 3) and (3, 3)
    0.0
    """
    a = np.asarray(learned, np.float64)
    b = np.asarray(reference, np.float64)
    a, b = _same_kernel_shape(a, b)
    diff = a - b
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    return {
        "max_abs": float(np.abs(diff).max()),
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "relative": float(np.linalg.norm(diff) / norm_b) if norm_b else math.inf,
        "cosine": float(np.round(np.vdot(a, b) / (norm_a * norm_b), 12))
        if norm_a and norm_b
        else 0.0,
    }


def _same_kernel_shape(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both kernels in the shorter shape, when the longer one only adds leading 1s."""
    n = min(a.ndim, b.ndim)
    extra = (a.shape[: a.ndim - n], b.shape[: b.ndim - n])
    same = a.shape[a.ndim - n :] == b.shape[b.ndim - n :]
    if not same or any(size != 1 for sizes in extra for size in sizes):
        raise ValueError(
            f"kernel shapes differ: {a.shape} and {b.shape}. Compare kernels of one shape; "
            "only leading axes of length 1 may differ, as in (1, 1, 3, 3) and (3, 3)."
        )
    trailing = a.shape[a.ndim - n :]
    return a.reshape(trailing), b.reshape(trailing)


def _integer(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _real(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
