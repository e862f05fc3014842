"""Pictures of the gradient: the direction as hue and the magnitude as brightness, and arrows.

numpy, and scikit-image for the colour picture: no Qt, no napari, no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .display import PERCENTILE, robust_limit

if TYPE_CHECKING:
    from . import Gradients

__all__ = ["MAX_VECTORS", "MIN_STEP", "gradient_arrows", "magnitude_direction_rgb"]

#: About this many arrows at most in :func:`gradient_arrows`.
MAX_VECTORS = 20_000
#: Fewest pixels between two arrows.
MIN_STEP = 4


def magnitude_direction_rgb(
    gradients: Gradients, *, percentile: float = PERCENTILE, scale: float | None = None
) -> np.ndarray:
    """An at-a-glance picture: the direction as hue, the magnitude as brightness.

    Parameters
    ----------
    gradients : Gradients
        Numpy outputs of :func:`~napari_nuclei_edges.gradients.sobel`.
    percentile : float
        Magnitudes at or above this :func:`robust_limit` are drawn at full brightness.
    scale : float, optional
        The magnitude drawn at full brightness instead (the magnitude layer's limit).

    Returns
    -------
    numpy.ndarray
        float32 RGB in [0, 1], shape ``(..., H, W, 3)``: red points along +x,
        and the hue turns with the direction (-π … π around the colour wheel).

    Examples
    --------
    >>> from napari_nuclei_edges.gradients import sobel
    >>> ramp = np.tile(np.arange(6.0), (5, 1))      # brighter to the right: +x
    >>> rgb = magnitude_direction_rgb(sobel(ramp, padding="valid"))
    >>> rgb.shape, rgb[1, 1].round(2).tolist()      # full brightness, red
    ((3, 4, 3), [1.0, 0.0, 0.0])
    """
    magnitude = np.nan_to_num(np.asarray(gradients.magnitude, np.float32))
    direction = np.nan_to_num(np.asarray(gradients.direction, np.float32))
    if scale is None:
        scale = robust_limit(magnitude, percentile) if magnitude.size else 1.0
    value = np.clip(magnitude / np.float32(scale if scale > 0 else 1.0), 0.0, 1.0)
    # the hue in sixths of a turn, in [0, 6]: direction is in [-π, π]
    sixths = direction * np.float32(3 / np.pi)
    sixths += np.float32(6.0) * (sixths < 0)
    rgb = np.empty((*magnitude.shape, 3), np.float32)
    k = np.empty_like(value)
    # HSV to RGB at full saturation, channel by channel, in float32: scikit-image's
    # hsv2rgb gives the same to 1e-6 but works in float64 on whole-image temporaries
    # (2.4 s on a 12-Mpx image, against 0.13 s here). Channel n (5, 3, 1 for red,
    # green, blue) is V × (1 - clip(min(k, 4 - k), 0, 1)), k = (n + 6h) mod 6; k < 12,
    # so the modulo is one subtraction (numpy's float mod is the slow part).
    for channel, n in enumerate((5.0, 3.0, 1.0)):
        np.add(sixths, np.float32(n), out=k)
        k -= np.float32(6.0) * (k >= 6)
        np.minimum(k, np.float32(4.0) - k, out=k)
        np.clip(k, 0.0, 1.0, out=k)
        np.subtract(np.float32(1.0), k, out=k)
        np.multiply(value, k, out=rgb[..., channel])
    return rgb


def gradient_arrows(
    gradients: Gradients,
    *,
    max_vectors: int = MAX_VECTORS,
    min_fraction: float = 0.0,
    min_step: int = MIN_STEP,
    unit: bool = False,
) -> np.ndarray:
    """Gradient arrows on a regular grid, as napari vectors data.

    The grid step is the same along rows and columns, at least ``min_step``
    pixels, and chosen so that about ``max_vectors`` arrows cover the whole
    stack; the grid starts half a step in. Arrows are scaled together so that
    a gradient of :func:`robust_limit` is one grid step long, and none is longer
    (a hot pixel does not shrink all the others).

    Parameters
    ----------
    gradients : Gradients
        ``gx`` and ``gy`` of :func:`~napari_nuclei_edges.gradients.sobel`, numpy
        (or anything ``numpy.asarray`` reads), ``(..., H, W)``.
    max_vectors : int
        About the most arrows drawn.
    min_fraction : float
        Arrows shorter than this fraction of a step are left out: only edges get one.
    min_step : int
        Fewest pixels between two arrows (:data:`MIN_STEP` by default).
    unit : bool
        Every arrow kept is drawn 0.9 step long: the arrows show the direction,
        the magnitude layer the strength.

    Returns
    -------
    numpy.ndarray
        float32 ``(n, 2, ndim)``: for each arrow its position (every leading
        index, then row, column) and its extent ``(0, …, gy, gx)`` times the
        common scale.

    Examples
    --------
    >>> from napari_nuclei_edges.gradients import sobel
    >>> ramp = np.tile(np.arange(8.0), (8, 1))      # brighter to the right: +x
    >>> arrows = gradient_arrows(sobel(ramp))
    >>> arrows.shape                                # a 2 × 2 grid, step 4
    (4, 2, 2)
    >>> arrows[0].tolist()                          # at (2, 2), one step along +x
    [[2.0, 2.0], [0.0, 4.0]]
    """
    gx, gy = np.asarray(gradients.gx), np.asarray(gradients.gy)
    h, w = gx.shape[-2:]
    planes = int(np.prod(gx.shape[:-2])) if gx.ndim > 2 else 1
    step = max(min_step, int(np.ceil(np.sqrt(planes * h * w / max_vectors))))
    axes = [np.arange(n) for n in gx.shape[:-2]]
    axes += [np.arange(step // 2, h, step), np.arange(step // 2, w, step)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, gx.ndim)
    index = tuple(grid.T)
    vy, vx = np.nan_to_num(gy[index]), np.nan_to_num(gx[index])
    length = np.hypot(vx, vy)
    # one scale for every arrow: the magnitude's contrast limit (hot pixels ignored)
    magnitude = getattr(gradients, "magnitude", None)
    if magnitude is None or not hasattr(magnitude, "ndim"):
        magnitude = np.hypot(gx, gy)
    top = robust_limit(magnitude) if length.size and length.max() > 0 else 0.0
    factor = step / top if top else 0.0
    # no arrow longer than a step: the one over a hot pixel is drawn a step long
    scale = factor * np.minimum(1.0, step / np.maximum(length * factor, 1e-30))
    direction = np.zeros_like(grid, dtype=np.float32)
    direction[:, -2], direction[:, -1] = vy * scale, vx * scale
    arrows = np.stack([grid.astype(np.float32), direction], axis=1)
    drawn = np.hypot(direction[:, -2], direction[:, -1])
    if unit:
        arrows[:, 1, -2:] *= (0.9 * step / np.maximum(drawn, 1e-30))[:, None]
    if min_fraction > 0:
        arrows = arrows[drawn >= min_fraction * step]
    return arrows
