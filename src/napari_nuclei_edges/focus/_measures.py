"""The five focus measures of a chunk of slices, in torch, and the walk over a stack.

Every measure is a sum or a ratio over one slice, so a stack is read a chunk of
slices at a time (a dask stack is computed chunk by chunk) and each chunk is
converted once to a float tensor that all five measures share.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence

import numpy as np
import torch

from ..gradients import sobel_pair
from ._checks import check_stack, nan_sentence, stack_dtype

FOCUS_MEASURES = ("brenner", "normalised_variance", "tenengrad", "laplacian_variance", "spectral")
#: Each measure's name in a sentence or a legend.
MEASURE_LABELS = {
    "brenner": "Brenner",
    "normalised_variance": "normalised variance",
    "tenengrad": "Tenengrad",
    "laplacian_variance": "Laplacian variance",
    "spectral": "spectral",
}
#: Pixels converted and measured at once: a chunk's float32 copy and the measures'
#: temporaries stay within the last-level cache (``bench_focus --chunks`` compares).
CHUNK_PIXELS = 1 << 20
_F64 = torch.float64


def check_measures(measures: str | Sequence[str]) -> tuple[str, ...]:
    """The measures asked for, as a tuple; a ValueError names an unknown one."""
    chosen = (measures,) if isinstance(measures, str) else tuple(measures)
    if not chosen:
        raise ValueError(f"No measure was asked for: choose from {', '.join(FOCUS_MEASURES)}.")
    unknown = [name for name in chosen if name not in FOCUS_MEASURES]
    if unknown:
        raise ValueError(
            f"Unknown focus measure {unknown[0]!r}: choose from {', '.join(FOCUS_MEASURES)}."
        )
    return chosen


def check_noise(noise) -> float:
    """The noise σ to add (grey levels), a finite number ≥ 0; else a sentence."""
    try:
        value = float(noise)
    except (TypeError, ValueError):
        raise TypeError(f"The noise is a number of grey levels, not {noise!r}.") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"The noise σ must be a finite number ≥ 0, not {noise!r}.")
    return value


def _brenner(x: torch.Tensor) -> torch.Tensor:
    # B = sum over rows i and columns j of [g(i, j) - g(i + 2, j)]^2
    return _squares(x[:, :-2, :] - x[:, 2:, :])


def _normalised_variance(x: torch.Tensor) -> torch.Tensor:
    var, mean = torch.var_mean(x, dim=(-2, -1), correction=0)
    var, mean = var.to(_F64), mean.to(_F64).abs()
    # Groen's normalisation by the mean makes it brightness-independent; mean 0 gives 0
    return torch.where(mean > 0, var / mean.clamp_min(1e-300), torch.zeros_like(var))


def _tenengrad(x: torch.Tensor) -> torch.Tensor:
    gx, gy = sobel_pair(x, padding="valid")  # this project's Sobel, on real pixels only
    return _squares(gx) + _squares(gy)


def _squares(x: torch.Tensor) -> torch.Tensor:
    """Σ x² per slice in one vectorised pass (exact for small integers, unlike a norm
    squared back, and far more accurate than a float32 matrix product)."""
    flat = x.reshape(x.shape[0], -1)
    return torch.linalg.vecdot(flat, flat).to(_F64)


def _laplacian_variance(x: torch.Tensor) -> torch.Tensor:
    lap = x[:, :-2, 1:-1] + x[:, 2:, 1:-1]
    lap += x[:, 1:-1, :-2]
    lap += x[:, 1:-1, 2:]
    lap.sub_(x[:, 1:-1, 1:-1], alpha=4.0)
    return torch.var(lap, dim=(-2, -1), correction=0).to(_F64)


def _spectral(x: torch.Tensor) -> torch.Tensor:
    height, width = x.shape[-2:]
    spectrum = torch.fft.rfft2(x)
    power = torch.view_as_real(spectrum).square().sum(-1).flatten(1)  # |F|², no square root
    weight, radius = _spectral_weights(height, width, x.dtype)
    total = (power @ weight).to(_F64)
    detail = (power @ (weight * radius)).to(_F64)
    return torch.where(total > 0, detail / total.clamp_min(1e-300), torch.zeros_like(total))


def _spectral_weights(height: int, width: int, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Each rfft2 coefficient's weight (the mean left out; the columns rfft2 drops are the
    conjugates of those it keeps, so they count twice) and spatial frequency, flattened."""
    fy = torch.fft.fftfreq(height, dtype=dtype)[:, None]
    fx = torch.fft.rfftfreq(width, dtype=dtype)[None, :]
    weight = torch.full((height, fx.shape[1]), 2.0, dtype=dtype)
    weight[:, 0] = 1.0
    if width % 2 == 0:
        weight[:, -1] = 1.0
    weight[0, 0] = 0.0  # the mean (DC) is no detail
    radius = torch.sqrt(fy * fy + fx * fx)
    return weight.flatten(), radius.flatten()


