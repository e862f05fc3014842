"""pyqtgraph plot helpers coloured like napari."""

from __future__ import annotations

import pyqtgraph as pg

from ...data import CLASS_NAMES

# colour-blind-safe (Okabe-Ito), one per class; other layers cycle through the rest
_PALETTE = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#F0E442", "#0072B2", "#999999")


def layer_color(name: str, index: int) -> str:
    """A stable colour for a class name, else one from the palette by position."""
    if name in CLASS_NAMES:
        return _PALETTE[CLASS_NAMES.index(name)]
    return _PALETTE[(len(CLASS_NAMES) + index) % len(_PALETTE)]


def theme_colors(viewer) -> dict[str, str]:
    """Background, text and highlight colours of the viewer's napari theme."""
    from napari.utils.theme import get_theme

    theme = get_theme(viewer.theme)
    return {
        "background": theme.background.as_hex(),
        "text": theme.text.as_hex(),
        "highlight": theme.highlight.as_hex(),
        "current": theme.current.as_hex(),
    }


def themed_plot(viewer, *, x_label: str = "", y_label: str = "") -> pg.PlotWidget:
    """A PlotWidget in the viewer's theme colours, with a legend."""
    colors = theme_colors(viewer)
    plot = pg.PlotWidget(background=colors["background"])
    item = plot.getPlotItem()
    for axis in ("left", "bottom"):
        item.getAxis(axis).setPen(colors["text"])
        item.getAxis(axis).setTextPen(colors["text"])
    if x_label:
        item.setLabel("bottom", x_label, color=colors["text"])
    if y_label:
        item.setLabel("left", y_label, color=colors["text"])
    legend = item.addLegend(offset=(-10, 10), labelTextColor=colors["text"])
    legend.setBrush(pg.mkBrush(colors["background"]))
    plot.setMinimumHeight(180)
    return plot
