"""The optimisation loop behind :func:`napari_nuclei_edges.training.fit_kernel`.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from napari_nuclei_edges._moments import Moments, moments
from napari_nuclei_edges._training_types import (
    BUILTIN_TARGET_NAMES,
    DIVERGENCE_FACTOR,
    TrainingDiverged,
    TrainingOptions,
    TrainingStep,
    kernel_error,
)
from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, sobel

BUILTIN_TARGETS = dict(
    zip(BUILTIN_TARGET_NAMES, [(SOBEL_X,), (SOBEL_Y,), (SOBEL_X, SOBEL_Y)], strict=True)
)


@dataclass
class _Data:
    x: torch.Tensor  # (N, C_in, H, W) float64, normalised
    y: torch.Tensor  # (N, C_out, H, W) float64, normalised
    shift: float  # x_normalised = (x - shift) / scale, y_normalised = y / scale
    scale: float
    train: torch.Tensor  # image indices
    val: torch.Tensor
    moments: Moments | None
    reference: np.ndarray | None  # the true kernel, for built-in targets


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


def run(inputs, targets, opts: TrainingOptions) -> Iterator[TrainingStep]:
    """Prepare the data (normalised, split, moments) and run the optimisation."""
    start = time.perf_counter()
    data = prepare(inputs, targets, opts)
    yield from _Run(data, opts, start)


def prepare(inputs, targets, opts: TrainingOptions) -> _Data:
    x = _as_images(inputs, "inputs")
    n, c_in, h, w = x.shape
    k = opts.kernel_size
    if h < k or w < k:
        raise ValueError(f"images of {h} × {w} are smaller than the {k} × {k} kernel.")
    if not np.isfinite(x).all():
        raise ValueError("the inputs contain NaN or inf: a kernel cannot learn from them.")
    reference = None
    if isinstance(targets, str):
        if targets not in BUILTIN_TARGETS:
            raise ValueError(f"targets must be one of {tuple(BUILTIN_TARGETS)} or images.")
        if c_in != 1:
            raise ValueError("Sobel targets need single-channel inputs (N, H, W).")
        g = sobel(x[:, 0])
        y = np.stack([g.gx if kern is SOBEL_X else g.gy for kern in BUILTIN_TARGETS[targets]], 1)
        reference = torch.stack(BUILTIN_TARGETS[targets])[:, None].numpy()
        if k != 3:
            pad = (k - 3) // 2
            reference = np.pad(reference, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    else:
        y = _as_images(targets, "targets")
        if y.shape[0] != n or y.shape[2:] != (h, w):
            raise ValueError(
                f"targets of shape {y.shape} do not pair with inputs of shape {x.shape}: "
                "one target image of the same size per input image."
            )
        if not np.isfinite(y).all():
            raise ValueError("the targets contain NaN or inf: a kernel cannot learn them.")
    shift, scale = _normalisation(x, opts)
    xt = (torch.from_numpy(x).to(torch.float64) - shift) / scale
    yt = torch.from_numpy(np.asarray(y)).to(torch.float64) / scale
    train, val = (
        torch.from_numpy(i) for i in split_images(n, opts.validation_fraction, opts.seed)
    )
    engine = _engine(opts)
    stats = moments(xt, yt, k, opts.bias) if engine == "moments" else None
    return _Data(xt, yt, shift, scale, train, val, stats, reference)


def split_images(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and the held-out validation images (sorted, disjoint)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    n_val = min(n - 1, round(fraction * n)) if n > 1 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


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


def _engine(opts: TrainingOptions) -> str:
    if opts.engine == "auto":
        return "moments" if opts.kernel_size <= 7 else "conv"
    return opts.engine


def solve(total: Moments, data: _Data, opts: TrainingOptions):
    """Closed-form weight and bias (original units) from summed moments."""
    g = total.gram[0].numpy()
    b = total.cross[0].numpy()
    solution = np.linalg.lstsq(g, b, rcond=None)[0]  # (p, C_out)
    return _to_original(torch.from_numpy(solution), data, opts)


def _to_original(matrix: torch.Tensor, data: _Data, opts: TrainingOptions):
    """``(p, C_out)`` normalised parameters → weight ``(C_out, C_in, k, k)`` and bias."""
    c_in, k = data.x.shape[1], opts.kernel_size
    m = matrix.detach().to(torch.float64)
    weight = m[: c_in * k * k].T.reshape(-1, c_in, k, k).numpy().copy()
    if not opts.bias:
        return weight, None
    bias = m[-1].numpy() * data.scale - data.shift * weight.sum(axis=(1, 2, 3))
    return weight, bias


class _Run:
    """The optimisation loop behind :func:`fit_kernel`, as an iterator of steps."""

    def __init__(self, data: _Data, opts: TrainingOptions, start: float) -> None:
        self.data, self.opts, self.start = data, opts, start
        c_in, c_out = data.x.shape[1], data.y.shape[1]
        k = opts.kernel_size
        generator = torch.Generator().manual_seed(opts.seed)
        self.model = torch.nn.Conv2d(c_in, c_out, k, bias=opts.bias, dtype=torch.float64)
        bound = 1 / math.sqrt(c_in * k * k)  # Conv2d's own default range
        with torch.no_grad():
            self.model.weight.uniform_(-bound, bound, generator=generator)
            if opts.bias:
                self.model.bias.uniform_(-bound, bound, generator=generator)
        self.generator = generator
        self.engine = _engine(opts)
        self.device = torch.device(opts.device or "cpu") if self.engine == "conv" else None
        if self.device is not None:
            self.model.to(self.device)
        self.optimiser = _optimiser(self.model.parameters(), opts)
        self.train_total = data.moments.total(data.train) if data.moments else None
        self.val_total = (
            data.moments.total(data.val) if data.moments is not None and len(data.val) else None
        )
        self.optimum_loss, self.reference = None, data.reference
        if self.train_total is not None:
            optimum = np.linalg.lstsq(
                self.train_total.gram[0].numpy(), self.train_total.cross[0].numpy(), rcond=None
            )[0]
            self.optimum_loss = max(0.0, float(self.train_total.loss(torch.from_numpy(optimum))))
            if self.reference is None:
                self.reference = _to_original(torch.from_numpy(optimum), data, opts)[0]
        self.batches = self._batches()

    # -- parameters as the (p, C_out) matrix of the quadratic form
    def _matrix(self) -> torch.Tensor:
        w = self.model.weight.reshape(self.model.weight.shape[0], -1).T
        if self.opts.bias:
            w = torch.cat([w, self.model.bias[None]], 0)
        return w

    def _batches(self) -> Iterator[torch.Tensor | None]:
        size = self.opts.batch_size
        if size is None or size >= len(self.data.train):
            while True:
                yield None
        while True:
            order = self.data.train[torch.randperm(len(self.data.train), generator=self.generator)]
            for begin in range(0, len(order) - size + 1, size):
                yield order[begin : begin + size]

    def _loss(self, batch: torch.Tensor | None) -> torch.Tensor:
        if self.engine == "moments":
            total = self.train_total if batch is None else self.data.moments.total(batch)
            return total.loss(self._matrix())
        index = self.data.train if batch is None else batch
        return self._conv_loss(index)

    def _conv_loss(self, index: torch.Tensor) -> torch.Tensor:
        r, (h, w) = self.opts.kernel_size // 2, self.data.x.shape[2:]
        x = self.data.x[index].to(self.device)
        y = self.data.y[index, :, r : h - r, r : w - r].to(self.device)
        return F.mse_loss(self.model(x), y)

    @torch.no_grad()
    def _evaluate(self, which: str) -> float | None:
        if which == "val" and not len(self.data.val):
            return None
        if self.engine == "moments":
            total = self.train_total if which == "train" else self.val_total
            return max(0.0, float(total.loss(self._matrix())))
        index = self.data.train if which == "train" else self.data.val
        return float(self._conv_loss(index))

    def _report(self, step: int, loss: float, trace: list, status: str) -> TrainingStep:
        weight, bias = _to_original(self._matrix(), self.data, self.opts)
        return TrainingStep(
            step=step,
            loss=loss,
            val_loss=self._evaluate("val"),
            weight=weight,
            bias=bias,
            elapsed=time.perf_counter() - self.start,
            trace_steps=tuple(s for s, _ in trace),
            trace_losses=tuple(v for _, v in trace),
            optimum_loss=self.optimum_loss,
            reference=self.reference,
            error=kernel_error(weight, self.reference) if self.reference is not None else None,
            status=status,
            learning_rate=self.opts.rate,
        )

    def __iter__(self) -> Iterator[TrainingStep]:
        opts = self.opts
        first = self._evaluate("train")
        trace = [(0, first)]
        last_report = time.perf_counter()
        previous = self._report(0, first, trace, "running")
        yield previous
        trace = []
        loss = first
        for step in range(1, opts.steps + 1):
            loss = self._step(next(self.batches))
            if self.engine == "moments":
                # cheap here: report the loss at the new weights, on all training images
                loss = self._evaluate("train")
            trace.append((step, loss))
            if not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * max(first, 1e-300):
                raise TrainingDiverged(self._divergence_message(step, first, loss), previous)
            converged = self._converged(first, loss)
            now = time.perf_counter()
            if converged or step == opts.steps or now - last_report >= opts.report_interval:
                status = (
                    "converged" if converged else "finished" if step == opts.steps else "running"
                )
                previous = self._report(step, loss, trace, status)
                yield previous
                trace, last_report = [], now
                if converged:
                    return

    def _step(self, batch: torch.Tensor | None) -> float:
        def closure():
            self.optimiser.zero_grad()
            value = self._loss(batch)
            value.backward()
            return value

        value = self.optimiser.step(closure)
        return float(value.detach())

    def _converged(self, first: float, loss: float) -> bool:
        if self.optimum_loss is None or not self.opts.tolerance:
            return False
        return loss - self.optimum_loss <= self.opts.tolerance * (first - self.optimum_loss)

    def _divergence_message(self, step: int, first: float, loss: float) -> str:
        opts = self.opts
        what = (
            "became NaN/inf" if not math.isfinite(loss) else f"grew from {first:.3g} to {loss:.3g}"
        )
        message = (
            f"Training diverged at step {step}: the loss {what}. The learning rate "
            f"{opts.rate:g} is too large for {opts.optimiser} on these inputs"
        )
        if self.train_total is not None and opts.optimiser in ("sgd", "momentum"):
            # plain gradient descent on a quadratic is stable below 2 / (largest curvature)
            curvature = torch.linalg.eigvalsh(self.train_total.gram[0]).max().item()
            stable = self.train_total.count * self.data.y.shape[1] / curvature
            message += f" (the largest stable rate here is about {stable:.2g})"
        hint = (
            " Raw pixel values make the loss surface steep: choose 'standardise' or 'scale'"
            if opts.normalisation == "none"
            else " Lower the learning rate"
        )
        return f"{message}.{hint}, or use Adam or LBFGS, which adapt their steps."


def _optimiser(parameters, opts: TrainingOptions) -> torch.optim.Optimizer:
    rate = opts.rate
    if opts.optimiser == "sgd":
        return torch.optim.SGD(parameters, lr=rate)
    if opts.optimiser == "momentum":
        return torch.optim.SGD(parameters, lr=rate, momentum=0.9)
    if opts.optimiser == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=rate)
    if opts.optimiser == "lbfgs":
        # one LBFGS iteration per step, so each step is reported like the others; its line
        # search needs its own evaluations (max_eval defaults to 1.25 × max_iter = 1, which
        # silently freezes the weights), and tolerances far below torch's, whose 1e-7 on the
        # gradient stops short of the optimum on ill-conditioned images
        return torch.optim.LBFGS(
            parameters,
            lr=rate,
            max_iter=1,
            max_eval=25,
            tolerance_grad=1e-12,
            tolerance_change=1e-16,
            history_size=20,
            line_search_fn="strong_wolfe",
        )
    return torch.optim.Adam(parameters, lr=rate)
