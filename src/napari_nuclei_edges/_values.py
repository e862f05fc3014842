"""What the values of an array are: finite ones, labels or intensities, a sample of them.

Reached as ``napari_nuclei_edges.data.finite_values`` and its peers. numpy only.
"""

from __future__ import annotations

import numpy as np


def finite_values(array) -> np.ndarray:
    """The finite values of ``array`` (NaN and ±inf dropped; bool read as 0/1).

    Integer arrays are returned as they are (every integer is finite), so the
    common case costs nothing.

    Examples
    --------
    >>> finite_values(np.array([1.0, np.nan, np.inf, 2.0])).tolist()
    [1.0, 2.0]
    """
    array = np.asarray(array)
    if array.dtype == bool:
        return array.view(np.uint8)
    return array[np.isfinite(array)] if array.dtype.kind in "fc" else array


def looks_like_labels(array, *, sample: int = 65536) -> bool:
    """Whether ``array`` holds labels or a mask rather than intensities: integer (or
    bool) values, a quarter or more of them 0, and few distinct values (at most 1 % of
    the pixels read; a mask has two). Read on an even sample of pixels (lazy data too).

    Examples
    --------
    >>> mask = np.zeros((64, 64), np.uint8); mask[10:30, 10:30] = 255
    >>> looks_like_labels(mask), looks_like_labels(np.arange(4096).reshape(64, 64))
    (True, False)
    """
    dtype = np.dtype(array.dtype)
    if dtype.kind not in "biu" or array.size == 0:
        return False
    flat = np.asarray(array).reshape(-1) if isinstance(array, np.ndarray) else None
    if flat is None:  # a lazy stack: its first plane stands for it
        flat = np.asarray(array[(0,) * (array.ndim - 2)]).reshape(-1)
    values = flat[sample_indices(flat.size, sample)]
    zeros = np.count_nonzero(values == 0)
    few = np.unique(values).size <= max(2, values.size // 100)
    return bool(zeros >= 0.25 * values.size and few)


def sample_indices(count: int, most: int) -> np.ndarray:
    """At most ``most`` indices of ``range(count)``, evenly spaced, first and last included.

    How a dock samples a stack too large to read whole on the GUI thread.

    Examples
    --------
    >>> sample_indices(10, 4).tolist()
    [0, 3, 6, 9]
    >>> sample_indices(3, 4).tolist()
    [0, 1, 2]
    """
    if count <= most:
        return np.arange(count)
    return np.linspace(0, count - 1, most).round().astype(int)
