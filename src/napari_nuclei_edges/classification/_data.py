"""Checked, prepared data for a classifier: images, classes, measurements, splits.

numpy only (measurements through scikit-image); torch stays in the training loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._range import intensity_range
from .measurements import MODEL_FEATURES, measure
from .options import ClassifierOptions

#: Fewest images a class needs: some to train on and one to validate.
MIN_PER_CLASS = 3


@dataclass
class Dataset:
    """Every image of every class, in class order, with what the models read."""

    images: np.ndarray  # (N, H, W) float32, raw values
    targets: np.ndarray  # (N,) class index
    class_names: tuple[str, ...]
    features: np.ndarray | None  # (N, F) raw measurements (NaN where no object was found)
    feature_names: tuple[str, ...]
    intensity: dict | None = None  # the images' dtype and percentiles (:mod:`._range`)

    @property
    def size(self) -> tuple[int, int]:
        return self.images.shape[-2:]


def check_stack(name: str, stack) -> np.ndarray:
    """One class's images as a float32 (N, H, W) array, or a sentence saying why not.

    ``name``: the class, or ``"images"`` (the images a model is applied to).
    """
    subject = "The image stack" if name == "images" else f"Class '{name}'"
    array = np.asarray(stack)
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3 and array.shape[-1] in (3, 4) and array.shape[0] > 4:
        raise ValueError(
            f"{subject} looks like RGB (shape {array.shape}): the classifier needs "
            "single-channel images; split the channels first."
        )
    if array.ndim == 4 and array.shape[-1] in (3, 4):
        raise ValueError(
            f"{subject} is RGB (shape {array.shape}): the classifier needs "
            "single-channel images; split the channels first."
        )
    if array.ndim != 3 or array.size == 0:
        raise ValueError(
            f"{subject} must be a stack of 2D images (N, H, W), not shape {array.shape}."
        )
    if array.dtype.kind not in "uifb":
        raise ValueError(f"{subject} holds {array.dtype} values, not numbers.")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise ValueError(
            f"{subject} contains NaN or infinite pixels: replace them "
            f"(for example with 0) {'first' if name == 'images' else 'before training'}."
        )
    return array


def prepare(images_by_class: Mapping, opts: ClassifierOptions, *, min_per_class=MIN_PER_CLASS):
    """Check the classes and stack them into a :class:`Dataset` (measured when needed)."""
    if not isinstance(images_by_class, Mapping):
        raise TypeError("Give the images as a mapping of class name to image stack.")
    if len(images_by_class) < 2:
        raise ValueError(
            f"A classifier needs at least two classes, not {len(images_by_class)}: "
            "add a layer (a stack of images) for each stage."
        )
    texts = [str(name) for name in images_by_class]
    same = sorted({text for text in texts if texts.count(text) > 1})
    if same:  # {1: a, "1": b}: one class name each, as text
        keys = [repr(key) for key in images_by_class if str(key) in same]
        raise ValueError(
            f"The classes {', '.join(keys)} have the same name as text ({', '.join(same)}): "
            "name each class differently."
        )
    check_classifier_memory([np.shape(s) for s in images_by_class.values()], opts)
    dtype = np.result_type(*[getattr(s, "dtype", None) or np.asarray(s).dtype
                             for s in images_by_class.values()])  # fmt: skip
    stacks = {str(name): check_stack(str(name), s) for name, s in images_by_class.items()}
    few = [f"'{name}' ({len(s)})" for name, s in stacks.items() if len(s) < min_per_class]
    if few:
        raise ValueError(
            f"Each class needs at least {min_per_class} images (to train on and to "
            f"validate on); too few in {', '.join(few)}."
        )
    sizes = {name: s.shape[-2:] for name, s in stacks.items()}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} {h} × {w}" for name, (h, w) in sizes.items())
        raise ValueError(
            f"The images differ in size between classes ({listed}): crop or resize them "
            "to one size; the classifier does not resize them for you."
        )
    names = tuple(stacks)
    images = np.concatenate(list(stacks.values()))
    targets = np.concatenate([np.full(len(s), i) for i, s in enumerate(stacks.values())])
    feature_names = tuple(opts.features or MODEL_FEATURES)
    features = None
    if opts.uses_features:
        features = measured(images, feature_names)
    return Dataset(images, targets, names, features, feature_names,
                   intensity_range(images, dtype))  # fmt: skip


def check_classifier_memory(shapes, opts: ClassifierOptions) -> None:
    """A sentence, before any work, when training would not fit in the memory free now.

    Measured (peak resident memory): 35 bytes per image pixel for the feature model
    (float32 copies, the measurements' segmentation), and for a CNN about 24 bytes
    per pixel of a batch and filter of the first block.
    """
    from ..data import check_memory

    shapes = [shape if len(shape) == 3 else (1, *shape) for shape in shapes]
    if not shapes or any(len(shape) != 3 for shape in shapes):
        return  # check_stack says what is wrong
    n = sum(shape[0] for shape in shapes)
    h, w = max(shape[1] for shape in shapes), max(shape[2] for shape in shapes)
    needed = 40 * n * h * w
    if opts.uses_images:
        needed += 24 * min(opts.batch_size, n) * h * w * opts.channels
    check_memory(needed, f"Training on {n} images of {h} × {w}",
                 "crop each nucleus (the classifier reads crops like the 80 × 80 training "
                 "images), train on fewer images or with a smaller batch, or close other "
                 "programs.")  # fmt: skip


def measured(images: np.ndarray, names) -> np.ndarray:
    """The (N, F) measurements the feature models read (NaN where no nucleus was found)."""
    table = measure(images)
    unknown = [name for name in names if name not in table]
    if unknown:
        raise ValueError(f"Unknown measurement(s) {unknown}: choose from {sorted(table)}.")
    return np.stack([table[name] for name in names], axis=1).astype(np.float32)


def stratified_split(targets: np.ndarray, fraction: float, seed: int):
    """Train and validation indices with ``fraction`` of each class (at least one) held out.

    Examples
    --------
    >>> train, val = stratified_split(np.repeat([0, 1], 10), 0.2, seed=0)
    >>> len(train), len(val), np.bincount(np.asarray([0, 1])[[0, 1]]).tolist()
    (16, 4, [1, 1])
    """
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == c))
        n_val = min(max(1, round(fraction * len(members))), len(members) - 1)
        val.append(members[:n_val])
        train.append(members[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def stratified_folds(targets: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A fold number per image, each class spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(targets), np.int64)
    offset = 0
    for c in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == c))
        fold[members] = (np.arange(len(members)) + offset) % folds
        offset += len(members)
    return fold


def normalise_images(images: np.ndarray, opts) -> np.ndarray:
    """Per-image rescaling before the CNN (percentile or standardise), float32 (N, H, W)."""
    images = np.asarray(images, np.float32)
    if opts.normalisation == "none":
        return images
    flat = images.reshape(len(images), -1)
    if opts.normalisation == "percentile":
        low, high = row_percentiles(flat, (opts.low_percentile, opts.high_percentile))
        scale = high - low
    else:
        low, scale = flat.mean(axis=1), flat.std(axis=1)
    scale = np.where(scale > 0, scale, 1.0)
    return ((images - low[:, None, None]) / scale[:, None, None]).astype(np.float32)


def row_percentiles(rows: np.ndarray, percentiles) -> np.ndarray:
    """``np.percentile(rows, percentiles, axis=1)`` (numpy's linear rule) of finite rows.

    One sort of each row (numpy's vectorised sort) and numpy's interpolation
    between the two order statistics around each percentile: several times
    faster than ``np.percentile``, whose selection runs row by row, and the
    same values.

    Examples
    --------
    >>> rows = np.random.default_rng(0).random((3, 101)).astype(np.float32)
    >>> bool((row_percentiles(rows, (1, 99.8)) == np.percentile(rows, [1, 99.8], axis=1)).all())
    True
    """
    ordered = np.sort(rows, axis=1)
    n = ordered.shape[1]
    out = []
    for q in percentiles:
        virtual = (n - 1) * (np.float64(q) / 100)  # numpy's "linear" method
        below = int(np.floor(virtual))
        above = min(below + 1, n - 1)
        gamma = virtual - below
        a, b = ordered[:, below], ordered[:, above]
        step = b - a
        # numpy's _lerp: from the nearer end, so a percentile never leaves [a, b]
        value = b - step * (1 - gamma) if gamma >= 0.5 else a + step * gamma
        out.append(value)
    return np.stack(out)


def feature_statistics(features: np.ndarray):
    """Mean and std of each measurement over the given rows (NaN ignored; std 0 → 1)."""
    with np.errstate(all="ignore"):
        mean = np.nanmean(features, axis=0)
        std = np.nanstd(features, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def standardise_features(features: np.ndarray, mean, std) -> np.ndarray:
    """Standardised measurements; a missing one (no nucleus found) becomes the mean, 0."""
    out = (features - mean) / std
    return np.nan_to_num(out, nan=0.0).astype(np.float32)
