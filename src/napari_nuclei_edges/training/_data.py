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


def engine(opts: TrainingOptions) -> str:
    """``"moments"`` or ``"conv"``: how the run computes its loss."""
    if opts.model != "linear":
        return "conv"
    if opts.engine == "auto":
        return "moments" if opts.kernel_size <= 7 else "conv"
    return opts.engine


def prepare(inputs, targets, opts: TrainingOptions, held_out=None) -> Data:
    """Check, normalise and split the images; collect their moments when the engine uses them."""
    x, y, reference, kind = _pairs(inputs, targets, opts, "inputs")
    shift, scale = _normalisation(x, opts)
    xt, yt = _normalised(x, y, kind, shift, scale)
    train, val = (
        torch.from_numpy(i) for i in split_images(x.shape[0], opts.validation_fraction, opts.seed)
    )
    stats = moments(xt, yt, opts.kernel_size, opts.bias) if engine(opts) == "moments" else None
    data = Data(xt, yt, shift, scale, train, val, stats, reference, kind)
    if held_out is not None:
        _add_held_out(data, x.shape[1:], targets, held_out, opts)
    return data


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
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be real numbers, not {array.dtype} data.")
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
    radius = (k // 2) * (opts.layers if opts.model == "cnn" else 1)
    if h < 2 * radius + 1 or w < 2 * radius + 1:
        raise ValueError(f"images of {h} × {w} are smaller than the {k} × {k} kernel.")
    if not np.isfinite(x).all():
        raise ValueError(f"the {what} contain NaN or inf: a kernel cannot learn from them.")
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
    if y.shape[0] != x.shape[0] or y.shape[2:] != x.shape[2:]:
        raise ValueError(
            f"targets of shape {y.shape} do not pair with inputs of shape {x.shape}: "
            "one target image of the same size per input image."
        )
    if not np.isfinite(y).all():
        raise ValueError("the targets contain NaN or inf: a kernel cannot learn them.")
    return y


# --------------------------------------------------------------------------- units


def _normalisation(x: np.ndarray, opts: TrainingOptions) -> tuple[float, float]:
    if opts.normalisation == "none":
        return 0.0, 1.0
    if opts.normalisation == "scale":
        top = np.iinfo(x.dtype).max if x.dtype.kind in "iu" else float(np.abs(x).max())
        return 0.0, float(top) if top else 1.0
    std = float(x.std())
    if std == 0:
        raise ValueError(
            "the inputs are constant: there is nothing to learn from (and nothing to "
            "standardise); pick images with some structure."
        )
    # without a bias the model cannot absorb a shift, so only the scale changes
    return (float(x.mean()) if opts.bias else 0.0), std


def _normalised(x, y, kind, shift: float, scale: float):
    xt = (torch.from_numpy(x).to(torch.float64) - shift) / scale
    yt = torch.from_numpy(np.asarray(y)).to(torch.float64)
    if kind in POLAR_TARGETS and yt.shape[1] == 3:
        yt[:, 0] /= scale  # the magnitude scales with the inputs; cos and sin do not
    else:
        yt = yt / scale
    return xt, yt
