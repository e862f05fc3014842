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


def insert_after_source(viewer, layer, source_name: str) -> None:
    """Move ``layer`` to the end of its source's group, so the grid keeps them together."""
    names = [each.name for each in viewer.layers]
    if source_name not in names:
        return
    position = names.index(source_name) + 1
    while position < len(names) and names[position].startswith(f"{source_name}_"):
        position += 1
    current = names.index(layer.name)
    if current != position - 1 or current < names.index(source_name):
        viewer.layers.move(current, position if current > position else position - 1)
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
    grid.stride = sizes.pop() if len(sizes) == 1 else 1
    cells = -(-len(viewer.layers) // grid.stride)
    grid.shape = (1, -1) if cells <= 5 else (-1, -1)
    grid.enabled = True
