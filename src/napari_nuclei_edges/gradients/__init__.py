"""Sobel gradients with PyTorch: Gx, Gy, magnitude and direction.

The kernels are *cross-correlation* kernels, as in ``torch.nn.Conv2d``, with x
along the columns and y pointing down the rows::

    SOBEL_X = [[-1, 0, 1],        SOBEL_Y = [[-1, -2, -1],
               [-2, 0, 2],                   [ 0,  0,  0],
               [-1, 0, 1]]                   [ 1,  2,  1]]

How they relate to the libraries a user may know (all on the same image):

- ``scipy.ndimage.sobel(x, axis=-1)`` equals Gx, ``axis=-2`` equals Gy;
- on float images, ``skimage.filters.sobel_v`` equals Gx / 4 and ``sobel_h``
  equals Gy / 4 (scikit-image normalises the smoothing weights); on integer
  images scikit-image first rescales to [0, 1], so on uint8 Gx = 1020 ×
  ``sobel_v`` (4 × 255);
- ``cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3)`` equals Gx, ``(0, 1)`` equals Gy.

:func:`sobel` computes ``F.conv2d(x, SOBEL)`` exactly, but as a shifted-slice
stencil (a difference along one axis, a [1, 2, 1] sum along the other): on a CPU
that is several times faster than ``conv2d``, whose oneDNN path writes a blocked
16-channel output and reorders it. Torch is the one engine, on the CPU, CUDA and
MPS alike: inputs are processed in cache-sized tiles written straight into the
preallocated outputs by torch operations (``_tiles``); nothing is compiled,
loaded or written at run time. What is checked before anything is written is in
``_checks``; a dask array gives lazy outputs made by one task per block.

How the outputs are shown (colormaps and contrast limits, the colour picture,
arrows) is in :mod:`napari_nuclei_edges.gradients.display`; which devices torch
can use here, in ``_devices``.

torch and numpy; no Qt, no napari (the package itself does not import this module).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from napari_nuclei_edges.gradients._buffers import BufferPool
from napari_nuclei_edges.gradients._checks import (
    check_images,
    check_size,
    checked_outputs,
    device_sentence,
    is_torch,
    numpy_images,
    resolve_device,
)
from napari_nuclei_edges.gradients._devices import available_devices, default_device
from napari_nuclei_edges.gradients._tiles import _mirror, sobel_into
from napari_nuclei_edges.gradients.display import magnitude_direction_rgb

__all__ = [
    "PADDINGS",
    "SOBEL_X",
    "SOBEL_Y",
    "Gradients",
    "available_devices",
    "default_device",
    "magnitude_direction_rgb",
    "output_shape",
    "release_buffers",
    "sobel",
    "sobel_pair",
]

PADDINGS = ("reflect", "zeros", "replicate", "valid")
#: Large numpy outputs come from here, so that dropped results are recycled.
_OUTPUTS = BufferPool()
#: The one thread that runs dask blocks' Sobel: each torch operation already uses every
#: core, and a dask thread that ran torch itself would start an OpenMP team of its own,
#: which slows every later torch call in the process (libgomp then stops spinning).
_BLOCKS: list[ThreadPoolExecutor] = []
_BLOCKS_LOCK = threading.Lock()


#: Sobel Gx as a cross-correlation kernel (x along the columns).
SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
#: Sobel Gy, the transpose of Gx (y pointing down the rows).
SOBEL_Y = SOBEL_X.T.contiguous()


@dataclass(frozen=True)
class Gradients:
    """The four Sobel outputs, each of the input's shape (``valid``: 2 pixels less)."""

    gx: Any
    gy: Any
    magnitude: Any
    direction: Any

    def __iter__(self):
        return iter((self.gx, self.gy, self.magnitude, self.direction))


