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
    try:
        return float(getattr(filters, f"threshold_{method}")(hist=hist))
    except RuntimeError as exc:  # threshold_minimum: no two maxima
        raise ValueError(f"the {method} method found no threshold here: {exc}") from exc
