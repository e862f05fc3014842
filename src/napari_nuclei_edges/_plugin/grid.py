"""Where the plugin puts layers (napari, no Qt): each class in a column, its outputs beneath it.

The launcher lays the class layers side by side with ``translate``, one column
("tile") per class; an output image goes to the next free tile beneath its
source, and an overlay (labels, points, arrows, an additive image) onto its
source's tile. A "tile names" Points layer writes each tile's layer name above it.

napari's own grid is not used, for two reasons measured on this project:

- it puts ``stride`` consecutive layers in a cell, so once one class has more
  outputs than another every layer gets a cell of its own: the ground truth
  apart from its image, the arrows over black;
- every insert re-parents every layer's visual into new view boxes, which
  recompiles every shader: 0.3–1 s per new layer with a software renderer.

A tile is only a translate, so a new layer costs what napari's insert costs,
and the layers keep their own pixel coordinates (napari's status bar shows the
active layer's data coordinates).
"""

from __future__ import annotations

import weakref

import numpy as np

#: ``layer.metadata`` key of a tiled layer: ``{"origin": [y, x], "column": c, "row": r}``.
TILE_KEY = "napari_nuclei_edges_tile"
#: The Points layer that names the tiles.
TITLES = "tile names"
#: Space between tiles, as a share of the largest image.
GAP = 0.12
#: Size of a tile's name, in screen points, when its tile is wide enough for it ...
TITLE_POINTS = 8
#: ... and the least it shrinks to before the name is shortened ("prometa…").
TITLE_LEAST_POINTS = 6
#: Width of a character of a tile's name in screen pixels per point (measured on
#: napari's canvas: "prometaphase" at 8 points is 103 px wide), with a margin.
CHARACTER_PX_PER_POINT = 1.15


