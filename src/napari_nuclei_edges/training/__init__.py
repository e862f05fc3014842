"""Learn a convolution kernel from (image, filtered image) pairs by gradient descent.

:func:`fit_kernel` trains a single ``torch.nn.Conv2d`` and yields a small frozen
:class:`TrainingStep` per reported step, so a dock can draw the loss and the
kernel while it runs and a script can simply loop. :func:`least_squares_kernel`
is the closed-form optimum the training should approach; :func:`kernel_error`
says how close a kernel is to another.

The loss is the mean squared error over the pixels where the kernel saw only
real image pixels (a ``valid`` convolution against the target cropped by
``k // 2``), so the exact Sobel kernel reaches zero loss. For the linear model
that loss is a quadratic form in the weights; the default ``engine="moments"``
collects its coefficients once (see :mod:`napari_nuclei_edges.training._moments`)
and then every step costs microseconds with the same loss and gradient as a
convolution over all pixels; ``engine="conv"`` runs the convolution on the
pixels every step, as the course notebook does. :func:`apply_kernel` filters
images with a learned kernel the way the trained model does.

torch and numpy; no Qt, no napari. torch is imported on first use: importing the
package (or its torch-free :mod:`~napari_nuclei_edges.training.options` and
:mod:`~napari_nuclei_edges.training.kernel_io`) does not load it.

Examples
--------
>>> from napari_nuclei_edges.data import synthetic_nuclei
>>> from napari_nuclei_edges.training import SOBEL_X, fit_kernel, kernel_error
>>> images = synthetic_nuclei(n_per_class=4)["metaphase"]
>>> *_, last = fit_kernel(images, "gx")
>>> last.status, last.weight.shape
('converged', (1, 1, 3, 3))
>>> kernel_error(last.weight[0, 0], SOBEL_X.numpy())["max_abs"] < 1e-3
True
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from napari_nuclei_edges.training.kernel_io import (
    fiji_kernel_text,
    history_csv,
    load_kernel,
    save_history_csv,
    save_kernel,
)
from napari_nuclei_edges.training.options import (
    DEFAULT_LEARNING_RATES,
    MODEL_LEARNING_RATES,
    NORMALISATIONS,
    OPTIMISERS,
    TrainingDiverged,
    TrainingOptions,
    TrainingStep,
    default_learning_rate,
    kernel_error,
)
from napari_nuclei_edges.training.verdict import verdict

if TYPE_CHECKING:  # what __getattr__ imports on first use, for type checkers
    from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y
    from napari_nuclei_edges.training._data import BUILTIN_TARGETS, split_images
    from napari_nuclei_edges.training.apply import apply_kernel

__all__ = [
    "BUILTIN_TARGETS",
    "DEFAULT_LEARNING_RATES",
    "MODEL_LEARNING_RATES",
    "NORMALISATIONS",
    "OPTIMISERS",
    "SOBEL_X",
    "SOBEL_Y",
    "TrainingDiverged",
    "TrainingOptions",
    "TrainingStep",
    "apply_kernel",
    "default_learning_rate",
    "fiji_kernel_text",
    "fit_kernel",
    "history_csv",
    "kernel_error",
    "least_squares_kernel",
    "load_kernel",
    "save_history_csv",
    "save_kernel",
    "split_images",
    "target_convention",
    "verdict",
]

#: The torch side of the public API, imported on first use: name → (module, attribute).
#: BUILTIN_TARGETS maps "gx", "gy", "both" to the Sobel kernels computed from the inputs.
_LAZY = {
    "SOBEL_X": ("napari_nuclei_edges.gradients", "SOBEL_X"),
    "SOBEL_Y": ("napari_nuclei_edges.gradients", "SOBEL_Y"),
    "BUILTIN_TARGETS": ("napari_nuclei_edges.training._data", "BUILTIN_TARGETS"),
    "split_images": ("napari_nuclei_edges.training._data", "split_images"),
    "apply_kernel": ("napari_nuclei_edges.training.apply", "apply_kernel"),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once imported, an ordinary module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def least_squares_kernel(inputs, targets, kernel_size: int = 3, *, bias: bool = False):
    """The kernel that minimises the loss exactly: linear least squares in float64.

    Parameters
    ----------
    inputs : array_like
        ``(N, H, W)`` or ``(N, C_in, H, W)`` images.
    targets : array_like or str
        Images (``(N, H, W)`` or ``(N, C_out, H, W)``) of the inputs' size
        (``"same"``) or of the valid size ``(H − k + 1, W − k + 1)`` (the course's
        ``valid`` cross-correlation: ``Conv2d(padding=0)``, ``sobel(x, padding="valid")``),
        see :func:`target_convention`; or ``"gx"``, ``"gy"``, ``"both"`` for Sobel of
        the inputs. Either way the loss is taken over the valid region.
    kernel_size : int
        Odd width of the kernel.
    bias : bool
        Also solve for a constant per output channel.

    Returns
    -------
    numpy.ndarray or tuple
        The ``(C_out, C_in, k, k)`` kernel; with ``bias=True``, ``(kernel, bias)``.

    Notes
    -----
    Solved from the patch moments in float64. A float32 ``torch.linalg.lstsq``
    with its default ``rcond`` returns a wrong rank-1 answer on the 250
    reference images, silently.
    """
    from napari_nuclei_edges.training import _data

    # the closed form needs the moments, whatever the size (the loop convolves beyond 7 × 7)
    options = TrainingOptions(
        kernel_size=kernel_size, bias=bias, normalisation="none", engine="moments"
    )
    data = _data.prepare(inputs, targets, options)
    weight, b = _data.solve(data.moments.total(), data, options)
    return (weight, b) if bias else weight


def fit_kernel(inputs, targets, held_out=None, **options) -> Iterator[TrainingStep]:
    """Train a ``Conv2d(C_in, C_out, k)`` on image pairs; yield a step as it goes.

    Parameters
    ----------
    inputs : array_like
        ``(N, H, W)`` or ``(N, C_in, H, W)`` images of any real dtype, at least
        ``k × k``; the input is never modified.
    targets : array_like or str
        What the kernel should produce from each image: images (``(N, H, W)`` or
        ``(N, C_out, H, W)``) of the inputs' size or of the valid size
        ``(H − k + 1, W − k + 1)`` (each step's ``targets`` says which they were
        taken as; the loss region is the valid one either way), or ``"gx"``, ``"gy"`` or
        ``"both"`` (Sobel of the inputs, ``C_out = 2`` for both), or
        ``"magnitude"``, ``"direction"``, ``"polar"`` (both) of the Sobel
        gradient, for the ``gradient_pair`` and ``cnn`` models (``linear``
        takes ``"magnitude"`` too, to show that it cannot).
    held_out : array_like or tuple, optional
        Images never trained on, to measure generalisation (e.g. the other
        classes): each report's ``test_loss``. With image targets, a tuple
        ``(images, targets)``.
    **options
        Any field of :class:`TrainingOptions` (kernel_size, bias, optimiser,
        learning_rate, steps, patience, batch_size, validation_fraction,
        normalisation, seed, device, engine, tolerance, report_interval, model,
        layers, channels).

    Yields
    ------
    TrainingStep
        Step 0 (the random start) first, then every ``report_interval``
        seconds, and the last step with status ``"converged"`` (a finite loss
        within ``tolerance`` of the optimum), ``"finished"`` (all steps taken),
        ``"plateau"`` (the validation loss stopped improving for ``patience``
        steps) or ``"diverged"`` (then :class:`TrainingDiverged` is raised).

    Raises
    ------
    TrainingDiverged
        When the loss or a weight becomes NaN/inf or the loss grows by orders of
        magnitude: first the step with status ``"diverged"`` is yielded (its
        trace holds the exploding losses, its kernel is the last finite one),
        then this is raised; the message says why and what to change.
    ValueError, TypeError
        At the call, for options that cannot run (each with a sentence); at the
        first step, for inputs the model cannot learn from (constant, NaN,
        too large for float32, targets of neither the same nor the valid size).
    """
    from napari_nuclei_edges.training import _data, _loop

    opts = TrainingOptions(**options)  # bad options fail here, at the call
    _data.check_device(opts)
    return _loop.run(inputs, targets, opts, held_out)


def target_convention(input_shape, target_shape, kernel_size: int = 3) -> str:
    """``"same"`` or ``"valid"``: how targets of ``target_shape`` pair with the inputs.

    See :func:`napari_nuclei_edges.training._data.target_convention`.

    Examples
    --------
    >>> target_convention((250, 80, 80), (250, 78, 78))
    'valid'
    """
    from napari_nuclei_edges.training._data import target_convention as convention

    return convention(input_shape, target_shape, kernel_size)
