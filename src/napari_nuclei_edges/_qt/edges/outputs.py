"""The Sobel dock's outputs: their names, labels and looks, and what a run says about them.

Qt-free: the dock (``widget.py``) makes the layers; this module only names and describes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .parts import SobelRun

OUTPUTS = ("gx", "gy", "magnitude", "direction", "rgb", "vectors")
OUTPUT_LABELS = {
    "gx": "Gx",
    "gy": "Gy",
    "magnitude": "magnitude",
    "direction": "direction angle",
    "rgb": "direction (colour)",
    "vectors": "arrows",
}
#: Each output's layer, ``<source>_<name>``: named for what it shows, as its box is.
OUTPUT_NAMES = {
    "gx": "sobel_gx",
    "gy": "sobel_gy",
    "magnitude": "sobel_magnitude",
    "direction": "sobel_direction",
    "rgb": "sobel_direction_colour",
    "vectors": "sobel_arrows",
}
#: Checked for a new user: the colour picture is the direction view that reads at a
#: glance (hue = direction, only where there is an edge); the angle itself is opt-in.
DEFAULT_OUTPUTS = ("gx", "gy", "magnitude", "rgb")
#: Arrows a pixel wide at the default zoom of an 80 × 80 image in a grid cell.
ARROW_STYLE = {"edge_color": "yellow", "edge_width": 0.8, "vector_style": "arrow", "length": 1.0}
#: Arrows shorter than this fraction of a grid step (weak gradients) are left out.
ARROW_MIN_FRACTION = 0.2
#: Pixels between arrows at least: each arrow a few screen pixels long at the default zoom.
ARROW_MIN_STEP = 6


def notes(name: str, computed: SobelRun) -> list[str]:
    """What a user should know about a finished run's outputs (nothing, usually)."""
    notes = []
    if computed.skipped:
        skipped = " and ".join(OUTPUT_LABELS[what] for what in computed.skipped)
        need, were = ("need", "were") if len(computed.skipped) > 1 else ("needs", "was")
        notes.append(
            f"{name} is read lazily (dask): {skipped} {need} the whole image in memory "
            f"and {were} not made; Gx, Gy, magnitude and the angle stay lazy."
        )
    if computed.not_finite:
        count = computed.not_finite
        notes.append(
            f"{count:,} pixel{'s' if count > 1 else ''} of {name} {'are' if count > 1 else 'is'}"
            " NaN or infinite: Gx, Gy and the magnitude are NaN within one pixel of them "
            "(black in the colour picture)."
        )
    return notes


def output_steps(computed: SobelRun) -> list[tuple]:
    """The layers to make of a run, in order: (label, kind, output name, maker, look)."""
    steps = []
    for what, look in computed.looks.items():
        data = getattr(computed.gradients, what)
        steps.append((OUTPUT_LABELS[what], "image", OUTPUT_NAMES[what], lambda d=data: d, look))
    if computed.rgb is not None:
        steps.append((OUTPUT_LABELS["rgb"], "image", OUTPUT_NAMES["rgb"],
                      lambda: computed.rgb, {"rgb": True}))  # fmt: skip
    if computed.arrows is not None:
        steps.append(("arrows", "vectors", OUTPUT_NAMES["vectors"],
                      lambda: computed.arrows, ARROW_STYLE))  # fmt: skip
    return steps


def shown_in(viewer, arrays) -> bool:
    """Whether any layer of ``viewer`` shows one of ``arrays`` (or a view of one)."""
    return any(
        isinstance(layer.data, np.ndarray) and np.may_share_memory(layer.data, array)
        for layer in viewer.layers
        for array in arrays
    )


def recolour(viewer, theme: str) -> None:
    """The plugin's Gx, Gy and magnitude layers in ``theme``'s colormaps."""
    from ...gradients.display import colormap

    for layer in viewer.layers:
        made = layer.metadata.get("napari_nuclei_edges", {}).get("output", "")
        what = made.removeprefix("sobel_")
        if made.startswith("sobel_") and what in ("gx", "gy", "magnitude"):
            layer.colormap = colormap(what, theme)
