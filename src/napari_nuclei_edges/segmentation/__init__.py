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
    threshold: float,
    upper: float | None = None,
    polarity: Literal["bright", "dark"] = "bright",
    out: np.ndarray | None = None,
):
    """The threshold rule of every mask the plugin makes, as uint8 (0/1).

    Exactly ``x > threshold``; ``threshold < x <= upper`` for a band; the
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


def _greater(data: np.ndarray, threshold: float, out: np.ndarray) -> None:
    """``out = data > threshold``; for integers against an integer, 4× faster than a float."""
    if data.dtype.kind not in "uib":
        np.greater(data, threshold, out=out)
        return
    if data.dtype.kind == "b":
        data = data.view(np.uint8)
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
    split_touching: bool = False,
    min_distance: int = 7,
    keep_centre: bool = False,
    return_thresholds: bool = False,
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
    split_touching : bool
        Split touching nuclei by a distance-transform watershed.
    min_distance : int
        Smallest distance between two nucleus centres when splitting.
    keep_centre : bool
        Keep only the object at (or nearest to) the centre of each image.
    return_thresholds : bool
        Also return the threshold used for each 2D image.

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
        polarity, or an image on which the method finds no threshold.

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> stack = synthetic_nuclei(n_per_class=2)["metaphase"]
    >>> labels = segment_nuclei(stack, keep_centre=True)
    >>> labels.shape, labels.dtype, [int(im.max()) for im in labels]
    ((2, 80, 80), dtype('int32'), [1, 1])
    """
    image = np.asarray(image)
    if image.ndim < 2 or image.size == 0:
        raise ValueError(
            f"segment_nuclei needs a 2D image or a stack of them, not shape {image.shape}."
        )
    if rule not in ("global", "per_image"):
        raise ValueError(f"rule must be 'global' or 'per_image', not {rule!r}.")
    if polarity not in ("bright", "dark"):
        raise ValueError(f"polarity must be 'bright' or 'dark', not {polarity!r}.")
    if image.dtype == bool:
        image = image.view(np.uint8)
    stack = image.reshape(-1, *image.shape[-2:])

    work = smooth(stack, sigma) if sigma > 0 else stack

    if threshold is not None:
        thresholds = np.full(len(stack), float(threshold))
    elif rule == "global":
        thresholds = np.full(len(stack), auto_threshold(work, method))
    else:
        thresholds = np.array([auto_threshold(plane, method) for plane in work])

    labels = np.zeros(stack.shape, np.int32)
    for i, plane in enumerate(work):
        labels[i] = _label_plane(
            threshold_mask(plane, thresholds[i], polarity=polarity).view(bool),
            opening=opening,
            fill_holes=fill_holes,
            min_size=min_size,
            split_touching=split_touching,
            min_distance=min_distance,
            keep_centre=keep_centre,
        )
    labels = labels.reshape(image.shape)
    if return_thresholds:
        return labels, thresholds.reshape(image.shape[:-2])
    return labels


def _label_plane(
    mask: np.ndarray,
    *,
    opening: int,
    fill_holes: bool,
    min_size: int,
    split_touching: bool,
    min_distance: int,
    keep_centre: bool,
) -> np.ndarray:
    from scipy import ndimage
    from skimage.measure import label
    from skimage.segmentation import relabel_sequential

    if opening > 0:
        from skimage.morphology import disk

        mask = ndimage.binary_opening(mask, structure=disk(opening))
    if fill_holes:
        mask = ndimage.binary_fill_holes(mask)
    labels = label(mask, connectivity=2).astype(np.int32)
    if min_size > 0 and labels.max():
        small = np.bincount(labels.ravel()) < min_size
        small[0] = False
        labels[small[labels]] = 0
    if split_touching and labels.any():
        labels = _split_touching(labels > 0, min_distance)
    if keep_centre and labels.any():
        return _keep_centre(labels)
    return relabel_sequential(labels)[0].astype(np.int32)


def _split_touching(mask: np.ndarray, min_distance: int) -> np.ndarray:
    from scipy import ndimage
    from skimage.feature import peak_local_max
    from skimage.measure import label
    from skimage.segmentation import watershed

    distance = ndimage.distance_transform_edt(mask)
    components = label(mask, connectivity=2)
    peaks = peak_local_max(
        distance, min_distance=max(1, min_distance), labels=components, exclude_border=False
    )
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # a component without a peak (too thin) keeps its own marker
    unmarked = np.setdiff1d(np.unique(components[mask]), np.unique(components[markers > 0]))
    for index, component in enumerate(unmarked, start=len(peaks) + 1):
        markers[components == component] = index
    return watershed(-distance, markers, mask=mask).astype(np.int32)


def _keep_centre(labels: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    h, w = labels.shape
    centre = labels[h // 2, w // 2]
    if centre == 0:
        # nearest labelled pixel to the centre
        _, (rows, cols) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
        centre = labels[rows[h // 2, w // 2], cols[h // 2, w // 2]]
    return (labels == centre).astype(np.int32)


# scores live in their own module; the public path stays ``segmentation.segmentation_scores``
from .scores import segmentation_scores  # noqa: E402
