"""Apply a learned kernel to images, the way the trained model computes its output.

A ``"linear"`` model is one convolution (plus its bias); a ``"gradient_pair"``
is a convolution into two channels ``(a, b)`` followed by its fixed head, the
magnitude ``√(a² + b²)``. The images are padded at their borders so the output
has their size (reflected, or the edge pixel repeated for images smaller than
the kernel's radius). A ``"cnn"`` is more than its first-layer kernels and is
refused.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["APPLIED_MODELS", "apply_kernel", "padding_mode"]

#: Models a kernel (and bias) alone describes.
APPLIED_MODELS = ("linear", "gradient_pair")


def padding_mode(shape: tuple[int, ...], kernel_size: int) -> str:
    """How :func:`apply_kernel` pads images of ``shape`` for a ``kernel_size`` kernel.

    ``"reflect"``, or ``"replicate"`` when an image is too small to reflect.

    Examples
    --------
    >>> padding_mode((80, 80), 3), padding_mode((1, 1), 3)
    ('reflect', 'replicate')
    """
    return "reflect" if min(shape[-2:]) > kernel_size // 2 else "replicate"


def apply_kernel(images, kernel, bias=None, model: str = "linear") -> np.ndarray:
    """Filter images with a learned kernel (and bias), output of the images' size.

    Parameters
    ----------
    images : array_like
        One 2D image ``(H, W)`` or a stack ``(N, H, W)`` of real numbers.
    kernel : array_like
        ``(C_out, 1, k, k)`` cross-correlation kernels, as :func:`fit_kernel`
        reports them, or one ``(k, k)`` kernel; ``k`` odd.
    bias : array_like, optional
        One constant per output channel.
    model : {"linear", "gradient_pair"}
        ``"gradient_pair"`` needs two output channels and returns their magnitude.

    Returns
    -------
    numpy.ndarray
        float32: ``(H, W)`` or ``(N, H, W)`` for one output channel and for the
        gradient pair's magnitude, ``(C_out, H, W)`` or ``(N, C_out, H, W)``
        for several channels.

    Raises
    ------
    ValueError
        For a ``"cnn"`` or unknown model, or images and kernels that do not
        fit together; the message says why.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, sobel
    >>> image = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    >>> gx = apply_kernel(image, SOBEL_X.numpy())
    >>> gx.shape
    (32, 32)
    >>> bool(np.allclose(gx, sobel(image).gx, atol=1e-5))
    True
    >>> pair = np.stack([SOBEL_X.numpy(), SOBEL_Y.numpy()])[:, None]
    >>> magnitude = apply_kernel(image[None], pair, model="gradient_pair")
    >>> magnitude.shape, bool(np.allclose(magnitude[0], sobel(image).magnitude, atol=1e-5))
    ((1, 32, 32), True)
    """
    weight = _checked_kernel(kernel, model)
    stack = _checked_images(images)
    k = weight.shape[-1]
    r = k // 2
    x = torch.from_numpy(stack.astype(np.float32))[:, None]
    if r:
        x = F.pad(x, (r, r, r, r), mode=padding_mode(stack.shape, k))
    b = None
    if bias is not None:
        values = np.asarray(bias)
        if values.dtype.kind not in "biuf" or not np.isfinite(values).all():
            raise ValueError(f"the bias must be finite numbers, not {bias!r:.60}.")
        b = torch.from_numpy(values.astype(np.float32).ravel())
        if b.numel() != weight.shape[0]:
            raise ValueError(
                f"the bias holds {b.numel()} values for {weight.shape[0]} output channels."
            )
    out = F.conv2d(x, torch.from_numpy(weight), b).numpy()
    if model == "gradient_pair":  # the fixed head: the magnitude of (a, b)
        out = np.hypot(out[:, :1], out[:, 1:2])
    out = out[:, 0] if out.shape[1] == 1 else out
    return out[0] if np.ndim(images) == 2 else out


def _checked_kernel(kernel, model: str) -> np.ndarray:
    if model == "cnn":
        raise ValueError(
            "Apply kernel is for single-layer models: a cnn is more than its first-layer "
            "kernels shown here."
        )
    if model not in APPLIED_MODELS:
        raise ValueError(f"model must be one of {APPLIED_MODELS}, not {model!r}.")
    weight = np.asarray(kernel)
    if weight.dtype.kind not in "biuf":
        what = "complex" if weight.dtype.kind == "c" else f"{weight.dtype} data"
        raise TypeError(f"a kernel must be real numbers, not {what}.")
    if not np.isfinite(weight).all():
        raise ValueError("the kernel contains NaN or inf: it would fill the output with them.")
    weight = weight.astype(np.float32)
    if weight.ndim == 2:
        weight = weight[None, None]
    if weight.ndim != 4 or weight.shape[-1] != weight.shape[-2] or weight.shape[-1] % 2 == 0:
        raise ValueError(
            f"a kernel is (C_out, 1, k, k) or (k, k) with k odd, not shape {weight.shape}."
        )
    if weight.shape[1] != 1:
        raise ValueError(
            f"the kernel takes {weight.shape[1]} input channels: images of one channel "
            "need (C_out, 1, k, k)."
        )
    if model == "gradient_pair" and weight.shape[0] != 2:
        raise ValueError(
            f"the gradient pair has two kernels (a, b), not {weight.shape[0]}: shape "
            f"{weight.shape}."
        )
    return weight


def _checked_images(images) -> np.ndarray:
    stack = np.asarray(images)
    if stack.dtype.kind not in "buif":
        raise TypeError(f"images must be real numbers, not {stack.dtype} data.")
    if stack.ndim == 2:
        stack = stack[None]
    if stack.ndim != 3 or 0 in stack.shape:
        raise ValueError(
            f"images must be one 2D image (H, W) or a stack (N, H, W), not shape {stack.shape}."
        )
    return stack
