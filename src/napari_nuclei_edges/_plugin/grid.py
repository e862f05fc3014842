"""Arranging layers in the viewer (napari, no Qt): each class with its outputs in one grid cell."""

from __future__ import annotations


def layer_groups(viewer) -> list[list[str]]:
    """Layer names grouped as a source followed by the layers named ``<source>_…``."""
    groups: list[list[str]] = []
    for layer in viewer.layers:
        if groups and layer.name.startswith(f"{groups[-1][0]}_"):
            groups[-1].append(layer.name)
        else:
            groups.append([layer.name])
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


def insert_after_source(viewer, layer, source_name: str) -> None:
    """Insert ``layer`` at the end of its source's group, so the grid keeps them together.

    One insertion at its place: napari rebuilds its grid on every insert and every
    move (a quarter of a second with a dozen cells), so adding then moving costs twice.
    """
    viewer.layers.insert(position_after_source(viewer, source_name), layer)
    arrange_grid(viewer)


def arrange_grid(viewer, *, enable: bool = False) -> None:
    """Use napari's grid with one source and its outputs per cell when the groups allow.

    The stride is the group size when every group has the same size (hidden layers
    keep their place in the grid); otherwise each layer gets its own cell.
    """
    grid = getattr(viewer.canvas, "grid", None) or viewer.grid  # napari < 0.9: viewer.grid
    if not (enable or grid.enabled):
        return
    sizes = {len(group) for group in layer_groups(viewer)}
    stride = sizes.pop() if len(sizes) == 1 else 1
    cells = -(-len(viewer.layers) // stride)
    shape = (1, -1) if cells <= 5 else (-1, -1)
    # each change rebuilds napari's grid: change only what differs
    if grid.stride != stride:
        grid.stride = stride
    if tuple(grid.shape) != shape:
        grid.shape = shape
    if not grid.enabled:
        grid.enabled = True
