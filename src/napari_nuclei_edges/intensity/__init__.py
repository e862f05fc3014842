"""Intensity histograms per class, their statistics, and automatic thresholds.

Histograms of several stacks share one set of bins so they can be overlaid and
compared. Integer images get one bin per value while the values span at most 256
(exact medians and percentiles); wider integer ranges and floats get 256 bins
(percentiles then within one bin width).

- :func:`class_histograms`: histograms and statistics of in-memory stacks;
- :func:`iter_class_histograms`: the same for lazy stacks, a block at a time;
- :func:`histogram_edges` and :func:`bin_counts`: the one binning rule, for
  callers that count block by block themselves (the batch command);
- :func:`auto_threshold` and :data:`THRESHOLD_METHODS`: automatic thresholds.

numpy and scikit-image only: no Qt, no napari.
"""

from ._histograms import (
    DEFAULT_BINS,
    ClassHistograms,
    ClassStatistics,
    bin_counts,
    class_histograms,
    histogram_edges,
)
from ._lazy import iter_class_histograms
from ._thresholds import THRESHOLD_METHODS, auto_threshold

__all__ = [
    "DEFAULT_BINS",
    "THRESHOLD_METHODS",
    "ClassHistograms",
    "ClassStatistics",
    "auto_threshold",
    "bin_counts",
    "class_histograms",
    "histogram_edges",
    "iter_class_histograms",
]
