"""pyqtgraph plot helpers coloured like napari, following its theme when it changes."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg

from ...data import CLASS_NAMES

# colour-blind-safe (Okabe-Ito), one per class (no two of them alike: not orange beside
# vermillion) ...
_PALETTE = ("#56B4E9", "#F0E442", "#009E73", "#CC79A7", "#D55E00")
# ... and for any other layer (a user's own image, a dataset of other classes) the rest
# of Okabe-Ito, then Paul Tol's muted colours: never a class's colour
_OTHERS = ("#E69F00", "#0072B2", "#999999", "#882255", "#44AA99", "#DDCC77", "#117733", "#AA4499")


def layer_color(name: str, index: int) -> str:
    """A stable colour for a class name, else one of the others by position (never a
    class's colour: a user's image beside the classes gets a colour of its own).

    Examples
    --------
    >>> layer_color("metaphase", 0), layer_color("my field", 5) != layer_color("metaphase", 2)
    ('#009E73', True)
    """
    if name in CLASS_NAMES:
        return _PALETTE[CLASS_NAMES.index(name)]
    return _OTHERS[index % len(_OTHERS)]


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


def themed_plot(
    viewer, *, x_label: str = "", y_label: str = "", legend: str = "inside", columns: int = 3
) -> pg.PlotWidget:
    """A PlotWidget in the viewer's theme colours, with a legend.

    ``legend="above"`` puts the legend in a row of its own above the data, in
    ``columns`` columns, so it never hides a curve; ``"inside"`` in the top
    right corner of the data.
    """
    colors = theme_colors(viewer)
    plot = pg.PlotWidget()
    item = plot.getPlotItem()
    if x_label:
        item.setLabel("bottom", x_label)
    if y_label:
        item.setLabel("left", y_label)
    if legend == "above":
        legend_above(item, columns)
    else:
        item.addLegend(offset=(-10, 10))
    style_plot(plot, colors)
    plot.setMinimumHeight(180)
    return plot


def legend_above(item: pg.PlotItem, columns: int = 3) -> pg.LegendItem:
    """Give ``item`` a legend in a row of its own above the data: it never hides a curve."""
    # the title's row of the plot's own grid: outside the data, one line per `columns`
    item.legend = pg.LegendItem(colCount=columns, verSpacing=-6)
    item.layout.removeItem(item.titleLabel)  # these plots have no title
    item.titleLabel.hide()
    item.layout.addItem(item.legend, 0, 1)
    return item.legend


def style_plot(plot: pg.PlotWidget, colors: dict[str, str]) -> None:
    """Colour a plot's background, axes, axis labels and legend from ``colors``."""
    plot.setBackground(colors["background"])
    style_plot_item(plot.getPlotItem(), colors)


def style_plot_item(item: pg.PlotItem, colors: dict[str, str]) -> None:
    """Colour one plot's axes, axis labels and legend (of a view with several)."""
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(colors["text"])
        axis.setTextPen(colors["text"])
        if axis.labelText:
            axis.setLabel(axis.labelText, units=axis.labelUnits, color=colors["text"])
    legend = item.legend
    if legend is not None:
        legend.setBrush(pg.mkBrush(colors["background"]))
        legend.setLabelTextColor(colors["text"])


def follow_theme(viewer, restyle: Callable[[dict[str, str]], None]) -> Callable[[], None]:
    """Call ``restyle(colors)`` whenever the viewer's theme changes.

    Returns the function that disconnects it, for the dock to call when napari
    removes it.
    """

    def on_theme(event=None) -> None:
        restyle(theme_colors(viewer))

    viewer.events.theme.connect(on_theme)
    return lambda: viewer.events.theme.disconnect(on_theme)
