"""napari's private API, in one place: each shim checks what it uses and falls back.

The plugin uses napari's public API everywhere else. Here, three things napari 0.9
has no public way to do, each worth it to a user (measured in ``benchmarks``):

- :func:`insert_unselected`: insert an output layer without selecting it (its
  controls replace the user's, every dock that follows the selection reacts);
- :func:`upload_displayed_labels`: show a Labels layer written in place by
  re-uploading its texture, not re-slicing it (the threshold preview while a
  handle is dragged);
- :func:`unwrap`: the object behind the proxy napari hands a dock (which cannot be
  weakly referenced).

Each returns what napari's public path gives when a private name is missing or
different (``tests/_plugin/test_tiles.py`` and ``tests/_qt/common/test_outputs.py``
check both paths against the installed napari). No Qt and no napari at import.
"""

from __future__ import annotations

import numpy as np

__all__ = ["insert_unselected", "unwrap", "upload_displayed_labels"]


def unwrap(obj):
    """The object itself behind a dock's proxy (napari's ``PublicOnlyProxy``), else ``obj``.

    Examples
    --------
    >>> class Proxy:
    ...     __wrapped__ = "the viewer"
    >>> unwrap(Proxy()), unwrap("a layer list")
    ('the viewer', 'a layer list')
    """
    return getattr(obj, "__wrapped__", obj)


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
    target = unwrap(layers)
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


def upload_displayed_labels(layer, viewer) -> bool:
    """Re-upload a Labels texture from the layer's own memory (napari 0.9's private slice).

    napari's painting path re-uploads the displayed slice with the layer's
    ``labels_update`` event (``Labels._partial_labels_refresh``; the vispy layer
    listens to it). That is only correct when the displayed slice *is* the
    data's memory, so this checks, and returns False (the caller refreshes)
    unless all of these hold:

    - the layer is a visible, loaded, single-scale numpy Labels layer without
      contours, still in ``viewer``, and the viewer displays 2D;
    - napari's current slice (``layer._slice.image``: ``raw`` and ``view``) is the
      displayed plane of ``layer.data`` itself: same dtype, the displayed shape,
      the same memory (so it already holds the new values);
    - any of napari's private names is missing or different: False as well.
    """
    from napari.layers import Labels

    if viewer is None or not isinstance(layer, Labels):
        return False
    try:
        data = layer.data
        if not (
            isinstance(data, np.ndarray)
            and not layer.multiscale
            and layer.visible
            and layer.loaded
            and layer.contour == 0
            and viewer.dims.ndisplay == 2
            and any(each is layer for each in viewer.layers)
        ):
            return False
        # ---- napari private: the slice napari shows, and which axes it shows
        displayed = tuple(layer._slice_input.displayed)
        if layer._slice_input.ndisplay != 2 or len(displayed) != 2:
            return False
        image = layer._slice.image
        raw, view = image.raw, image.view
        emit = layer.events.labels_update
        # ---- end of private names
        shape = tuple(data.shape[axis] for axis in displayed)
        if not all(
            isinstance(array, np.ndarray)
            and array.dtype == data.dtype
            and array.shape == shape
            and np.shares_memory(array, data)
            for array in (raw, view)
        ):
            return False
        if (
            view.__array_interface__["data"] != raw.__array_interface__["data"]
            or view.strides != raw.strides
        ):
            return False  # the view is a converted or shifted copy, not the data itself
    except (AttributeError, IndexError, TypeError, ValueError):
        return False
    emit(data=view, offset=[0] * view.ndim)
    return True
