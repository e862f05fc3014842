"""Histograms of several stacks on shared bins, and their per-class statistics.

Integer images get one bin per value, as scikit-image counts them, up to
:data:`MAX_UNIT_SPAN` values (every 8-, 12- and 16-bit image, and int16): the
counts, the statistics and every threshold computed from them are exact.
Floats get scikit-image's default of 256 equal bins over their finite range;
their statistics come from the pixels, so they are exact too. Drawing may use
fewer bins than counting (:func:`display_histogram`): unit bins of real data
draw a comb. Counting uses ``np.bincount``, several times faster than
``np.histogram``.

numpy only: no Qt, no napari.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..data import finite_values

#: Bins used for floats (scikit-image's default) and for integer ranges wider than
#: :data:`MAX_UNIT_SPAN`.
DEFAULT_BINS = 256
#: Integer images spanning at most this many values get one bin per value: every
#: 16-bit and int16 image. Wider (int32) ranges would need a count per value up to
#: billions; they get :data:`DEFAULT_BINS` equal bins.
MAX_UNIT_SPAN = 1 << 16
#: Bins drawn by default: unit bins of real data draw a comb (rescaled 8-bit images
#: skip values), 32 read as a shape; the threshold line still moves by one value.
DISPLAY_BINS = 32


@dataclass(frozen=True)
class ClassStatistics:
    """Statistics of one class's finite pixel values.

    Exact for integer images counted one bin per value and for in-memory float
    images (percentiles from the pixels, numpy's linear rule); for lazy float
    stacks ``median``, ``p01`` and ``p99`` come from the histogram, within one
    bin width. ``fraction_above`` is the fraction of pixels ``> threshold``
    (None without one).
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

    def fraction_above(self, name: str, threshold: float) -> float | None:
        """The exact fraction of ``name``'s pixels ``> threshold`` from unit bins; None otherwise.

        With unit bins every bin holds one value, so the split is exact; with
        wider bins a bin may straddle ``threshold``: count the pixels instead.
        """
        if not self.unit_bins:
            return None
        counts = self.counts[name]
        total = counts.sum()
        if total == 0:
            return float("nan")
        return float(counts[self.centers > threshold].sum() / total)

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
        finite = finite_values(array)
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
        span at most :data:`MAX_UNIT_SPAN` (as scikit-image counts them), else
        256 equal bins (scikit-image's default for floats).
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
    >>> wide = class_histograms({"a": np.array([0, 4095, 65535], np.uint16)})
    >>> wide.edges.size - 1, wide.unit_bins   # one bin per value, as scikit-image
    (65536, True)
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

    edges, unit_bins = histogram_edges(all_integer, low, high, bins)
    counts, statistics = {}, {}
    for name, array in arrays.items():
        counts[name], nonfinite = bin_counts(array, edges, unit_bins)
        statistics[name] = _statistics(array, counts[name], edges, unit_bins, nonfinite, threshold)
    return ClassHistograms(edges=edges, counts=counts, statistics=statistics, unit_bins=unit_bins)


#: Pixels counted at once (bincount's int64 copy of a chunk: 8 MB).
_CHUNK = 1 << 20


def histogram_edges(
    all_integer: bool, low: float, high: float, bins: int | None = None
) -> tuple[np.ndarray, bool]:
    """The shared bin edges of values in ``[low, high]``, and whether they are unit bins.

    The one binning rule: integer data gets one bin per value while the values
    span at most :data:`MAX_UNIT_SPAN` (and ``bins`` asks for nothing else);
    otherwise ``bins`` (default :data:`DEFAULT_BINS`) equal bins, as
    ``np.histogram(values, bins, range=(low, high))`` makes them.

    Examples
    --------
    >>> edges, unit = histogram_edges(True, 0, 3)
    >>> edges.tolist(), unit
    ([-0.5, 0.5, 1.5, 2.5, 3.5], True)
    """
    span = int(high) - int(low) + 1 if all_integer else None
    unit_bins = all_integer and span <= MAX_UNIT_SPAN and bins in (None, span)
    if unit_bins:
        return np.arange(span + 1, dtype=float) + int(low) - 0.5, True
    n_bins = int(bins or DEFAULT_BINS)
    if n_bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}.")
    if high == low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, n_bins + 1)
    if not (np.diff(edges) > 0).all():
        # a range spanning fewer float32 values than bins (denormals, 0.1 to 0.1000002):
        # float64 bins keep them apart where numpy's float32 ones collapse
        edges = np.linspace(float(low), float(high), n_bins + 1)
    return edges, False


