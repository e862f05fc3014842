"""Output layers the plugin owns: found by metadata, updated in place, never someone else's."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from ... import __version__

OWNER_KEY = "napari_nuclei_edges"


def owned_output(viewer, source_name: str, what: str):
    """The layer this plugin made as ``what`` of ``source_name``, or None."""
    for layer in viewer.layers:
        info = layer.metadata.get(OWNER_KEY)
        if (
            isinstance(info, dict)
            and info.get("source") == source_name
            and info.get("output") == what
        ):
            return layer
    return None


def rename_outputs(viewer, old_source: str, new_source: str) -> None:
    """After a source layer is renamed: its outputs' metadata, and default names, follow;
    so does its ground truth when it is the sample's ``<source>_truth`` (its metadata
    names the source), so that "matching <layer>_truth" still finds it."""
    for layer in list(viewer.layers):
        if (layer.metadata.get("ground_truth_of") == old_source
                and layer.name == f"{old_source}_truth"):  # fmt: skip
            layer.metadata["ground_truth_of"] = new_source
            layer.name = f"{new_source}_truth"
            continue
        info = layer.metadata.get(OWNER_KEY)
        if isinstance(info, dict) and info.get("source") == old_source:
            info["source"] = new_source
            if layer.name == f"{old_source}_{info.get('output')}":
                layer.name = f"{new_source}_{info['output']}"


def output_metadata(source_name: str, what: str, parameters: dict[str, Any]) -> dict:
    return {
        OWNER_KEY: {
            "source": source_name,
            "output": what,
            "plugin_version": __version__,
            **parameters,
        }
    }


def is_owned(layer) -> bool:
    return isinstance(layer.metadata.get(OWNER_KEY), dict)


def put_layer(
    viewer, kind: str, source_name: str, what: str, data, parameters: dict[str, Any], **kwargs
):
    """Create, or update in place, the layer ``f"{source_name}_{what}"`` of type ``kind``.

    A layer of that name that the plugin did not make is left alone: napari gives
    the new layer a unique name instead.
    """
    layer = owned_output(viewer, source_name, what)
    metadata = output_metadata(source_name, what, parameters)
    if layer is not None and type(layer).__name__.lower() == kind:
        if layer.data is not data:
            layer.data = data
        else:
            layer.refresh()
        layer.metadata.update(metadata)
        for key, value in kwargs.items():
            if key not in ("name", "visible"):
                setattr(layer, key, value)
        return layer
    from napari import layers

    from ..._plugin.grid import insert_after_source

    kinds = {
        "image": layers.Image,
        "labels": layers.Labels,
        "vectors": layers.Vectors,
        "shapes": layers.Shapes,
    }
    layer = kinds[kind](data, name=f"{source_name}_{what}", metadata=metadata, **kwargs)
    insert_after_source(viewer, layer, source_name)
    return layer


def put_labels(viewer, source_name: str, what: str, data, parameters: dict[str, Any], **kwargs):
    """:func:`put_layer` for a Labels output."""
    return put_layer(viewer, "labels", source_name, what, data, parameters, **kwargs)


def redraw_labels_in_place(layer, viewer=None) -> None:
    """Show Labels data that was changed in place, as cheaply as napari allows.

    ``layer.refresh()`` re-slices and rebuilds the visual's transforms (~5 ms a
    layer). When :func:`_upload_displayed_labels` can prove that the displayed
    slice is the layer's own memory, the texture is re-uploaded from it instead;
    in every other case this is ``layer.refresh()``.

    Parameters
    ----------
    layer : napari.layers.Labels
        The layer whose ``data`` was written in place.
    viewer : napari.Viewer, optional
        The viewer that shows it. Without it, or when the layer is not in it, the
        layer is refreshed.
    """
    if not _upload_displayed_labels(layer, viewer):
        layer.refresh()


def _upload_displayed_labels(layer, viewer) -> bool:
    """The one use of napari's private API (napari 0.9): re-upload a Labels texture.

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


def guard_canvas_context(viewer, widget) -> Callable[[], None]:
    """Make the canvas's GL context current whenever a layer is about to be removed.

    napari 0.9 deletes a removed layer's textures, buffers and programs at once
    (``context.finish()`` flushes vispy's queue) outside ``paintGL``, in whatever
    GL context Qt left current. With Mesa that leaves the canvas's context with
    textures it still binds, freed under it; the next draw that revalidates its
    state (a resize of the canvas, as a dock's relayout makes) segfaults in
    ``glDrawArrays``. Qt asks for ``makeCurrent()`` before touching a
    ``QOpenGLWidget``'s resources outside ``paintGL``: this does it, on the
    public ``removing`` event, with public Qt calls only.

    Parameters
    ----------
    viewer : napari.Viewer
    widget : QWidget
        A dock of that viewer: the canvas is found from its main window.

    Returns
    -------
    callable
        Disconnects the guard (for the dock to call when it is closed).
    """

    widget_ref = weakref.ref(widget)  # a dock left connected by mistake is not kept alive

    def on_removing(event=None) -> None:
        canvas = _canvas_gl_widget(widget_ref())
        if canvas is not None:
            canvas.makeCurrent()

    def disconnect() -> None:
        viewer.layers.events.removing.disconnect(on_removing)

    viewer.layers.events.removing.connect(on_removing)
    return disconnect


def _canvas_gl_widget(widget):
    """The one valid OpenGL widget in the central widget of ``widget``'s main window."""
    from qtpy.compat import isalive
    from qtpy.QtWidgets import QMainWindow

    try:
        from qtpy.QtOpenGLWidgets import QOpenGLWidget
    except ImportError:  # Qt 5
        from qtpy.QtWidgets import QOpenGLWidget

    window = widget if widget is not None and isalive(widget) else None
    while window is not None and not isinstance(window, QMainWindow):
        window = window.parentWidget()
    central = window.centralWidget() if window is not None else None
    if central is None:
        return None
    found = [each for each in central.findChildren(QOpenGLWidget) if each.isValid()]
    return found[0] if len(found) == 1 else None
