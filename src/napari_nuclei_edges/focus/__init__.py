"""Which slice of a focus stack is sharpest: the Brenner gradient and four of its peers.

A sharp image has more contrast between neighbouring pixels than a blurred one.
Each measure turns one slice ``g`` (rows ``i``, columns ``j``, ``H × W`` pixels)
into one number that is largest in focus:

- ``brenner``: the Brenner gradient, ``B = Σ_i Σ_j [g(i, j) − g(i + 2, j)]²``,
  ``i`` the row index, summed over every pair inside the slice (``i`` from 0 to
  ``H − 3``);
- ``normalised_variance``: Groen's ``Σ (g − μ)² / (H W |μ|)`` with ``μ`` the
  slice's mean (0 when ``μ = 0``): the variance, independent of brightness;
- ``tenengrad``: ``Σ (Gx² + Gy²)``, the squared Sobel magnitude summed over the
  pixels whose 3 × 3 neighbourhood is inside the slice (this project's
  :func:`napari_nuclei_edges.gradients.sobel`, ``padding="valid"``);
- ``laplacian_variance``: the variance of the 4-neighbour Laplacian
  ``g(i−1, j) + g(i+1, j) + g(i, j−1) + g(i, j+1) − 4 g(i, j)`` over the same pixels;
- ``spectral``: the power-weighted mean spatial frequency (cycles per pixel) of
  the slice's Fourier spectrum, the mean (zero frequency) left out.

A constant slice has measure 0 under all five: the caller says so. Each measure
is computed in torch (float32; float64 for float64 input, but the Sobel of
``tenengrad`` is always float32), a chunk of slices at
a time; nothing is compiled or loaded at run time. A dask stack is read a chunk
of slices at a time.

Examples
--------
>>> stack, true_best = synthetic_focus_stack(slices=11, best=4, noise=1.0)
>>> values = focus_measures(stack)
>>> sorted(values) == sorted(FOCUS_MEASURES), values["brenner"].shape
(True, (11,))
>>> best_focus(stack), true_best
(4, 4)

torch, numpy and scipy; no Qt, no napari.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import check_stack, nan_sentence
from ._judge import curve_width, false_maxima, judge_curve
from ._map import TILE, expand_map, focus_map, tile_starts
from ._measures import (
    CHUNK_PIXELS,
    FOCUS_MEASURES,
    MEASURE_LABELS,
    check_measures,
    iter_focus_measures,
)
from ._synthetic import DEFOCUS_PER_SLICE, sample_image, synthetic_focus_stack

__all__ = [
    "CHUNK_PIXELS",
    "DEFOCUS_PER_SLICE",
    "FOCUS_MEASURES",
    "MEASURE_LABELS",
    "TILE",
    "best_focus",
    "check_measures",
    "check_stack",
    "curve_width",
    "expand_map",
    "false_maxima",
    "focus_map",
    "focus_measures",
    "iter_focus_measures",
    "judge_curve",
    "nan_sentence",
    "sample_image",
    "synthetic_focus_stack",
    "tile_starts",
]


def focus_measures(
    stack,
    measures: str | Sequence[str] = FOCUS_MEASURES,
    *,
    axis: int = 0,
    noise: float = 0.0,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Each focus measure of every slice of a stack.

    Parameters
    ----------
    stack : array_like, torch.Tensor or dask.array.Array
        A 3D stack of 2D slices, slices along ``axis``; any real dtype. Never
        modified; a dask stack is computed a chunk of slices at a time.
    measures : str or sequence of str
        Any of :data:`FOCUS_MEASURES` (the module docstring gives each formula).
    axis : int
        The axis along which the focus changes (negative counts from the end).
    noise : float
        Gaussian noise of this σ (grey levels) added to every slice first, drawn
        from ``seed``: how robust each measure is (false maxima appear).
    seed : int
        The noise's seed (the same noise whatever the chunking).

    Returns
    -------
    dict of str to numpy.ndarray
        Measure name to a float64 array of one value per slice, in the order
        asked for. A constant slice's value is 0.

    Raises
    ------
    TypeError
        For complex, object or string data.
    ValueError
        For a single 2D image, an RGB(A) image, a 4D stack, an axis that does not
        exist, slices under 3 × 3, an unknown measure, or NaN/infinite pixels (the
        sentence says how many).

    Examples
    --------
    >>> g = np.zeros((2, 4, 3), np.uint8)
    >>> g[1, 0] = 10                      # one bright row in slice 1
    >>> focus_measures(g, "brenner")["brenner"]   # (10 - 0)² for 3 columns
    array([  0., 300.])
    """
    steps = iter_focus_measures(stack, measures, axis=axis, noise=noise, seed=seed)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def best_focus(stack, measure: str = "brenner", *, axis: int = 0) -> int:
    """The index of the sharpest slice by one measure (the first, on a tie).

    A stack of constant slices gives 0: every measure is 0 there.

    Examples
    --------
    >>> stack, true_best = synthetic_focus_stack(slices=7, best=5)
    >>> best_focus(stack, "tenengrad")
    5
    >>> best_focus(np.moveaxis(stack, 0, -1), "brenner", axis=-1)
    5
    """
    if not isinstance(measure, str):
        raise TypeError(f"best_focus takes one measure name, not {type(measure).__name__}.")
    values = focus_measures(stack, measure, axis=axis)[measure]
    return int(np.argmax(values))