def sobel(
    images,
    *,
    padding: Literal["reflect", "zeros", "replicate", "valid"] = "reflect",
    device: str | None = None,
    out: Gradients | None = None,
) -> Gradients:
    """Sobel Gx, Gy, magnitude and direction of every 2D image in a stack.

    Parameters
    ----------
    images : array_like, torch.Tensor or dask.array.Array
        ``(..., H, W)``; leading axes are independent images. Any real dtype;
        computed in float32. The input is never modified.
    padding : {"reflect", "zeros", "replicate", "valid"}
        Border handling: ``"reflect"`` mirrors without repeating the edge
        (``scipy.ndimage`` mode ``"mirror"``), ``"zeros"`` pads with 0 (what
        ``Conv2d(padding="same")`` does), ``"replicate"`` repeats the edge
        (scipy's ``"nearest"``), ``"valid"`` keeps only pixels whose 3 × 3
        neighbourhood is inside the image: outputs are ``(..., H-2, W-2)``.
    device : str, optional
        Torch device; default CUDA or MPS when present, else the CPU.
    out : Gradients or sequence of 4 arrays, optional
        Four writeable, C-contiguous float32 numpy arrays of the output shape to
        write into, no two sharing memory (numpy input on the CPU only; an
        ``out=`` that overlaps the input is handled, by reading a copy of it).
        Reusing them across calls, as a widget that updates its layers in place
        does, saves the page faults of fresh
        multi-hundred-MB outputs. Without it, large outputs come from a small
        pool (at most 1 GiB) that recycles earlier results once nothing refers
        to them; :func:`release_buffers` empties it.

    Returns
    -------
    Gradients
        float32 ``gx``, ``gy``, ``magnitude = hypot(gx, gy)`` and ``direction =
        atan2(gy, gx)`` in radians, in (-π, π]; numpy in gives numpy out, torch
        gives torch, dask gives lazy dask arrays. NaN and inf spread to the 3 × 3
        neighbourhood of where they are, as in a convolution.

    Raises
    ------
    TypeError
        For complex, object or string data.
    ValueError
        For fewer than 2 dimensions, an unknown padding, images smaller than
        3 × 3 with ``"valid"``, a device this machine lacks, or an ``out=`` that
        cannot be written (read-only, of the wrong type or shape, two outputs in
        the same memory, torch or dask input). Nothing is written before these
        checks pass.

    Notes
    -----
    Any real dtype and any strides are read (``np.fliplr`` views, big-endian,
    ``np.longdouble``); empty stacks and images give empty outputs. A 1-pixel
    axis with ``"reflect"`` mirrors onto itself, as scipy's ``mirror`` does. A
    tensor that requires grad is differentiated through (no in-place writes);
    the gradient of magnitude and direction is NaN where Gx = Gy = 0.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(5.0), (4, 1))      # brighter to the right
    >>> g = sobel(ramp)
    >>> float(g.gx[1, 2]), float(g.gy[1, 2]), float(g.direction[1, 2])
    (8.0, 0.0, 0.0)
    """
    # long for its public docstring only: the code just checks and dispatches
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, not {padding!r}.")
    target = resolve_device(device)
    lazy = hasattr(images, "map_blocks") and hasattr(images, "chunks")
    if not is_torch(images) and not lazy:
        images = np.asarray(images)
    check_images(images)
    check_size(*images.shape[-2:], padding)
    if out is not None and not isinstance(images, np.ndarray):
        kind = "torch tensors" if is_torch(images) else "dask arrays"
        raise ValueError(f"out= is for numpy input; for {kind}, use the returned outputs instead.")
    if lazy:
        return _sobel_dask(images, padding)
    if is_torch(images):
        return _sobel_torch(images, padding, target)
    return _sobel_numpy(images, padding, target, out)


