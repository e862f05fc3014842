"""Every automatic threshold side by side: its value, what it keeps per class, its Dice.

What *Try all methods* shows, and the thumbnails that let a biologist see why
two methods differ on the same nucleus. numpy and scikit-image only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..intensity import THRESHOLD_METHODS, auto_threshold
from . import threshold_mask
from .scores import pixel_scores

__all__ = ["THUMBNAIL", "MethodComparison", "compare_methods", "gallery", "outline", "thumbnail"]

#: A gallery thumbnail's longest side, in screen pixels: five classes fit a dock's width.
THUMBNAIL = 60
#: The most image pixels a thumbnail shows along a side: a larger image shows its centre.
CROP = 2 * THUMBNAIL


@dataclass(frozen=True)
class MethodComparison:
    """One method's threshold on pooled classes, and what ``x > t`` gives per class.

    ``threshold`` is None (and ``problem`` says why) when the method finds none.
    ``above``: each class's fraction of pixels above it; ``dice``: each class's
    pixel Dice against its ground truth, for the classes that have one.
    """

    method: str
    threshold: float | None
    above: dict[str, float] = field(default_factory=dict)
    dice: dict[str, float] = field(default_factory=dict)
    problem: str | None = None

    @property
    def mean_dice(self) -> float | None:
        return float(np.mean(list(self.dice.values()))) if self.dice else None


def compare_methods(
    stacks: Mapping[str, np.ndarray],
    truths: Mapping[str, np.ndarray] | None = None,
    methods: tuple[str, ...] = THRESHOLD_METHODS,
    polarity: str = "bright",
) -> list[MethodComparison]:
    """Each method's pooled threshold, each class's share above it, and its Dice.

    Parameters
    ----------
    stacks : mapping of str to array
        Class name to image or stack (the classes are pooled for the threshold).
    truths : mapping of str to array, optional
        Ground-truth masks or labels for some classes, the shape of their stack.
    methods : tuple of str
    polarity : {"bright", "dark"}
        Which side of the threshold is foreground, as in the dock.

    Returns
    -------
    list of MethodComparison, in ``methods`` order

    Examples
    --------
    >>> image = np.r_[np.full(60, 10), np.full(40, 200)].astype(np.uint8)
    >>> rows = compare_methods({"a": image}, {"a": image > 100}, methods=("otsu",))
    >>> rows[0].threshold, rows[0].above["a"], rows[0].dice["a"]
    (10.0, 0.4, 1.0)
    """
    truths = truths or {}
    rows = []
    for method in methods:
        try:
            t = auto_threshold(dict(stacks), method)
        except ValueError as exc:
            rows.append(MethodComparison(method, None, problem=str(exc)))
            continue
        above, dice = {}, {}
        for name, stack in stacks.items():
            mask = threshold_mask(np.asarray(stack), t, polarity=polarity)
            is_float = stack.dtype.kind == "f"
            finite = np.count_nonzero(np.isfinite(stack)) if is_float else stack.size
            above[name] = float(np.count_nonzero(mask) / finite) if finite else float("nan")
            truth = truths.get(name)
            if truth is not None and np.shape(truth) == np.shape(stack):
                dice[name] = pixel_scores(mask, truth)["dice"]
        rows.append(MethodComparison(method, float(t), above, dice))
    return rows


def outline(image: np.ndarray, mask: np.ndarray, color=(255, 220, 0)) -> np.ndarray:
    """An RGB thumbnail: ``image`` in grey (1–99.8 % contrast) with ``mask``'s outline.

    Parameters
    ----------
    image : 2D array
    mask : 2D array of bool, the shape of ``image``
    color : RGB of the outline

    Returns
    -------
    numpy.ndarray of uint8, shape ``(H, W, 3)``

    Examples
    --------
    >>> image = np.zeros((9, 9)); image[3:6, 3:6] = 1
    >>> rgb = outline(image, image > 0)
    >>> rgb.shape, rgb[3, 3].tolist(), rgb[4, 4].tolist()
    ((9, 9, 3), [255, 220, 0], [255, 255, 255])
    """
    from skimage.segmentation import find_boundaries

    values = np.asarray(image, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = np.percentile(finite, (1, 99.8)) if finite.size else (0.0, 1.0)
    scale = high - low if high > low else 1.0
    grey = np.clip((np.nan_to_num(values, nan=low) - low) / scale, 0, 1)
    rgb = np.repeat((grey * 255).astype(np.uint8)[..., None], 3, axis=2)
    rgb[find_boundaries(np.asarray(mask, bool), mode="inner")] = color
    return rgb


def thumbnail(
    image: np.ndarray, mask: np.ndarray, size: int = THUMBNAIL, crop: int = CROP
) -> tuple[np.ndarray, str]:
    """A gallery thumbnail: ``image`` and ``mask``'s outline at ``size`` pixels, and a note.

    A large image is cropped to its centre ``crop × crop`` pixels before it is scaled,
    and the outline is drawn at the thumbnail's own scale (one screen pixel wide).

    Returns
    -------
    rgb : numpy.ndarray of uint8, ``(h, w, 3)`` with ``max(h, w) == size``
    note : str
        What part of the image it shows ("" when all of it).

    Examples
    --------
    >>> image = np.zeros((512, 512)); image[240:270, 240:270] = 1
    >>> rgb, note = thumbnail(image, image > 0)
    >>> rgb.shape, note
    ((60, 60, 3), 'the centre 120 × 120 px of 512 × 512')
    >>> int((rgb == [255, 220, 0]).all(axis=2).sum()) > 40  # the outline, whole
    True
    """
    from skimage.transform import resize

    image, mask = np.asarray(image), np.asarray(mask, bool)
    height, width = image.shape
    h, w = min(height, crop), min(width, crop)
    top, left = (height - h) // 2, (width - w) // 2
    image, mask = image[top : top + h, left : left + w], mask[top : top + h, left : left + w]
    scale = size / max(h, w)
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    values = image.astype(np.float32)
    finite = values[np.isfinite(values)]
    values = np.where(np.isfinite(values), values, finite.min() if finite.size else 0.0)
    # area-averaged: on a 2:1 reduction a nucleus's edge stays where it was, and the
    # mask is the pixels at least half inside it, outlined at this scale: never specks
    small = resize(values, shape, order=1, anti_aliasing=scale < 1, preserve_range=True)
    small_mask = resize(mask.astype(np.float32), shape, order=1, anti_aliasing=scale < 1) >= 0.5
    note = f"the centre {w} × {h} px of {width} × {height}" if (h, w) != (height, width) else ""
    return outline(small, small_mask), note


def gallery(
    rows: list[MethodComparison], planes: Mapping[str, np.ndarray], polarity: str = "bright"
) -> tuple[dict[tuple[str, str], np.ndarray], dict[tuple[str, str], str]]:
    """Thumbnails by ``(method, class)`` of one image per class, each with its method's mask
    outlined, and a sentence for each (threshold, share above, Dice).

    Examples
    --------
    >>> image = np.zeros((8, 8), np.uint8); image[2:6, 2:6] = 200
    >>> rows = compare_methods({"a": image}, methods=("otsu",))
    >>> thumbnails, tips = gallery(rows, {"a": image})
    >>> thumbnails["otsu", "a"].shape, tips["otsu", "a"]
    ((60, 60, 3), "otsu on a: t = 0, 25.0% of the layer's pixels above")
    """
    thumbnails, tips = {}, {}
    for row in rows:
        if row.threshold is None:
            continue
        for name, plane in planes.items():
            mask = threshold_mask(plane, row.threshold, polarity=polarity).view(bool)
            thumbnails[row.method, name], note = thumbnail(plane, mask)
            dice = f", Dice {row.dice[name]:.2f}" if name in row.dice else ""
            share = f"{100 * row.above[name]:.1f}%" if name in row.above else "?"
            shown = f" (shown: {note})" if note else ""
            tips[row.method, name] = (
                f"{row.method} on {name}: t = {row.threshold:.5g}, "
                f"{share} of the layer's pixels above{dice}{shown}"
            )
    return thumbnails, tips