_MEASURE = {
    "brenner": _brenner,
    "normalised_variance": _normalised_variance,
    "tenengrad": _tenengrad,
    "laplacian_variance": _laplacian_variance,
    "spectral": _spectral,
}


def _as_tensor(chunk, float64: bool) -> torch.Tensor:
    """A chunk (numpy, torch or dask) as a contiguous float tensor on the CPU."""
    dtype = _F64 if float64 else torch.float32
    if isinstance(chunk, torch.Tensor):
        return chunk.detach().to("cpu", dtype).contiguous()
    array = np.asarray(chunk)
    try:
        tensor = torch.from_numpy(array)
    except TypeError:  # a dtype torch does not hold (big unsigned, float16 on old torch)
        tensor = torch.from_numpy(array.astype(np.float64 if float64 else np.float32))
    return tensor.to(dtype).contiguous()


def _moved(stack, axis: int):
    """The stack with the slice axis first (a view or lazy, never a copy)."""
    if axis == 0:
        return stack
    if isinstance(stack, torch.Tensor):
        return torch.movedim(stack, axis, 0)
    if type(stack).__module__.startswith("dask"):
        import dask.array as da

        return da.moveaxis(stack, axis, 0)
    return np.moveaxis(np.asarray(stack), axis, 0)


def iter_focus_measures(
    stack,
    measures: str | Sequence[str] = FOCUS_MEASURES,
    *,
    axis: int = 0,
    noise: float = 0.0,
    seed: int = 0,
) -> Generator[int, None, dict[str, np.ndarray]]:
    """Measure a stack a chunk of slices at a time: yields slices done, returns the values.

    The generator behind :func:`napari_nuclei_edges.focus.focus_measures`, for
    a caller that shows progress (the dock's worker). Checks come first, before
    anything is read; NaN or infinite pixels are counted over the whole stack
    and reported by a ValueError at the end. ``noise`` > 0 adds Gaussian noise of
    that σ (grey levels, drawn from ``seed``) to every slice before measuring:
    the test of which measures stay unimodal as noise grows.

    Examples
    --------
    >>> steps = iter_focus_measures(np.ones((3, 8, 8)), "brenner")
    >>> next(steps)
    3
    """
    chosen = check_measures(measures)
    axis = check_stack(stack, axis)
    noise = check_noise(noise)
    generator = torch.Generator().manual_seed(int(seed))
    if not hasattr(stack, "shape"):
        stack = np.asarray(stack)
    dtype = stack_dtype(stack)
    moved = _moved(stack, axis)
    total, height, width = (int(n) for n in moved.shape)
    step = max(1, CHUNK_PIXELS // (height * width))
    values = {name: np.zeros(total) for name in chosen}
    bad_pixels = bad_slices = 0
    for start in range(0, total, step):
        x = _as_tensor(moved[start : start + step], float64=dtype == np.float64)
        if dtype.kind == "f":
            bad = (~torch.isfinite(x)).sum((-2, -1))
            bad_pixels += int(bad.sum())
            bad_slices += int((bad > 0).sum())
        if noise and not bad_pixels:  # the same noise whatever the chunks: drawn in order
            x = x + noise * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        if not bad_pixels:  # once a NaN is found, the rest is only counted
            low, high = torch.aminmax(x.flatten(1), dim=1)
            flat = (low == high).numpy()  # constant slices: every measure is 0
            for name in chosen:
                measured = _MEASURE[name](x).numpy()
                values[name][start : start + step] = np.where(flat, 0.0, measured)
        yield min(start + step, total)
    if bad_pixels:
        raise ValueError(nan_sentence(bad_pixels, bad_slices, total))
    return values
