"""Output layers the plugin owns: found by metadata, updated in place, never someone else's."""

from __future__ import annotations

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
    """After a source layer is renamed: its outputs' metadata, and default names, follow."""
    for layer in viewer.layers:
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
    from ..._plugin.grid import insert_after_source

    add = getattr(viewer, f"add_{kind}")
    layer = add(data, name=f"{source_name}_{what}", metadata=metadata, **kwargs)
    insert_after_source(viewer, layer, source_name)
    return layer


def put_labels(viewer, source_name: str, what: str, data, parameters: dict[str, Any], **kwargs):
    """:func:`put_layer` for a Labels output."""
    return put_layer(viewer, "labels", source_name, what, data, parameters, **kwargs)


def redraw_labels_in_place(layer) -> None:
    """Show Labels data that was changed in place, as cheaply as napari allows.

    ``layer.refresh()`` re-slices and rebuilds the visual's transforms (~5 ms a
    layer). When the displayed slice is a view of numpy data (so it already holds
    the new values), the ``labels_update`` event of napari's painting path
    re-uploads just that texture. It is napari's internal path: if it is not
    there, or the slice is not a view, this falls back to ``refresh()``.
    """
    try:
        view = layer._slice.image.view
        if (
            isinstance(layer.data, np.ndarray)
            and layer.contour == 0
            and layer._slicing_state.loaded
            and np.shares_memory(layer.data, view)
        ):
            layer.events.labels_update(data=view, offset=[0] * view.ndim)
            return
    except (AttributeError, TypeError):
        pass
    layer.refresh()
