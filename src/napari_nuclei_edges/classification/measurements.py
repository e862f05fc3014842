"""Region properties of nuclei, one row per image (its centre nucleus) or per object.

:func:`measure` reads what a biologist reads on a nucleus — area, perimeter,
axes, eccentricity, solidity, orientation, intensity mean / max / std /
integrated, distance to the image centre, the number of objects in the image —
with scikit-image's ``regionprops_table``. The images of a stack are laid side
by side in one mosaic with a distinct label per object, so one
``regionprops_table`` call measures the whole stack (250 images in a fraction
of a second instead of one call per image).

numpy and scikit-image only: no torch, no Qt, no napari.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

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
)
#: The columns the feature classifier reads by default (shape and intensity, not position).
MODEL_FEATURES = (
    "area",
    "perimeter",
    "major_axis_length",
    "minor_axis_length",
    "eccentricity",
    "solidity",
    "intensity_mean",
    "intensity_max",
    "intensity_std",
    "object_count",
)
_PROPERTIES = (
    "label",
    "area",
    "perimeter",
    "axis_major_length",
    "axis_minor_length",
    "eccentricity",
    "solidity",
    "orientation",
    "intensity_mean",
    "intensity_max",
    "intensity_std",
    "centroid",
)
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
        (0 where an image has no object: its measurements are NaN) and
        :data:`FEATURES`. Lengths in pixels, ``orientation`` in radians,
        ``distance_to_centre`` from the image centre to the centroid.

    Raises
    ------
    ValueError
        For RGB or 4D input, NaN pixels, or labels of another shape.

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> stack = synthetic_nuclei(n_per_class=3)["interphase"]
    >>> table = measure(stack)
    >>> len(table["area"]), bool((table["area"] > 50).all())
    (3, True)
    >>> sorted(table)[:4]
    ['area', 'centroid_x', 'centroid_y', 'distance_to_centre']
    """
    from skimage.measure import regionprops_table

    stack = _as_stack(images)
    if objects is None:
        objects = "centre" if labels is None else "all"
    if objects not in ("centre", "all"):
        raise ValueError(f"objects must be 'centre' or 'all', not {objects!r}.")
    if labels is None:
        from ..segmentation import segment_nuclei

        options = {**SEGMENTATION, **(segmentation or {})}
        label_stack = segment_nuclei(stack, **options)
    else:
        label_stack = np.asarray(labels)
        if label_stack.shape != np.shape(images):
            raise ValueError(
                f"The labels' shape {label_stack.shape} differs from the images' "
                f"{np.shape(images)}: choose the labels made from these images."
            )
        label_stack = label_stack.reshape(stack.shape).astype(np.int64, copy=False)
    n, h, w = stack.shape
    counts = _object_counts(label_stack)
    if objects == "centre":
        label_stack = centre_labels(label_stack)

    # one mosaic, labels made distinct per image: a single regionprops_table call
    offsets = np.zeros(n, np.int64)
    offsets[1:] = np.cumsum(label_stack.reshape(n, -1).max(axis=1))[:-1]
    unique = np.where(label_stack > 0, label_stack + offsets[:, None, None], 0)
    mosaic = unique.transpose(1, 0, 2).reshape(h, n * w)
    intensity = stack.transpose(1, 0, 2).reshape(h, n * w).astype(np.float64)
    props = regionprops_table(mosaic, intensity, properties=_PROPERTIES)

    found = np.asarray(props["label"], np.int64)
    image_of = np.searchsorted(offsets, found, side="left") - 1 if len(found) else found
    table = {
        "image": image_of,
        "label": found - offsets[image_of],
        "area": props["area"].astype(float),
        "perimeter": props["perimeter"],
        "major_axis_length": props["axis_major_length"],
        "minor_axis_length": props["axis_minor_length"],
        "eccentricity": props["eccentricity"],
        "solidity": props["solidity"],
        "orientation": props["orientation"],
        "intensity_mean": props["intensity_mean"],
        "intensity_max": props["intensity_max"],
        "intensity_std": props["intensity_std"],
        "intensity_integrated": props["intensity_mean"] * props["area"],
        "centroid_y": props["centroid-0"],
        "centroid_x": props["centroid-1"] - image_of * w,
    }
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
    per_image = segment_nuclei(stack, **{**SEGMENTATION, **(segmentation or {})})
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
    labels = np.asarray(labels)
    stack = labels.reshape(-1, *labels.shape[-2:])
    h, w = stack.shape[-2:]
    out = np.zeros_like(stack)
    for i, plane in enumerate(stack):
        keep = plane[h // 2, w // 2]
        if keep == 0 and plane.any():
            rows, cols = np.nonzero(plane)
            nearest = np.argmin((rows - h // 2) ** 2 + (cols - w // 2) ** 2)
            keep = plane[rows[nearest], cols[nearest]]
        if keep:
            out[i] = np.where(plane == keep, plane, 0)
    return out.reshape(labels.shape)


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
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise ValueError(
            "The images contain NaN pixels: replace them (for example with 0) before measuring."
        )
    if array.dtype == bool:
        array = array.view(np.uint8)
    return array.reshape(-1, *array.shape[-2:])


def _object_counts(label_stack: np.ndarray) -> np.ndarray:
    """The number of distinct objects in each image."""
    counts = np.zeros(len(label_stack), np.int64)
    for i, plane in enumerate(label_stack):
        values = np.unique(plane)
        counts[i] = np.count_nonzero(values)
    return counts


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
