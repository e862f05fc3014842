"""What a focus stack must be, checked before anything is computed: one sentence per problem.

numpy only (a torch or dask stack is only looked at: its shape and dtype).
"""

from __future__ import annotations

import numpy as np

#: The smallest image a measure is defined on: Brenner and the 3 × 3 filters need 3 rows.
MIN_SIDE = 3


def stack_dtype(stack) -> np.dtype:
    """The numpy dtype of a numpy, torch or dask stack."""
    dtype = stack.dtype
    if type(stack).__module__.startswith("torch"):
        import torch

        return torch.empty((), dtype=dtype).numpy().dtype
    return np.dtype(dtype)


def check_stack(stack, axis: int) -> int:
    """Check a focus stack; return ``axis`` as a non-negative index.

    Raises
    ------
    TypeError
        For data that is not real numbers (complex, object, strings).
    ValueError
        For a single 2D image, an RGB(A) image, more than 3 dimensions, an axis
        that does not exist, or images smaller than 3 × 3.

    Examples
    --------
    >>> check_stack(np.zeros((5, 8, 8)), axis=-3)
    0
    >>> check_stack(np.zeros((8, 8)), axis=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: This is a single 2D image (8, 8): a focus measure compares the slices ...
    """
    if not hasattr(stack, "shape") or not hasattr(stack, "dtype"):
        stack = np.asarray(stack)
    dtype = stack_dtype(stack)
    shape = tuple(int(n) for n in stack.shape)
    if dtype.kind not in "buif":
        raise TypeError(
            f"The stack holds {dtype} values: focus measures need real numbers; "
            "convert it (e.g. take the absolute value of complex data) first."
        )
    if len(shape) < 3:
        raise ValueError(
            f"This is a single {len(shape)}D image {shape}: a focus measure compares the "
            "slices of a stack; give a stack (slices, height, width)."
        )
    # (H, W, 3): colour, unless the user said the last axis holds the slices
    if shape[-1] in (3, 4) and min(shape[-3:-1]) >= 8 and axis not in (-1, len(shape) - 1):
        raise ValueError(
            f"The stack {shape} looks like RGB(A) colour ({shape[-1]} values on its last axis): "
            "take the channel that holds the nuclei first (napari: right-click ▸ Split RGB)."
        )
    if len(shape) > 3:
        raise ValueError(
            f"The stack is {len(shape)}D {shape}: give one stack of 2D slices (3D); "
            "take one channel or time point first."
        )
    if not -3 <= axis < 3:
        raise ValueError(
            f"Axis {axis} does not exist: the stack {shape} has 3 axes (0, 1, 2 or -3, -2, -1); "
            "choose the axis along which the focus changes."
        )
    axis %= 3
    image = [n for i, n in enumerate(shape) if i != axis]
    if min(image) < MIN_SIDE:
        raise ValueError(
            f"Slices of {image[0]} × {image[1]} pixels are too small: focus measures need "
            f"at least {MIN_SIDE} × {MIN_SIDE}; check the axis ({axis} was chosen)."
        )
    if shape[axis] == 0:
        raise ValueError(f"The stack {shape} has no slices along axis {axis}.")
    return axis


def nan_sentence(count: int, slices: int, total: int) -> str:
    """The sentence for NaN or infinite pixels in ``slices`` of ``total`` slices.

    Examples
    --------
    >>> print(nan_sentence(3, 1, 21))  # doctest: +ELLIPSIS
    3 pixels of the stack (in 1 of 21 slices) are NaN or infinite: ... first.
    """
    pixels = "1 pixel of the stack" if count == 1 else f"{count:,} pixels of the stack"
    verb = "is" if count == 1 else "are"
    return (
        f"{pixels} (in {slices} of {total} slices) {verb} NaN or infinite: a focus measure "
        "of those slices would be NaN; replace them (numpy.nan_to_num) or crop them out first."
    )
