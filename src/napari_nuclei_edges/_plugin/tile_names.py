"""The tile names: each tile's layer name written above it, never overlapping.

A "tile names" Points layer (made once per viewer) holds one point above each
visible tile and its name as text; a :class:`TileKeeper` keeps it in step with
removals, renames, visibility, the theme and the zoom. napari only, no Qt.
"""

from __future__ import annotations

import weakref

import numpy as np

from .._napari_compat import unwrap as _unwrap
from .grid import GAP, TILE_KEY, TITLES, _origin_world, _plane, _step, is_overlay

#: ``layer.metadata`` key of the plugin's outputs (``_qt.common.outputs``: no Qt here).
OWNER_KEY = "napari_nuclei_edges"

#: Size of a tile's name, in screen points, when its tile is wide enough for it ...
TITLE_POINTS = 8
#: ... and the least it shrinks to before the name is shortened ("prometa…").
TITLE_LEAST_POINTS = 6
#: Width of a character of a tile's name in screen pixels per point (measured on
#: napari's canvas: "prometaphase" at 8 points is 103 px wide), with a margin.
CHARACTER_PX_PER_POINT = 1.15


def fitted_titles(names, tile_px) -> tuple[float, list[str]]:
    """The text size and the shown names so that no name is wider than its tile.

    ``tile_px`` is each tile's width on screen (or one width for all). The size
    shrinks from :data:`TITLE_POINTS` to :data:`TITLE_LEAST_POINTS` until every
    name fits; names that still do not fit are shortened with "…" (the layer list
    has them whole).

    Examples
    --------
    >>> fitted_titles(["metaphase", "prometaphase"], 200.0)
    (8.0, ['metaphase', 'prometaphase'])
    >>> fitted_titles(["metaphase", "prometaphase"], 50.0)
    (6.0, ['metaph…', 'promet…'])
    >>> fitted_titles(["metaphase", "my field"], [50.0, 400.0])
    (6.0, ['metaph…', 'my field'])
    """
    widths = np.broadcast_to(np.asarray(tile_px, dtype=float), (len(names),))
    pairs = list(zip(names, widths, strict=True))
    wanted = [w / (CHARACTER_PX_PER_POINT * max(len(n), 1)) for n, w in pairs]
    size = float(min(max(min(wanted, default=TITLE_POINTS), TITLE_LEAST_POINTS), TITLE_POINTS))
    shown = []
    for name, width in pairs:
        fits = int(width // (CHARACTER_PX_PER_POINT * size))
        short = name if len(name) <= fits else name[: max(fits - 1, 0)] + "…"
        shown.append("" if short == "…" else short)
    return size, shown


def _below_their_source(names: list[str], layers: dict) -> list[str]:
    """An output's tile beneath its source is named without the source's name, which
    its column's first tile shows (``apoptosis_sobel_gx`` reads ``sobel_gx``)."""
    sources = {layers[n].metadata[TILE_KEY]["column"]: n for n in names
               if layers[n].metadata[TILE_KEY]["row"] == 0}  # fmt: skip
    shown = []
    for name in names:
        tile = layers[name].metadata[TILE_KEY]
        source = sources.get(tile["column"])
        below = tile["row"] > 0 and source and name.startswith(f"{source}_")
        shown.append(name[len(source) + 1 :] if below else name)
    return shown


def keeper(viewer) -> TileKeeper:
    layers = _unwrap(viewer.layers)
    keeper = _KEEPERS.get(layers)
    if keeper is None:
        keeper = _KEEPERS[layers] = TileKeeper(layers, viewer)
    return keeper


class TileKeeper:
    """The tile names of one viewer, kept in step with removals, renames, visibility and
    the theme (held weakly: it lives as long as the layer list)."""

    def __init__(self, layers, viewer):
        self._layers = weakref.ref(layers)
        try:
            self._viewer = weakref.ref(_unwrap(viewer))
        except TypeError:  # no weak reference to it: no fitting of the view
            self._viewer = lambda: None
        self._bottom: int | None = None  # the lowest row of visible tiles named so far
        self._colour = "white"
        self._size = float(TITLE_POINTS)
        layers.events.removed.connect(self.on_removed)
        layers.events.inserted.connect(self.on_inserted)
        viewer.events.theme.connect(self.on_theme)
        viewer.camera.events.zoom.connect(self.on_zoom)
        self.on_theme()
        for layer in layers:
            if TILE_KEY in layer.metadata:
                self.follow(layer)

    def follow(self, layer) -> None:
        for event in (layer.events.name, layer.events.visible):
            event.disconnect(self.on_changed)  # no duplicates
            event.connect(self.on_changed)

    def on_removed(self, event) -> None:
        if event.value.name != TITLES:
            self.refresh()

    def on_changed(self, event=None) -> None:
        self.refresh()

    def on_inserted(self, event) -> None:
        """A layer the user opens or adds gets a tile of its own beside the others
        (the plugin's outputs are placed by ``insert_after_source``)."""
        from .grid import place_in_new_column

        layer = event.value
        if TILE_KEY in layer.metadata or layer.name == TITLES or OWNER_KEY in layer.metadata:
            return
        if place_in_new_column(self._layers(), layer):
            self.follow(layer)
            self.refresh()
            viewer = self._viewer()
            if viewer is not None:
                viewer.reset_view()  # the new column may be right of the window

    def on_zoom(self, event=None) -> None:
        """Names never overlap: sized, then shortened, to their tile's width on screen."""
        titles, viewer = self._titles(), self._viewer()
        if titles is None or viewer is None or not len(titles.data):
            return
        layers = {layer.name: layer for layer in self._layers() or ()}
        names = list(titles.features["name"])
        if not all(name in layers for name in names):
            return  # a refresh follows a removal or a rename
        # each name over its own tile's width (and half a gap): tiles differ in size
        widths = [_plane(layers[name])[1] * (1 + GAP / 2) for name in names]
        short = _below_their_source(names, layers)
        size, shown = fitted_titles(short, np.asarray(widths) * float(viewer.camera.zoom))
        if size != self._size:
            self._size = size
            titles.text = self._text()
        if list(titles.features["shown"]) != shown:
            titles.features = {"name": names, "shown": shown}

    def on_theme(self, event=None) -> None:
        from napari.utils.theme import get_theme

        viewer = self._viewer()
        try:
            self._colour = get_theme(viewer.theme).text.as_hex() if viewer else "white"
        except (KeyError, ValueError, AttributeError):  # a theme napari does not know
            self._colour = "white"
        titles = self._titles()
        if titles is not None:
            titles.text = self._text()

    def _titles(self):
        layers = self._layers()
        return None if layers is None else next(
            (layer for layer in layers if layer.name == TITLES), None
        )  # fmt: skip

    def _text(self) -> dict:
        # screen points, whatever the zoom (sized with the tiles, a name filled the
        # window when zoomed into one), fitted to the tiles by on_zoom
        return {"string": "{shown}", "color": self._colour, "size": self._size,
                "anchor": "lower_left"}  # fmt: skip

    def refresh(self) -> None:
        layers = self._layers()
        if layers is None:
            return
        tiles = [
            layer
            for layer in layers
            if TILE_KEY in layer.metadata
            and layer.visible
            and not is_overlay(layer)
            and layer.name != TITLES
        ]
        if not tiles:
            return
        step = _step(tiles)
        coords = np.array([_origin_world(layer) for layer in tiles], dtype=float)
        coords[:, 0] -= 0.07 * step[0]  # just above the tile
        names = np.array([layer.name for layer in tiles], dtype=object)
        titles = self._titles()
        if titles is None:
            from napari.layers import Points

            titles = Points(
                coords, name=TITLES, features={"name": names, "shown": names},
                size=0.0, opacity=1.0,
                face_color="transparent", border_color="transparent", border_width=0,
                text=self._text(),
            )  # fmt: skip
            titles.editable = False
            layers.append(titles)
        else:
            same = titles.data.shape == coords.shape and np.array_equal(titles.data, coords)
            if not (same and list(titles.features["name"]) == list(names)):
                titles.data = coords
                # napari refreshes the text from them
                titles.features = {"name": names, "shown": names}
        self.on_zoom()
        bottom = max(layer.metadata[TILE_KEY]["row"] for layer in tiles)
        if self._bottom is not None and bottom > self._bottom:
            viewer = self._viewer()
            if viewer is not None:
                viewer.reset_view()  # the new row would be below the window
        self._bottom = max(bottom, self._bottom or 0)


_KEEPERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
