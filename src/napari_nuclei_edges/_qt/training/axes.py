"""Axes of the loss plot a reader takes in at a glance: whole steps, and powers of ten."""

from __future__ import annotations

import math

import pyqtgraph as pg

#: Pixels a tick label needs along an axis, to keep labels from crowding.
PIXELS_PER_TICK = {"bottom": 70, "left": 32}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class StepAxis(pg.AxisItem):
    """An axis of optimiser steps: whole numbers only (no 0.2 … 0.8 on a short run)."""

    def __init__(self, orientation: str = "bottom", **kwargs):
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickSpacing(self, minVal, maxVal, size):
        levels = [(spacing, offset) for spacing, offset in
                  super().tickSpacing(minVal, maxVal, size) if spacing >= 1]  # fmt: skip
        return levels or [(1.0, 0.0)]

    def tickStrings(self, values, scale, spacing):
        return [f"{round(v):,}".replace(",", "\u2009") for v in values]


class LossAxis(pg.AxisItem):
    """A log axis labelled 10⁻³, 10⁰, 10³ …, spaced so the labels never crowd.

    Within less than two decades it labels 1, 2 and 5 (or more) times a power of ten; no
    SI prefix (a "(x0.001)" beside powers of ten reads as nonsense).
    """

    def __init__(self, orientation: str = "left", **kwargs):
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal, maxVal, size):
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        low, high = sorted((minVal, maxVal))
        if not (math.isfinite(low) and math.isfinite(high)):
            return []
        most = max(2, int(size / PIXELS_PER_TICK["left"]))
        first, last = math.ceil(low), math.floor(high)
        if last - first >= 1:
            stride = max(1, math.ceil((last - first + 1) / most))
            start = first + (-first) % stride  # multiples of the stride: 10⁰ stays a tick
            return [(stride, list(range(start, last + 1, stride)))]
        for mantissas in ((1, 2, 5), (1, 2, 3, 5), range(1, 10)):
            values = [
                math.log10(mantissa) + exponent
                for exponent in range(math.floor(low), math.ceil(high) + 1)
                for mantissa in mantissas
                if low <= math.log10(mantissa) + exponent <= high
            ]
            if len(values) >= 3 or len(values) >= most:
                break
        return [(1, values[:most])]

    def logTickStrings(self, values, scale, spacing):
        return [power_text(v) for v in values]


def power_text(log_value: float) -> str:
    """``10⁻³`` for -3, ``2·10⁻³`` for log10(0.002), ``1``/``10`` for 0/1.

    Examples
    --------
    >>> power_text(-3), power_text(0), power_text(1), power_text(math.log10(0.002))
    ('10⁻³', '1', '10', '2·10⁻³')
    """
    exponent = math.floor(log_value + 1e-9)
    mantissa = round(10 ** (log_value - exponent), 1)
    if mantissa >= 10:
        exponent, mantissa = exponent + 1, 1.0
    power = {0: "1", 1: "10"}.get(exponent, "10" + str(exponent).translate(_SUPERSCRIPT))
    if mantissa == 1:
        return power
    digits = f"{mantissa:g}"
    return f"{digits}·{power}" if exponent not in (0, 1) else f"{mantissa * 10**exponent:g}"