def sobel_pair(images, *, padding: str = "reflect") -> tuple[torch.Tensor, torch.Tensor]:
    """Sobel Gx and Gy alone, as float32 torch tensors on the images' device.

    What :func:`sobel` computes for ``gx`` and ``gy``, bit for bit, without the
    magnitude and direction (whose arctangent is most of :func:`sobel`'s time):
    for measures built on the pair, such as the Tenengrad focus measure.

    Parameters
    ----------
    images : array_like or torch.Tensor
        ``(..., H, W)``, any real dtype (a numpy array is read on the CPU).
    padding : {"reflect", "zeros", "replicate", "valid"}
        As in :func:`sobel`.

    Examples
    --------
    >>> gx, gy = sobel_pair(np.tile(np.arange(5.0), (4, 1)), padding="valid")
    >>> gx.tolist(), gy.tolist()
    ([[8.0, 8.0, 8.0], [8.0, 8.0, 8.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, not {padding!r}.")
    images = images if is_torch(images) else np.asarray(images)
    check_images(images)
    check_size(*images.shape[-2:], padding)
    if not is_torch(images):
        images = torch.from_numpy(numpy_images(images))
    lead, (h, w) = images.shape[:-2], images.shape[-2:]
    n = int(np.prod(tuple(lead), dtype=np.int64))
    shape = output_shape(tuple(images.shape), padding)
    pair = [torch.empty((n, *shape[-2:]), dtype=torch.float32, device=images.device)
            for _ in range(2)]  # fmt: skip
    whole = 0 if images.device.type != "cpu" else None  # one tile on a GPU
    sobel_into(images.detach().reshape(n, h, w), [*pair, None, None], padding, whole)
    return pair[0].reshape(shape), pair[1].reshape(shape)


def release_buffers() -> int:
    """Let go of the recycled output memory that no result refers to any more.

    Returns
    -------
    int
        Bytes the pool referred to before (results still held stay valid).
    """
    held = _OUTPUTS.nbytes
    _OUTPUTS.clear()
    return held


def output_shape(shape: tuple[int, ...], padding: str = "reflect") -> tuple[int, ...]:
    """The shape of each output of :func:`sobel` for images of ``shape``.

    The input's shape, except with ``"valid"`` padding: 2 pixels less along
    each of the last two axes.

    Examples
    --------
    >>> output_shape((6, 80, 80), "valid"), output_shape((6, 80, 80), "zeros")
    ((6, 78, 78), (6, 80, 80))
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, not {padding!r}.")
    shape = tuple(int(n) for n in shape)
    if padding == "valid":
        return (*shape[:-2], max(shape[-2] - 2, 0), max(shape[-1] - 2, 0))
    return shape


def _sobel_numpy(
    images: np.ndarray, padding: str, device: torch.device | None, out=None
) -> Gradients:
    lead, (h, w) = images.shape[:-2], images.shape[-2:]
    n = int(np.prod(lead, dtype=np.int64))  # explicit: reshape(-1, …) fails on empty stacks
    shape = output_shape(images.shape, padding)
    oh, ow = shape[-2:]
    device = device or torch.device(default_device())
    outputs = None
    if out is not None:
        outputs = checked_outputs(out, shape)
        if device.type != "cpu":
            raise ValueError("out= is for the CPU; on another device, pass torch tensors in.")
        if any(np.may_share_memory(images, array) for array in outputs):
            images = images.copy()  # each output tile would overwrite input still to be read
    stack = numpy_images(images).reshape(n, h, w)
    if device.type != "cpu":
        result = _sobel_torch(torch.from_numpy(stack), padding, device)
        return Gradients(*(r.cpu().numpy().reshape(shape) for r in result))
    if outputs is None:
        outputs = [_OUTPUTS.empty((n, oh, ow)) for _ in range(4)]
    flat = [torch.from_numpy(array.reshape(n, oh, ow)) for array in outputs]
    sobel_into(torch.from_numpy(stack), flat, padding)
    return Gradients(*(array.reshape(shape) for array in outputs))


def _sobel_torch(images, padding: str, device: torch.device | None) -> Gradients:
    target = device or images.device
    lead, (h, w) = images.shape[:-2], images.shape[-2:]
    n = int(np.prod(tuple(lead), dtype=np.int64))
    try:
        x = images.reshape(n, h, w).to(target)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(device_sentence(target)) from exc
    shape = output_shape(tuple(images.shape), padding)
    if x.requires_grad and torch.is_grad_enabled():
        return Gradients(*(t.reshape(shape) for t in _differentiable(x, padding)))
    outputs = [torch.empty((n, *shape[-2:]), dtype=torch.float32, device=target) for _ in range(4)]
    try:
        sobel_into(x, outputs, padding, tile_pixels=None if target.type == "cpu" else 0)
    except (NotImplementedError, RuntimeError) as exc:
        if target.type == "cpu":
            raise
        import warnings

        warnings.warn(
            f"sobel: an operation is not supported on {target} ({exc}); computing on the CPU.",
            RuntimeWarning,
            stacklevel=3,
        )
        return _sobel_torch(images.cpu(), padding, torch.device("cpu"))
    return Gradients(*(t.reshape(shape) for t in outputs))


