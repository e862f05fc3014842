"""What :func:`~napari_nuclei_edges.gradients.sobel` checks before it writes anything.

Every refusal is a sentence that says what to do; nothing here computes.

numpy and torch.
"""

from __future__ import annotations

import numpy as np
import torch

from napari_nuclei_edges.gradients._devices import _mps_available, available_devices

OUTPUT_NAMES = ("gx", "gy", "magnitude", "direction")


def is_torch(x) -> bool:
    return isinstance(x, torch.Tensor)


def check_images(images) -> None:
    """Refuse data sobel cannot differentiate: not real-valued, fewer than 2 dimensions."""
    if is_torch(images):
        if images.is_complex() or images.dtype in _TORCH_NOT_REAL:
            raise TypeError(f"sobel needs real-valued images, not {images.dtype} data.")
    else:
        dtype = np.dtype(getattr(images, "dtype", np.float64))
        if dtype.kind not in "buif":
            kind = "complex" if dtype.kind == "c" else str(dtype)
            raise TypeError(f"sobel needs real-valued images, not {kind} data.")
    if images.ndim < 2:
        raise ValueError(
            f"sobel needs images of at least 2 dimensions (..., H, W), not {images.ndim}D data."
        )


_TORCH_NOT_REAL = {
    getattr(torch, name) for name in ("quint8", "qint8", "qint32") if hasattr(torch, name)
}


def check_size(h: int, w: int, padding: str) -> None:
    if padding == "valid" and (h < 3 or w < 3):
        raise ValueError(f"images of {h} × {w} are smaller than the 3 × 3 kernel with 'valid'.")


def resolve_device(device) -> torch.device | None:
    """``device`` as a torch device, or a ValueError with the same sentence for a
    name torch does not know as for a device this machine lacks."""
    if device is None:
        return None
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(device_sentence(device)) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(device_sentence(device))
    if resolved.type == "mps" and not _mps_available():
        raise ValueError(device_sentence(device))
    return resolved


def device_sentence(device) -> str:
    """One sentence for every device sobel cannot use (the cause is chained, not shown)."""
    choices = ", ".join(repr(d) for d in available_devices()[1:])
    return (
        f"device {str(device)!r} is not available here; use one of {choices}, "
        "or None for the default."
    )


def numpy_images(images: np.ndarray) -> np.ndarray:
    """A view (or, only where torch cannot read it, a copy) that ``torch.from_numpy`` takes.

    Negative strides (``np.fliplr``), a foreign byte order, ``np.longdouble`` and
    read-only memory (which torch would warn about) are copied; bool is viewed as
    uint8. Values are unchanged.
    """
    if images.dtype == bool:
        images = images.view(np.uint8)
    if images.dtype.kind == "f" and images.dtype.itemsize > 8:
        # longdouble: torch has no such type; float64 keeps more than the float32 result needs
        images = images.astype(np.float64)
    elif not images.dtype.isnative:
        images = images.astype(images.dtype.newbyteorder("="))
    if any(stride < 0 or stride % images.itemsize for stride in images.strides) or not (
        images.flags.writeable
    ):
        images = np.array(images, order="C")
    return images


def checked_outputs(out, shape: tuple[int, ...]) -> list[np.ndarray]:
    """The four ``out=`` arrays, each writeable, float32, C-contiguous, of ``shape``, and
    no two of them sharing memory."""
    arrays = list(out) if isinstance(out, (tuple, list)) or hasattr(out, "magnitude") else None
    if arrays is None or len(arrays) != 4:
        count = f"{len(arrays)} arrays" if arrays is not None else type(out).__name__
        raise ValueError(
            "out= needs four arrays, for gx, gy, magnitude and direction (a Gradients or a "
            f"sequence of 4), not {count}."
        )
    for name, array in zip(OUTPUT_NAMES, arrays, strict=True):
        if not (
            isinstance(array, np.ndarray)
            and array.dtype == np.float32
            and array.dtype.isnative
            and array.shape == shape
            and array.flags.c_contiguous
        ):
            got = (
                f"{type(array).__name__} {getattr(array, 'dtype', '')} "
                f"{getattr(array, 'shape', '')}"
            )
            raise ValueError(
                f"out= needs C-contiguous float32 numpy arrays of shape {shape}; {name} is {got}."
            )
        if not array.flags.writeable:
            raise ValueError(
                f"out= {name} is read-only (a read-only np.memmap or a frozen array); "
                "pass writeable arrays, or leave out= out to get new ones."
            )
    for i, first in enumerate(arrays):
        for j in range(i + 1, len(arrays)):
            if np.may_share_memory(first, arrays[j]):
                raise ValueError(
                    f"out= {OUTPUT_NAMES[i]} and {OUTPUT_NAMES[j]} share memory: each output "
                    "needs an array of its own."
                )
    return arrays
