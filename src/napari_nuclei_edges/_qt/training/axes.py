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

    Within less than three decades it labels 1, 2 and 5 (or more) times a power of ten,
    and within less than one, evenly spaced round values (2.5, 3, 3.5 …): three ticks at
    least, whatever the range. No SI prefix (a "(x0.001)" beside powers of ten reads as
    nonsense).
    """

    def __init__(self, orientation: str = "left", **kwargs):
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal, maxVal, size):
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        low, high = sorted((minVal, maxVal))
        if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
            return []
        # three at least: pyqtgraph hides a label that would cross the axis' end
        most = max(3, int(size / PIXELS_PER_TICK["left"]))
        first, last = math.ceil(low), math.floor(high)
        if last - first >= 2:
            stride = max(1, math.ceil((last - first + 1) / most))
            start = first + (-first) % stride  # multiples of the stride: 10⁰ stays a tick
            powers = list(range(start, last + 1, stride))
            if len(powers) < 3:  # too few multiples: from the first power instead
                powers = list(range(first, last + 1, stride))
            return [(stride, powers)]
        for mantissas in ((1, 2, 5), (1, 2, 3, 5), range(1, 10)):
            values = [
                math.log10(mantissa) + exponent
                for exponent in range(math.floor(low), math.ceil(high) + 1)
                for mantissa in mantissas
                if low <= math.log10(mantissa) + exponent <= high
            ]
            if 3 <= len(values) <= most:
                return [(1, values)]
        return [(1, linear_ticks(low, high, most))]

    def logTickStrings(self, values, scale, spacing):
        strings = [power_text(v) for v in values]
        digits = 3
        while len(set(strings)) < len(strings) and digits < 10:  # 100.1, 100.2: not "100"
            strings = [f"{10**v:.{digits}g}" for v in values]
            digits += 1
        return strings


def linear_ticks(low: float, high: float, most: int) -> list[float]:
    """log10 of evenly spaced round values between 10**low and 10**high: three at least,
    at most ``most`` where three allow it.

    For a loss that spans less than a decade (the mantissas 1–9 give too few ticks).

    Examples
    --------
    >>> [round(10**v, 6) for v in linear_ticks(math.log10(2.2), math.log10(4.4), 4)]
    [2.5, 3.0, 3.5, 4.0]
    """
    bottom, top = 10**low, 10**high
    exponent = math.floor(math.log10((top - bottom) / max(most, 3)))
    found: list[float] = []
    for step in (m * 10.0**e for e in (exponent, exponent + 1) for m in (1, 2, 2.5, 5)):
        values = [i * step for i in range(math.ceil(bottom / step), math.floor(top / step) + 1)]
        if len(values) < 3:
            break
        found = values
        if len(values) <= most:
            break
    return [math.log10(v) for v in found if v > 0]


def power_text(log_value: float) -> str:
    """``10⁻³`` for -3, ``2·10⁻³`` for log10(0.002), ``1``/``10`` for 0/1.

    Examples
    --------
    >>> power_text(-3), power_text(0), power_text(1), power_text(math.log10(0.002))
    ('10⁻³', '1', '10', '2·10⁻³')
    >>> power_text(math.log10(0.0025)), power_text(math.log10(3.5))
    ('2.5·10⁻³', '3.5')
    """
    exponent = math.floor(log_value + 1e-9)
    mantissa = round(10 ** (log_value - exponent), 2)
    if mantissa >= 10:
        exponent, mantissa = exponent + 1, 1.0
    power = {0: "1", 1: "10"}.get(exponent, "10" + str(exponent).translate(_SUPERSCRIPT))
    if mantissa == 1:
        return power
    digits = f"{mantissa:g}"
    return f"{digits}·{power}" if exponent not in (0, 1) else f"{mantissa * 10**exponent:g}"
