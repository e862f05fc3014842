"""Sobel gradients with PyTorch: Gx, Gy, magnitude and direction.

The kernels are *cross-correlation* kernels, as in ``torch.nn.Conv2d``, with x
along the columns and y pointing down the rows::

    SOBEL_X = [[-1, 0, 1],        SOBEL_Y = [[-1, -2, -1],
               [-2, 0, 2],                   [ 0,  0,  0],
               [-1, 0, 1]]                   [ 1,  2,  1]]

How they relate to the libraries a user may know (all on the same image):

- ``scipy.ndimage.sobel(x, axis=-1)`` equals Gx, ``axis=-2`` equals Gy;
- ``skimage.filters.sobel_v`` equals Gx / 4 and ``sobel_h`` equals Gy / 4
  (scikit-image normalises the smoothing weights);
- ``cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3)`` equals Gx, ``(0, 1)`` equals Gy.

:func:`sobel` computes ``F.conv2d(x, SOBEL)`` exactly, but as a shifted-slice
stencil (a difference along one axis, a [1, 2, 1] sum along the other): on a CPU
that is several times faster than ``conv2d``, whose oneDNN path writes a blocked
16-channel output and reorders it. Large inputs are processed in cache-sized
tiles written straight into the preallocated outputs.

How the outputs are shown (colormaps and contrast limits, the colour picture,
arrows) is in :mod:`napari_nuclei_edges.gradients.display`; which devices torch
can use here, in ``_devices``.

torch and numpy; no Qt, no napari (the package itself does not import this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from napari_nuclei_edges.gradients._buffers import BufferPool
from napari_nuclei_edges.gradients._devices import available_devices, default_device
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
]

PADDINGS = ("reflect", "zeros", "replicate", "valid")
#: Pixels per tile: four float32 outputs of a tile stay within a few MB of cache.
TILE_PIXELS = 1 << 18
#: Widest tile, in pixels.
TILE_WIDTH = 1024
#: Large numpy outputs come from here, so that dropped results are recycled.
_OUTPUTS = BufferPool()


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


def _check(images) -> np.dtype:
    dtype = np.dtype(getattr(images, "dtype", np.float64)) if not _is_torch(images) else None
    if dtype is not None and dtype.kind not in "buif":
        kind = "complex" if dtype.kind == "c" else str(dtype)
        raise TypeError(f"sobel needs real-valued images, not {kind} data.")
    if images.ndim < 2:
        raise ValueError(
            f"sobel needs images of at least 2 dimensions (..., H, W), not {images.ndim}D data."
        )
    return dtype


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


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
    out : Gradients, optional
        Four C-contiguous float32 numpy arrays of the output shape to write into
        (numpy input on the CPU only). Reusing them across calls, as a widget
        that updates its layers in place does, saves the page faults of fresh
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
        For fewer than 2 dimensions, an unknown padding, or images smaller than
        3 × 3 with ``"valid"`` (or than 2 × 2 with ``"reflect"``).

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
    if hasattr(images, "map_blocks") and hasattr(images, "chunks") and not _is_torch(images):
        _check(images)
        return _sobel_dask(images, padding)
    if not _is_torch(images):
        images = np.asarray(images)
    _check(images)
    h, w = images.shape[-2:]
    if padding == "valid" and (h < 3 or w < 3):
        raise ValueError(f"images of {h} × {w} are smaller than the 3 × 3 kernel with 'valid'.")
    if padding == "reflect" and (h < 2 or w < 2):
        raise ValueError(f"images of {h} × {w} cannot be reflected; use 'replicate' or 'zeros'.")
    if _is_torch(images):
        return _sobel_torch(images, padding, device)
    return _sobel_numpy(images, padding, device, out)


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
    return (*shape[:-2], shape[-2] - 2, shape[-1] - 2) if padding == "valid" else shape


def _pad(x, padding: str):
    """``(N, H, W)`` float32 → padded ``(N, H+2, W+2)`` (unchanged for ``valid``)."""

    if padding == "valid":
        return x
    mode = {"reflect": "reflect", "replicate": "replicate", "zeros": "constant"}[padding]
    return F.pad(x.unsqueeze(1), (1, 1, 1, 1), mode=mode).squeeze(1)


def _stencil(p, gx, gy, magnitude, direction) -> None:
    """Write the four outputs of a padded float32 block ``p`` into the given tensors."""
    # Gx: a [-1, 0, 1] difference along x, then a [1, 2, 1] sum along y
    d = p[:, :, 2:] - p[:, :, :-2]
    torch.add(d[:, :-2], d[:, 2:], out=gx)
    gx.add_(d[:, 1:-1], alpha=2.0)
    # Gy: a [1, 2, 1] sum along x, then a [-1, 0, 1] difference along y
    s = p[:, :, :-2] + p[:, :, 2:]
    s.add_(p[:, :, 1:-1], alpha=2.0)
    torch.sub(s[:, 2:], s[:, :-2], out=gy)
    # sqrt(gx² + gy²) in three in-place passes: torch's hypot is not vectorised on CPUs
    torch.mul(gx, gx, out=magnitude)
    magnitude.addcmul_(gy, gy).sqrt_()
    torch.atan2(gy, gx, out=direction)


def _sobel_numpy(
    images: np.ndarray, padding: str, device: str | None, out: Gradients | None = None
) -> Gradients:
    lead, (h, w) = images.shape[:-2], images.shape[-2:]
    stack = images.reshape(-1, h, w)
    oh, ow = output_shape((h, w), padding)
    device = device or default_device()
    if out is not None:
        outputs = [_checked_out(array, (*lead, oh, ow)).reshape(-1, oh, ow) for array in out]
        if device != "cpu":
            raise ValueError("out= is for the CPU; on another device, pass torch tensors in.")
    else:
        outputs = [_OUTPUTS.empty((len(stack), oh, ow)) for _ in range(4)]
    if device != "cpu":
        result = _sobel_torch(torch.from_numpy(_as_float32(stack)), padding, device)
        return Gradients(*(r.cpu().numpy().reshape(*lead, oh, ow) for r in result))
    targets = [torch.from_numpy(out) for out in outputs]
    source = torch.from_numpy(stack if stack.dtype != bool else stack.view(np.uint8))
    # whole images per tile when they are small, bands of rows when they are large
    per_tile = max(1, TILE_PIXELS // (h * w))
    if per_tile > 1 or h * w <= TILE_PIXELS:
        for start in range(0, len(stack), per_tile):
            block = source[start : start + per_tile].to(torch.float32)
            _stencil(_pad(block, padding), *(t[start : start + per_tile] for t in targets))
    else:
        # 2D tiles: rows of 4096 floats alias in the cache, so wide images are cut
        # into columns as well
        cols = min(ow, TILE_WIDTH)
        rows = max(8, TILE_PIXELS // cols)
        for index in range(len(stack)):
            for top in range(0, oh, rows):
                for left in range(0, ow, cols):
                    bottom, right = min(oh, top + rows), min(ow, left + cols)
                    tile = _padded_tile(source[index], top, bottom, left, right, padding)
                    _stencil(
                        tile, *(t[index : index + 1, top:bottom, left:right] for t in targets)
                    )
    return Gradients(*(out.reshape(*lead, oh, ow) for out in outputs))


def _padded_tile(image, top: int, bottom: int, left: int, right: int, padding: str):
    """The padded input ``(1, rows + 2, cols + 2)`` that output ``[top:bottom, left:right]`` needs.

    Converting and padding one cache-sized tile at a time, instead of the whole
    image, keeps every temporary small and hot in the cache.
    """
    if padding == "valid":
        return image[top : bottom + 2, left : right + 2].to(torch.float32)[None]
    h, w = image.shape
    rows = slice(max(top - 1, 0), min(bottom + 1, h))
    cols = slice(max(left - 1, 0), min(right + 1, w))
    tile = image[rows, cols].to(torch.float32)[None, None]
    mode = {"reflect": "reflect", "replicate": "replicate", "zeros": "constant"}[padding]
    pads = (int(left == 0), int(right == w), int(top == 0), int(bottom == h))
    return F.pad(tile, pads, mode=mode)[0] if any(pads) else tile[0]


def _checked_out(array, shape: tuple) -> np.ndarray:
    if not (
        isinstance(array, np.ndarray)
        and array.dtype == np.float32
        and array.shape == shape
        and array.flags.c_contiguous
    ):
        got = f"{type(array).__name__} {getattr(array, 'dtype', '')} {getattr(array, 'shape', '')}"
        raise ValueError(f"out= needs C-contiguous float32 arrays of shape {shape}, not {got}.")
    return array


def _as_float32(stack: np.ndarray) -> np.ndarray:
    return stack.astype(np.float32, copy=False)


def _sobel_torch(images, padding: str, device: str | None) -> Gradients:
    if images.is_complex():
        raise TypeError("sobel needs real-valued images, not complex data.")
    target = torch.device(device) if device else images.device
    lead, (h, w) = images.shape[:-2], images.shape[-2:]
    try:
        x = images.reshape(-1, h, w).to(target, torch.float32)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(f"device {device!r} is not available here ({exc}).") from exc
    p = _pad(x, padding)
    oh, ow = p.shape[-2] - 2, p.shape[-1] - 2
    gx, gy, magnitude, direction = (x.new_empty((len(x), oh, ow)) for _ in range(4))
    try:
        _stencil(p, gx, gy, magnitude, direction)
    except (NotImplementedError, RuntimeError) as exc:
        if target.type == "cpu":
            raise
        import warnings

        warnings.warn(
            f"sobel: an operation is not supported on {target} ({exc}); computing on the CPU.",
            RuntimeWarning,
            stacklevel=3,
        )
        return _sobel_torch(images.cpu(), padding, "cpu")
    return Gradients(*(t.reshape(*lead, oh, ow) for t in (gx, gy, magnitude, direction)))


def _sobel_dask(images, padding: str) -> Gradients:
    """Lazily, per 2D image: blocks that hold whole images need no halo."""
    import dask.array as da

    whole_images = images.chunks[-2] == (images.shape[-2],) and images.chunks[-1] == (
        images.shape[-1],
    )

    def part(index):
        def compute(block):
            return np.asarray(tuple(sobel(block, padding=padding, device="cpu"))[index])

        return compute

    if padding == "valid" and not whole_images:
        images = images.rechunk({-2: -1, -1: -1})
        whole_images = True
    if whole_images:
        chunks = images.chunks
        if padding == "valid":
            chunks = (*chunks[:-2], (images.shape[-2] - 2,), (images.shape[-1] - 2,))
        outputs = [
            da.map_blocks(part(i), images, dtype=np.float32, chunks=chunks) for i in range(4)
        ]
    else:
        # a 1-pixel halo from the neighbouring blocks; at the image's own border each
        # block pads itself with the chosen mode, so the result equals the in-memory one
        depth = {images.ndim - 2: 1, images.ndim - 1: 1}
        outputs = [
            da.map_overlap(
                part(i), images, depth=depth, boundary="none", trim=True, dtype=np.float32
            )
            for i in range(4)
        ]
    return Gradients(*outputs)
