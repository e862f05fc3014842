"""Classify every nucleus of a field: one crop per nucleus, as the training crops were made.

A stage classifier learns from crops of one nucleus in the middle (80 × 80 on the
course's data). A user's field holds hundreds: :func:`classify_nuclei` finds them
(or takes the user's labels), cuts each one out centred at the model's crop size,
and classifies the crops. No Qt, no napari.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from ._range import range_caveat

__all__ = ["classify_nuclei", "nucleus_crops"]


def nucleus_crops(image: np.ndarray, labels: np.ndarray, size: tuple[int, int]):
    """One ``size`` crop per nucleus of ``labels``, centred on its centroid.

    Beyond the image's border a crop is filled with the background's median (as a
    dark background, not a mirror that would add nuclei).

    Returns
    -------
    crops : numpy.ndarray, (N, h, w), ``image``'s dtype
    own : numpy.ndarray of int32, (N, h, w)
        Each crop's own nucleus (1) as the field's labels draw it; neighbours are 0.
    table : dict of str to numpy.ndarray
        ``label``, ``centroid_y``, ``centroid_x``, and ``larger_than_crop`` (True
        where the nucleus does not fit in its crop).

    Examples
    --------
    >>> image = np.zeros((100, 100), np.uint8); image[40:50, 10:20] = 200
    >>> labels = (image > 0).astype(np.int32)
    >>> crops, own, table = nucleus_crops(image, labels, (32, 32))
    >>> crops.shape, table["centroid_y"].tolist(), int(crops[0, 16, 16])
    ((1, 32, 32), [44.5], 200)
    """
    from skimage.measure import regionprops

    h, w = size
    regions = regionprops(labels)
    outside = image[labels == 0]
    fill = np.median(outside) if outside.size else image.min()
    padded = np.pad(image, ((h, h), (w, w)), constant_values=fill.astype(image.dtype))
    crops = np.empty((len(regions), h, w), image.dtype)
    own = np.zeros((len(regions), h, w), np.int32)  # each crop's own nucleus, labelled 1
    labels_padded = np.pad(labels, ((h, h), (w, w)))
    centres = np.empty((len(regions), 2))
    too_large = np.zeros(len(regions), bool)
    for i, region in enumerate(regions):
        cy, cx = region.centroid
        top, left = round(cy) - h // 2 + h, round(cx) - w // 2 + w
        crops[i] = padded[top : top + h, left : left + w]
        own[i] = labels_padded[top : top + h, left : left + w] == region.label
        centres[i] = cy, cx
        bottom_row, right_col = region.bbox[2] - region.bbox[0], region.bbox[3] - region.bbox[1]
        too_large[i] = bottom_row > h or right_col > w
    table = {
        "label": np.array([r.label for r in regions], np.int32),
        "centroid_y": centres[:, 0],
        "centroid_x": centres[:, 1],
        "larger_than_crop": too_large,
    }
    return crops, own, table


def classify_nuclei(model, image: ArrayLike, labels: ArrayLike | None = None) -> dict:
    """The stage of every nucleus of a field (or of any image holding several).

    Parameters
    ----------
    model : Classifier
        A trained classifier (``ClassifierStep.model`` or ``load_classifier``).
    image : array_like
        One 2D image, any size.
    labels : array_like of int, optional
        Its nuclei (0 = background; a mask is split into its connected objects).
        Without them the image is segmented with ``segment_nuclei``'s defaults
        (touching nuclei split in a crowded image).

    Returns
    -------
    dict of str to numpy.ndarray
        One row per nucleus: ``label``, ``centroid_y``, ``centroid_x``, ``stage``,
        ``probability`` (of that stage), ``p_<class>`` (each class's),
        ``larger_than_crop``, and the measurements the model used (for a model on
        measurements).

    Raises
    ------
    ValueError
        For an image that is not 2D, or labels of another shape.

    Warns
    -----
    UserWarning
        When the image's dtype or intensities are unlike the training images'.

    Examples
    --------
    >>> table = classify_nuclei(model, field)  # doctest: +SKIP
    >>> table["stage"][:3]  # doctest: +SKIP
    array(['interphase', 'interphase', 'metaphase'], dtype=object)
    """
    table, caveat = classified_nuclei(model, image, labels)
    if caveat:
        warnings.warn(caveat, UserWarning, stacklevel=2)
    return table


def classified_nuclei(model, image: ArrayLike, labels: ArrayLike | None = None):
    """:func:`classify_nuclei`'s table, and its caveat as a sentence ('' for images like
    the training ones) instead of a warning."""
    from ..segmentation import segment_nuclei

    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(
            f"classify_nuclei takes one 2D image, not shape {image.shape}: "
            "classify a stack of crops with predict()."
        )
    if labels is None:
        labels = segment_nuclei(image)
    labels = np.asarray(labels)
    if labels.shape != image.shape:
        raise ValueError(f"labels have shape {labels.shape}, the image {image.shape}.")
    if labels.dtype == bool or labels.max() <= 1:
        from skimage.measure import label

        labels = label(labels > 0, connectivity=2)
    crops, own, table = nucleus_crops(image, labels.astype(np.int32, copy=False), model.image_size)
    features = None
    if model.options.uses_features and len(crops):
        from .measurements import measure

        # each nucleus measured as the field's labels draw it (a crop's own segmentation
        # would join it to the neighbours it touches)
        measured = measure(crops, own)
        table.update({name: measured[name] for name in model.feature_names})
        features = np.stack([measured[n] for n in model.feature_names], 1).astype(np.float32)
    classes = np.asarray(model.class_names, dtype=object)
    p = model.probabilities(crops, features) if len(crops) else np.zeros((0, len(classes)))
    finite = np.isfinite(p).all(1)
    table["stage"] = np.where(finite, classes[np.nan_to_num(p).argmax(1)], "")
    table["probability"] = np.where(finite, np.nan_to_num(p).max(1), np.nan)
    for i, name in enumerate(model.class_names):
        table[f"p_{name}"] = p[:, i]
    return table, range_caveat(getattr(model, "intensity", None), image)
