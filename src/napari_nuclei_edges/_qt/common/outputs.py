"""Output layers the plugin owns: found by metadata, updated in place, never someone else's."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from ... import __version__
from ..._napari_compat import upload_displayed_labels

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
    layer). When ``_napari_compat.upload_displayed_labels`` can prove that the
    displayed slice is the layer's own memory, the texture is re-uploaded from it instead;
    in every other case this is ``layer.refresh()``.

    Parameters
    ----------
    layer : napari.layers.Labels
        The layer whose ``data`` was written in place.
    viewer : napari.Viewer, optional
        The viewer that shows it. Without it, or when the layer is not in it, the
        layer is refreshed.
    """
    if not upload_displayed_labels(layer, viewer):
        layer.refresh()


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
