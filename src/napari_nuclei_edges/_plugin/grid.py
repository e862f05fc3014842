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

import numpy as np

from .._napari_compat import insert_unselected

#: ``layer.metadata`` key of a tiled layer: ``{"origin": [y, x], "column": c, "row": r}``.
TILE_KEY = "napari_nuclei_edges_tile"
#: The Points layer that names the tiles.
TITLES = "tile names"
#: Space between tiles, as a share of the largest image.
GAP = 0.12


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

    A column is as wide as its group's largest image (a user's 512² field beside 80²
    crops leaves the crops their size). Names each tile with a "tile names" Points
    layer, and fits the view.
    """
    layers = {layer.name: layer for layer in viewer.layers}
    left = 0.0
    for column, group in enumerate(layer_groups(viewer)):
        source = layers[group[0]]
        step = _step([layers[name] for name in group])
        origin = (0.0, left)
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
        left += step[1]
    update_titles(viewer)
    viewer.reset_view()


def place_in_new_column(layers, layer) -> bool:
    """Put a layer the user adds to a tiled viewer's ``layers`` in a column of its own,
    right of the others (never on top of the class tiles); False when nothing is tiled."""
    tiled = [each for each in layers if TILE_KEY in each.metadata and each is not layer]
    if not tiled:
        return False
    right = max(_origin_world(each)[1] + _plane(each)[1] for each in tiled)
    column = 1 + max(each.metadata[TILE_KEY]["column"] for each in tiled)
    gap = GAP * float(max(_plane(layer).max(), max(_plane(each).max() for each in tiled)))
    _place(layer, (0.0, right + gap), column, 0)
    return True


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
            column = [each for each in viewer.layers if TILE_KEY in each.metadata
                      and each.metadata[TILE_KEY]["column"] == tile["column"]]  # fmt: skip
            step = _step([*column, layer])
            origin = (tile["origin"][0] + row * step[0], tile["origin"][1])
            _place(layer, origin, tile["column"], row)
    insert_unselected(viewer.layers, position, layer)
    if tile is not None:
        from .tile_names import keeper

        names = keeper(viewer)
        names.follow(layer)
        if layer.visible:
            names.refresh()


def update_titles(viewer) -> None:
    """Write each visible tile's layer name above it (the "tile names" layer, made once),
    and fit the view when a new row of tiles appears below it."""
    from .tile_names import keeper

    keeper(viewer).refresh()


# ----------------------------------------------------------------------------- internals


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
