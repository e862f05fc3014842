"""The segmentation rule on a whole stack at once: thresholds, holes, labels, the centre object.

:func:`~napari_nuclei_edges.segmentation.segment_nuclei` and
:func:`~napari_nuclei_edges.classification.measure` both go through these
functions, so a stack of thousands of images costs a few numpy/scipy passes
instead of one Python round per image. Each step equals its per-image
counterpart exactly:

* :func:`otsu_per_image` — each image's Otsu threshold as
  :func:`~napari_nuclei_edges.intensity.auto_threshold` (scikit-image's
  ``threshold_otsu``) computes it on that image alone: the per-image histograms
  are counted in one ``np.bincount`` with an offset per image, on the same bins
  (one per integer value; for floats numpy's 256 equal bins over the image's
  range, with numpy's own edge corrections), and each threshold is
  scikit-image's ``threshold_otsu(hist=...)`` on its image's histogram.
* :func:`label_stack` — hole filling, 8-connected labelling and the size filter
  with structuring elements that have no extent along the stack axis, so
  nothing connects across images; labels restart at 1 in every image, in
  scikit-image's raster order.
* :func:`centre_object` — the object under the image centre, else the one with
  the labelled pixel nearest to it (ties: the first in raster order).

numpy and scipy (scikit-image for the Otsu formula): no Qt, no napari.
"""

from __future__ import annotations

import numpy as np

from ..intensity._histograms import DEFAULT_BINS, MAX_UNIT_SPAN, histogram_edges

#: Most histogram bins counted in one ``np.bincount`` (16-bit stacks are counted in parts).
_MAX_BINS = 1 << 22
#: Most pixels a step holds a wide temporary (int64, float) for at once: a large image is
#: counted and relabelled in chunks, so its memory stays a small multiple of the image.
_CHUNK = 1 << 20


def _plane_structure(kind: str) -> np.ndarray:
    """A 3D structuring element acting within each image only (no extent along the stack)."""
    from scipy import ndimage

    plane = ndimage.generate_binary_structure(2, 1 if kind == "cross" else 2)
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = plane
    return structure


def otsu_per_image(stack: np.ndarray) -> np.ndarray:
    """Each image's Otsu threshold, NaN where an image has fewer than two finite values.

    Parameters
    ----------
    stack : numpy.ndarray
        ``(N, H, W)`` integer or float images (NaN and ±inf are not counted).

    Returns
    -------
    numpy.ndarray of float64, shape (N,)
        Equal, image by image, to ``auto_threshold(image, "otsu")`` (and so to
        ``skimage.filters.threshold_otsu(image)``, except on a float range too
        narrow for 256 float32 bins, which both count in float64); NaN where
        ``auto_threshold`` finds none (a constant image, no finite pixel).

    Examples
    --------
    >>> stack = np.zeros((2, 4, 4), np.uint8); stack[0, :2] = 200; stack[1] = 7
    >>> otsu_per_image(stack).tolist()
    [0.0, nan]
    """
    from skimage.filters import threshold_otsu

    stack = np.asarray(stack)
    if stack.dtype == bool:
        stack = stack.view(np.uint8)
    n = len(stack)
    flat = stack.reshape(n, -1)
    integer = flat.dtype.kind in "ui"
    low, high = flat.min(axis=1), flat.max(axis=1)
    finite = np.ones(n, bool)
    if not integer and not (np.isfinite(low).all() and np.isfinite(high).all()):
        # NaN or ±inf somewhere: each image's finite range
        valid = np.isfinite(flat)
        low = np.where(valid, flat, np.inf).min(axis=1)
        high = np.where(valid, flat, -np.inf).max(axis=1)
        finite = np.isfinite(low)
    thresholds = np.full(n, np.nan)
    varied = finite & (high > low)
    spans = None
    if integer:
        spans = high.astype(np.float64) - low.astype(np.float64) + 1
        wide = varied & (spans > MAX_UNIT_SPAN)
        if wide.any():  # int32 ranges: auto_threshold's equal bins, image by image
            from ..intensity import auto_threshold

            for i in np.flatnonzero(wide):
                thresholds[i] = auto_threshold(stack[i], "otsu")
            varied &= ~wide
    large = varied & (flat.shape[1] > _CHUNK)
    for i in np.flatnonzero(large):  # one image at a time, counted in chunks
        thresholds[i] = _large_otsu(flat[i], low[i], high[i], integer)
    varied &= ~large
    for part in _parts(np.flatnonzero(varied), spans):
        if integer:
            counts, centres = _unit_histograms(flat[part], low[part], high[part])
            usable = np.ones(len(part), bool)
        else:
            counts, centres, usable = _float_histograms(flat[part], low[part], high[part])
        for k, i in enumerate(part):
            if usable[k]:
                thresholds[i] = threshold_otsu(hist=(counts[k], centres[k]))
            else:  # fewer float32 values than bins: float64 bins, as auto_threshold's
                thresholds[i] = _large_otsu(flat[i], low[i], high[i], integer)
    return thresholds


