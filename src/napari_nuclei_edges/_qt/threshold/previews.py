"""Live threshold previews: ``<layer>_mask`` Labels layers written in place."""

from __future__ import annotations

import numpy as np

from ...segmentation import threshold_mask
from ..common.outputs import output_metadata, owned_output, put_labels, redraw_labels_in_place


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
