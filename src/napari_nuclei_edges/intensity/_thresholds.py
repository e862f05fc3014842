"""Automatic thresholds for the segmentation ``x > t`` (scikit-image's methods).

numpy and scikit-image only: no Qt, no napari.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from ..data import finite_values
from ._histograms import ClassHistograms, class_histograms

#: Automatic threshold methods (scikit-image's ``threshold_<method>``).
THRESHOLD_METHODS: tuple[str, ...] = (
    "otsu",
    "li",
    "yen",
    "isodata",
    "triangle",
    "mean",
    "minimum",
)


def auto_threshold(
    data: ArrayLike | Mapping[str, ArrayLike] | ClassHistograms,
    method: str = "otsu",
) -> float:
    """An automatic threshold ``t`` for the segmentation ``x > t``.

    Parameters
    ----------
    data : array_like, mapping of arrays, or ClassHistograms
        One image, a stack, or several classes (a mapping: pooled). A
        ``ClassHistograms`` is used as it is, pooled over its classes.
    method : str
        One of :data:`THRESHOLD_METHODS`. Otsu, Yen, isodata, minimum and mean
        are computed from the histogram: for integer images one bin per value,
        as scikit-image counts them, so the threshold is scikit-image's on the
        same pixels and never splits a bin (``x > t`` keeps or drops each value
        whole); for floats scikit-image's 256 bins over the finite range, so
        again scikit-image's value (a bin centre, as scikit-image returns).
        Li and triangle need the pixels themselves and are not available from
        a ``ClassHistograms`` alone.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For an unknown method, no finite value, a constant image, or a method
        that finds no threshold on this histogram (e.g. ``minimum`` on a
        histogram without two peaks).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.r_[np.full(100, 10), np.full(100, 200)].astype(np.uint8)
    >>> 10 <= auto_threshold(image, "otsu") < 200
    True
    >>> from skimage.data import camera
    >>> from skimage.filters import threshold_yen
    >>> wide = camera().astype(np.uint16) * 257        # 0..65535
    >>> bool(auto_threshold(wide, "yen") == threshold_yen(wide))
    True
    """
    import skimage.filters as filters

    if method not in THRESHOLD_METHODS:
        raise ValueError(
            f"unknown threshold method {method!r}; choose one of {THRESHOLD_METHODS}."
        )
    if isinstance(data, ClassHistograms):
        histograms, pixels = data, None
    else:
        stacks = data if isinstance(data, Mapping) else {"image": data}
        arrays = {name: np.asarray(array) for name, array in stacks.items()}
        histograms = class_histograms(arrays)
        pixels = arrays
    counts = histograms.pooled()
    if counts.sum() == 0:
        raise ValueError("no finite pixel values to threshold.")
    occupied = np.flatnonzero(counts)
    if occupied.size < 2:
        minima = [st.minimum for st in histograms.statistics.values() if st.count]
        value = min(minima) if minima else histograms.centers[occupied[0]]
        raise ValueError(
            f"the image is constant ({value:g}): there is no threshold that separates "
            "anything. Choose a threshold by hand or another image."
        )
    hist = (counts, histograms.centers)
    if method in ("li", "triangle"):
        if pixels is None:
            raise ValueError(f"the {method} method needs the pixels, not only their histogram.")
        values = np.concatenate([finite_values(a).ravel() for a in pixels.values()])
        function = getattr(filters, f"threshold_{method}")
        return float(function(values))
    if method == "mean":
        if pixels is None or histograms.unit_bins:
            return float(counts @ histograms.centers / counts.sum())
        values = np.concatenate([finite_values(a).ravel() for a in pixels.values()])
        return float(np.mean(values))  # in its own dtype, as scikit-image takes it
    if method == "minimum":
        return _threshold_minimum(counts, histograms.centers)
    try:
        return float(getattr(filters, f"threshold_{method}")(hist=hist))
    except RuntimeError as exc:  # threshold_minimum: no two maxima
        raise ValueError(f"the {method} method found no threshold here: {exc}") from exc


def _threshold_minimum(counts: np.ndarray, centers: np.ndarray, max_num_iter: int = 10_000):
    """scikit-image's ``threshold_minimum`` on a histogram, with the same result.

    scikit-image finds the local maxima of the smoothed histogram in a Python
    loop over the bins, at each of up to 10,000 smoothings: minutes on a 16-bit
    image's 65,536 bins. The same rule over numpy's steps takes a few seconds.
    """
    from scipy import ndimage

    smooth = counts.astype(np.float32, copy=False)
    for counter in range(max_num_iter):  # noqa: B007 (read after the loop, as skimage does)
        smooth = ndimage.uniform_filter1d(smooth, 3)
        maxima = _local_maxima(smooth)
        if len(maxima) < 3:
            break
    if len(maxima) != 2 or counter == max_num_iter - 1:
        raise ValueError(
            "the minimum method found no threshold here: the histogram does not smooth "
            "into two peaks. Choose another method."
        )
    return float(centers[maxima[0] + np.argmin(smooth[maxima[0] : maxima[1] + 1])])


def _local_maxima(values: np.ndarray) -> np.ndarray:
    """Where ``values`` starts to fall after rising (plateaus included), as scikit-image
    counts the maxima: a fall is a maximum when the last change before it was a rise,
    or when nothing changed before it."""
    steps = np.sign(np.diff(values))
    moves = np.flatnonzero(steps)
    signs = steps[moves]
    before = np.concatenate(([1.0], signs[:-1]))
    return moves[(signs < 0) & (before > 0)]
