"""How the Sobel outputs are shown: colormaps and contrast limits, a colour picture, arrows.

The Sobel dock turns these into layers; a script or notebook can use them the
same way (``napari.Viewer().add_image(g.gx, **display_settings("gx", g.gx))``).

numpy, and scikit-image for the colour picture: no Qt, no napari, no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import finite_values

if TYPE_CHECKING:
    from . import Gradients

__all__ = [
    "COLORMAPS",
    "MAX_VECTORS",
    "PERCENTILE",
    "display_settings",
    "gradient_arrows",
    "magnitude_direction_rgb",
    "robust_limit",
]

#: napari colormap of each output: diverging for the signed derivatives, cyclic
#: for the direction (−π and π are the same direction).
COLORMAPS = {"gx": "PiYG", "gy": "PiYG", "magnitude": "magma", "direction": "twilight_shifted"}
#: Values of |x| at or above this percentile are drawn at full colour.
PERCENTILE = 99.5
#: About this many arrows at most in :func:`gradient_arrows`.
MAX_VECTORS = 20_000
#: Fewest pixels between two arrows.
MIN_STEP = 4


def robust_limit(data, percentile: float = PERCENTILE) -> float:
    """The ``percentile`` of ``|x|`` over the finite values: a contrast limit outliers ignore.

    Parameters
    ----------
    data : array_like or dask.array.Array
        ``(..., H, W)``. Anything but a numpy array is read one 2D image only
        (the first), so a lazy stack is not computed for its contrast.
    percentile : float
        In [0, 100].

    Returns
    -------
    float
        Greater than 0: 1.0 when there is no finite value, or when the
        percentile is 0 (an all-zero output).

    Examples
    --------
    >>> robust_limit(np.array([-3.0, 1.0, np.nan, np.inf]), 100)
    3.0
    >>> robust_limit(np.zeros((4, 4)))
    1.0
    """
    if not isinstance(data, np.ndarray):
        data = data[(0,) * (data.ndim - 2)]
    finite = finite_values(np.asarray(data))
    top = float(np.percentile(np.abs(finite), percentile)) if finite.size else 1.0
    return top if top > 0 else 1.0


def display_settings(output: str, data, *, percentile: float = PERCENTILE) -> dict[str, Any]:
    """The colormap and contrast limits that read right for one Sobel output.

    - ``"gx"``, ``"gy"``: PiYG, symmetric around 0 (``±`` :func:`robust_limit`),
      so that no change is the neutral middle colour;
    - ``"magnitude"``: magma from 0 to :func:`robust_limit`;
    - ``"direction"``: twilight_shifted over ``(-π, π)``, whatever the data.

    Parameters
    ----------
    output : {"gx", "gy", "magnitude", "direction"}
    data : array_like or dask.array.Array
        That output (not read for ``"direction"``).
    percentile : float
        See :func:`robust_limit`.

    Returns
    -------
    dict
        ``colormap`` (a napari colormap name) and ``contrast_limits`` (a pair of
        floats), as keyword arguments of ``viewer.add_image``.

    Examples
    --------
    >>> display_settings("gx", np.array([-2.0, 0.0, 4.0]), percentile=100)
    {'colormap': 'PiYG', 'contrast_limits': (-4.0, 4.0)}
    >>> display_settings("magnitude", np.array([0.0, 2.0]), percentile=100)
    {'colormap': 'magma', 'contrast_limits': (0.0, 2.0)}
    """
    if output not in COLORMAPS:
        raise ValueError(f"output must be one of {tuple(COLORMAPS)}, not {output!r}.")
    if output == "direction":
        return {"colormap": COLORMAPS[output], "contrast_limits": (-np.pi, np.pi)}
    top = robust_limit(data, percentile)
    low = 0.0 if output == "magnitude" else -top
    return {"colormap": COLORMAPS[output], "contrast_limits": (low, top)}


def magnitude_direction_rgb(gradients: Gradients, *, percentile: float = PERCENTILE) -> np.ndarray:
    """An at-a-glance picture: the direction as hue, the magnitude as brightness.

    Parameters
    ----------
    gradients : Gradients
        Numpy outputs of :func:`~napari_nuclei_edges.gradients.sobel`.
    percentile : float
        Magnitudes at or above this percentile are drawn at full brightness.

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
    from skimage.color import hsv2rgb

    magnitude = np.nan_to_num(np.asarray(gradients.magnitude, np.float32))
    direction = np.nan_to_num(np.asarray(gradients.direction, np.float32))
    scale = np.percentile(magnitude, percentile) if magnitude.size else 1.0
    hsv = np.empty((*magnitude.shape, 3), np.float32)
    hsv[..., 0] = (direction / (2 * np.pi)) % 1.0
    hsv[..., 1] = 1.0
    hsv[..., 2] = np.clip(magnitude / (scale if scale > 0 else 1.0), 0.0, 1.0)
    return hsv2rgb(hsv).astype(np.float32)


def gradient_arrows(gradients: Gradients, *, max_vectors: int = MAX_VECTORS) -> np.ndarray:
    """Gradient arrows on a regular grid, as napari vectors data.

    The grid step is the same along rows and columns, at least :data:`MIN_STEP`
    pixels, and chosen so that about ``max_vectors`` arrows cover the whole
    stack; the grid starts half a step in. Arrows are scaled together so that
    the longest is one grid step long.

    Parameters
    ----------
    gradients : Gradients
        ``gx`` and ``gy`` of :func:`~napari_nuclei_edges.gradients.sobel`, numpy
        (or anything ``numpy.asarray`` reads), ``(..., H, W)``.
    max_vectors : int
        About the most arrows drawn.

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
    step = max(MIN_STEP, int(np.ceil(np.sqrt(planes * h * w / max_vectors))))
    axes = [np.arange(n) for n in gx.shape[:-2]]
    axes += [np.arange(step // 2, h, step), np.arange(step // 2, w, step)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, gx.ndim)
    index = tuple(grid.T)
    vy, vx = gy[index], gx[index]
    scale = np.nanmax(np.hypot(vx, vy)) if vx.size else 1.0
    scale = step / scale if scale and np.isfinite(scale) else 0.0
    direction = np.zeros_like(grid, dtype=np.float32)
    direction[:, -2], direction[:, -1] = vy * scale, vx * scale
    return np.stack([grid.astype(np.float32), direction], axis=1)