def _parts(indices: np.ndarray, spans: np.ndarray | None):
    """Runs of ``indices`` whose histograms fit in :data:`_MAX_BINS` counts together."""
    if spans is None:
        step = max(1, _MAX_BINS // DEFAULT_BINS)
        for begin in range(0, len(indices), step):
            yield indices[begin : begin + step]
        return
    begin, total = 0, 0.0
    for k, i in enumerate(indices):
        if total + spans[i] > _MAX_BINS and k > begin:
            yield indices[begin:k]
            begin, total = k, 0.0
        total += spans[i]
    if begin < len(indices):
        yield indices[begin:]


def _large_otsu(values: np.ndarray, low, high, integer: bool) -> float:
    """Otsu's threshold of one large image from counts made a chunk at a time.

    The counts are :func:`_unit_histograms`' (integers) or ``np.histogram``'s (floats:
    its 256 equal bins over the image's range, numpy's own rule, itself counted in
    blocks; NaN and ±inf fall outside the range), so the threshold is the same.
    """
    from skimage.filters import threshold_otsu

    if integer:
        span, start = int(high) - int(low) + 1, int(low)
        counts = np.zeros(span, np.int64)
        for begin in range(0, values.size, _CHUNK):
            counts += np.bincount(values[begin : begin + _CHUNK].astype(np.int64) - start,
                                  minlength=span)  # fmt: skip
        return threshold_otsu(hist=(counts, np.arange(span, dtype=float) + start))
    edges = histogram_edges(False, low, high)[0]
    if not (edges[1:] > edges[:-1]).all():
        return float("nan")  # as auto_threshold: no 256 distinct bins in this range
    counts, _ = np.histogram(values, bins=DEFAULT_BINS, range=(edges[0], edges[-1]))
    return threshold_otsu(hist=(counts, (edges[:-1] + edges[1:]) / 2))


def _unit_histograms(flat: np.ndarray, low: np.ndarray, high: np.ndarray):
    """One bin per integer value from each image's minimum to its maximum (scikit-image's)."""
    spans = high.astype(np.int64) - low.astype(np.int64) + 1
    starts = np.concatenate(([0], np.cumsum(spans)[:-1]))
    shifted = flat.astype(np.int64) - low.astype(np.int64)[:, None] + starts[:, None]
    counts = np.bincount(shifted.ravel(), minlength=int(spans.sum()))
    rows = np.split(counts, np.cumsum(spans)[:-1])
    # the centres as auto_threshold's unit bins have them: edges + 0.5, in float64
    centres = [np.arange(s, dtype=float) + int(lo) for s, lo in zip(spans, low, strict=True)]
    return rows, centres


def _float_histograms(flat: np.ndarray, low: np.ndarray, high: np.ndarray):
    """numpy's 256 equal bins over each image's finite range, counted as ``np.histogram`` does.

    The bin of a value follows ``np.histogram``'s uniform-bin rule step by step
    (same dtype, same arithmetic, same ±1 corrections against the edges), so every
    count equals ``np.histogram(image, 256, range=(min, max))``'s; the
    corrections are checked only near the edges, where they can apply.
    """
    n, bins = len(flat), DEFAULT_BINS
    # each image's edges as auto_threshold makes them (its range, 256 equal bins)
    # (in the images' type: a range too narrow for it gets unusable edges, counted apart)
    edges = np.stack([histogram_edges(False, lo, hi)[0].astype(flat.dtype, copy=False)
                      for lo, hi in zip(low, high, strict=True)])  # fmt: skip
    dtype = np.result_type(edges.dtype, flat.dtype)
    edges = edges.astype(dtype, copy=False)
    first = edges[:, :1]
    denom = edges[:, -1:] - first
    values = flat.astype(dtype, copy=False)
    finite = bool(np.isfinite(flat).all()) if flat.dtype.kind == "f" else True
    # np.histogram: ((x - first) / (last - first)) * bins, truncated, the last edge in the last bin
    scaled = np.subtract(values, first)
    np.divide(scaled, denom, out=scaled)
    np.multiply(scaled, bins, out=scaled)
    if not finite:
        scaled[~np.isfinite(scaled)] = 0  # not counted below; any bin keeps the arithmetic safe
    index = scaled.astype(np.int64)  # intp: what bincount and indexing take without a copy
    np.minimum(index, bins - 1, out=index)
    # numpy then corrects the estimate against the edges themselves (it can miss by
    # rounding); only a value within rounding reach of an edge can move, so only
    # those are checked: the arithmetic's error, in bins, is a few ULPs of the
    # range's magnitude over the bin width (reach >= 0.5 checks every value)
    magnitude = np.maximum(np.abs(first), np.abs(edges[:, -1:]))
    reach = (8 * bins * np.finfo(dtype).eps * (2 + magnitude / denom)).astype(dtype)
    fraction = np.subtract(scaled, index, dtype=dtype)  # exact: index <= 256
    near = fraction < reach
    near |= fraction > 1 - reach
    if not finite:
        near &= np.isfinite(values)
    where = np.flatnonzero(near)  # few: flat positions
    rows = where // values.shape[1]
    moved, value = index.ravel()[where], values.ravel()[where]
    moved -= value < edges[rows, moved]
    moved += (value >= edges[rows, moved + 1]) & (moved != bins - 1)
    index.ravel()[where] = moved
    index += (np.arange(n) * bins)[:, None]
    counted = index if finite else index[np.isfinite(values)]
    counts = np.bincount(counted.ravel(), minlength=n * bins).reshape(n, bins)
    centres = (edges[:, :-1] + edges[:, 1:]) / 2
    # np.histogram refuses a range too narrow for 256 distinct edges: no threshold
    usable = (edges[:, 1:] > edges[:, :-1]).all(axis=1)
    return counts, centres, usable


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Holes filled in each image of a ``(N, H, W)`` mask: ``binary_fill_holes`` per image.

    A background pixel stays background when it is 4-connected, through
    background, to its image's border; one labelling of the whole stack finds
    them (``binary_fill_holes`` itself iterates a dilation to convergence).
    """
    from scipy import ndimage

    background, _ = ndimage.label(~mask, structure=_plane_structure("cross"),
                                  output=_label_type(mask))  # fmt: skip
    touching = np.zeros(background.max() + 1, bool)
    for edge in (background[:, 0], background[:, -1], background[:, :, 0], background[:, :, -1]):
        touching[edge] = True
    touching[0] = False  # label 0 is the mask itself: kept
    filled = touching[background]
    del background
    return np.logical_not(filled, out=filled)


def _label_type(mask: np.ndarray):
    """int32 labels (half of intp's memory) unless the stack could hold more labels."""
    return np.int32 if mask.size < np.iinfo(np.int32).max else np.intp


def label_stack(mask: np.ndarray, *, min_size: int = 0, fill: bool = False):
    """Label the objects (8-connected) of each image of a ``(N, H, W)`` mask.

    Parameters
    ----------
    mask : numpy.ndarray of bool
    min_size : int
        Objects with fewer pixels are removed; 0 keeps all.
    fill : bool
        Fill holes first (:func:`fill_holes`).

    Returns
    -------
    labels : numpy.ndarray of int32
        Labels from 1 in each image, numbered in raster order (as
        ``skimage.measure.label`` then ``relabel_sequential`` number them).
    counts : numpy.ndarray of int64, shape (N,)
        The number of objects in each image.

    Examples
    --------
    >>> mask = np.zeros((2, 5, 5), bool); mask[0, 0, 0] = mask[0, 4, 4] = mask[1, 2, 2] = True
    >>> labels, counts = label_stack(mask)
    >>> labels[0, 4, 4], labels[1, 2, 2], counts.tolist()
    (np.int32(2), np.int32(1), [2, 1])
    """
    from scipy import ndimage

    n = len(mask)
    if fill:
        mask = fill_holes(mask)
    labels, total = ndimage.label(mask, structure=_plane_structure("square"),
                                  output=_label_type(mask))  # fmt: skip
    if total == 0:
        return labels.astype(np.int32), np.zeros(n, np.int64)
    # ndimage numbers labels in raster order of the stack: image i holds (last[i-1], last[i]]
    last = np.maximum.accumulate(labels.reshape(n, -1).max(axis=1)).astype(np.int64)
    keep = np.ones(total + 1, bool)
    if min_size > 0:
        keep = _sizes(labels.ravel(), total + 1) >= min_size
    keep[0] = False
    kept = np.cumsum(keep)  # kept[k]: kept labels among 1..k
    before = kept[np.concatenate(([0], last[:-1]))]  # kept labels in the images before i
    counts = kept[last] - before
    image_of = np.minimum(np.searchsorted(last, np.arange(total + 1), side="left"), n - 1)
    relabel = np.where(keep, kept - before[image_of], 0).astype(np.int32)
    if labels.dtype != np.int32:
        return relabel[labels], counts
    flat = labels.ravel()  # relabelled in place, a chunk at a time: no second label image
    for begin in range(0, flat.size, _CHUNK):
        flat[begin : begin + _CHUNK] = relabel[flat[begin : begin + _CHUNK]]
    return labels, counts


def _sizes(flat: np.ndarray, length: int) -> np.ndarray:
    """``np.bincount(flat, minlength=length)``, a chunk at a time (bincount copies to intp)."""
    step = max(_CHUNK, length)  # each chunk's counts cost no more than its copy
    sizes = np.zeros(length, np.int64)
    for begin in range(0, flat.size, step):
        sizes += np.bincount(flat[begin : begin + step], minlength=length)
    return sizes


def centre_object(labels: np.ndarray) -> np.ndarray:
    """The label of each image's centre object, 0 where an image has none.

    The one rule for "the nucleus of an image": the object under the centre pixel
    ``(H // 2, W // 2)``, else the object with the labelled pixel nearest to it
    (squared distance; ties: the first pixel in raster order).

    Parameters
    ----------
    labels : numpy.ndarray of int
        ``(N, H, W)``: labels per image, 0 is background.

    Returns
    -------
    numpy.ndarray, shape (N,)

    Examples
    --------
    >>> labels = np.zeros((2, 5, 5), int); labels[0, 0, 0] = 1; labels[0, 3, 3] = 2
    >>> centre_object(labels).tolist()
    [2, 0]
    """
    h, w = labels.shape[-2:]
    chosen = labels[:, h // 2, w // 2].copy()
    missing = np.flatnonzero(chosen == 0)
    if missing.size and h * w > _CHUNK:  # large images: a block of rows at a time
        for i in missing:
            chosen[i] = _nearest_object(labels[i])
    elif missing.size:
        rows, cols = np.ogrid[:h, :w]
        # distance first, raster index second: one integer key per pixel
        key = (((rows - h // 2) ** 2 + (cols - w // 2) ** 2) * (h * w) + rows * w + cols).ravel()
        part = labels[missing].reshape(len(missing), -1)
        keyed = np.where(part > 0, key[None, :], np.iinfo(np.int64).max)
        nearest = keyed.argmin(axis=1)
        chosen[missing] = part[np.arange(len(missing)), nearest]
    return chosen


def _nearest_object(plane: np.ndarray):
    """:func:`centre_object`'s rule on one large image, in blocks of rows (same key)."""
    h, w = plane.shape
    cols = np.arange(w, dtype=np.int64)
    best_key, best = np.iinfo(np.int64).max, plane.dtype.type(0)
    step = max(1, _CHUNK // w)
    for top in range(0, h, step):
        block = plane[top : top + step]
        rows = np.arange(top, top + len(block), dtype=np.int64)[:, None]
        key = ((rows - h // 2) ** 2 + (cols - w // 2) ** 2) * (h * w) + rows * w + cols
        key[block <= 0] = np.iinfo(np.int64).max
        at = int(key.argmin())
        if key.flat[at] < best_key:
            best_key, best = key.flat[at], block.flat[at]
    return best


def keep_labels(labels: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Only each image's ``chosen`` label kept (others set to 0), labels unchanged."""
    return np.where(labels == chosen.reshape(-1, 1, 1), labels, 0).astype(labels.dtype)
