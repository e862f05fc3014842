"""The vocabulary of the segmenter: options, reported steps, the divergence error.

numpy and the standard library only (no torch, no Qt), so that a dock can build its
controls, check options and state the receptive field without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..classification.options import _check_type

#: "ce+dice": cross-entropy plus the soft Dice of the nuclei; "ce" or "dice" alone.
LOSSES = ("ce+dice", "ce", "dice")
#: The classes the network predicts for each pixel, in the order of its outputs.
CLASSES = ("background", "interior", "boundary")
#: The loss growing by this factor over its start means the run diverged.
DIVERGENCE_FACTOR = 1e3
#: Fewest training steps between two validations by default: validating a 512² field's
#: held-out fifth costs about a training step on the CPU.
MIN_STEPS_PER_EPOCH = 4
#: The budget when neither ``seconds`` nor ``epochs`` is given.
DEFAULT_EPOCHS = 100


class SegmenterDiverged(ArithmeticError):
    """The loss became NaN/inf or exploded; ``step`` is the last good step (or None).

    An ArithmeticError (not a RuntimeError, which superqt's workers drop).
    """

    def __init__(self, message: str, step: SegmenterStep | None = None) -> None:
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class SegmenterOptions:
    """Everything that shapes a segmenter's training and its instances; a dock shows each
    ``help``.

    Examples
    --------
    >>> SegmenterOptions().receptive_field
    44
    >>> SegmenterOptions(depth=4, patch_size=100)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: patch_size must be a multiple of 8 from 16 to 1024 (depth 4 halves ...), not 100.
    """

    depth: int = field(
        default=3,
        metadata={
            "help": "Levels of the U-Net (1–5): each halves the image and widens the "
            "view of a pixel (the receptive field)."
        },
    )
    channels: int = field(
        default=16,
        metadata={"help": "Filters of the first level (doubling per level, 1–64)."},
    )
    loss: str = field(
        default="ce+dice",
        metadata={
            "help": "ce+dice: cross-entropy plus the soft Dice of the nuclei; ce or dice alone."
        },
    )
    learning_rate: float = field(
        default=3e-3, metadata={"help": "Adam's step size; too large and the loss explodes."}
    )
    patch_size: int = field(
        default=128,
        metadata={"help": "Side of the square patches trained on (a multiple of 2^(depth-1))."},
    )
    batch_size: int = field(default=8, metadata={"help": "Patches per training step."})
    steps_per_epoch: int | None = field(
        default=None,
        metadata={
            "help": "Training steps between two validations. Empty: enough patches "
            "to cover the training pixels once, and at least 4."
        },
    )
    boundary: int = field(
        default=2,
        metadata={
            "help": "Width in pixels (1–4) of the boundary class along each nucleus' "
            "edge: the seam that keeps touching nuclei apart."
        },
    )
    seam_weight: float = field(
        default=10.0,
        metadata={
            "help": "How much more the boundary pixels where two nuclei touch count "
            "in the cross-entropy (1–100): the seams that keep them apart."
        },
    )
    sparse: bool = field(
        default=False,
        metadata={
            "help": "The labels are scribbles: 1 nucleus, 2 background, 0 not "
            "labelled (the loss only where painted)."
        },
    )
    low_percentile: float = field(
        default=1.0, metadata={"help": "Percentile of each image mapped to 0."}
    )
    high_percentile: float = field(
        default=99.8, metadata={"help": "Percentile of each image mapped to 1."}
    )
    augment: bool = field(
        default=True,
        metadata={
            "help": "Flip and turn the patches by 90° at random: nuclei have no up or down."
        },
    )
    jitter: float = field(
        default=0.1,
        metadata={
            "help": "Augmentation: scale and shift the patches' intensity by up to "
            "± this fraction (0–1)."
        },
    )
    noise: float = field(
        default=0.02,
        metadata={
            "help": "Augmentation: add Gaussian noise of up to this standard deviation "
            "(normalised units, 0–1)."
        },
    )
    validation_fraction: float = field(
        default=0.2,
        metadata={
            "help": "Share of the labelled tiles held out to validate on (when no "
            "validation images are given)."
        },
    )
    tile: int = field(
        default=512,
        metadata={
            "help": "Side of the tiles a large image is predicted in (memory stays "
            "bounded); a multiple of 2^(depth-1)."
        },
    )
    min_size: int = field(
        default=10, metadata={"help": "Objects of fewer pixels are dropped from the labels."}
    )
    seed: int = field(
        default=0,
        metadata={
            "help": "Start, patches and augmentation: the same seed, the same model (on the CPU)."
        },
    )
    device: str | None = field(
        default=None,
        metadata={
            "help": "Where torch trains: auto (a GPU when there is one), cpu, cuda or "
            "mps; empty: the CPU, where a seed repeats a run exactly."
        },
    )

    def __post_init__(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        integer = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
        need(integer(self.depth) and 1 <= self.depth <= 5,
             f"depth must be an integer from 1 to 5, not {self.depth!r}.")  # fmt: skip
        need(integer(self.channels) and 1 <= self.channels <= 64,
             f"channels must be an integer from 1 to 64, not {self.channels!r}.")  # fmt: skip
        need(self.loss in LOSSES, f"loss must be one of {LOSSES}, not {self.loss!r}.")
        need(self.learning_rate > 0,
             f"learning_rate must be positive, not {self.learning_rate!r}.")  # fmt: skip
        f = self.factor
        for name in ("patch_size", "tile"):
            value = getattr(self, name)
            need(integer(value) and value % f == 0 and 16 <= value <= (1024 if name ==
                 "patch_size" else 8192), f"{name} must be a multiple of {f} from 16 to "
                 f"{1024 if name == 'patch_size' else 8192} (depth {self.depth} halves it "
                 f"{self.depth - 1} times), not {value!r}.")  # fmt: skip
        need(integer(self.batch_size) and self.batch_size >= 1,
             f"batch_size must be at least 1, not {self.batch_size!r}.")  # fmt: skip
        need(self.steps_per_epoch is None or self.steps_per_epoch >= 1,
             f"steps_per_epoch must be at least 1, not {self.steps_per_epoch!r}.")  # fmt: skip
        need(0 <= self.low_percentile < self.high_percentile <= 100,
             "The percentiles must satisfy 0 ≤ low < high ≤ 100.")  # fmt: skip
        need(0 <= self.jitter <= 1 and 0 <= self.noise <= 1,
             "jitter and noise must be from 0 to 1.")  # fmt: skip
        fraction = self.validation_fraction
        need(0 < fraction < 1, f"validation_fraction must be in (0, 1), not {fraction!r}.")
        need(integer(self.boundary) and 1 <= self.boundary <= 4,
             f"boundary must be an integer from 1 to 4, not {self.boundary!r}.")  # fmt: skip
        need(1 <= self.seam_weight <= 100,
             f"seam_weight must be from 1 to 100, not {self.seam_weight!r}.")  # fmt: skip
        need(self.min_size >= 0, f"min_size must be 0 or more, not {self.min_size!r}.")

    @property
    def factor(self) -> int:
        """How many times the deepest level is smaller than the image: 2^(depth-1)."""
        return 2 ** (self.depth - 1)

    @property
    def receptive_field(self) -> int:
        """Side, in pixels, of the square of the image one output pixel sees
        (:func:`receptive_field`)."""
        return receptive_field(self.depth)

    @property
    def margin(self) -> int:
        """Context kept around each predicted tile: an output pixel's farthest reach
        (:func:`reach`), rounded up to a multiple of :attr:`factor` (so tiles stay on
        the pooling grid)."""
        f = self.factor
        return -(-reach(self.depth) // f) * f

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: dict) -> SegmenterOptions:
        """Options from :meth:`to_dict`'s form (a file's): unknown keys ignored, each
        value's type checked (a ValueError naming the option, never a TypeError).

        >>> SegmenterOptions.from_dict({"depth": 2, "extra": 1}).depth
        2
        >>> SegmenterOptions.from_dict({"depth": "2"})
        Traceback (most recent call last):
        ...
        ValueError: option depth must be int, not str ('2').
        """
        if not isinstance(values, dict):
            raise ValueError(f"options must be a mapping, not {type(values).__name__}.")
        known = {f.name: f.type for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        for name, value in values.items():
            _check_type(name, value, known[name])
        return cls(**values)

    @classmethod
    def help(cls, name: str) -> str:
        """The one-sentence explanation of option ``name``."""
        return next(f.metadata["help"] for f in fields(cls) if f.name == name)


def receptive_field(depth: int) -> int:
    """The receptive field of a U-Net of ``depth`` levels: the widest span, in pixels, of
    the image one output pixel sees (it depends a little on where the pixel falls on the
    pooling grid).

    >>> [receptive_field(d) for d in (1, 2, 3, 4)]
    [5, 18, 44, 100]
    """
    spans = [_support(depth, p) for p in range(2**depth)]
    return max(high - low + 1 for low, high in spans)


def reach(depth: int) -> int:
    """The farthest, in pixels, an output pixel sees on either side of itself.

    >>> reach(3)
    23
    """
    return max(max(p - low, high - p) for p in range(2**depth)
               for low, high in [_support(depth, p)])  # fmt: skip


def _support(depth: int, p: int) -> tuple[int, int]:
    """The first and last input pixel (along one axis) that output pixel ``p`` depends on.

    Followed back through the network: a block's two 3 × 3 convolutions widen an
    interval by 2 on each side, a 2 × 2 pooling maps pixel i to 2i and 2i + 1 of
    the level above, an up-sampling maps pixel q to q // 2 of the level below; a
    decoder level sees its skip connection and the level below.
    """

    def encoder(k: int, low: int, high: int) -> tuple[int, int]:
        low, high = low - 2, high + 2
        return (low, high) if k == 0 else encoder(k - 1, 2 * low, 2 * high + 1)

    def decoder(k: int, low: int, high: int) -> tuple[int, int]:
        if k == depth - 1:
            return encoder(k, low, high)
        skip = encoder(k, low - 2, high + 2)
        below = decoder(k + 1, (low - 2) // 2, (high + 2) // 2)
        return min(skip[0], below[0]), max(skip[1], below[1])

    return decoder(0, p, p)


@dataclass(frozen=True)
class SegmenterStep:
    """One epoch of :func:`fit_segmenter` (numbers and the model as trained so far)."""

    epoch: int
    step: int  # optimiser steps so far
    loss: float  # training loss, mean over the epoch's steps
    val_loss: float  # NaN without validation pixels
    val_dice: float  # pixel Dice of the nuclei on the validation pixels
    val_f1: float  # objects matched at IoU ≥ 0.5 (F1); NaN for scribbles
    elapsed: float  # seconds since the run started, data preparation included
    model: Any  # the Segmenter as trained so far, usable by segment_with
    status: str = "running"  # "running" or "finished"
    learning_rate: float = 0.0
    held_out: tuple = ()  # (image, rows, columns) of the training images' validation tiles