def _differentiable(x, padding: str):
    """The four outputs without in-place writes, so that autograd can go through them."""
    x = x.to(torch.float32)
    if padding == "zeros":
        p = F.pad(x, (1, 1, 1, 1))
    elif padding == "valid":
        p = x
    else:
        p = x.index_select(-2, _pad_index(x.shape[-2], padding, x.device))
        p = p.index_select(-1, _pad_index(x.shape[-1], padding, x.device))
    d = p[..., 2:] - p[..., :-2]
    gx = d[:, :-2] + 2.0 * d[:, 1:-1] + d[:, 2:]
    s = p[..., :-2] + 2.0 * p[..., 1:-1] + p[..., 2:]
    gy = s[:, 2:] - s[:, :-2]
    return gx, gy, torch.hypot(gx, gy), torch.atan2(gy, gx)


def _pad_index(n: int, padding: str, device) -> torch.Tensor:
    left, right = _mirror(n, padding)
    return torch.tensor([left, *range(n), right], device=device)


def _sobel_dask(images, padding: str) -> Gradients:
    """Lazily, one task per block that makes all four outputs: computing them together
    reads and convolves each block once."""
    import dask.array as da

    rows, cols = images.ndim - 2, images.ndim - 1
    whole = images.chunks[rows] == (images.shape[rows],) and images.chunks[cols] == (
        images.shape[cols],
    )
    if padding == "valid" and not whole:
        images, whole = images.rechunk({rows: -1, cols: -1}), True
    chunks = images.chunks
    if padding == "valid":
        chunks = (*chunks[:-2], (images.shape[rows] - 2,), (images.shape[cols] - 2,))
    # blocks that split images get a 1-pixel halo from their neighbours (none at the
    # image's own border, which each block pads itself with the chosen mode)
    source = images if whole else da.overlap.overlap(images, {rows: 1, cols: 1}, "none")
    stacked = da.map_blocks(
        _block_gradients,
        source,
        padding=padding,
        halo=not whole,
        new_axis=0,
        chunks=((4,), *chunks),
        dtype=np.float32,
        meta=np.empty((0,) * (images.ndim + 1), np.float32),
    )
    # each output a view of the stacked blocks: dask copies a slice of under half a block
    one = ((1,), *chunks)
    return Gradients(*(stacked.map_blocks(_pick, i, chunks=one)[0] for i in range(4)))


def _block_thread() -> ThreadPoolExecutor:
    with _BLOCKS_LOCK:
        if not _BLOCKS:
            _BLOCKS.append(ThreadPoolExecutor(1, thread_name_prefix="sobel-blocks"))
        return _BLOCKS[0]


def _pick(stacked: np.ndarray, index: int) -> np.ndarray:
    return stacked[index : index + 1]


def _block_gradients(block, padding: str, halo: bool, block_info=None) -> np.ndarray:
    """The four outputs of one dask block, stacked ``(4, ...)``, its halo trimmed."""
    block = np.asarray(block)
    stacked = np.empty((4, *output_shape(block.shape, padding)), np.float32)
    outputs = Gradients(*stacked)
    _block_thread().submit(_sobel_numpy, block, padding, torch.device("cpu"), outputs).result()
    if not halo:
        return stacked
    where = block_info[0]["chunk-location"][-2:]
    counts = block_info[0]["num-chunks"][-2:]
    keep = tuple(
        slice(1 if at > 0 else 0, -1 if at < count - 1 else None)
        for at, count in zip(where, counts, strict=True)
    )
    return stacked[(..., *keep)]
