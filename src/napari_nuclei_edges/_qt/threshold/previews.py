"""The dock's outputs: live ``<layer>_mask`` previews written in place, and what becomes
of ``<layer>_mask`` and ``<layer>_labels`` when their source layer is deleted."""

from __future__ import annotations

import numpy as np

from ...segmentation import threshold_mask
from ..common.outputs import (
    OWNER_KEY,
    output_metadata,
    owned_output,
    put_labels,
    redraw_labels_in_place,
)

#: What the dock makes of a layer: the live preview and Apply's labels.
OUTPUTS = ("mask", "labels")
#: Set in an output's metadata once the user paints on it: then it is the user's work.
EDITED = "edited_by_user"


def show_mask_preview(viewer, layer, threshold, upper, polarity, parameters) -> None:
    """Create or update ``<layer>_mask`` for this threshold, in place when possible."""
    output = owned_output(viewer, layer.name, "mask")
    if (
        output is not None
        and isinstance(output.data, np.ndarray)
        and output.data.shape == layer.data.shape
        and output.data.dtype == np.uint8
    ):
        # in place: no new array, no new layer, only the displayed slice re-uploaded
        threshold_mask(layer.data, threshold, upper, polarity, out=output.data)
        output.metadata.update(output_metadata(layer.name, "mask", parameters))
        redraw_labels_in_place(output, viewer)
    else:
        mask = threshold_mask(layer.data, threshold, upper, polarity)
        put_labels(viewer, layer.name, "mask", mask, parameters, opacity=0.5)


def current_plane(viewer, layer) -> np.ndarray:
    """The 2D image of ``layer`` the viewer shows now (its first, for a 2D viewer of a stack)."""
    data = layer.data
    leading = data.shape[:-2]
    if not leading:
        return np.asarray(data)
    steps = tuple(viewer.dims.current_step)[-layer.ndim :][: len(leading)]
    index = tuple(min(max(int(s), 0), n - 1) for s, n in zip(steps, leading, strict=False))
    index += (0,) * (len(leading) - len(index))
    return np.asarray(data[index])


def follow_edits(layer) -> None:
    """Mark ``layer`` (an output) as the user's work when they paint, fill or erase on it.

    A plain function on the layer's own event: it holds no dock, and keeps counting
    while the dock is closed. A new result written by the dock clears the mark.
    """
    layer.events.paint.disconnect(_mark_edited)  # no duplicates
    layer.events.paint.connect(_mark_edited)


def _mark_edited(event) -> None:
    info = event.source.metadata.get(OWNER_KEY)
    if isinstance(info, dict):
        info[EDITED] = True


def remove_orphans(viewer, source: str) -> str:
    """After ``source`` was deleted: remove the dock's outputs of it, unless the user
    painted on them; the sentence that says so ("" when there were none).

    A preview or a result of a deleted image shows nothing the user can use, and
    in the launcher's tiles it lies where the image was, with no name; one the
    user edited is their work, and napari never throws a user's work away.
    """
    if any(layer.name == source for layer in viewer.layers):
        return ""  # a layer of that name came back meanwhile: its outputs are its own
    removed, kept = [], []
    for what in OUTPUTS:
        output = owned_output(viewer, source, what)
        if output is None:
            continue
        if output.metadata[OWNER_KEY].get(EDITED):
            kept.append(output.name)
        else:
            removed.append(output.name)
            viewer.layers.remove(output)
    text = f"{source} was deleted: {' and '.join(removed)} went with it." if removed else ""
    if kept:
        verb, it = ("stays", "it") if len(kept) == 1 else ("stay", "them")
        text += (f" {' and '.join(kept)} {verb}: you painted on {it} (delete {it} in the "
                 "layer list if no longer wanted).")  # fmt: skip
    return text.strip()