def fitted_titles(names, tile_px: float) -> tuple[float, list[str]]:
    """The text size and the shown names so that no name is wider than its tile.

    The size shrinks from :data:`TITLE_POINTS` to :data:`TITLE_LEAST_POINTS`; names
    that still do not fit are shortened with "…" (the layer list has them whole).

    Examples
    --------
    >>> fitted_titles(["metaphase", "prometaphase"], 200.0)
    (8.0, ['metaphase', 'prometaphase'])
    >>> fitted_titles(["metaphase", "prometaphase"], 50.0)
    (6.0, ['metaph…', 'promet…'])
    """
    longest = max((len(name) for name in names), default=1)
    size = tile_px / (CHARACTER_PX_PER_POINT * max(longest, 1))
    size = float(min(max(size, TITLE_LEAST_POINTS), TITLE_POINTS))
    fits = int(tile_px // (CHARACTER_PX_PER_POINT * size))
    shown = [name if len(name) <= fits else name[: max(fits - 1, 0)] + "…" for name in names]
    return size, [name if name != "…" else "" for name in shown]


def layer_groups(viewer) -> list[list[str]]:
    """Layer names grouped as a source followed by the layers named ``<source>_…``."""
    return _groups([layer.name for layer in viewer.layers if layer.name != TITLES])


def _groups(names: list[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    for name in names:
        if groups and name.startswith(f"{groups[-1][0]}_"):
            groups[-1].append(name)
        else:
            groups.append([name])
    return groups


def position_after_source(viewer, source_name: str) -> int:
    """The index just after ``source_name``'s group (its ``<source>_…`` layers); the end
    when there is no such source."""
    names = [each.name for each in viewer.layers]
    if source_name not in names:
        return len(names)
    position = names.index(source_name) + 1
    while position < len(names) and names[position].startswith(f"{source_name}_"):
        position += 1
    return position


def is_overlay(layer) -> bool:
    """Whether an output is seen over its source (labels, points, arrows, an additive
    image) rather than in a tile of its own (an image)."""
    return type(layer).__name__ != "Image" or layer.blending == "additive"


def tile_layers(viewer) -> None:
    """Lay the viewer's layers out in tiles: each group's source in a column, from left to
    right in layer order, its output images beneath it, its overlays on it.

    Names each tile with a "tile names" Points layer, and fits the view.
    """
    layers = {layer.name: layer for layer in viewer.layers}
    groups = layer_groups(viewer)
    step = _step([layers[name] for group in groups for name in group])
    for column, group in enumerate(groups):
        source = layers[group[0]]
        origin = (0.0, column * step[1])
        _place(source, origin, column, 0)
        row = 0
        for name in group[1:]:
            layer = layers[name]
            _match_world(layer, source)
            if is_overlay(layer):
                _place(layer, origin, column, row=0)
            else:
                row += 1
                _place(layer, (row * step[0], origin[1]), column, row)
    _keeper(viewer).refresh()
    viewer.reset_view()


def insert_after_source(viewer, layer, source_name: str) -> None:
    """Insert ``layer`` at the end of its source's group, where its source is seen.

    It takes its source's scale and translate (an overlay lies on its source);
    when the source is tiled, an output image goes to the first free tile beneath it,
    named once it is visible (a layer inserted hidden and shown a turn later splits
    napari's work in two).
    """
    position = position_after_source(viewer, source_name)
    source = _find(viewer, source_name)
    tile = source.metadata.get(TILE_KEY) if source is not None else None
    if source is not None:
        _match_world(layer, source)
    if tile is not None:
        if is_overlay(layer):
            _place(layer, tile["origin"], tile["column"], 0)
        else:
            row = _free_row(viewer, tile["column"])
            step = _step([each for each in viewer.layers if TILE_KEY in each.metadata] + [layer])
            origin = (tile["origin"][0] + row * step[0], tile["origin"][1])
            _place(layer, origin, tile["column"], row)
    insert_unselected(viewer.layers, position, layer)
    if tile is not None:
        keeper = _keeper(viewer)
        keeper.follow(layer)
        if layer.visible:
            keeper.refresh()


def insert_unselected(layers, position: int, layer) -> bool:
    """Insert ``layer`` and leave the user's selection as it is; True when it could.

    napari selects each layer it inserts: its controls replace the selected
    layer's, the layer list repaints the selection and every dock that follows the
    selection reacts. That is a third of the 40–60 ms an insert costs in napari's
    window, and an output is not what the user was working on. napari 0.9 has no
    public switch for it, so this is a shim around one private flag of its layer
    list (``_activate_on_insert``): where the flag is missing or not a bool, the
    layer is inserted (and selected) as napari does by default, and this returns
    False.
    """
    target = _unwrap(layers)
    flag = getattr(target, "_activate_on_insert", None)  # ---- napari private
    if not isinstance(flag, bool):
        layers.insert(position, layer)
        return False
    target._activate_on_insert = False
    try:
        layers.insert(position, layer)
    finally:
        target._activate_on_insert = flag
    return True


def update_titles(viewer) -> None:
    """Write each visible tile's layer name above it (the "tile names" layer, made once),
    and fit the view when a new row of tiles appears below it."""
    _keeper(viewer).refresh()


def _keeper(viewer) -> _TileKeeper:
    layers = _unwrap(viewer.layers)
    keeper = _KEEPERS.get(layers)
    if keeper is None:
        keeper = _KEEPERS[layers] = _TileKeeper(layers, viewer)
    return keeper


class _TileKeeper:
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

    def on_zoom(self, event=None) -> None:
        """Names never overlap: sized, then shortened, to their tile's width on screen."""
        titles, viewer = self._titles(), self._viewer()
        if titles is None or viewer is None or not len(titles.data):
            return
        tiles = [layer for layer in self._layers() or () if TILE_KEY in layer.metadata]
        if not tiles:
            return
        tile_px = (_step(tiles)[1] * (1 - GAP / 2)) * float(viewer.camera.zoom)
        names = list(titles.features["name"])
        size, shown = fitted_titles(names, tile_px)
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


# ----------------------------------------------------------------------------- internals


def _unwrap(layers):
    """The layer list itself: a dock's proxy viewer hands out proxies (no weak references)."""
    return getattr(layers, "__wrapped__", layers)


def _find(viewer, name: str):
    for layer in viewer.layers:
        if layer.name == name:
            return layer
    return None


def _plane(layer) -> np.ndarray:
    """The displayed plane's extent in world units (rows, columns)."""
    shape = np.asarray(layer.data.shape[-3:-1] if getattr(layer, "rgb", False)
                       else layer.data.shape[-2:], dtype=float)  # fmt: skip
    return shape * np.asarray(layer.scale[-2:], dtype=float)


def _step(layers) -> tuple[float, float]:
    planes = [_plane(layer) for layer in layers if type(layer).__name__ == "Image"]
    size = np.max(planes, axis=0) if planes else np.array([1.0, 1.0])
    gap = GAP * float(size.max())
    return float(size[0] + gap), float(size[1] + gap)


def _match_world(layer, source) -> None:
    """The source's scale and translate on the output's trailing dimensions."""
    n = min(layer.ndim, source.ndim)
    if n == 0:
        return
    scale = np.array(layer.scale, dtype=float)
    translate = np.array(layer.translate, dtype=float)
    scale[-n:] = np.asarray(source.scale, dtype=float)[-n:]
    translate[-n:] = np.asarray(source.translate, dtype=float)[-n:]
    layer.scale = scale
    layer.translate = translate


def _place(layer, origin, column: int, row: int) -> None:
    translate = np.array(layer.translate, dtype=float)
    translate[-2:] = origin
    layer.translate = translate
    layer.metadata[TILE_KEY] = {"origin": [float(v) for v in origin], "column": column,
                                "row": row}  # fmt: skip


def _origin_world(layer) -> tuple[float, float]:
    return tuple(float(v) for v in np.asarray(layer.translate, dtype=float)[-2:])


def _rows(viewer) -> list[int]:
    return [layer.metadata[TILE_KEY]["row"] for layer in viewer.layers
            if TILE_KEY in layer.metadata]  # fmt: skip


def _free_row(viewer, column: int) -> int:
    taken = {
        layer.metadata[TILE_KEY]["row"]
        for layer in viewer.layers
        if TILE_KEY in layer.metadata
        and layer.metadata[TILE_KEY]["column"] == column
        and not is_overlay(layer)
    }
    row = 1
    while row in taken:
        row += 1
    return row