def bin_counts(array, edges: np.ndarray, unit_bins: bool) -> tuple[np.ndarray, int]:
    """Pixel counts of ``array`` in the bins of :func:`histogram_edges`, and its non-finite count.

    Values outside the edges are not counted; NaN and ±inf are counted apart.

    Examples
    --------
    >>> edges, unit = histogram_edges(True, 0, 3)
    >>> counts, nonfinite = bin_counts(np.array([0, 3, 3]), edges, unit)
    >>> counts.tolist(), nonfinite
    ([1, 0, 0, 2], 0)
    """
    array = np.asarray(array)
    if array.dtype == bool:
        array = array.view(np.uint8)
    n_bins = edges.size - 1
    flat = array.ravel()
    if unit_bins:
        # a chunk at a time: bincount copies its input to int64 (8 bytes a pixel)
        low = int(edges[0] + 0.5)
        if array.dtype in (np.uint8, np.uint16) and low >= 0:
            # no shift and no mask: count every value of the type, keep the range's
            every = np.zeros(np.iinfo(array.dtype).max + 1, np.int64)
            for begin in range(0, flat.size, _CHUNK):
                every += np.bincount(flat[begin : begin + _CHUNK], minlength=every.size)
            counts = every[low : low + n_bins]
            return np.pad(counts, (0, n_bins - counts.size)), 0
        counts = np.zeros(n_bins, np.int64)
        for begin in range(0, flat.size, _CHUNK):
            shifted = flat[begin : begin + _CHUNK].astype(np.int64) - low
            counts += np.bincount(shifted[(shifted >= 0) & (shifted < n_bins)],
                                  minlength=n_bins)  # fmt: skip
        return counts, 0
    finite = finite_values(flat)
    nonfinite = int(flat.size - finite.size)
    # np.histogram's own uniform-bin rule (with its edge corrections), so the counts
    # are scikit-image's, and a value on an edge goes where numpy puts it
    counts, _ = np.histogram(finite, bins=n_bins, range=(edges[0], edges[-1]))
    return counts.astype(np.int64), nonfinite


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
        p01, median, p99 = (_percentile(counts, edges, q, unit_bins) for q in (1, 50, 99))
    else:
        finite = finite_values(array)
        as_float = _as_float_view(finite)
        mean, std = float(as_float.mean()), float(as_float.std())
        minimum, maximum = float(finite.min()), float(finite.max())
        p01, median, p99 = (float(q) for q in np.percentile(finite, (1, 50, 99)))
    fraction = None
    if threshold is not None:
        fraction = float(np.count_nonzero(array > threshold) / total)
    return ClassStatistics(
        count=total,
        mean=mean,
        median=median,
        std=std,
        p01=p01,
        p99=p99,
        minimum=minimum,
        maximum=maximum,
        nonfinite=nonfinite,
        fraction_above=fraction,
    )


def display_histogram(
    histograms: ClassHistograms, bins: int | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Edges and counts to draw: the counted bins merged into at most ``bins``.

    Counting stays exact; only the drawing is coarser. Neighbouring bins are
    merged whole (with unit bins, each drawn bin holds whole integer values),
    so the drawn counts add up to the counted ones.

    Parameters
    ----------
    histograms : ClassHistograms
    bins : int, optional
        At most this many drawn bins; default :data:`DISPLAY_BINS`. 0 or a number
        at least the counted bins draws them all (unit bins on request).

    Examples
    --------
    >>> h = class_histograms({"a": np.arange(256, dtype=np.uint8)})
    >>> edges, counts = display_histogram(h, 64)
    >>> edges.size - 1, counts["a"][:2].tolist(), edges[:2].tolist()
    (64, [4, 4], [-0.5, 3.5])
    """
    n = histograms.edges.size - 1
    target = DISPLAY_BINS if bins is None else int(bins)
    if target <= 0 or target >= n:
        return histograms.edges, histograms.counts
    width = -(-n // target)  # ceil: whole counted bins per drawn bin
    pad = -n % width
    edges = histograms.edges[::width]
    if pad:
        step = histograms.edges[1] - histograms.edges[0]
        edges = np.append(edges, histograms.edges[-1] + pad * step)
    counts = {
        name: np.pad(c, (0, pad)).reshape(-1, width).sum(axis=1)
        for name, c in histograms.counts.items()
    }
    return edges, counts
