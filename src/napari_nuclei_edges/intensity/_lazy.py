"""Exact histograms of stacks too large for memory, a block of images at a time.

numpy only: no Qt, no napari.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from ..data import finite_values
from ._histograms import (
    ClassHistograms,
    ClassStatistics,
    _as_float_view,
    _check_real,
    _percentile,
    bin_counts,
    histogram_edges,
)


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
    ...         _ = next(steps)
    ... except StopIteration as end:
    ...     result = end.value
    >>> result.counts["a"].sum(), result.statistics["a"].maximum
    (np.int64(64), 63.0)
    """
    # one generator for both passes (range, then counts): a worker shows its progress
    # through what it yields, so the passes are not split into functions that cannot yield
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
            part = finite_values(data[start : start + block])
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
    edges, unit_bins = histogram_edges(all_integer, low, high, bins)
    counts, statistics = {}, {}
    for name, data in flat.items():
        count = np.zeros(edges.size - 1, np.int64)
        nonfinite, above, total_sum, total_square = 0, 0, 0.0, 0.0
        for start in starts[name]:
            part = np.asarray(data[start : start + block])
            part = part.view(np.uint8) if part.dtype == bool else part
            block_counts, block_nonfinite = bin_counts(part, edges, unit_bins)
            count += block_counts
            nonfinite += block_nonfinite
            finite = _as_float_view(finite_values(part)).astype(np.float64, copy=False)
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
