"""What a widget can do with a layer's data: a sentence for what it cannot, samples of big data."""

from __future__ import annotations

import numpy as np

#: Planes read from a lazy (dask, zarr) stack for its histogram, evenly spaced.
SAMPLE_PLANES = 16


def layer_problem(layer) -> str | None:
    """Why this image layer cannot be thresholded, as a sentence; None when it can."""
    if getattr(layer, "rgb", False):
        return (
            f"{layer.name} is an RGB image: split it into channels (right-click the layer ▸ "
            "Split RGB) and choose one channel."
        )
    data = layer.data
    if getattr(layer, "multiscale", False):
        data = data[0]
    dtype = np.dtype(data.dtype)
    if dtype.kind not in "buif":
        return f"{layer.name} holds {dtype} values: only real-valued images can be thresholded."
    if data.ndim < 2:
        return f"{layer.name} is {data.ndim}D: threshold needs 2D images or stacks of them."
    if 0 in data.shape:
        return f"{layer.name} is empty (shape {tuple(data.shape)})."
    return None


def is_lazy(data) -> bool:
    return not isinstance(data, np.ndarray)


def histogram_input(layer) -> tuple[np.ndarray, str | None]:
    """The pixels to histogram, and a note when only a sample of a lazy stack is read.

    A numpy layer is used whole. A lazy (dask, zarr) stack is never loaded on the
    GUI thread: at most :data:`SAMPLE_PLANES` evenly spaced 2D planes are read.
    """
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    if not is_lazy(data):
        return (data.view(np.uint8) if data.dtype == bool else data), None
    planes = int(np.prod(data.shape[:-2])) if data.ndim > 2 else 1
    if planes <= SAMPLE_PLANES:
        return np.asarray(data), None
    flat_index = np.linspace(0, planes - 1, SAMPLE_PLANES).round().astype(int)
    indices = [np.unravel_index(i, data.shape[:-2]) for i in flat_index]
    sample = np.stack([np.asarray(data[index]) for index in indices])
    note = (
        f"{layer.name}: lazy data, histogram and methods from a sample of {SAMPLE_PLANES} "
        f"of {planes} images."
    )
    return sample, note


def fill_image_combo(combo, viewer) -> list[str]:
    """Refill ``combo`` with the image layers a user made (not the plugin's outputs).

    The current choice is kept while it exists; otherwise the selected layer, else
    the last one. Returns the names offered.
    """
    from napari.layers import Image

    from .outputs import OWNER_KEY

    current = combo.currentText()
    names = [
        layer.name
        for layer in viewer.layers
        if isinstance(layer, Image) and OWNER_KEY not in layer.metadata
    ]
    combo.clear()
    combo.addItems(names)
    if current in names:
        combo.setCurrentText(current)
    elif names:
        active = viewer.layers.selection.active
        combo.setCurrentText(
            active.name if active is not None and active.name in names else names[-1]
        )
    return names
