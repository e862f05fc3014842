"""The Sobel dock's parts that are not the dock: its worker's function, its kernels view,
and what it reads from the viewer (the displayed plane, the canvas theme)."""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel

from ...gradients import SOBEL_X, SOBEL_Y, Gradients, sobel
from ...gradients.display import suggested_sigma
from ...segmentation import smooth


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


def _compute(data, params: dict, out: Gradients | None, plane=None):
    """One run's work, for a worker too: smoothing, then Sobel, then whether σ = 1 would
    help. Touches no widget, no layer. Returns ``(Gradients, suggested σ or None)``."""
    suggestion = suggested_sigma(data, plane=plane) if params["sigma"] == 0 else None
    if params["sigma"] > 0:
        data = smooth(data, params["sigma"])
    out = out if isinstance(data, np.ndarray) else None
    result = sobel(data, padding=params["padding"], device=params["device"], out=out)
    return result, suggestion


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
