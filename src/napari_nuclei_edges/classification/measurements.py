"""Region properties of nuclei, one row per image (its centre nucleus) or per object.

:func:`measure` reads what a biologist reads on a nucleus — area, perimeter,
axes, eccentricity, solidity, orientation, intensity mean / max / std /
integrated, distance to the image centre, the number of objects in the image —
as scikit-image's ``regionprops_table`` defines them, and what tells the stages
apart beyond them: the intensity distribution (percentiles, skewness, kurtosis),
chromatin condensation (bright fraction, mass displacement), shape (circularity,
extent, Hu moments) and texture (grey-level co-occurrence, granularity), as
scikit-image and scipy define them (:mod:`._region_extra`). Each is computed for
every object of the stack at once (:mod:`._region_props`: a few numpy passes
instead of a Python round per object; the tests check each column against
scikit-image's or scipy's function). The segmentation is the segmentation module's, for the
whole stack at once too, and "the nucleus" of an image is its rule
(:func:`~napari_nuclei_edges.segmentation._stack.centre_object`): 100,000
images measure at a few thousand per second.

numpy, scipy and scikit-image only: no torch, no Qt, no napari.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._region_props import region_properties

__all__ = ["FEATURES", "MODEL_FEATURES", "centre_labels", "measure", "measure_objects"]

#: The measured columns, in the order :func:`measure` returns them (after ``image``, ``label``).
FEATURES = (
    "area",
    "perimeter",
    "major_axis_length",
    "minor_axis_length",
    "eccentricity",
    "solidity",
    "orientation",
    "intensity_mean",
    "intensity_max",
    "intensity_std",
    "intensity_integrated",
    "distance_to_centre",
    "object_count",
    "centroid_y",
    "centroid_x",
    # the intensity distribution, chromatin condensation, shape moments and texture
    # (``_region_extra``)
    "intensity_p10",
    "intensity_median",
    "intensity_p90",
    "intensity_skewness",
    "intensity_kurtosis",
    "bright_fraction",
    "mass_displacement",
    "circularity",
    "extent",
    *(f"moments_hu_{i}" for i in range(7)),
    "glcm_contrast",
    "glcm_homogeneity",
    "glcm_energy",
    "glcm_correlation",
    "granularity",
)
#: Where a nucleus lies and points, which says nothing of its stage.
POSITION = ("orientation", "distance_to_centre", "centroid_y", "centroid_x")
#: The columns the feature classifier reads by default: every measurement but the
#: position and ``intensity_integrated`` (mean × area, both read already).
MODEL_FEATURES = tuple(n for n in FEATURES if n not in (*POSITION, "intensity_integrated"))
#: The segmentation :func:`measure` makes when given no labels (the centre nucleus by rule).
SEGMENTATION = {"rule": "per_image", "method": "otsu", "sigma": 1.0}


def measure(
    images: ArrayLike,
    labels: ArrayLike | None = None,
    *,
    objects: str | None = None,
    segmentation: dict | None = None,
) -> dict[str, np.ndarray]:
    """Measure the nuclei of an image or a stack of images.

    Parameters
    ----------
    images : array_like
        A 2D image or a stack ``(N, H, W)`` of single-channel images.
    labels : array_like of int, optional
        Labels of the same shape (0 is background, labels per image). Without
        them, each image is segmented with
        :func:`~napari_nuclei_edges.segmentation.segment_nuclei`
        (``segmentation``: its keyword arguments, by default a per-image Otsu
        threshold after a 1-pixel Gaussian smoothing).
    objects : {"centre", "all"}, optional
        One row per image for its centre nucleus (the object under, or nearest
        to, the image centre: the rule of ``segment_nuclei(keep_centre=True)``),
        or one row per object. Default: ``"centre"`` without labels, ``"all"``
        with them.
    segmentation : dict, optional
        Keyword arguments for ``segment_nuclei`` when no labels are given.

    Returns
    -------
    dict of str to numpy.ndarray
        Columns of equal length: ``image`` (index in the stack), ``label``
        (0 where an image has no object: its measurements are NaN and its
        ``object_count`` 0 — an empty image, a constant one, one all NaN) and
        :data:`FEATURES`. Lengths in pixels, ``orientation`` in radians,
        ``distance_to_centre`` from the image centre to the centroid. The
        values are ``regionprops_table``'s; ``circularity`` is
        ``4 pi area / perimeter²``; the others are defined in
        :mod:`._region_extra`. Each row depends on its own image only.

    Raises
    ------
    ValueError
        For RGB or 4D input, images partly NaN, or labels of another shape.

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> stack = synthetic_nuclei(n_per_class=3)["interphase"]
    >>> table = measure(stack)
    >>> len(table["area"]), bool((table["area"] > 50).all())
    (3, True)
    >>> list(table)[:4], "glcm_contrast" in table
    (['image', 'label', 'area', 'perimeter'], True)
    """
    from ..segmentation._stack import centre_object

    stack = _as_stack(images)
    if objects is None:
        objects = "centre" if labels is None else "all"
    if objects not in ("centre", "all"):
        raise ValueError(f"objects must be 'centre' or 'all', not {objects!r}.")
    n, h, w = stack.shape
    if labels is None:
        from ..segmentation import segment_nuclei

        # an image without a threshold (constant, all NaN) has no object: a NaN row
        options = {**SEGMENTATION, **(segmentation or {}), "if_no_threshold": "empty"}
        label_stack = segment_nuclei(stack, **options)
        counts = label_stack.reshape(n, -1).max(axis=1).astype(np.int64)  # labels 1..k
    else:
        label_stack = np.asarray(labels)
        if label_stack.shape != np.shape(images):
            raise ValueError(
                f"The labels' shape {label_stack.shape} differs from the images' "
                f"{np.shape(images)}: choose the labels made from these images."
            )
        label_stack = label_stack.reshape(stack.shape).astype(np.int64, copy=False)
        counts = None
    if objects == "centre":
        chosen = centre_object(label_stack)
        if counts is None:
            counts = _object_counts(label_stack)
        image_of = np.flatnonzero(chosen)
        rank = np.zeros(n, np.int32)
        rank[image_of] = np.arange(1, len(image_of) + 1)
        # the labels segment_nuclei made are ours: their region ids go in their place
        regions = label_stack if labels is None else np.empty(label_stack.shape, np.int32)
        np.multiply(label_stack == chosen[:, None, None], rank[:, None, None], out=regions)
        found = chosen[image_of]
    else:
        regions, image_of, found = _unique_regions(label_stack)
        counts = np.bincount(image_of, minlength=n)

    props = region_properties(regions, stack, len(image_of))
    renamed = {"major_axis_length": "axis_major_length", "minor_axis_length": "axis_minor_length"}
    table = {"image": image_of, "label": found.astype(np.int64)}
    table.update((name, props[renamed.get(name, name)]) for name in FEATURES if
                 renamed.get(name, name) in props)  # fmt: skip
    table["intensity_integrated"] = props["intensity_mean"] * props["area"]
    perimeter = props["perimeter"]
    with np.errstate(divide="ignore", invalid="ignore"):  # a 1-pixel object has no perimeter
        table["circularity"] = np.where(perimeter > 0, 4 * np.pi * props["area"] / perimeter**2,
                                        np.nan)  # fmt: skip
    table["distance_to_centre"] = np.hypot(
        table["centroid_y"] - (h - 1) / 2, table["centroid_x"] - (w - 1) / 2
    )
    table["object_count"] = counts[image_of].astype(float)
    if objects == "centre":
        table = _one_row_per_image(table, counts, n)
    return {key: table[key] for key in ("image", "label", *FEATURES)}


def measure_objects(images: ArrayLike, segmentation: dict | None = None):
    """Segment every image, label objects uniquely across the stack, and measure each one.

    For a Labels layer whose ``features`` napari shows on hover: label values are
    distinct across the whole stack (image by image), and the table's ``index``
    column is the label value of each row.

    Returns
    -------
    labels : numpy.ndarray of int32
        The shape of ``images``; 0 is background.
    table : dict of str to numpy.ndarray
        :func:`measure`'s columns for every object, plus ``index``.

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> labels, table = measure_objects(synthetic_nuclei(n_per_class=2)["anaphase"])
    >>> sorted(np.unique(labels[labels > 0]).tolist()) == table["index"].tolist()
    True
    """
    from ..segmentation import segment_nuclei

    stack = _as_stack(images)
    options = {**SEGMENTATION, **(segmentation or {}), "if_no_threshold": "empty"}
    per_image = segment_nuclei(stack, **options)  # an image without a threshold: no object
    table = measure(stack, per_image, objects="all")
    offsets = np.zeros(len(stack), np.int64)
    offsets[1:] = np.cumsum(per_image.reshape(len(stack), -1).max(axis=1))[:-1]
    unique = np.where(per_image > 0, per_image + offsets[:, None, None], 0).astype(np.int32)
    table = {"index": table["label"] + offsets[table["image"]], **table}
    return unique.reshape(np.shape(images)), table


def centre_labels(labels: np.ndarray) -> np.ndarray:
    """Keep, in each image of a stack, only the object under (or nearest to) the centre.

    The rule of ``segment_nuclei(keep_centre=True)``; the kept object keeps its label.

    Examples
    --------
    >>> labels = np.zeros((1, 5, 5), int); labels[0, 0, 0] = 1; labels[0, 3, 3] = 2
    >>> int(centre_labels(labels)[0].max())
    2
    """
    from ..segmentation._stack import centre_object, keep_labels

    labels = np.asarray(labels)
    stack = labels.reshape(-1, *labels.shape[-2:])
    return keep_labels(stack, centre_object(stack)).reshape(labels.shape)


def _as_stack(images) -> np.ndarray:
    array = np.asarray(images)
    if array.ndim == 3 and array.shape[-1] in (3, 4) and array.shape[0] > 4:
        raise ValueError(
            f"These images look like RGB (shape {array.shape}): measure needs "
            "single-channel images; split the channels first."
        )
    if array.ndim not in (2, 3) or array.size == 0:
        raise ValueError(
            f"measure needs a 2D image or a stack (N, H, W) of them, not shape {array.shape}."
        )
    if array.dtype == bool:
        array = array.view(np.uint8)
    stack = array.reshape(-1, *array.shape[-2:])
    if stack.dtype.kind == "f":
        nan = np.isnan(stack).reshape(len(stack), -1)
        some = nan.any(axis=1)
        if some.any() and not nan[some].all():
            raise ValueError(
                "Some images contain NaN pixels: replace them (for example with 0) before "
                "measuring; an image that is all NaN gets a row of NaN."
            )
    return stack


def _object_counts(label_stack: np.ndarray) -> np.ndarray:
    """The number of distinct objects in each image (any label values)."""
    _, image_of, _ = _unique_regions(label_stack, regions=False)
    return np.bincount(image_of, minlength=len(label_stack))


def _unique_regions(label_stack: np.ndarray, regions: bool = True):
    """Every (image, label) pair as a region id 1..R; each region's image and label."""
    n = len(label_stack)
    offsets = np.zeros(n, np.int64)
    offsets[1:] = np.cumsum(np.maximum(label_stack.reshape(n, -1).max(axis=1), 0))[:-1]
    flat = label_stack.reshape(n, -1)
    pixels = np.flatnonzero(flat > 0)
    unique = flat.ravel()[pixels] + offsets[pixels // flat.shape[1]]
    values, inverse = np.unique(unique, return_inverse=True)
    image_of = np.searchsorted(offsets, values, side="left") - 1
    found = values - offsets[image_of]
    ids = None
    if regions:
        ids = np.zeros(label_stack.shape, np.int64)
        ids.ravel()[pixels] = inverse + 1
    return ids, image_of, found


def _one_row_per_image(table: dict, counts: np.ndarray, n: int) -> dict:
    """Rows in image order, one per image; NaN measurements where an image has none."""
    out = {}
    for key, column in table.items():
        full = np.full(n, np.nan) if key not in ("image", "label") else np.zeros(n, np.int64)
        full[table["image"]] = column
        out[key] = full
    out["image"] = np.arange(n)
    out["object_count"] = counts.astype(float)
    return out
