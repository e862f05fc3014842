"""Output layers the plugin owns: found by metadata, updated in place, never someone else's."""

from __future__ import annotations

from typing import Any

from .. import __version__

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


def put_labels(viewer, source_name: str, what: str, data, parameters: dict[str, Any], **kwargs):
    """Create or update in place the Labels layer ``f"{source_name}_{what}"``.

    A layer of that name that the plugin did not make is left alone: napari gives
    the new layer a unique name instead.
    """
    layer = owned_output(viewer, source_name, what)
    metadata = output_metadata(source_name, what, parameters)
    if layer is not None and layer.data.shape == data.shape and layer.data.dtype == data.dtype:
        layer.data[...] = data
        layer.metadata.update(metadata)
        layer.refresh()
        return layer
    if layer is not None:
        layer.data = data
        layer.metadata.update(metadata)
        return layer
    from .._viewer import insert_after_source

    layer = viewer.add_labels(data, name=f"{source_name}_{what}", metadata=metadata, **kwargs)
    insert_after_source(viewer, layer, source_name)
    return layer
