"""Live threshold previews: ``<layer>_mask`` Labels layers written in place."""

from __future__ import annotations

import math

import numpy as np

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
        redraw_labels_in_place(output)
    else:
        mask = threshold_mask(layer.data, threshold, upper, polarity)
        put_labels(viewer, layer.name, "mask", mask, parameters, opacity=0.5)


def threshold_mask(data, threshold: float, upper: float | None, polarity: str, out=None):
    """The preview mask as uint8 (0/1), lazily for dask arrays (napari computes the slice).

    Exactly ``x > threshold`` (``threshold < x <= upper`` for a band, the
    complement for dark objects; NaN is never foreground), written into ``out``
    when given.
    """
    if not isinstance(data, np.ndarray) and hasattr(data, "map_blocks"):
        mask = data > threshold if upper is None else (data > threshold) & (data <= upper)
        return (mask if polarity == "bright" else ~mask).astype(np.uint8)
    data = np.asarray(data)
    out = np.empty(data.shape, np.uint8) if out is None else out
    flags = out.view(bool)
    _greater(data, threshold, flags)
    if upper is not None:
        above_upper = np.empty_like(flags)
        _greater(data, upper, above_upper)
        flags &= ~above_upper
    if polarity == "dark":
        np.logical_not(flags, out=flags)
        if data.dtype.kind == "f":
            flags &= ~np.isnan(data)  # NaN is never foreground
    return out


def _greater(data: np.ndarray, threshold: float, out: np.ndarray) -> None:
    """``out = data > threshold``; for integers against an integer, 4× faster than a float."""
    if data.dtype.kind not in "uib":
        np.greater(data, threshold, out=out)
        return
    if data.dtype.kind == "b":
        data = data.view(np.uint8)
    info = np.iinfo(data.dtype)
    floor = math.floor(threshold)  # integer x > t exactly when x > floor(t)
    if floor < info.min:
        out.fill(True)
    elif floor >= info.max:
        out.fill(False)
    else:
        np.greater(data, data.dtype.type(floor), out=out)
