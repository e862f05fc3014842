"""How the Sobel outputs are shown: colormaps and contrast limits, a colour picture, arrows.

The Sobel dock turns these into layers; a script or notebook can use them the
same way (``napari.Viewer().add_image(g.gx, **display_settings("gx", g.gx))``).

numpy, and scikit-image for the colour picture: no Qt, no napari, no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "COLORMAPS",
    "MAX_VECTORS",
    "NOISY",
    "PERCENTILE",
    "colormap",
    "display_settings",
    "gradient_arrows",
    "magnitude_direction_rgb",
    "noise_ratio",
    "robust_limit",
    "suggested_sigma",
]

#: The colormap of each output, by napari theme: a diverging map whose zero is the
#: canvas colour for the signed derivatives, a sequential one for the magnitude, a
#: cyclic one for the direction (−π and π are the same direction).
COLORMAPS = {
    "gx": "diverging",
    "gy": "diverging",
    "magnitude": "sequential",
    "direction": "twilight_shifted",
}
#: What each theme-following colormap is called in napari's colormap menu.
SHORT_NAMES = {"diverging": "Gx·Gy", "sequential": "edges"}
#: Control colours (RGB) of the theme-following colormaps, from the low end to the high.
_COLOURS = {
    # negative: blue to cyan, zero: black, positive: red to yellow (berlin-like)
    ("diverging", "dark"): [
        (0.55, 0.9, 1.0), (0.1, 0.45, 0.9), (0.0, 0.0, 0.0), (0.9, 0.3, 0.1), (1.0, 0.9, 0.45)
    ],
    # the same hues around white, for a light canvas
    ("diverging", "light"): [
        (0.0, 0.2, 0.55), (0.35, 0.65, 0.95), (1.0, 1.0, 1.0), (0.95, 0.5, 0.25), (0.5, 0.1, 0.0)
    ],
    # magma: black to light yellow; on a light canvas, reversed
    ("sequential", "dark"): [
        (0.0, 0.0, 0.02), (0.32, 0.07, 0.5), (0.72, 0.21, 0.47), (0.99, 0.54, 0.38),
        (0.99, 0.99, 0.75),
    ],
}  # fmt: skip
_COLOURS["sequential", "light"] = _COLOURS["sequential", "dark"][::-1]
#: Values of |x| at or above this percentile are drawn at full colour.
PERCENTILE = 99.5
#: Above this noise ratio (:func:`noise_ratio`), smoothing with σ = 1 is suggested.
NOISY = 0.1
#: At most this many planes of a stack are read for a contrast limit.
_PLANES = 9
#: Planes narrower than this are too small to tell noise from structure.
_NOISE_SIDE = 8
#: Largest plane area read for a contrast limit or a noise estimate (a centred crop
#: beyond it): a million pixels give a stable percentile, and scipy's 2 × 2 opening
#: takes about 50 ms on them (0.2 s on 2048²).
_AREA = 1024 * 1024


def colormap(output: str, theme: str = "dark"):
    """The napari colormap of one Sobel output on a ``"dark"`` or ``"light"`` canvas.

    Returns
    -------
    str or dict
        A napari colormap name, or a dict that ``napari.utils.Colormap(**it)``
        (and ``add_image(colormap=it)``) reads.

    Examples
    --------
    >>> colormap("gx")["colors"][2]               # zero is black on a dark canvas
    [0.0, 0.0, 0.0, 1.0]
    >>> colormap("gx", "light")["colors"][2]      # and white on a light one
    [1.0, 1.0, 1.0, 1.0]
    >>> colormap("direction")
    'twilight_shifted'
    """
    if output not in COLORMAPS:
        raise ValueError(f"output must be one of {tuple(COLORMAPS)}, not {output!r}.")
    theme = "light" if theme == "light" else "dark"
    kind = COLORMAPS[output]
    if (kind, theme) not in _COLOURS:
        return kind
    colours = _COLOURS[kind, theme]
    return {
        "name": f"sobel_{kind}_{theme}",
        # as short as napari's own names: a longer one widens the layer controls, and
        # with them the layer list, and the canvas is resized and redrawn at the insert
        "display_name": f"{SHORT_NAMES[kind]} {theme}",
        "colors": [[*map(float, c), 1.0] for c in colours],
        "controls": np.linspace(0.0, 1.0, len(colours)).tolist(),
    }


def robust_limit(data, percentile: float = PERCENTILE, *, plane=None) -> float:
    """A contrast limit of ``|x|`` that isolated hot pixels and whole-stack outliers ignore.

    Per 2D plane: ``|x|`` is opened with a 2 × 2 square (a grey opening), which
    removes the 1-pixel-wide responses a hot pixel leaves in Gx, Gy and the
    magnitude but keeps real edges (2 pixels wide after a Sobel filter), then
    its ``percentile`` is taken. A stack gives the median over a few evenly
    spaced planes, or the one ``plane`` asked for (the displayed one).

    Parameters
    ----------
    data : array_like or dask.array.Array
        ``(..., H, W)``. A lazy stack is read one plane only (``plane``, else the first).
    percentile : float
        In [0, 100].
    plane : int or tuple of int, optional
        Leading indices of the plane to read (what the viewer shows).

    Returns
    -------
    float
        Greater than 0: 1.0 when there is no finite value, or when the
        percentile is 0 (an all-zero output).

    Examples
    --------
    >>> robust_limit(np.array([[-3.0, 1.0], [np.nan, np.inf]]), 100)
    3.0
    >>> robust_limit(np.zeros((4, 4)))
    1.0
    """
    data = data if hasattr(data, "ndim") else np.asarray(data)
    planes = _planes(data, plane)
    limits = [_plane_limit(p, percentile) for p in planes]
    limits = [x for x in limits if x is not None]
    top = float(np.median(limits)) if limits else 1.0
    return top if top > 0 else 1.0


def _planes(data, plane) -> list[np.ndarray]:
    if data.ndim <= 2:
        return [np.asarray(data)]
    lead = data.shape[:-2]
    if plane is not None:
        index = (plane,) if np.isscalar(plane) else tuple(plane)
        return [np.asarray(data[index])]
    if not isinstance(data, np.ndarray):
        return [np.asarray(data[(0,) * len(lead)])]
    flat = data.reshape(-1, *data.shape[-2:])
    picks = np.unique(np.linspace(0, len(flat) - 1, min(_PLANES, len(flat))).astype(int))
    return [flat[i] for i in picks] if len(flat) else []


def _plane_limit(plane: np.ndarray, percentile: float) -> float | None:
    from scipy import ndimage

    plane = _central(np.asarray(plane, np.float32))
    finite = np.isfinite(plane)
    if not finite.any():
        return None
    magnitude = np.where(finite, np.abs(plane), 0.0).astype(np.float32)
    if min(magnitude.shape) >= 4:
        magnitude = ndimage.grey_opening(magnitude, size=(2, 2), mode="nearest")
    return float(np.percentile(magnitude[finite], percentile))


def _central(plane: np.ndarray) -> np.ndarray:
    """``plane`` as 2D, cropped around its centre to at most :data:`_AREA` pixels."""
    if plane.ndim < 2:
        plane = plane.reshape(1, -1)
    h, w = plane.shape
    if h * w > _AREA:
        side = int(np.sqrt(_AREA))
        top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
        plane = plane[top : top + side, left : left + side]
    return plane


def display_settings(
    output: str, data, *, theme: str = "dark", plane=None, percentile: float = PERCENTILE
) -> dict[str, Any]:
    """The colormap and contrast limits that read right for one Sobel output.

    The one place that says how a Sobel output is shown (a layer a model learned
    to imitate one uses it too, with the output it imitates):

    - ``"gx"``, ``"gy"``: a diverging colormap whose zero is the canvas colour
      (black on napari's dark theme, white on the light one), symmetric around 0
      (``±`` :func:`robust_limit`);
    - ``"magnitude"``: from 0 to :func:`robust_limit`, dark to bright on a dark canvas;
    - ``"direction"``: twilight_shifted over ``(-π, π)``, whatever the data.

    Parameters
    ----------
    output : {"gx", "gy", "magnitude", "direction"}
    data : array_like or dask.array.Array
        That output, ``(..., H, W)`` (not read for ``"direction"``).
    theme : {"dark", "light"}
        napari's theme (anything but ``"light"`` counts as dark).
    plane : int or tuple of int, optional
        The displayed plane of a stack, to take the contrast from; by default
        the median over a few planes.
    percentile : float
        See :func:`robust_limit`.

    Returns
    -------
    dict
        ``colormap`` (a napari colormap name or dict) and ``contrast_limits`` (a
        pair of floats), as keyword arguments of ``viewer.add_image``.

    Examples
    --------
    >>> settings = display_settings("gx", np.array([[-2.0, 0.0, 4.0]]), percentile=100)
    >>> settings["contrast_limits"], settings["colormap"]["name"]
    ((-4.0, 4.0), 'sobel_diverging_dark')
    >>> display_settings("magnitude", np.array([[0.0, 2.0]]), percentile=100)["contrast_limits"]
    (0.0, 2.0)
    """
    cmap = colormap(output, theme)
    if output == "direction":
        return {"colormap": cmap, "contrast_limits": (-np.pi, np.pi)}
    top = robust_limit(data, percentile, plane=plane)
    low = 0.0 if output == "magnitude" else -top
    return {"colormap": cmap, "contrast_limits": (low, top)}


def noise_ratio(image, *, plane=None) -> float:
    """How much of an image's Sobel magnitude is noise: small for clean edges.

    The noise σ of each plane is estimated from a 3 × 3 Laplacian difference
    (Immerkær, 1996), which flat regions and straight edges do not excite, robustly
    (its median, so hot pixels and edges do not count; planes under
    :data:`_NOISE_SIDE` pixels a side are too small to tell); the
    Sobel response that noise alone gives (√12 σ per derivative) is divided by
    the robust magnitude of the plane's edges (:func:`robust_limit`).

    Parameters
    ----------
    image : array_like
        ``(..., H, W)``, the input of :func:`~napari_nuclei_edges.gradients.sobel`.
    plane : int or tuple of int, optional
        As in :func:`robust_limit`.

    Returns
    -------
    float
        0 for a noiseless image; above :data:`NOISY`, smoothing helps.
    """
    from scipy import ndimage

    from . import sobel

    image = image if hasattr(image, "ndim") else np.asarray(image)
    ratios = []
    laplacian = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    for each in _planes(image, plane):
        each = np.nan_to_num(_central(np.asarray(each, np.float32)))
        if min(each.shape) < _NOISE_SIDE:
            continue
        response = ndimage.correlate(each, laplacian)[1:-1, 1:-1]
        # the median, not Immerkær's mean: a few hot pixels (or edges) made a clean
        # image "noisy"; the Laplacian of noise σ has a spread of 6σ, and the median
        # of |N(0, 1)| is 0.6745
        sigma = float(np.median(np.abs(response))) / (0.6745 * 6)
        edges = robust_limit(sobel(each, device="cpu").magnitude)
        ratios.append(np.sqrt(12) * sigma / edges)
    return float(np.median(ratios)) if ratios else 0.0


def suggested_sigma(image, *, plane=None) -> float | None:
    """1.0 when the image is noisy enough (:func:`noise_ratio` > :data:`NOISY`) that
    Gaussian smoothing with σ = 1 before the Sobel filter shows its edges better; else None.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> disc = (np.hypot(*np.mgrid[-20:20, -20:20]) < 12) * 100.0
    >>> suggested_sigma(disc) is None, suggested_sigma(disc + rng.normal(0, 20, disc.shape))
    (True, 1.0)
    """
    return 1.0 if noise_ratio(image, plane=plane) > NOISY else None


# the colour picture and the arrows live beside (a module each side of 400 lines)
from .pictures import MAX_VECTORS, gradient_arrows, magnitude_direction_rgb  # noqa: E402
