"""The training and validation sets of a run: normalised images, targets, held-out tiles.

numpy and scikit-image only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..classification._range import intensity_range
from ._data import (
    IGNORE,
    check_images,
    check_labels,
    held_out_tiles,
    instance_labels,
    normalise,
    pad_to,
    targets,
    tile_boxes,
)
from .options import SegmenterOptions

#: Training pixels kept to draw patch centres from (a strided subset beyond).
MAX_CENTRES = 1 << 22


@dataclass
class Validation:
    """What the network is scored on: images mirrored by the margin, targets, boxes."""

    padded: np.ndarray  # (N, H + 2m, W + 2m) normalised images, mirrored by the margin
    target: np.ndarray  # (N, H, W) int8 classes (IGNORE where not labelled)
    truth: np.ndarray | None  # (N, H, W) instance labels (None for scribbles)
    boxes: list  # (image, rows, columns) of each validation tile
    own_images: bool = False  # validated on images given apart (not tiles of the training's)


@dataclass
class Prepared:
    """The training set: normalised images and targets, at least a patch a side."""

    images: np.ndarray  # (N, H, W) float32, normalised per image
    target: np.ndarray  # (N, H, W) int8, IGNORE where not labelled or held out
    centres: np.ndarray  # flat indices of training pixels (patches are drawn around them)
    validation: Validation | None
    intensity: dict

    @property
    def labelled_pixels(self) -> int:
        return int(np.count_nonzero(self.target != IGNORE))


def prepare(images, labels, validation, opts: SegmenterOptions, rng) -> Prepared:
    """Check the inputs and build the training and validation sets.

    ``validation``: ``(images, labels)`` (labelled like the training labels), a
    fraction of the labelled tiles to hold out, or None (the options'
    ``validation_fraction``); 0 validates on nothing.
    """
    raw = check_images(images)
    image, label, target = _labelled(raw, labels, np.shape(images), opts, "")
    tile = max(opts.factor, opts.patch_size // 2)
    if isinstance(validation, tuple | list):
        if len(validation) != 2:
            raise ValueError("validation must be (images, labels), a fraction or None.")
        v_raw = check_images(validation[0], "The validation images")
        v_image, v_label, v_target = _labelled(v_raw, validation[1], np.shape(validation[0]),
                                               opts, "validation ")  # fmt: skip
        boxes = tile_boxes(v_image.shape, opts.tile)
        val = _validation(v_image, v_target, v_label, boxes, opts)
        val.own_images = True
    else:
        fraction = opts.validation_fraction if validation is None else float(validation)
        if not 0 <= fraction < 1:
            raise ValueError(f"validation must be a fraction from 0 to 1, not {validation!r}.")
        boxes = held_out_tiles(target, fraction, tile, rng) if fraction else []
        val = _validation(image, target.copy(), label, boxes, opts) if boxes else None
        for box in boxes:
            target[box] = IGNORE
    image = pad_to(image, opts.patch_size)
    target = pad_to(target, opts.patch_size, IGNORE)
    centres = np.flatnonzero(target != IGNORE)
    centres = centres[:: max(1, -(-len(centres) // MAX_CENTRES))]
    dtype = getattr(images, "dtype", None)
    return Prepared(image, target, centres, val, intensity_range(raw, dtype))


def _labelled(raw, labels, shape, opts: SegmenterOptions, which: str):
    """Normalised images, instance labels (None for scribbles) and targets."""
    checked = check_labels(labels, shape, opts.sparse, f"The {which}labels")
    truth = None if opts.sparse else instance_labels(checked)
    target = targets(checked if opts.sparse else truth, opts.sparse, opts.boundary)
    low, high = opts.low_percentile, opts.high_percentile
    image = np.stack([normalise(plane, low, high) for plane in raw])
    return image, truth, target


def _validation(image, target, truth, boxes, opts: SegmenterOptions) -> Validation:
    m = opts.margin
    padded = np.pad(image, ((0, 0), (m, m), (m, m)), mode="reflect")
    return Validation(padded, target, truth, boxes)
