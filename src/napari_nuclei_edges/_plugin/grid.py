"""Arranging layers in the viewer (napari, no Qt): each class with its outputs in one grid cell."""

from __future__ import annotations


def layer_groups(viewer) -> list[list[str]]:
    """Layer names grouped as a source followed by the layers named ``<source>_…``."""
    return _groups([layer.name for layer in viewer.layers])


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


def insert_after_source(viewer, layer, source_name: str) -> None:
    """Insert ``layer`` at the end of its source's group, so the grid keeps them together.

    napari rebuilds its grid (a view and camera per cell: a quarter of a second
    with a dozen cells) on every insert, move, and change of the grid's stride or
    shape. So the grid the insert needs is set first without its events, and the
    insert's own rebuild draws it: one rebuild per new layer, not two or three.
    """
    position = position_after_source(viewer, source_name)
    names = [each.name for each in viewer.layers]
    names.insert(position, layer.name)
    grid = _grid(viewer)
    if grid.enabled:
        stride, shape = _arrangement(names)
        with grid.events.stride.blocker(), grid.events.shape.blocker():
            _set(grid, stride, shape)
    viewer.layers.insert(position, layer)
    arrange_grid(viewer)  # already as it should be: nothing changes, nothing rebuilt


def arrange_grid(viewer, *, enable: bool = False) -> None:
    """Use napari's grid with one source and its outputs per cell when the groups allow.

    The stride is the group size when every group has the same size (hidden layers
    keep their place in the grid); otherwise each layer gets its own cell.
    """
    grid = _grid(viewer)
    if not (enable or grid.enabled):
        return
    stride, shape = _arrangement([layer.name for layer in viewer.layers])
    if grid.stride != stride and tuple(grid.shape) != shape:
        with grid.events.stride.blocker():  # both change: one rebuild, on the shape
            grid.stride = stride
    _set(grid, stride, shape)
    if not grid.enabled:
        grid.enabled = True


def _grid(viewer):
    return getattr(viewer.canvas, "grid", None) or viewer.grid  # napari < 0.9: viewer.grid


def _arrangement(names: list[str]) -> tuple[int, tuple[int, int]]:
    sizes = {len(group) for group in _groups(names)}
    stride = sizes.pop() if len(sizes) == 1 else 1
    cells = -(-len(names) // stride) if names else 0
    return stride, ((1, -1) if cells <= 5 else (-1, -1))


def _set(grid, stride: int, shape: tuple[int, int]) -> None:
    """Change only what differs: each change rebuilds napari's grid."""
    if grid.stride != stride:
        grid.stride = stride
    if tuple(grid.shape) != shape:
        grid.shape = shape
