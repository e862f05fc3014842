"""Checked, prepared data for the segmenter: images, targets, normalisation.

numpy and scikit-image only; torch stays in the training loop and the model.
"""

from __future__ import annotations

import numpy as np

#: Target of a pixel nobody labelled (no loss there).
IGNORE = -1
#: Target of a scribbled nucleus pixel: interior or boundary, either will do.
NUCLEUS = 3
#: Target of a boundary pixel where two nuclei touch (the boundary class, weighted up).
SEAM = 4
#: Values sampled for an image's percentiles (a strided sample: the same on every run).
SAMPLE = 1 << 20
#: Smallest image side the segmenter reads.
MIN_SIDE = 8


def check_images(images, subject: str = "The images") -> np.ndarray:
    """``images`` (H, W) or (N, H, W), numpy or dask, as float32 (N, H, W), or a sentence.

    Examples
    --------
    >>> check_images(np.zeros((2, 16, 16), np.uint16)).shape
    (2, 16, 16)
    >>> check_images(np.zeros((32, 32, 3)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The images look like RGB (shape (32, 32, 3)): the segmenter needs single-...
    """
    shape = check_shape(np.shape(images), subject)
    array = np.asarray(images)
    if array.dtype.kind not in "uifb":
        raise ValueError(f"{subject} hold {array.dtype} values, not real numbers.")
    array = array.astype(np.float32, copy=False).reshape(-1, *shape[-2:])
    if not np.isfinite(array).all():
        raise ValueError(f"{subject} contain NaN or infinite pixels: replace them (for "
                         "example with 0) first.")  # fmt: skip
    return array


def check_shape(shape: tuple, subject: str = "The images") -> tuple:
    """``shape`` if it is that of one 2D image or a stack of them, else a sentence saying why
    not (RGB, another number of dimensions, too small)."""
    shape = tuple(shape)
    rgb = len(shape) == 4 or (len(shape) == 3 and shape[-1] in (3, 4) and shape[0] > 4)
    if rgb and shape[-1] in (3, 4):
        raise ValueError(f"{subject} look like RGB (shape {shape}): the segmenter needs "
                         "single-channel images; split the channels first.")  # fmt: skip
    if len(shape) not in (2, 3) or 0 in shape:
        raise ValueError(f"{subject} must be one 2D image (H, W) or a stack (N, H, W), "
                         f"not shape {shape}.")  # fmt: skip
    if min(shape[-2:]) < MIN_SIDE:
        raise ValueError(
            f"{subject} are {shape[-2]} × {shape[-1]} pixels: too small to hold a nucleus; "
            f"the segmenter needs {MIN_SIDE} × {MIN_SIDE} or more."
        )
    return shape


