"""Intensity histograms per class, their statistics, and automatic thresholds.

Histograms of several stacks share one set of bins so they can be overlaid and
compared. Integer images get one bin per value, as scikit-image counts them
(every 8-, 12- and 16-bit image and int16): counts, statistics and thresholds
are exact and equal scikit-image's on the same pixels. Floats get scikit-image's
256 bins, with statistics from the pixels. Drawing may merge bins
(:func:`display_histogram`); counting never does.

- :func:`class_histograms`: histograms and statistics of in-memory stacks;
- :func:`iter_class_histograms`: the same for lazy stacks, a block at a time;
- :func:`histogram_edges` and :func:`bin_counts`: the one binning rule, for
  callers that count block by block themselves (the batch command);
- :func:`display_histogram`: fewer, whole bins to draw (unit bins draw a comb);
- :func:`auto_threshold` and :data:`THRESHOLD_METHODS`: automatic thresholds.

numpy and scikit-image only: no Qt, no napari.
"""

from ._histograms import (
    DEFAULT_BINS,
    DISPLAY_BINS,
    MAX_UNIT_SPAN,
    ClassHistograms,
    ClassStatistics,
    bin_counts,
    class_histograms,
    display_histogram,
    histogram_edges,
)
from ._lazy import iter_class_histograms
from ._thresholds import THRESHOLD_METHODS, auto_threshold

__all__ = [
    "DEFAULT_BINS",
    "DISPLAY_BINS",
    "MAX_UNIT_SPAN",
    "THRESHOLD_METHODS",
    "ClassHistograms",
    "ClassStatistics",
    "auto_threshold",
    "bin_counts",
    "class_histograms",
    "display_histogram",
    "histogram_edges",
    "iter_class_histograms",
]
