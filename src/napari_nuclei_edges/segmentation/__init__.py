"""Threshold segmentation, its improvements, and how well a segmentation scores.

:func:`segment` is the course's naive rule, exactly ``y = x > threshold``.
:func:`segment_nuclei` adds the simple improvements, each optional:

1. *Gaussian smoothing* (``sigma``) before thresholding, so noise does not speckle
   the mask; the threshold then applies to the smoothed image.
2. *Threshold rule* (``rule``): ``"per_image"`` (the default) computes
   ``method`` on each 2D image, which follows the brightness changing between
   images; ``"global"`` uses one threshold for the whole stack (``method`` on
   all images pooled). A ``threshold`` given by hand is used as set for every
   image. The thresholds used are returned with ``return_thresholds``.
3. *Opening* (``opening`` radius in pixels) removes thin bridges and specks.
4. *Hole filling* (``fill_holes``) closes dark holes inside nuclei.
5. *Size filter* (``min_size`` pixels) drops objects smaller than a nucleus.
6. *Splitting touching nuclei* (``split_touching``): a watershed on the distance
   transform, seeded at its maxima ``min_distance`` pixels apart.
7. *Centre only* (``keep_centre``): keep the object under (or nearest to) the
   image centre, as the reference images centre one nucleus and cut neighbours.

Labelling is per 2D image: objects never join across the images of a stack, and
labels start at 1 in every image.

numpy, scipy and scikit-image only: no Qt, no napari.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ..intensity import auto_threshold

__all__ = [
    "per_image_thresholds",
    "segment",
    "segment_band",
    "segment_nuclei",
    "segmentation_scores",
    "smooth",
    "threshold_mask",
]


def segment(image: ArrayLike, threshold: float) -> np.ndarray:
    """The naive segmentation: ``y = 1 if x > threshold else 0``, exactly.

    Parameters
    ----------
    image : array_like
        Any shape, any real dtype. NaN is never foreground.
    threshold : float

    Returns
    -------
    numpy.ndarray of bool, the shape of ``image``

    Examples
    --------
    >>> segment([[10, 80], [81, 200]], 80).astype(int).tolist()
    [[0, 0], [1, 1]]
    """
    return threshold_mask(np.asarray(image), threshold).view(bool)


def segment_band(image: ArrayLike, low: float, high: float) -> np.ndarray:
    """Pixels inside a band of values: ``low < x <= high``.

    Examples
    --------
    >>> segment_band([1, 5, 9], 1, 5).tolist()
    [False, True, False]
    """
    return threshold_mask(np.asarray(image), low, high).view(bool)


def threshold_mask(
    data,
    threshold,
    upper: float | None = None,
    polarity: Literal["bright", "dark"] = "bright",
    out: np.ndarray | None = None,
):
    """The threshold rule of every mask the plugin makes, as uint8 (0/1).

    Exactly ``x > threshold`` (``threshold`` a number, or an array that
    broadcasts against ``data``: one per image); ``threshold < x <= upper`` for a band; the
    complement of either for dark objects. NaN is never foreground. Lazy
    (dask) data gives a lazy mask, so napari computes only the slice it shows;
    numpy data is written into ``out`` when given (a preview updated in place).

    Examples
    --------
    >>> threshold_mask(np.array([0, 5, 10, np.nan]), 4).tolist()
    [0, 1, 1, 0]
    >>> threshold_mask(np.array([0, 5, 10, np.nan]), 4, polarity="dark").tolist()
    [1, 0, 0, 0]
    """
    if polarity not in ("bright", "dark"):
        raise ValueError(f"polarity must be 'bright' or 'dark', not {polarity!r}.")
    if not isinstance(data, np.ndarray) and hasattr(data, "map_blocks"):
        mask = data > threshold if upper is None else (data > threshold) & (data <= upper)
        if polarity == "dark":
            mask = ~mask & (data == data)  # NaN != NaN: never foreground
        return mask.astype(np.uint8)
    data = np.asarray(data)
    out = np.empty(data.shape, np.uint8) if out is None else out
    flags = out.view(bool)
    _greater(data, threshold, flags)
    if upper is not None:
        above_upper = np.empty_like(flags)
        _greater(data, upper, above_upper)
        flags &= ~above_upper
    if polarity == "dark":
        np.logical_not(flags, out=flags)
        if data.dtype.kind == "f":
            flags &= ~np.isnan(data)  # NaN is never foreground
    return out


def _greater(data: np.ndarray, threshold, out: np.ndarray) -> None:
    """``out = data > threshold``; for integers against an integer, 4× faster than a float.

    ``threshold`` may be an array broadcasting against ``data`` (one per image).
    """
    if data.dtype.kind not in "uib":
        np.greater(data, threshold, out=out)
        return
    if data.dtype.kind == "b":
        data = data.view(np.uint8)
    if np.ndim(threshold):
        np.greater(data, np.floor(threshold), out=out)  # x > t exactly when x > floor(t)
        return
    info = np.iinfo(data.dtype)
    floor = math.floor(threshold)  # integer x > t exactly when x > floor(t)
    if floor < info.min:
        out.fill(True)
    elif floor >= info.max:
        out.fill(False)
    else:
        np.greater(data, data.dtype.type(floor), out=out)


def smooth(images, sigma: float):
    """Gaussian smoothing within each 2D image of a stack, never across images; float32.

    The first step of :func:`segment_nuclei`, and the Sobel dock's pre-filter.
    Lazy (dask) stacks stay lazy, one whole image per block.

    Examples
    --------
    >>> stack = np.zeros((2, 5, 5)); stack[0, 2, 2] = 1
    >>> smoothed = smooth(stack, 1.0)
    >>> smoothed.dtype, float(smoothed[1].max())  # the second image stays dark
    (dtype('float32'), 0.0)
    """
    from scipy import ndimage

    sigmas = (0,) * (images.ndim - 2) + (sigma, sigma)
    if not isinstance(images, np.ndarray) and hasattr(images, "map_blocks"):
        whole = images.rechunk({images.ndim - 2: -1, images.ndim - 1: -1})
        return whole.map_blocks(
            lambda block: ndimage.gaussian_filter(block.astype(np.float32), sigmas),
            dtype=np.float32,
        )
    images = np.asarray(images)
    if images.dtype == bool:
        images = images.view(np.uint8)
    if images.dtype.itemsize <= 2 and images.dtype.kind in "ui":
        # exact in float32 already: filtered straight into float32, no converted copy
        return ndimage.gaussian_filter(images, sigmas, output=np.float32)
    return ndimage.gaussian_filter(images.astype(np.float32, copy=False), sigmas)


def segment_nuclei(
    image: ArrayLike,
    *,
    threshold: float | None = None,
    method: str = "otsu",
    rule: Literal["per_image", "global"] = "per_image",
    polarity: Literal["bright", "dark"] = "bright",
    sigma: float = 1.0,
    opening: int = 0,
    fill_holes: bool = True,
    min_size: int = 20,
    split_touching: bool | Literal["auto"] = "auto",
    min_distance: int | None = None,
    keep_centre: bool = False,
    return_thresholds: bool = False,
    if_no_threshold: Literal["raise", "empty"] = "raise",
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Segment nuclei with a threshold and the simple improvements.

    Parameters
    ----------
    image : array_like
        A 2D image or a stack ``(..., H, W)``; each 2D image is segmented and
        labelled on its own.
    threshold : float, optional
        The threshold, in the units of the (smoothed) image. Given, it is used
        as set for every image and ``method`` and ``rule`` are ignored.
    method : str
        Automatic method (:data:`~napari_nuclei_edges.intensity.THRESHOLD_METHODS`)
        when no threshold is given.
    rule : {"per_image", "global"}
        One threshold per 2D image (default), or one for the whole stack.
        Per image is the default because brightness varies between images more
        than between nucleus and background: on the 250 reference images one
        pooled Otsu threshold leaves 34 images (many of them interphase) with no
        object at all, one per image leaves none.
    polarity : {"bright", "dark"}
        Nuclei brighter (``x > t``) or darker (``x <= t``) than background.
    sigma : float
        Gaussian smoothing in pixels before thresholding; 0 for none.
    opening : int
        Radius of a binary opening (disk); 0 for none.
    fill_holes : bool
        Fill holes inside objects.
    min_size : int
        Remove objects with fewer pixels; 0 keeps all.
    split_touching : bool or "auto"
        Split touching nuclei: a watershed of each concave object's distance
        transform weighed by its intensities (the seam between two nuclei is
        dim), sized from the image (``_split.split_touching``). ``"auto"`` (the
        default) splits them in crowded images only (10 objects or more), and
        leaves the course's crops (one nucleus and its neighbours) whole;
        ``benchmarks.segmentation_table`` gives the figures.
    min_distance : int, optional
        Smallest distance between two nucleus centres when splitting; by
        default half the typical nucleus radius measured in each image.
    keep_centre : bool
        Keep only the object at (or nearest to) the centre of each image.
    return_thresholds : bool
        Also return the threshold used for each 2D image.
    if_no_threshold : {"raise", "empty"}
        What to do with an image on which ``method`` finds no threshold (a
        constant image, one without a finite pixel): a ValueError with a
        sentence (default), or no object in that image and NaN as its
        threshold, the other images segmented as usual.

    Returns
    -------
    labels : numpy.ndarray of int32
        The shape of ``image``; 0 is background, labels start at 1 per image.
    thresholds : numpy.ndarray of float
        With ``return_thresholds``: shape ``image.shape[:-2]``.

    Raises
    ------
    ValueError
        For fewer than 2 dimensions, an empty image, an unknown rule or
        polarity, or (unless ``if_no_threshold="empty"``) an image on which the
        method finds no threshold.

    Notes
    -----
    The whole stack goes through each step at once (``_stack``: per-image
    thresholds from one count, hole filling and labelling with structuring
    elements that never reach across images), with the results of a loop over
    the images; only ``split_touching`` runs image by image.

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> stack = synthetic_nuclei(n_per_class=2)["metaphase"]
    >>> labels = segment_nuclei(stack, keep_centre=True)
    >>> labels.shape, labels.dtype, [int(im.max()) for im in labels]
    ((2, 80, 80), dtype('int32'), [1, 1])
    """
    from ._stack import centre_object, label_stack
    from ._stack import fill_holes as fill_stack_holes

    image = np.asarray(image)
    if image.ndim < 2 or image.size == 0:
        raise ValueError(
            f"segment_nuclei needs a 2D image or a stack of them, not shape {image.shape}."
        )
    if rule not in ("global", "per_image"):
        raise ValueError(f"rule must be 'global' or 'per_image', not {rule!r}.")
    if polarity not in ("bright", "dark"):
        raise ValueError(f"polarity must be 'bright' or 'dark', not {polarity!r}.")
    if split_touching not in (True, False, "auto"):
        raise ValueError(f"split_touching must be True, False or 'auto', not {split_touching!r}.")
    if if_no_threshold not in ("raise", "empty"):
        raise ValueError(f"if_no_threshold must be 'raise' or 'empty', not {if_no_threshold!r}.")
    if image.dtype == bool:
        image = image.view(np.uint8)
    stack = image.reshape(-1, *image.shape[-2:])

    work = smooth(stack, sigma) if sigma > 0 else stack

    if threshold is not None:
        thresholds = np.full(len(stack), float(threshold))
    elif rule == "global":
        thresholds = np.full(len(stack), _auto_or_nan(work, method, if_no_threshold))
    else:
        thresholds = per_image_thresholds(work, method, if_no_threshold)

    mask = _stack_mask(work, thresholds, polarity)
    del work  # the smoothed copy (4 bytes a pixel) is not needed by the steps below
    if opening > 0:
        from scipy import ndimage
        from skimage.morphology import disk

        structure = np.zeros((3, 2 * opening + 1, 2 * opening + 1), bool)
        structure[1] = disk(opening)  # within each image only
        mask = ndimage.binary_opening(mask, structure=structure)
    if fill_holes:
        mask = fill_stack_holes(mask)
    labels, _ = label_stack(mask, min_size=min_size)
    del mask  # the labels say it all now
    auto = split_touching == "auto"
    if split_touching:
        from ._split import split_touching as split

        for plane, raw in zip(labels, stack, strict=True):
            if plane.any():  # split in place; the seams are dim where nuclei are bright
                split(plane > 0, min_distance, crowded_only=auto, labels=plane, image=raw,
                      bright=polarity == "bright")  # fmt: skip
    if keep_centre:
        chosen = centre_object(labels)[:, None, None]
        labels = ((labels == chosen) & (chosen > 0)).astype(np.int32)
    labels = labels.reshape(image.shape)
    if return_thresholds:
        return labels, thresholds.reshape(image.shape[:-2])
    return labels


