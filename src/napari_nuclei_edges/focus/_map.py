"""Where in the field each slice is sharpest: a focus measure per tile, the best slice of each.

A tilted sample, or a thick one, is in focus at different depths across the field:
one best slice for the whole field hides that. :func:`focus_map` cuts every slice
into tiles and picks each tile's sharpest slice with the same measures.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

import numpy as np
import torch

from ._checks import check_stack, nan_sentence, stack_dtype
from ._measures import _MEASURE, CHUNK_PIXELS, _as_tensor, _moved, check_measures

#: A tile's side, in pixels, when none is given: large enough for the measures to
#: see nuclei's edges, small enough to follow a tilt across a 512-pixel field.
TILE = 64


def tile_starts(size: int, tile: int) -> np.ndarray:
    """First pixel of each tile along an axis: every ``tile`` pixels, the last tile
    ending at the border (overlapping the one before when ``size`` is no multiple).

    Examples
    --------
    >>> tile_starts(10, 4).tolist(), tile_starts(8, 4).tolist()
    ([0, 4, 6], [0, 4])
    """
    starts = list(range(0, size - tile + 1, tile))
    if starts[-1] + tile < size:
        starts.append(size - tile)
    return np.asarray(starts)


def focus_map(stack, measure: str = "brenner", *, tile: int = TILE, axis: int = 0) -> np.ndarray:
    """The sharpest slice of each ``tile × tile`` tile of the field.

    Parameters
    ----------
    stack : array_like, torch.Tensor or dask.array.Array
        A 3D stack of 2D slices, slices along ``axis``; any real dtype.
    measure : str
        One of :data:`~napari_nuclei_edges.focus.FOCUS_MEASURES`.
    tile : int
        A tile's side in pixels, from 3 to the slices' smaller side.
    axis : int
        The axis along which the focus changes.

    Returns
    -------
    numpy.ndarray
        int32 ``(tiles down, tiles across)``: each tile's best slice (the first
        on a tie), -1 where the tile is constant in every slice (no detail to
        judge). Tiles start every ``tile`` pixels (:func:`tile_starts`);
        :func:`expand_map` paints the map at the slices' size.

    Examples
    --------
    >>> from napari_nuclei_edges.focus import synthetic_focus_stack
    >>> stack, best = synthetic_focus_stack(slices=9, best=6)
    >>> stack.shape, focus_map(stack, tile=80)
    ((9, 320, 400), array([[6, 6, 6, 6, 6],
           [6, 6, 6, 6, 6],
           [6, 6, 6, 6, 6],
           [6, 6, 6, 6, 6]], dtype=int32))
    """
    (name,) = check_measures(measure) if isinstance(measure, str) else (None,)
    if name is None:
        raise TypeError(f"focus_map takes one measure name, not {type(measure).__name__}.")
    axis = check_stack(stack, axis)
    if not hasattr(stack, "shape"):
        stack = np.asarray(stack)
    moved = _moved(stack, axis)
    total, height, width = (int(n) for n in moved.shape)
    if isinstance(tile, bool) or not isinstance(tile, int | np.integer):
        raise TypeError(f"The tile size is a whole number of pixels, not {tile!r}.")
    if not 3 <= tile <= min(height, width):
        raise ValueError(
            f"A tile of {tile} pixels does not fit slices of {height} × {width}: "
            f"choose from 3 to {min(height, width)}."
        )
    rows = torch.from_numpy(tile_starts(height, tile)[:, None] + np.arange(tile))
    cols = torch.from_numpy(tile_starts(width, tile)[:, None] + np.arange(tile))
    best = np.full((len(rows), len(cols)), -1, np.int32)
    top = np.zeros(best.shape)
    float64 = stack_dtype(stack) == np.float64
    step = max(1, CHUNK_PIXELS // (height * width))
    for start in range(0, total, step):
        x = _as_tensor(moved[start : start + step], float64=float64)
        bad = int((~torch.isfinite(x)).sum()) if x.is_floating_point() else 0
        if bad:
            raise ValueError(nan_sentence(bad, int((~torch.isfinite(x)).any((1, 2)).sum()), total))
        # (k, tiles down, tile, width) then (k, down, tile, across, tile): each tile a slice
        tiles = x[:, rows][..., cols].permute(0, 1, 3, 2, 4).reshape(-1, tile, tile)
        values = _MEASURE[name](tiles.contiguous()).numpy().reshape(-1, *best.shape)
        for offset, plane in enumerate(values):
            sharper = plane > top  # strictly: the first of equal maxima stays
            best[sharper], top[sharper] = start + offset, plane[sharper]
    return best


def expand_map(focus: np.ndarray, shape: tuple[int, int], tile: int) -> np.ndarray:
    """A :func:`focus_map` painted at the slices' size: each pixel its tile's value
    (a pixel two tiles overlap takes the first).

    Examples
    --------
    >>> expand_map(np.array([[1, 2], [3, 4]]), (3, 5), 3).tolist()
    [[1, 1, 1, 2, 2], [1, 1, 1, 2, 2], [1, 1, 1, 2, 2]]
    """
    height, width = shape
    rows = np.minimum(np.arange(height) // tile, focus.shape[0] - 1)
    cols = np.minimum(np.arange(width) // tile, focus.shape[1] - 1)
    return focus[rows[:, None], cols[None, :]]