def normalise(plane: np.ndarray, low: float, high: float) -> np.ndarray:
    """One image rescaled so that its ``low`` and ``high`` percentiles become 0 and 1.

    The percentiles come from a strided sample of at most :data:`SAMPLE` pixels, so
    a 4096² image costs what a 1024² one does. A constant image becomes zeros.

    Examples
    --------
    >>> normalise(np.arange(101.0), 0, 100)[[0, 50, 100]].tolist()
    [0.0, 0.5, 1.0]
    """
    plane = np.asarray(plane, np.float32)
    flat = plane.reshape(-1)
    lo, hi = np.percentile(flat[:: max(1, flat.size // SAMPLE)], (low, high))
    scale = hi - lo if hi > lo else 1.0
    return ((plane - np.float32(lo)) / np.float32(scale)).astype(np.float32)


def check_labels(labels, shape: tuple, sparse: bool, subject: str = "The labels") -> np.ndarray:
    """``labels`` of the images' ``shape`` as int32 (N, H, W), or a sentence saying why not."""
    if tuple(np.shape(labels)) != tuple(shape):
        raise ValueError(
            f"{subject} are of shape {tuple(np.shape(labels))}, the images of shape "
            f"{tuple(shape)}: give one label image per image, of its size."
        )
    array = np.asarray(labels)
    if array.dtype.kind not in "uib":
        raise ValueError(f"{subject} hold {array.dtype} values: labels are whole numbers "
                         "(0 background, 1, 2, ... one per nucleus).")  # fmt: skip
    array = array.astype(np.int64).reshape(-1, *shape[-2:])
    if (array < 0).any():
        raise ValueError(f"{subject} hold negative values: labels are 0 or more.")
    if sparse:
        other = np.setdiff1d(np.unique(array), (0, 1, 2))
        if other.size:
            raise ValueError(
                f"{subject} hold {', '.join(map(str, other[:3]))}: scribbles are 1 (nucleus), "
                "2 (background) and 0 (not labelled); for instance labels leave sparse off."
            )
        present = {v for v in (1, 2) if (array == v).any()}
        if not present:
            raise ValueError(f"{subject} hold no labelled pixel: paint some nuclei with 1 "
                             "and some background with 2.")  # fmt: skip
        if len(present) == 1:
            which, other_name = (("nucleus", "background (2)") if 1 in present
                                 else ("background", "nuclei (1)"))  # fmt: skip
            raise ValueError(f"{subject} mark only {which}: the segmenter learns from both; "
                             f"paint some {other_name} too.")  # fmt: skip
    elif not array.any():
        raise ValueError(f"{subject} hold no nucleus (every pixel is 0, background): label "
                         "some nuclei, or set sparse for scribbles.")  # fmt: skip
    elif array.all():
        raise ValueError(f"{subject} hold no background (no pixel is 0): the segmenter "
                         "learns from both nuclei and background.")  # fmt: skip
    return array.astype(np.int32)


def instance_labels(labels: np.ndarray) -> np.ndarray:
    """Each 2D image's labels as instances: a mask (one positive value) is split into its
    connected regions; instance labels are kept as they are.

    >>> int(instance_labels(np.array([[[1, 0, 1]] * 3])).max())
    2
    """
    from skimage.measure import label

    from ..segmentation.scores import is_instance_labels

    if is_instance_labels(labels):
        return labels.astype(np.int32)
    return np.stack([label(plane > 0, connectivity=2) for plane in labels]).astype(np.int32)


def targets(labels: np.ndarray, sparse: bool, width: int = 1) -> np.ndarray:
    """The class of each pixel (int8): 0 background, 1 interior, 2 boundary of a nucleus
    (``width`` pixels along its edge), :data:`SEAM` boundary next to another nucleus;
    for scribbles :data:`NUCLEUS` (1) and 0 (2), :data:`IGNORE` where nothing is painted.

    Examples
    --------
    >>> labels = np.zeros((1, 5, 6), int); labels[0, 1:4, 1:4] = 1; labels[0, 1:4, 4:] = 2
    >>> targets(labels, sparse=False)[0, 1:4].tolist()
    [[0, 2, 2, 4, 4, 2], [0, 2, 1, 4, 4, 1], [0, 2, 2, 4, 4, 2]]
    """
    from scipy import ndimage
    from skimage.segmentation import find_boundaries

    if sparse:
        lookup = np.array([IGNORE, NUCLEUS, 0], np.int8)
        return lookup[labels]
    out = (labels > 0).astype(np.int8)
    reach = 2 * width + 1  # a pixel within ``width`` of another nucleus is on a seam
    for plane, target in zip(labels, out, strict=True):  # each image's own edges
        edge = find_boundaries(plane, mode="inner")
        if width > 1:
            edge = ndimage.binary_dilation(edge, iterations=width - 1)
        target[edge & (plane > 0)] = 2
        nuclei = np.where(plane > 0, plane, plane.max() + 1)  # background: no nucleus
        other = (ndimage.maximum_filter(plane, reach) != plane) | (
            ndimage.minimum_filter(nuclei, reach) != plane)  # fmt: skip
        target[other & (target == 2)] = SEAM
    return out


def pad_to(array: np.ndarray, size: int, fill=None) -> np.ndarray:
    """A stack (N, H, W) padded at the bottom and right to at least ``size`` a side:
    mirrored (``fill`` None) or with ``fill``."""
    h, w = array.shape[-2:]
    pad = ((0, 0), (0, max(0, size - h)), (0, max(0, size - w)))
    if pad[1][1] == pad[2][1] == 0:
        return array
    if fill is None:
        return np.pad(array, pad, mode="reflect")
    return np.pad(array, pad, constant_values=fill)


def tile_boxes(shape: tuple, tile: int) -> list[tuple[int, slice, slice]]:
    """The (image, rows, columns) of a grid of ``tile``-sized tiles over a stack.

    >>> len(tile_boxes((2, 64, 40), 32))
    8
    """
    n, h, w = shape
    return [(i, slice(y, min(y + tile, h)), slice(x, min(x + tile, w)))
            for i in range(n) for y in range(0, h, tile) for x in range(0, w, tile)]  # fmt: skip


def held_out_tiles(target: np.ndarray, fraction: float, tile: int, rng) -> list:
    """Tiles to validate on: ``fraction`` of the tiles holding labelled pixels, chosen at
    random, while the rest keeps pixels of both background and nuclei to train on.

    Fewer than two labelled tiles: none (the run reports no validation scores).
    """
    boxes = tile_boxes(target.shape, tile)
    counts = np.array([[np.count_nonzero(target[b] == 0), np.count_nonzero(target[b] > 0)]
                       for b in boxes])  # fmt: skip
    labelled = np.flatnonzero(counts.sum(1) > 0)
    wanted = min(round(fraction * len(labelled)), len(labelled) - 1)
    if len(labelled) < 2:
        return []
    left, chosen = counts.sum(0), []
    for k in rng.permutation(labelled):
        if len(chosen) >= max(1, wanted):
            break
        if (left - counts[k] > 0).all():  # training keeps both classes
            left = left - counts[k]
            chosen.append(boxes[k])
    return chosen
