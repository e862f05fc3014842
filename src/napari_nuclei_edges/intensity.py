"""Intensity histograms per class, their statistics, and automatic thresholds.

Histograms of several stacks share one set of bins so they can be overlaid and
compared. Integer images get one bin per value while the values span at most 256
(exact medians and percentiles); wider integer ranges and floats get 256 bins
(percentiles then within one bin width). Counting uses ``np.bincount``, several
times faster than ``np.histogram``.

numpy and scikit-image only: no Qt, no napari.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "THRESHOLD_METHODS",
    "ClassHistograms",
    "ClassStatistics",
    "auto_threshold",
    "class_histograms",
    "iter_class_histograms",
]

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

#: Bins used for floats and for integer ranges wider than one bin per value allows.
DEFAULT_BINS = 256


@dataclass(frozen=True)
class ClassStatistics:
    """Statistics of one class's finite pixel values.

    ``median``, ``p01`` and ``p99`` come from the histogram: exact for integer
    images with one bin per value, otherwise within one bin width.
    ``fraction_above`` is the fraction of pixels ``> threshold`` (None without one).
    """

    count: int
    mean: float
    median: float
    std: float
    p01: float
    p99: float
    minimum: float
    maximum: float
    nonfinite: int = 0
    fraction_above: float | None = None


@dataclass(frozen=True)
class ClassHistograms:
    """Histograms of several stacks on shared bins.

    Attributes
    ----------
    edges : numpy.ndarray
        ``n_bins + 1`` bin edges. With one bin per integer value, bin ``i``
        holds the value ``edges[i] + 0.5``.
    counts : dict of str to numpy.ndarray
        Pixel counts per bin, per class (int64).
    statistics : dict of str to ClassStatistics
        Per-class statistics.
    unit_bins : bool
        True when every bin holds exactly one integer value.
    """

    edges: np.ndarray
    counts: dict[str, np.ndarray]
    statistics: dict[str, ClassStatistics]
    unit_bins: bool = False

    @property
    def centers(self) -> np.ndarray:
        """Bin centres (the integer values themselves with unit bins)."""
        return (self.edges[:-1] + self.edges[1:]) / 2

    @property
    def names(self) -> list[str]:
        return list(self.counts)

    def density(self, name: str) -> np.ndarray:
        """Counts of ``name`` normalised to unit area (a probability density)."""
        counts = self.counts[name]
        total = counts.sum()
        if total == 0:
            return np.zeros(counts.shape, float)
        return counts / (total * np.diff(self.edges))

    def pooled(self, names: list[str] | None = None) -> np.ndarray:
        """Counts of several classes (all by default) added together."""
        names = self.names if names is None else names
        return np.sum([self.counts[name] for name in names], axis=0)

    def separability(self, a: str, b: str) -> dict[str, float]:
        """How well the pixel values of two classes separate.

        Returns
        -------
        dict
            ``"auc"``: ROC-AUC, the probability that a random pixel of ``b`` is
            brighter than one of ``a`` (ties count half; 0.5 = indistinguishable,
            0 or 1 = perfectly separable). ``"overlap"``: the shared area of the
            two normalised histograms (1 = identical, 0 = disjoint).
        """
        ca, cb = self.counts[a].astype(float), self.counts[b].astype(float)
        na, nb = ca.sum(), cb.sum()
        if na == 0 or nb == 0:
            return {"auc": float("nan"), "overlap": float("nan")}
        below_a = np.cumsum(ca) - ca  # pixels of a strictly below each bin
        auc = float(np.sum(cb * (below_a + 0.5 * ca)) / (na * nb))
        overlap = float(np.minimum(ca / na, cb / nb).sum())
        return {"auc": auc, "overlap": overlap}

    def separability_matrix(self, measure: str = "auc") -> np.ndarray:
        """``measure`` for every ordered pair of classes, rows ``a``, columns ``b``."""
        names = self.names
        matrix = np.empty((len(names), len(names)))
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                matrix[i, j] = self.separability(a, b)[measure]
        return matrix


def _as_float_view(array: np.ndarray) -> np.ndarray:
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def _check_real(name: str, array: np.ndarray) -> np.ndarray:
    if array.dtype == bool:
        return array.view(np.uint8)
    if array.dtype.kind not in "uif":
        raise TypeError(
            f"{name}: cannot histogram values of type {array.dtype}; "
            "give a real-valued (integer or float) image."
        )
    return array


def _value_range(arrays: Mapping[str, np.ndarray]) -> tuple[float, float] | None:
    lows, highs = [], []
    for array in arrays.values():
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        if finite.size:
            lows.append(finite.min())
            highs.append(finite.max())
    if not lows:
        return None
    return min(lows), max(highs)


def class_histograms(
    stacks: Mapping[str, ArrayLike],
    bins: int | None = None,
    value_range: tuple[float, float] | None = None,
    *,
    threshold: float | None = None,
) -> ClassHistograms:
    """Histograms and statistics of several image stacks on shared bins.

    Parameters
    ----------
    stacks : mapping of str to array_like
        Class name to image or stack of any shape. NaN and ±inf are ignored and
        counted in ``ClassStatistics.nonfinite``.
    bins : int, optional
        Number of bins. Default: one per integer value when the integer values
        span at most 256, else 256.
    value_range : (float, float), optional
        Lowest and highest value binned; default: the finite range of all stacks.
        Values outside are not counted.
    threshold : float, optional
        Also report each class's fraction of pixels above it.

    Returns
    -------
    ClassHistograms

    Raises
    ------
    TypeError
        For complex, object or string data.
    ValueError
        When nothing is given.

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> h = class_histograms(synthetic_nuclei(n_per_class=5))
    >>> h.edges.size - 1 <= 256, h.unit_bins
    (True, True)
    >>> round(h.separability("interphase", "interphase")["auc"], 3)
    0.5
    """
    if not stacks:
        raise ValueError("class_histograms needs at least one image stack.")
    arrays = {name: _check_real(name, np.asarray(data)) for name, data in stacks.items()}
    all_integer = all(a.dtype.kind in "ui" for a in arrays.values())
    if value_range is None:
        found = _value_range(arrays)
        value_range = found if found is not None else (0.0, 1.0)
    low, high = value_range
    if not high >= low:
        raise ValueError(f"value_range must be (low, high) with low <= high, not {value_range}.")

    edges, unit_bins = _edges(all_integer, low, high, bins)
    counts, statistics = {}, {}
    for name, array in arrays.items():
        counts[name], nonfinite = _count(array, edges, unit_bins)
        statistics[name] = _statistics(array, counts[name], edges, unit_bins, nonfinite, threshold)
    return ClassHistograms(edges=edges, counts=counts, statistics=statistics, unit_bins=unit_bins)


def _edges(all_integer: bool, low: float, high: float, bins: int | None):
    """Shared bin edges: one bin per integer value when that is at most DEFAULT_BINS."""
    span = int(high) - int(low) + 1 if all_integer else None
    unit_bins = all_integer and span <= DEFAULT_BINS and bins in (None, span)
    if unit_bins:
        return np.arange(span + 1, dtype=float) + int(low) - 0.5, True
    n_bins = int(bins or DEFAULT_BINS)
    if n_bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}.")
    if high == low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, n_bins + 1), False


def iter_class_histograms(
    stacks: Mapping[str, ArrayLike],
    bins: int | None = None,
    *,
    threshold: float | None = None,
    block: int = 16,
):
    """:func:`class_histograms` of stacks too large for memory, reading ``block`` images at a time.

    A generator for a worker: it yields ``(blocks_done, blocks_total)`` after each
    block (two passes: the value range, then the counts) and returns the
    :class:`ClassHistograms`. Counts, ``count``, ``minimum``, ``maximum`` and
    ``fraction_above`` are exact; ``mean`` and ``std`` are exact sums in float64;
    percentiles come from the histogram as in :func:`class_histograms`.

    Examples
    --------
    >>> import numpy as np
    >>> stack = np.arange(64, dtype=np.uint8).reshape(4, 4, 4)
    >>> steps = iter_class_histograms({"a": stack}, block=1)
    >>> try:
    ...     while True:
    ...         next(steps)
    ... except StopIteration as end:
    ...     result = end.value
    >>> result.counts["a"].sum(), result.statistics["a"].maximum
    (np.int64(64), 63.0)
    """
    if not stacks:
        raise ValueError("class_histograms needs at least one image stack.")
    flat = {}
    for name, data in stacks.items():
        _check_real(name, np.empty(0, np.dtype(data.dtype)))
        shape = tuple(data.shape)
        flat[name] = data.reshape((-1, *shape[-2:])) if len(shape) > 2 else data[None]
    starts = {name: range(0, len(f), block) for name, f in flat.items()}
    total, done = 2 * sum(len(r) for r in starts.values()), 0
    ranges = {}
    for name, data in flat.items():
        low, high = None, None
        for start in starts[name]:
            part = _finite(np.asarray(data[start : start + block]))
            if part.size:
                # numpy scalars of the data's type, as class_histograms bins them
                low = part.min() if low is None else min(low, part.min())
                high = part.max() if high is None else max(high, part.max())
            done += 1
            yield done, total
        ranges[name] = (low, high)
    found = [r for r in ranges.values() if r[0] is not None]
    low = min((r[0] for r in found), default=0.0)
    high = max((r[1] for r in found), default=1.0)
    all_integer = all(np.dtype(f.dtype).kind in "uib" for f in flat.values())
    edges, unit_bins = _edges(all_integer, low, high, bins)
    counts, statistics = {}, {}
    for name, data in flat.items():
        count = np.zeros(edges.size - 1, np.int64)
        nonfinite, above, total_sum, total_square = 0, 0, 0.0, 0.0
        for start in starts[name]:
            part = np.asarray(data[start : start + block])
            part = part.view(np.uint8) if part.dtype == bool else part
            block_counts, block_nonfinite = _count(part, edges, unit_bins)
            count += block_counts
            nonfinite += block_nonfinite
            finite = _as_float_view(_finite(part)).astype(np.float64, copy=False)
            total_sum += float(finite.sum())
            total_square += float((finite * finite).sum())
            if threshold is not None:
                above += int(np.count_nonzero(part > threshold))
            done += 1
            yield done, total
        counts[name] = count
        n = int(count.sum())
        mean = total_sum / n if n else float("nan")
        std = float(np.sqrt(max(total_square / n - mean * mean, 0.0))) if n else float("nan")
        statistics[name] = ClassStatistics(
            count=n,
            mean=mean,
            median=_percentile(count, edges, 50, unit_bins) if n else float("nan"),
            std=std,
            p01=_percentile(count, edges, 1, unit_bins) if n else float("nan"),
            p99=_percentile(count, edges, 99, unit_bins) if n else float("nan"),
            minimum=float(ranges[name][0]) if n else float("nan"),
            maximum=float(ranges[name][1]) if n else float("nan"),
            nonfinite=nonfinite,
            fraction_above=(above / n if n else None) if threshold is not None else None,
        )
    return ClassHistograms(edges=edges, counts=counts, statistics=statistics, unit_bins=unit_bins)


def _count(array: np.ndarray, edges: np.ndarray, unit_bins: bool) -> tuple[np.ndarray, int]:
    n_bins = edges.size - 1
    flat = array.ravel()
    if unit_bins:
        low = int(edges[0] + 0.5)
        if array.dtype == np.uint8 and low == 0:
            # the common case costs one pass: no shift, no copy
            return np.bincount(flat, minlength=n_bins)[:n_bins].astype(np.int64), 0
        shifted = flat.astype(np.int64) - low
        inside = (shifted >= 0) & (shifted < n_bins)
        return np.bincount(shifted[inside], minlength=n_bins).astype(np.int64), 0
    nonfinite = 0
    if flat.dtype.kind == "f":
        finite = np.isfinite(flat)
        nonfinite = int(flat.size - np.count_nonzero(finite))
        if nonfinite:
            flat = flat[finite]
    low, high = edges[0], edges[-1]
    inside = (flat >= low) & (flat <= high)
    values = flat[inside] if not inside.all() else flat
    index = ((values.astype(np.float64) - low) * (n_bins / (high - low))).astype(np.int64)
    np.minimum(index, n_bins - 1, out=index)  # the top edge belongs to the last bin
    return np.bincount(index, minlength=n_bins).astype(np.int64), nonfinite


def _percentile(counts: np.ndarray, edges: np.ndarray, q: float, unit_bins: bool) -> float:
    total = counts.sum()
    cumulative = np.cumsum(counts)
    rank = q / 100 * (total - 1)  # numpy's "linear" percentile, on 0-based ranks
    if unit_bins:
        values = edges[:-1] + 0.5
        lower = values[np.searchsorted(cumulative, np.floor(rank), side="right")]
        upper = values[np.searchsorted(cumulative, np.ceil(rank), side="right")]
        return float(lower + (upper - lower) * (rank - np.floor(rank)))
    index = int(np.searchsorted(cumulative, rank, side="right"))
    before = cumulative[index - 1] if index else 0
    inside = (rank - before + 0.5) / counts[index]
    return float(edges[index] + np.clip(inside, 0, 1) * (edges[index + 1] - edges[index]))


def _statistics(
    array: np.ndarray,
    counts: np.ndarray,
    edges: np.ndarray,
    unit_bins: bool,
    nonfinite: int,
    threshold: float | None,
) -> ClassStatistics:
    total = int(counts.sum())
    if total == 0:
        nan = float("nan")
        return ClassStatistics(0, nan, nan, nan, nan, nan, nan, nan, nonfinite, None)
    if unit_bins:
        values = edges[:-1] + 0.5
        mean = float(counts @ values / total)
        std = float(np.sqrt(max(counts @ (values - mean) ** 2 / total, 0.0)))
        present = np.flatnonzero(counts)
        minimum, maximum = float(values[present[0]]), float(values[present[-1]])
    else:
        finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
        as_float = _as_float_view(finite)
        mean, std = float(as_float.mean()), float(as_float.std())
        minimum, maximum = float(finite.min()), float(finite.max())
    fraction = None
    if threshold is not None:
        fraction = float(np.count_nonzero(array > threshold) / total)
    return ClassStatistics(
        count=total,
        mean=mean,
        median=_percentile(counts, edges, 50, unit_bins),
        std=std,
        p01=_percentile(counts, edges, 1, unit_bins),
        p99=_percentile(counts, edges, 99, unit_bins),
        minimum=minimum,
        maximum=maximum,
        nonfinite=nonfinite,
        fraction_above=fraction,
    )


# --------------------------------------------------------------------------- thresholds


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
        are computed from the histogram (fast, and the same as scikit-image on
        the pixels for integer images); Li and triangle need the pixels
        themselves and are not available from a ``ClassHistograms`` alone.

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
        value = histograms.centers[occupied[0]]
        raise ValueError(
            f"the image is constant ({value:g}): there is no threshold that separates "
            "anything. Choose a threshold by hand or another image."
        )
    hist = (counts, histograms.centers)
    if method in ("li", "triangle"):
        if pixels is None:
            raise ValueError(f"the {method} method needs the pixels, not only their histogram.")
        values = np.concatenate([_finite(a).ravel() for a in pixels.values()])
        function = getattr(filters, f"threshold_{method}")
        return float(function(values))
    if method == "mean":
        if pixels is None or histograms.unit_bins:
            return float(counts @ histograms.centers / counts.sum())
        values = np.concatenate([_finite(a).ravel() for a in pixels.values()])
        return float(values.mean(dtype=np.float64))
    try:
        return float(getattr(filters, f"threshold_{method}")(hist=hist))
    except RuntimeError as exc:  # threshold_minimum: no two maxima
        raise ValueError(f"the {method} method found no threshold here: {exc}") from exc


def _finite(array: np.ndarray) -> np.ndarray:
    if array.dtype == bool:
        return array.view(np.uint8)
    return array[np.isfinite(array)] if array.dtype.kind == "f" else array
