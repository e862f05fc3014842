"""The Sobel dock's parts that are not the dock: its worker's function and what it hands
back, its kernels view, and what it reads from the viewer (the displayed plane, the
canvas theme)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from qtpy.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel

from ...gradients import SOBEL_X, SOBEL_Y, Gradients, sobel
from ...gradients.display import (
    display_settings,
    gradient_arrows,
    magnitude_direction_rgb,
    suggested_sigma,
)
from ...segmentation import smooth
from ..common.layers import is_lazy


def displayed_plane(viewer, layer) -> tuple[int, ...] | None:
    """The leading indices of the plane of ``layer`` that ``viewer`` shows now."""
    lead = layer.ndim - 2
    if lead <= 0:
        return None
    step = tuple(viewer.dims.current_step)[-layer.ndim :][:lead]
    if len(step) != lead:
        return None
    shape = layer.data.shape[:lead]
    return tuple(min(max(int(i), 0), n - 1) for i, n in zip(step, shape, strict=True))


def canvas_theme(viewer) -> str:
    """``"light"`` when napari's canvas is light, else ``"dark"``."""
    from napari.utils.theme import get_theme

    try:
        canvas = get_theme(viewer.theme).canvas.as_rgb_tuple()
    except (KeyError, ValueError, AttributeError):
        return "dark"
    return "light" if sum(canvas[:3]) / 3 > 127 else "dark"


@dataclass(frozen=True)
class SobelRun:
    """All that one run hands to the GUI thread, which then only makes layers."""

    gradients: Gradients
    #: σ = 1 when the image is noisy enough for smoothing to help, else None.
    suggestion: float | None
    #: :func:`display_settings` of each chosen output among gx, gy, magnitude, direction.
    looks: dict = field(default_factory=dict)
    #: The colour picture (hue = direction, brightness = magnitude), if chosen.
    rgb: np.ndarray | None = None
    #: The arrows of the vectors layer, if chosen.
    arrows: np.ndarray | None = None
    #: Chosen outputs that were not made: the colour picture and the arrows need the
    #: whole result in memory, which a lazy (dask) layer's result is not.
    skipped: tuple = ()
    #: Input pixels that are NaN or ±inf (each spreads to its 3 × 3 neighbourhood).
    not_finite: int = 0


def _compute(
    data,
    params: dict,
    out: Gradients | None,
    plane=None,
    chosen=(),
    theme: str = "dark",
    arrows: dict | None = None,
) -> SobelRun:
    """One run's work, for a worker too: smoothing, Sobel, whether σ = 1 would help, and
    every chosen output's contrast, colour picture and arrows (seconds on a large image,
    which the GUI thread must not spend). Touches no widget, no layer.

    ``chosen``: names among gx, gy, magnitude, direction, rgb, vectors; ``arrows``:
    keyword arguments of :func:`gradient_arrows`.
    """
    suggestion = suggested_sigma(data, plane=plane) if params["sigma"] == 0 else None
    floating = isinstance(data, np.ndarray) and np.issubdtype(data.dtype, np.floating)
    not_finite = int(data.size - np.count_nonzero(np.isfinite(data))) if floating else 0
    if params["sigma"] > 0:
        data = smooth(data, params["sigma"])
    out = out if isinstance(data, np.ndarray) else None
    result = sobel(data, padding=params["padding"], device=params["device"], out=out)
    names = ("gx", "gy", "magnitude", "direction")
    shown, at = dict(zip(names, result, strict=True)), plane
    if is_lazy(result.gx):
        shown, at = _planes_on_screen(result, chosen, plane), None
    looks = {
        what: display_settings(what, shown.get(what), theme=theme, plane=at)
        for what in names
        if what in chosen
    }
    rgb = vectors = None
    if "rgb" in chosen and not is_lazy(result.magnitude):
        # as bright as the magnitude layer: one contrast for the same quantity
        scale = looks.get("magnitude") or display_settings(
            "magnitude", result.magnitude, plane=plane
        )
        rgb = magnitude_direction_rgb(result, scale=scale["contrast_limits"][1])
    if "vectors" in chosen and not is_lazy(result.gx):
        vectors = gradient_arrows(result, **(arrows or {}))
    skipped = tuple(
        what
        for what, made in (("rgb", rgb), ("vectors", vectors))
        if what in chosen and made is None
    )
    return SobelRun(result, suggestion, looks, rgb, vectors, skipped, not_finite)


def _planes_on_screen(result: Gradients, chosen, plane) -> dict:
    """The displayed plane of each lazy output whose contrast is read, computed together:
    one Sobel pass over the blocks they share."""
    import dask

    names = [what for what in ("gx", "gy", "magnitude") if what in chosen]
    index = tuple(plane) if plane is not None else (0,) * (result.gx.ndim - 2)
    return dict(zip(names, dask.compute(*(getattr(result, n)[index] for n in names)), strict=True))


def _kernels_view() -> QGroupBox:
    box = QGroupBox("Sobel kernels (cross-correlation; y points down the rows)")
    layout = QHBoxLayout(box)
    for title, kernel in (("Gx", SOBEL_X), ("Gy", SOBEL_Y)):
        grid = QGridLayout()
        grid.addWidget(QLabel(title), 0, 0, 1, 3)
        for r in range(3):
            for c in range(3):
                grid.addWidget(QLabel(f"{int(kernel[r, c]):+d}"), r + 1, c)
        layout.addLayout(grid)
    return box
