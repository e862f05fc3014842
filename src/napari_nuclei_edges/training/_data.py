"""The data of a training run: checked image pairs, normalised, split, and their moments.

:func:`prepare` turns what :func:`napari_nuclei_edges.training.fit_kernel` was
given into a :class:`Data` the loop trains on; :func:`solve` and
:func:`to_original` bring normalised parameters back to the units of the images.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, sobel
from napari_nuclei_edges.training._models import POLAR_TARGETS, polar_target
from napari_nuclei_edges.training._moments import Moments, moments
from napari_nuclei_edges.training.options import BUILTIN_TARGET_NAMES, TrainingOptions

BUILTIN_TARGETS = dict(
    zip(BUILTIN_TARGET_NAMES, [(SOBEL_X,), (SOBEL_Y,), (SOBEL_X, SOBEL_Y)], strict=True)
)


@dataclass
class Data:
    """The tensors a run trains on (normalised) and how to undo the normalisation."""

    x: torch.Tensor  # (N, C_in, H, W) float64, normalised
    y: torch.Tensor  # (N, C_out, H, W) float64, normalised
    shift: float  # x_normalised = (x - shift) / scale, y_normalised = y / scale
    scale: float
    train: torch.Tensor  # image indices
    val: torch.Tensor
    moments: Moments | None
    reference: np.ndarray | None  # the true kernel, for built-in targets
    kind: str | None = None  # the built-in target's name
    test_x: torch.Tensor | None = None  # held-out images (e.g. the other classes)
    test_y: torch.Tensor | None = None
    test_moments: Moments | None = None
    targets: str | None = None  # image targets taken as "same" or "valid" (None: built in)


def engine(opts: TrainingOptions) -> str:
    """``"moments"`` or ``"conv"``: how the run computes its loss."""
    if opts.model != "linear":
        return "conv"
    if opts.engine == "auto":
        # a device other than the CPU is asked for: the convolution runs there
        on_cpu = (opts.device or "cpu") == "cpu"
        return "moments" if opts.kernel_size <= 7 and on_cpu else "conv"
    return opts.engine


def check_device(opts: TrainingOptions) -> None:
    """Refuse, with a sentence, a device torch does not know or cannot use here."""
    if opts.device is None:
        return
    try:
        device = torch.device(opts.device)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"device {opts.device!r} is not a torch device: use 'cpu', 'cuda', 'cuda:1' or 'mps'."
        ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise ValueError(
                f"device {opts.device!r} is not available: torch sees "
                f"{count or 'no'} CUDA GPU{'s' if count != 1 else ''} here; use 'cpu'."
            )
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {opts.device!r} is not available here; use 'cpu'.")
    elif device.type != "cpu":
        raise ValueError(f"device {opts.device!r} is not supported: use 'cpu', 'cuda' or 'mps'.")


def prepare(inputs, targets, opts: TrainingOptions, held_out=None) -> Data:
    """Check, normalise and split the images; collect their moments when the engine uses them."""
    check_training_memory(inputs, targets, opts, held_out)
    x, y, reference, kind = _pairs(inputs, targets, opts, "inputs")
    convention = None if kind is not None else _convention(x.shape, np.shape(targets), opts)
    shift, scale = _normalisation(x, opts)
    xt, yt = _normalised(x, y, kind, shift, scale)
    train, val = (
        torch.from_numpy(i) for i in split_images(x.shape[0], opts.validation_fraction, opts.seed)
    )
    stats = moments(xt, yt, opts.kernel_size, opts.bias) if engine(opts) == "moments" else None
    if stats is not None:
        _check_finite_moments(stats, opts)
    data = Data(xt, yt, shift, scale, train, val, stats, reference, kind, targets=convention)
    if held_out is not None:
        _add_held_out(data, x.shape[1:], targets, held_out, opts)
    return data


#: Bytes a run holds per input pixel whatever the model: the inputs and targets in float64,
#: the float64 copy normalising makes, Sobel's four float32 outputs (measured: 54–70).
BYTES_PER_PIXEL = 72


def training_memory(shape, opts: TrainingOptions, outputs: int) -> int:
    """About the most bytes a run on images of ``shape`` (N, C_in, H, W) holds at once.

    Measured on a 2000² image (peak resident memory): least squares 54 bytes a pixel,
    the linear kernel 70, the gradient pair 395, the small CNN (8 channels, 2 layers) 252;
    the convolution engine's part scales with the images of a batch.
    """
    n, c_in, h, w = shape
    per_pixel = BYTES_PER_PIXEL * c_in
    if engine(opts) == "conv":  # activations and their gradients, for a batch of images
        work = {"linear": 32 * outputs, "gradient_pair": 330,
                "cnn": 24 * opts.channels * opts.layers}[opts.model]  # fmt: skip
        per_pixel += work * min(1.0, (opts.batch_size or n) / n)
    return int(n * h * w * per_pixel)


def check_training_memory(inputs, targets, opts: TrainingOptions, held_out=None) -> None:
    """A sentence, before any work, when the run would not fit in the memory free now."""
    from napari_nuclei_edges.data import check_memory

    shape = tuple(np.shape(inputs))
    if len(shape) not in (3, 4) or 0 in shape:
        return  # _pairs says what is wrong with it
    shape = (shape[0], 1, *shape[1:]) if len(shape) == 3 else shape
    outputs = 2 if isinstance(targets, str) and targets == "both" else 1
    needed = training_memory(shape, opts, outputs)
    if held_out is not None:
        test = np.shape(held_out[0] if isinstance(held_out, tuple) else held_out)
        needed += needed * int(np.prod(test)) // max(1, int(np.prod(shape)))
    n, _, h, w = shape
    check_memory(needed, f"Training on {n} image{'s' if n != 1 else ''} of {h} × {w}",
                 "crop the images or train on fewer (a region of a large image teaches the "
                 "same kernel), or close other programs.")  # fmt: skip


def _add_held_out(data: Data, size: tuple, targets, held_out, opts: TrainingOptions) -> None:
    """Normalise the held-out images like the inputs and put them in ``data``."""
    if isinstance(targets, str):
        test_inputs, test_targets = held_out, targets
    elif isinstance(held_out, tuple) and len(held_out) == 2:
        test_inputs, test_targets = held_out
    else:
        raise ValueError("held_out needs (images, targets) when the targets are images.")
    tx, ty, _, _ = _pairs(test_inputs, test_targets, opts, "held-out images")
    if tx.shape[1:] != size:
        raise ValueError(f"held-out images {tx.shape[1:]} differ from the inputs {size} in size.")
    data.test_x, data.test_y = _normalised(tx, ty, data.kind, data.shift, data.scale)
    if data.moments is not None:
        data.test_moments = moments(data.test_x, data.test_y, opts.kernel_size, opts.bias)
        _check_finite_moments(data.test_moments, opts)


def _check_finite_moments(stats: Moments, opts: TrainingOptions) -> None:
    """Refuse images whose squared values overflow float64 (the loss would be NaN)."""
    if all(torch.isfinite(t).all() for t in (stats.gram, stats.cross, stats.square)):
        return
    hint = (
        "choose normalisation 'standardise' or 'scale'"
        if opts.normalisation == "none"
        else "scale the images down"
    )
    raise ValueError(
        "the images' squared values overflow float64 (the loss would be NaN): " + hint + "."
    )


def target_convention(input_shape, target_shape, kernel_size: int = 3, radius=None) -> str:
    """Whether image targets are of the inputs' size (``"same"``) or the valid size.

    Parameters
    ----------
    input_shape, target_shape : tuple of int
        ``(..., H, W)`` of the inputs and of the targets.
    kernel_size : int
        Odd width ``k`` of the kernel.
    radius : int, optional
        Pixels the model reads on each side (``k // 2`` for one convolution).

    Returns
    -------
    str
        ``"same"`` for targets of ``(H, W)``, ``"valid"`` for ``(H − k + 1, W − k + 1)``,
        the two conventions of the course (``padding="same"``, and the ``valid``
        cross-correlation of the assignment). Either way the loss is taken over the
        valid region.

    Raises
    ------
    ValueError
        For any other size, with a sentence.

    Examples
    --------
    >>> target_convention((250, 80, 80), (250, 78, 78)), target_convention((80, 80), (80, 80))
    ('valid', 'same')
    """
    r = kernel_size // 2 if radius is None else radius
    h, w = tuple(input_shape)[-2:]
    size = tuple(target_shape)[-2:]
    if size == (h, w):
        return "same"
    if size == (h - 2 * r, w - 2 * r):
        return "valid"
    raise ValueError(
        f"targets of {size[0]} × {size[1]} pixels do not pair with {h} × {w} inputs: "
        f"a target is either of the input's size ({h} × {w}, 'same') or of the valid "
        f"size {h - 2 * r} × {w - 2 * r} (a 'valid' cross-correlation with a "
        f"{kernel_size} × {kernel_size} kernel)."
    )


def _radius(opts: TrainingOptions) -> int:
    return (opts.kernel_size // 2) * (opts.layers if opts.model == "cnn" else 1)


def _convention(x_shape, y_shape, opts: TrainingOptions) -> str:
    return target_convention(x_shape, y_shape, opts.kernel_size, _radius(opts))


def split_images(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and the held-out validation images (sorted, disjoint).

    Examples
    --------
    >>> train, val = split_images(10, 0.2, seed=0)
    >>> len(train), len(val), sorted({*train, *val}) == list(range(10))
    (8, 2, True)
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    n_val = min(n - 1, round(fraction * n)) if n > 1 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def solve(total: Moments, data: Data, opts: TrainingOptions):
    """Closed-form weight and bias (original units) from summed moments."""
    return to_original(torch.from_numpy(optimum(total)), data, opts)


def optimum(total: Moments) -> np.ndarray:
    """The ``(p, C_out)`` normalised parameters that minimise a summed quadratic loss."""
    return np.linalg.lstsq(total.gram[0].numpy(), total.cross[0].numpy(), rcond=None)[0]


def to_original(matrix: torch.Tensor, data: Data, opts: TrainingOptions):
    """``(p, C_out)`` normalised parameters → weight ``(C_out, C_in, k, k)`` and bias."""
    c_in, k = data.x.shape[1], opts.kernel_size
    m = matrix.detach().to(torch.float64)
    weight = m[: c_in * k * k].T.reshape(-1, c_in, k, k).numpy().copy()
    if not opts.bias:
        return weight, None
    bias = m[-1].numpy() * data.scale - data.shift * weight.sum(axis=(1, 2, 3))
    return weight, bias


# --------------------------------------------------------------------------- checks


def _as_images(array, what: str) -> np.ndarray:
    try:
        array = np.asarray(array)
    except (TypeError, ValueError) as exc:  # ragged lists, objects numpy cannot stack
        raise TypeError(f"{what} must be an array of numbers: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be real numbers, not {array.dtype} data.")
    if not array.dtype.isnative:  # big-endian files: torch reads the machine's order only
        array = array.astype(array.dtype.newbyteorder("="))
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise ValueError(
            f"{what} must be a stack of images (N, H, W) or (N, C, H, W), not shape {array.shape}."
        )
    if array.shape[0] == 0:
        raise ValueError(f"{what} hold no images.")
    return array


def _pairs(inputs, targets, opts: TrainingOptions, what: str):
    """Checked ``(x, y, reference kernel, target kind)`` as numpy, before normalisation."""
    x = _as_images(inputs, what)
    h, w = x.shape[2:]
    k = opts.kernel_size
    radius = _radius(opts)
    if h < 2 * radius + 1 or w < 2 * radius + 1:
        raise ValueError(f"images of {h} × {w} are smaller than the {k} × {k} kernel.")
    if not np.isfinite(x).all():
        raise ValueError(f"the {what} contain NaN or inf: a kernel cannot learn from them.")
    if what == "inputs" and x.min() == x.max():
        # whatever the normalisation: every kernel gives the same output, none is learned
        raise ValueError(
            f"the inputs are constant (every pixel {x.flat[0]:g}): there is nothing to learn "
            "a kernel from; pick images with some structure."
        )
    if isinstance(targets, str):
        y, reference = _sobel_targets(x, targets, opts)
        return x, y, reference, targets
    return x, _image_targets(x, targets, opts), None, None


def _sobel_targets(x: np.ndarray, targets: str, opts: TrainingOptions):
    """Targets computed from Sobel of ``x``, and the kernel that makes them (when one does)."""
    if targets not in BUILTIN_TARGETS and targets not in POLAR_TARGETS:
        names = (*BUILTIN_TARGETS, *POLAR_TARGETS)
        raise ValueError(f"targets must be one of {names} or images.")
    if x.shape[1] != 1:
        raise ValueError("Sobel targets need single-channel inputs (N, H, W).")
    if opts.model == "gradient_pair" and targets in BUILTIN_TARGETS:
        raise ValueError(
            "the gradient pair model learns the magnitude and direction: choose the "
            "targets 'magnitude', 'direction' or 'polar'."
        )
    if opts.model == "linear" and targets in ("direction", "polar"):
        raise ValueError(
            "a linear kernel cannot output a direction: choose the gradient pair "
            "or the cnn model for direction targets."
        )
    top = float(np.abs(x).max())
    if top * 8 > float(np.finfo(np.float32).max):  # Sobel sums 8 pixels' worth of weights
        raise ValueError(
            f"the inputs reach {top:.3g}, too large for the float32 Sobel targets "
            f"(largest {np.finfo(np.float32).max:.3g}): they would overflow to inf. Scale "
            "the images down first."
        )
    g = sobel(x[:, 0])
    reference = None
    if targets in BUILTIN_TARGETS:
        pick = BUILTIN_TARGETS[targets]
        y = np.stack([g.gx if kern is SOBEL_X else g.gy for kern in pick], 1)
        reference = torch.stack(pick)[:, None].numpy()
    elif opts.model == "linear":
        y = g.magnitude[:, None]
    else:
        y = polar_target(g.gx, g.gy)
        if opts.model == "gradient_pair":
            reference = torch.stack([SOBEL_X, SOBEL_Y])[:, None].numpy()
    k = opts.kernel_size
    if reference is not None and k != 3:
        pad = (k - 3) // 2
        if pad < 0:
            raise ValueError(f"a {k} × {k} kernel cannot hold the 3 × 3 Sobel kernel.")
        reference = np.pad(reference, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return y, reference


def _image_targets(x: np.ndarray, targets, opts: TrainingOptions) -> np.ndarray:
    if opts.model == "gradient_pair":
        raise ValueError(
            "the gradient pair model learns Sobel's magnitude and direction, not "
            "arbitrary target images."
        )
    y = _as_images(targets, "targets")
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"targets of shape {y.shape} do not pair with inputs of shape {x.shape}: "
            "one target image per input image."
        )
    convention = _convention(x.shape, y.shape, opts)
    if not np.isfinite(y).all():
        raise ValueError("the targets contain NaN or inf: a kernel cannot learn them.")
    if convention == "valid":
        # placed where a same-size target would be: the loss reads only that region
        r = _radius(opts)
        same = np.zeros((*y.shape[:2], *x.shape[2:]), np.float64)
        same[..., r : x.shape[2] - r, r : x.shape[3] - r] = y
        y = same
    return y


# --------------------------------------------------------------------------- units


def _normalisation(x: np.ndarray, opts: TrainingOptions) -> tuple[float, float]:
    if opts.normalisation == "none":
        return 0.0, 1.0
    top = float(np.abs(x).max())  # in float64: float16 sums overflow, 1e300 squares too
    if opts.normalisation == "scale":
        full = np.iinfo(x.dtype).max if x.dtype.kind in "iu" else top
        return 0.0, float(full) if full else 1.0
    scaled = x.astype(np.float64) / top  # |x| <= 1: the moments below cannot overflow
    mean = float(np.mean(scaled, dtype=np.float64))
    std = float(np.std(scaled, dtype=np.float64)) * top
    # without a bias the model cannot absorb a shift, so only the scale changes
    return (mean * top if opts.bias else 0.0), std


def _normalised(x, y, kind, shift: float, scale: float):
    xt = (torch.from_numpy(x).to(torch.float64) - shift) / scale
    yt = torch.from_numpy(np.asarray(y)).to(torch.float64)
    if kind in POLAR_TARGETS and yt.shape[1] == 3:
        yt[:, 0] /= scale  # the magnitude scales with the inputs; cos and sin do not
    else:
        yt = yt / scale
    return xt, yt