def _stack_mask(work: np.ndarray, thresholds: np.ndarray, polarity: str) -> np.ndarray:
    """:func:`threshold_mask` of each image with its own threshold (none where NaN), bool."""
    mask = threshold_mask(work, thresholds[:, None, None], polarity=polarity).view(bool)
    mask[np.isnan(thresholds)] = False  # no threshold: no object
    return mask


def per_image_thresholds(
    stack: np.ndarray, method: str = "otsu", if_no_threshold: str = "raise"
) -> np.ndarray:
    """``method``'s threshold of each 2D image of a ``(N, H, W)`` stack.

    Otsu (the default) for the whole stack at once
    (:func:`~napari_nuclei_edges.segmentation._stack.otsu_per_image`), any other
    method image by image; each equals ``auto_threshold(image, method)``.

    Parameters
    ----------
    stack : numpy.ndarray
        ``(N, H, W)`` images.
    method : str
        One of :data:`~napari_nuclei_edges.intensity.THRESHOLD_METHODS`.
    if_no_threshold : {"raise", "empty"}
        An image without a threshold (constant, no finite pixel, no two peaks
        for ``minimum``) raises ``auto_threshold``'s ValueError, or gets NaN.

    Examples
    --------
    >>> stack = np.zeros((2, 4, 4), np.uint8); stack[0, :2] = 200; stack[1] = 7
    >>> per_image_thresholds(stack, if_no_threshold="empty").tolist()
    [0.0, nan]
    """
    from ._stack import otsu_per_image

    if method == "otsu":
        thresholds = otsu_per_image(stack)
    else:
        thresholds = np.array([_auto_or_nan(plane, method, "empty") for plane in stack])
    missing = np.flatnonzero(np.isnan(thresholds))
    if missing.size and if_no_threshold == "raise":
        try:
            auto_threshold(stack[missing[0]], method)  # its own sentence
        except ValueError as exc:
            where = f"Image {missing[0]} of the stack: " if len(stack) > 1 else ""
            raise ValueError(f"{where}{exc}") from exc
    return thresholds


def _auto_or_nan(data, method: str, if_no_threshold: str) -> float:
    try:
        return auto_threshold(data, method)
    except ValueError:
        if if_no_threshold == "raise":
            raise
        return float("nan")


# scores live in their own module; the public path stays ``segmentation.segmentation_scores``
from .scores import segmentation_scores  # noqa: E402
