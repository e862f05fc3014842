"""How well a segmentation matches the truth, by pixels and by objects.

numpy and scikit-image only: no Qt, no napari.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["is_instance_labels", "pixel_scores", "segmentation_scores"]


def pixel_scores(pred: ArrayLike, truth: ArrayLike) -> dict[str, float]:
    """Dice, IoU, precision and recall of the foreground (``> 0``), pixel by pixel.

    The cheap part of :func:`segmentation_scores`, for comparing many
    thresholds. An empty prediction of an empty truth scores 1.

    Examples
    --------
    >>> pixel_scores([0, 1, 1, 0], [0, 1, 0, 0])["dice"]
    0.6666666666666666
    """
    p, t = np.asarray(pred) > 0, np.asarray(truth) > 0
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    return {
        "dice": ratio(2 * tp, 2 * tp + fp + fn),
        "iou": ratio(tp, tp + fp + fn),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
    }


def segmentation_scores(pred: ArrayLike, truth: ArrayLike, *, iou_match: float = 0.5) -> dict:
    """How well a segmentation matches the truth, by pixels and by objects.

    Parameters
    ----------
    pred, truth : array_like
        Masks or label images (0 = background) of the same shape: one 2D image
        or a stack ``(..., H, W)``. Each is read as instance labels, used as they
        are, when any of its 2D images holds two or more positive values; else it
        is a mask (bool, 0/1, 0/255…) and each 2D image's connected regions are
        its objects.
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

    A 0/1 mask of two separate nuclei holds two objects:

    >>> mask = np.zeros((10, 10), np.uint8); mask[1:4, 1:4] = mask[6:9, 6:9] = 1
    >>> segmentation_scores(mask, mask)["true_objects"]
    2
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from truth shape {truth.shape}.")
    if pred.ndim < 2:
        raise ValueError(f"segmentation_scores needs 2D images or stacks, not shape {pred.shape}.")
    scores = pixel_scores(pred, truth)
    scores["f1"] = scores["dice"]
    counts = dict.fromkeys(
        ("true_objects", "predicted_objects", "matched", "split", "merged", "missed", "spurious"),
        0,
    )
    pred_planes, truth_planes = _planes(pred), _planes(truth)
    pred_is_mask, truth_is_mask = _is_mask(pred_planes), _is_mask(truth_planes)
    for pred_plane, truth_plane in zip(pred_planes, truth_planes, strict=True):
        pred_labels = _as_labels(pred_plane, pred_is_mask)
        truth_labels = _as_labels(truth_plane, truth_is_mask)
        for key, value in _object_counts(pred_labels, truth_labels, iou_match).items():
            counts[key] += value
    scores.update(counts)
    return scores


def _planes(array: np.ndarray) -> np.ndarray:
    return array.reshape(-1, *array.shape[-2:])


def is_instance_labels(array: ArrayLike) -> bool:
    """Whether ``array`` holds instance labels: two or more positive values in one of its
    2D images. Otherwise it is a mask, whose objects are its connected regions.

    Examples
    --------
    >>> is_instance_labels([[0, 1], [1, 0]]), is_instance_labels([[0, 1], [2, 0]])
    (False, True)
    """
    array = np.asarray(array)
    return array.ndim >= 2 and not _is_mask(_planes(array))


def _is_mask(planes: np.ndarray) -> bool:
    if planes.dtype == bool:
        return True
    for plane in planes:
        positive = plane[plane > 0]
        # one positive value per image, or none: a mask (a 0/1 or 0/255 truth is one)
        if positive.size and np.any(positive != positive[0]):
            return False
    return True


def _as_labels(plane: np.ndarray, is_mask: bool) -> np.ndarray:
    from skimage.measure import label
    from skimage.segmentation import relabel_sequential

    if is_mask:
        return label(plane > 0, connectivity=2)
    # consecutive ids keep the overlap table small
    return relabel_sequential(np.where(plane > 0, plane, 0))[0]


def _object_counts(
    pred_labels: np.ndarray, truth_labels: np.ndarray, iou_match: float
) -> dict[str, int]:
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
