"""The one layer check every dock uses, and how a dock reads a layer's images.

Policy, stated once: a dock works on the grey images of an Image layer, 2D or a
stack of them. An RGB(A) layer is refused with a sentence that says how to split
it into channels (napari's *Split RGB*), because which channel holds the nuclei
is the user's call, not ours. Labels and other layer types are not offered;
integer, float and bool data are; lazy (dask, zarr) data is read a sample or a
block at a time, never whole on the GUI thread.

napari layers only: no Qt.
"""

from __future__ import annotations

import numpy as np
from napari.layers import Image

from ...data import sample_indices
from .outputs import OWNER_KEY

#: Planes read from a lazy (dask, zarr) stack for its histogram, evenly spaced.
SAMPLE_PLANES = 16


def layer_data(layer):
    """The layer's full-resolution data (level 0 of a multiscale layer)."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def layer_problem(layer, purpose: str = "this", *, max_ndim: int | None = None) -> str | None:
    """Why a dock cannot work on this layer, as one sentence; None when it can.

    Parameters
    ----------
    layer : napari.layers.Layer
    purpose : str
        What the dock does, for the sentence ("thresholding", "training", …).
    max_ndim : int, optional
        The most dimensions the dock takes (training: 3, a stack of 2D images).
    """
    if getattr(layer, "rgb", False):
        return (
            f"{layer.name} is an RGB image: split it into channels (right-click the layer ▸ "
            "Split RGB) and choose the channel that holds the nuclei."
        )
    if not isinstance(layer, Image):
        kind = type(layer).__name__
        return f"{layer.name} is a {kind} layer, not an image: choose an image layer."
    data = layer_data(layer)
    dtype = np.dtype(data.dtype)
    if dtype.kind not in "buif":
        return f"{layer.name} holds {dtype} values: {purpose} needs real-valued images."
    if data.ndim < 2:
        return f"{layer.name} is {data.ndim}D: {purpose} needs 2D images or stacks of them."
    if max_ndim is not None and data.ndim > max_ndim:
        return (
            f"{layer.name} is {data.ndim}D {tuple(data.shape)}: {purpose} needs a stack of 2D "
            "images (N, H, W); take one channel or time point first."
        )
    if 0 in data.shape:
        return f"{layer.name} is empty (shape {tuple(data.shape)})."
    return None


def is_lazy(data) -> bool:
    """Data napari reads on demand (dask, zarr, …): anything but a numpy array."""
    return not isinstance(data, np.ndarray)


def histogram_input(layer) -> tuple[np.ndarray, str | None]:
    """The pixels to histogram, and a note when only a sample of a lazy stack is read.

    A numpy layer is used whole. A lazy (dask, zarr) stack is never loaded on the
    GUI thread: at most :data:`SAMPLE_PLANES` evenly spaced 2D planes are read.
    """
    data = layer_data(layer)
    if not is_lazy(data):
        return (data.view(np.uint8) if data.dtype == bool else data), None
    planes = int(np.prod(data.shape[:-2])) if data.ndim > 2 else 1
    if planes <= SAMPLE_PLANES:
        return np.asarray(data), None
    indices = [np.unravel_index(i, data.shape[:-2]) for i in sample_indices(planes, SAMPLE_PLANES)]
    sample = np.stack([np.asarray(data[index]) for index in indices])
    note = (
        f"{layer.name}: lazy data, histogram and methods from a sample of {SAMPLE_PLANES} "
        f"of {planes} images."
    )
    return sample, note


def user_image_layers(viewer) -> list:
    """The image layers a user made (not the plugin's outputs), in layer order."""
    return [
        layer
        for layer in viewer.layers
        if isinstance(layer, Image) and OWNER_KEY not in layer.metadata
    ]


#: Characters of a layer name a layer combo box is at least wide for; longer names
#: are elided in the box and shown whole in its list and tooltip.
COMBO_CHARACTERS = 12


def keep_narrow(combo) -> None:
    """Size ``combo`` for :data:`COMBO_CHARACTERS` characters, not for its longest item.

    Qt sizes a combo box for its longest item: one long layer name
    (``DAPI_field03_deconvolved_MaxIP``) made a dock wider than napari gives it at
    1366 × 768, and cut off everything on its right.
    """
    combo.setSizeAdjustPolicy(combo.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(COMBO_CHARACTERS)


def fill_image_combo(combo, viewer) -> list[str]:
    """Refill ``combo`` with the image layers a user made (not the plugin's outputs).

    The current choice is kept while it exists; otherwise the selected layer, else
    the last one. Returns the names offered. The box stays narrow (:func:`keep_narrow`).
    """
    keep_narrow(combo)
    current = combo.currentText()
    names = [layer.name for layer in user_image_layers(viewer)]
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(names)
    combo.blockSignals(False)
    if current in names:
        combo.setCurrentText(current)
    elif names:
        active = viewer.layers.selection.active
        combo.setCurrentText(
            active.name if active is not None and active.name in names else names[-1]
        )
    return names
