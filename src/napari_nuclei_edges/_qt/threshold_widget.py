"""Public import path of the threshold dock (see ``_qt/threshold/``)."""

from .threshold.widget import HistogramThresholdWidget

__all__ = ["HistogramThresholdWidget"]
