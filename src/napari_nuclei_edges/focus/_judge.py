"""How good a focus curve is, as Sun, Duthaler & Nelson (2004) judged the measures.

numpy only.
"""

from __future__ import annotations

import numpy as np


def false_maxima(values) -> int:
    """Local maxima of a focus curve other than its highest one.

    A unimodal curve (what an autofocus wants) has none; plateaus count once.

    Examples
    --------
    >>> false_maxima([1, 3, 2, 5, 4])
    1
    >>> false_maxima([1, 2, 3, 2, 1])
    0
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.concatenate(([True], np.diff(v) != 0))]  # a plateau is one point
    if v.size < 2:
        return 0
    left = np.concatenate(([-np.inf], v[:-1]))
    right = np.concatenate((v[1:], [-np.inf]))
    return max(0, int(np.count_nonzero((v > left) & (v > right))) - 1)


def curve_width(values, level: float = 0.5) -> int:
    """Slices around the peak where the curve, scaled from 0 to 1, is above ``level``.

    The curve is scaled from its minimum (0) to its maximum (1). A narrow curve
    locates the focus precisely; the width at half height is Sun et al.'s
    measure of it.

    Examples
    --------
    >>> curve_width([0, 1, 4, 10, 6, 1, 0])
    2
    """
    v = np.asarray(values, dtype=np.float64)
    low, high = v.min(), v.max()
    if high == low:
        return int(v.size)
    above = (v - low) / (high - low) > level
    peak = int(np.argmax(v))
    start, stop = peak, peak + 1
    while start > 0 and above[start - 1]:
        start -= 1
    while stop < v.size and above[stop]:
        stop += 1
    return stop - start


def judge_curve(values, true_best: int) -> dict[str, int]:
    """Accuracy, false maxima and width of one measure's curve on a stack of known focus.

    Examples
    --------
    >>> judge_curve([1, 3, 2, 5, 4], true_best=3)
    {'error': 0, 'false_maxima': 1, 'width': 2}
    """
    v = np.asarray(values, dtype=np.float64)
    return {
        "error": abs(int(np.argmax(v)) - int(true_best)),
        "false_maxima": false_maxima(v),
        "width": curve_width(v),
    }
