"""Threshold segmentation, its improvements, and how well a segmentation scores.

:func:`segment` is the course's naive rule, exactly ``y = x > threshold``.
:func:`segment_nuclei` adds the simple improvements, each optional:

1. *Gaussian smoothing* (``sigma``) before thresholding, so noise does not speckle
   the mask; the threshold then applies to the smoothed image.
2. *Threshold rule* (``rule``): ``"global"`` uses one threshold for the whole
   stack (the given value, or ``method`` on all images pooled); ``"per_image"``
   computes ``method`` on each 2D image, which follows the brightness changing
   between images. The thresholds used are returned with ``return_thresholds``.
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

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .intensity import auto_threshold

__all__ = ["segment", "segment_band", "segment_nuclei", "segmentation_scores"]


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
    return np.asarray(image) > threshold


def segment_band(image: ArrayLike, low: float, high: float) -> np.ndarray:
    """Pixels inside a band of values: ``low < x <= high``."""
    image = np.asarray(image)
    return (image > low) & (image <= high)


def _foreground(image: np.ndarray, threshold: float, polarity: str) -> np.ndarray:
    if polarity == "bright":
        return image > threshold
    return image <= threshold  # NaN stays background either way


def segment_nuclei(
    image: ArrayLike,
    *,
    threshold: float | None = None,
    method: str = "otsu",
    rule: Literal["global", "per_image"] = "global",
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
        for every image and ``method`` and ``rule`` are ignored.
    method : str
        Automatic method (:data:`~napari_nuclei_edges.intensity.THRESHOLD_METHODS`)
        when no threshold is given.
    rule : {"global", "per_image"}
        One threshold for the whole stack, or one per 2D image.
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
    >>> labels = segment_nuclei(stack, rule="per_image", keep_centre=True)
    >>> labels.shape, labels.dtype, [int(im.max()) for im in labels]
    ((2, 80, 80), dtype('int32'), [1, 1])
    """
    from scipy import ndimage

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

    if sigma > 0:
        work = np.empty(stack.shape, np.float32)
        for i, plane in enumerate(stack):
            # sigma 0 along no axis: smooth within each image, never across the stack
            ndimage.gaussian_filter(plane.astype(np.float32), sigma, output=work[i])
    else:
        work = stack

    if threshold is not None:
        thresholds = np.full(len(stack), float(threshold))
    elif rule == "global":
        thresholds = np.full(len(stack), auto_threshold(work, method))
    else:
        thresholds = np.array([auto_threshold(plane, method) for plane in work])

    labels = np.zeros(stack.shape, np.int32)
    for i, plane in enumerate(work):
        labels[i] = _label_plane(
            _foreground(plane, thresholds[i], polarity),
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


# --------------------------------------------------------------------------- scores


def segmentation_scores(pred: ArrayLike, truth: ArrayLike, *, iou_match: float = 0.5) -> dict:
    """How well a segmentation matches the truth, by pixels and by objects.

    Parameters
    ----------
    pred, truth : array_like
        Masks (bool) or label images (int, 0 = background) of the same shape:
        one 2D image or a stack ``(..., H, W)``. Masks are labelled per 2D image
        for the object counts.
    iou_match : float
        A predicted object matches a true one when their intersection over union
        is above this; above 0.5, a match is one-to-one.

    Returns
    -------
    dict
        Pixel scores of the foreground: ``"dice"``, ``"iou"``, ``"precision"``,
        ``"recall"``, ``"f1"`` (equal to dice for pixels). Object counts over all
        images: ``"true_objects"``, ``"predicted_objects"``, ``"matched"`` (IoU >
        ``iou_match``), ``"split"`` (true objects covered by two or more
        predicted ones), ``"merged"`` (predicted objects covering two or more
        true ones), ``"missed"`` (true objects less than half covered),
        ``"spurious"`` (predicted objects less than half on true foreground).
        An empty prediction of an empty truth scores 1.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((10, 10), bool); truth[2:6, 2:6] = True
    >>> scores = segmentation_scores(truth, truth)
    >>> scores["dice"], scores["matched"]
    (1.0, 1)
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from truth shape {truth.shape}.")
    if pred.ndim < 2:
        raise ValueError(f"segmentation_scores needs 2D images or stacks, not shape {pred.shape}.")
    p, t = pred > 0, truth > 0
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    scores = {
        "dice": ratio(2 * tp, 2 * tp + fp + fn),
        "iou": ratio(tp, tp + fp + fn),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
    }
    scores["f1"] = scores["dice"]
    counts = dict.fromkeys(
        ("true_objects", "predicted_objects", "matched", "split", "merged", "missed", "spurious"),
        0,
    )
    for pred_plane, truth_plane in zip(
        pred.reshape(-1, *pred.shape[-2:]), truth.reshape(-1, *truth.shape[-2:]), strict=True
    ):
        for key, value in _object_counts(pred_plane, truth_plane, iou_match).items():
            counts[key] += value
    scores.update(counts)
    return scores


def _as_labels(plane: np.ndarray) -> np.ndarray:
    from skimage.measure import label
    from skimage.segmentation import relabel_sequential

    if plane.dtype == bool:
        return label(plane, connectivity=2)
    # consecutive ids keep the overlap table small
    return relabel_sequential(np.where(plane > 0, plane, 0))[0]


def _object_counts(pred: np.ndarray, truth: np.ndarray, iou_match: float) -> dict[str, int]:
    pred_labels, truth_labels = _as_labels(pred), _as_labels(truth)
    n_pred, n_true = int(pred_labels.max()) + 1, int(truth_labels.max()) + 1
    # overlap[t, p]: pixels shared by true object t and predicted object p (0 = background)
    overlap = np.bincount(
        (truth_labels.astype(np.int64) * n_pred + pred_labels).ravel(), minlength=n_true * n_pred
    ).reshape(n_true, n_pred)
    true_area, pred_area = overlap.sum(1), overlap.sum(0)
    inner = overlap[1:, 1:].astype(float)
    union = true_area[1:, None] + pred_area[None, 1:] - inner
    iou = np.divide(inner, union, out=np.zeros_like(inner), where=union > 0)
    pred_inside_true = inner >= 0.5 * pred_area[None, 1:]
    true_inside_pred = inner >= 0.5 * true_area[1:, None]
    return {
        "true_objects": n_true - 1,
        "predicted_objects": n_pred - 1,
        "matched": int(np.count_nonzero(iou > iou_match)),
        "split": int(np.count_nonzero(pred_inside_true.sum(1) >= 2)),
        "merged": int(np.count_nonzero(true_inside_pred.sum(0) >= 2)),
        "missed": int(np.count_nonzero(inner.sum(1) < 0.5 * true_area[1:])),
        "spurious": int(np.count_nonzero(inner.sum(0) < 0.5 * pred_area[1:])),
    }
