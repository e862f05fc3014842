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
#: A learning rate that works for each optimiser on normalised inputs.
DEFAULT_LEARNING_RATES = {
    "adam": 0.1,
    "sgd": 0.02,
    "momentum": 0.01,
    "rmsprop": 0.01,
    "lbfgs": 1.0,
}
#: The loss growing by this factor over its start means the run diverged.
DIVERGENCE_FACTOR = 1e4


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
    optimiser: str = field(
        default="adam",
        metadata={
            "help": "How each step moves the weights: plain SGD, SGD with momentum, "
            "RMSprop, Adam (adapts the step per weight) or LBFGS (uses curvature)."
        },
    )
    learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Step size. Too large and the loss explodes; too small and it crawls. "
            "Empty: a rate that suits the optimiser on normalised inputs."
        },
    )
    steps: int = field(default=1000, metadata={"help": "The most optimiser steps to take."})
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
    report_interval: float = field(
        default=0.0,
        metadata={
            "help": "Seconds between yielded steps (0: every step); losses in between "
            "are carried in each step's trace."
        },
    )

    def __post_init__(self) -> None:
        k = self.kernel_size
        if not (isinstance(k, int) and 1 <= k <= 15 and k % 2 == 1):
            raise ValueError(f"kernel_size must be an odd integer from 1 to 15, not {k!r}.")
        if self.optimiser not in OPTIMISERS:
            raise ValueError(f"optimiser must be one of {OPTIMISERS}, not {self.optimiser!r}.")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(
                f"normalisation must be one of {NORMALISATIONS}, not {self.normalisation!r}."
            )
        if self.model not in MODELS:
            raise ValueError(
                f"model must be 'linear', 'gradient_pair' or 'cnn', not {self.model!r}."
            )
        if not (isinstance(self.layers, int) and 2 <= self.layers <= 6):
            raise ValueError(f"layers must be an integer from 2 to 6, not {self.layers!r}.")
        if not (isinstance(self.channels, int) and 1 <= self.channels <= 64):
            raise ValueError(f"channels must be an integer from 1 to 64, not {self.channels!r}.")
        if self.engine not in ("auto", "moments", "conv"):
            raise ValueError(f"engine must be 'auto', 'moments' or 'conv', not {self.engine!r}.")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, not {self.learning_rate!r}.")
        if not (isinstance(self.steps, int) and self.steps >= 0):
            raise ValueError(f"steps must be a non-negative integer, not {self.steps!r}.")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 image, not {self.batch_size!r}.")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), not {self.validation_fraction!r}."
            )

    @property
    def rate(self) -> float:
        """The learning rate in use (the optimiser's default when none was given)."""
        return self.learning_rate or DEFAULT_LEARNING_RATES[self.optimiser]

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
    status: str = "running"  # "running", "converged" or "finished"
    learning_rate: float = 0.0
    test_loss: float | None = None  # on the held-out images given to fit_kernel
    magnitude_error: float | None = None  # relative RMS error of the predicted magnitude
    alignment: dict | None = None  # gradient pair: its best rotation onto Sobel


def kernel_error(learned, reference) -> dict:
    """How far a kernel is from a reference kernel of the same shape.

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
    """
    a = np.asarray(learned, np.float64)
    b = np.asarray(reference, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"kernel shapes differ: {a.shape} and {b.shape}.")
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
