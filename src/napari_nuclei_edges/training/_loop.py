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

from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, sobel
from napari_nuclei_edges.training._models import (
    POLAR_TARGETS,
    Patches,
    build,
    first_conv,
    output_channels,
    pair_alignment,
    polar_loss,
    polar_target,
)
from napari_nuclei_edges.training._moments import Moments, moments
from napari_nuclei_edges.training.options import (
    BUILTIN_TARGET_NAMES,
    DIVERGENCE_FACTOR,
    TrainingDiverged,
    TrainingOptions,
    TrainingStep,
    kernel_error,
)

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
    kind: str | None = None  # the built-in target's name
    test_x: torch.Tensor | None = None  # held-out images (e.g. the other classes)
    test_y: torch.Tensor | None = None
    test_moments: Moments | None = None


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


def run(inputs, targets, opts: TrainingOptions, held_out=None) -> Iterator[TrainingStep]:
    """Prepare the data (normalised, split, moments) and run the optimisation."""
    start = time.perf_counter()
    data = prepare(inputs, targets, opts, held_out)
    yield from _Run(data, opts, start)


def prepare(inputs, targets, opts: TrainingOptions, held_out=None) -> _Data:
    x, y, reference, kind = _pairs(inputs, targets, opts, "inputs")
    n = x.shape[0]
    shift, scale = _normalisation(x, opts)
    xt, yt = _normalised(x, y, kind, shift, scale)
    train, val = (
        torch.from_numpy(i) for i in split_images(n, opts.validation_fraction, opts.seed)
    )
    engine = _engine(opts)
    stats = moments(xt, yt, opts.kernel_size, opts.bias) if engine == "moments" else None
    data = _Data(xt, yt, shift, scale, train, val, stats, reference, kind)
    if held_out is not None:
        if isinstance(targets, str):
            test_inputs, test_targets = held_out, targets
        elif isinstance(held_out, tuple) and len(held_out) == 2:
            test_inputs, test_targets = held_out
        else:
            raise ValueError("held_out needs (images, targets) when the targets are images.")
        tx, ty, _, _ = _pairs(test_inputs, test_targets, opts, "held-out images")
        if tx.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"held-out images {tx.shape[1:]} differ from the inputs {x.shape[1:]} in size."
            )
        data.test_x, data.test_y = _normalised(tx, ty, kind, shift, scale)
        if stats is not None:
            data.test_moments = moments(data.test_x, data.test_y, opts.kernel_size, opts.bias)
    return data


def _normalised(x, y, kind, shift: float, scale: float):
    xt = (torch.from_numpy(x).to(torch.float64) - shift) / scale
    yt = torch.from_numpy(np.asarray(y)).to(torch.float64)
    if kind in POLAR_TARGETS and yt.shape[1] == 3:
        yt[:, 0] /= scale  # the magnitude scales with the inputs; cos and sin do not
    else:
        yt = yt / scale
    return xt, yt


def _pairs(inputs, targets, opts: TrainingOptions, what: str):
    """Checked ``(x, y, reference kernel, target kind)`` as numpy, before normalisation."""
    x = _as_images(inputs, what)
    n, c_in, h, w = x.shape
    k = opts.kernel_size
    radius = (k // 2) * (opts.layers if opts.model == "cnn" else 1)
    if h < 2 * radius + 1 or w < 2 * radius + 1:
        raise ValueError(f"images of {h} × {w} are smaller than the {k} × {k} kernel.")
    if not np.isfinite(x).all():
        raise ValueError(f"the {what} contain NaN or inf: a kernel cannot learn from them.")
    reference, kind = None, None
    if isinstance(targets, str):
        if targets not in BUILTIN_TARGETS and targets not in POLAR_TARGETS:
            names = (*BUILTIN_TARGETS, *POLAR_TARGETS)
            raise ValueError(f"targets must be one of {names} or images.")
        if c_in != 1:
            raise ValueError("Sobel targets need single-channel inputs (N, H, W).")
        kind = targets
        g = sobel(x[:, 0])
        if targets in BUILTIN_TARGETS:
            pick = BUILTIN_TARGETS[targets]
            y = np.stack([g.gx if kern is SOBEL_X else g.gy for kern in pick], 1)
            reference = torch.stack(pick)[:, None].numpy()
        elif opts.model == "linear":
            if targets != "magnitude":
                raise ValueError(
                    "a linear kernel cannot output a direction: choose the gradient pair "
                    "or the cnn model for direction targets."
                )
            y = g.magnitude[:, None]
        else:
            y = polar_target(g.gx, g.gy)
            if opts.model == "gradient_pair":
                reference = torch.stack([SOBEL_X, SOBEL_Y])[:, None].numpy()
        if reference is not None and k != 3:
            pad = (k - 3) // 2
            if pad < 0:
                raise ValueError(f"a {k} × {k} kernel cannot hold the 3 × 3 Sobel kernel.")
            reference = np.pad(reference, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        if opts.model == "gradient_pair" and targets in BUILTIN_TARGETS:
            raise ValueError(
                "the gradient pair model learns the magnitude and direction: choose the "
                "targets 'magnitude', 'direction' or 'polar'."
            )
    else:
        if opts.model == "gradient_pair":
            raise ValueError(
                "the gradient pair model learns Sobel's magnitude and direction, not "
                "arbitrary target images."
            )
        y = _as_images(targets, "targets")
        if y.shape[0] != n or y.shape[2:] != (h, w):
            raise ValueError(
                f"targets of shape {y.shape} do not pair with inputs of shape {x.shape}: "
                "one target image of the same size per input image."
            )
        if not np.isfinite(y).all():
            raise ValueError("the targets contain NaN or inf: a kernel cannot learn them.")
    return x, y, reference, kind


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
    if opts.model != "linear":
        return "conv"
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
        self.generator = generator
        self.engine = _engine(opts)
        self.linear = opts.model == "linear"
        # float64 where a single layer makes it cheap; conv2d has no fast float64 CPU path
        dtype = torch.float32 if opts.model == "cnn" else torch.float64
        width = output_channels(opts.model, data.kind or "", c_out)
        self.model = build(opts.model, c_in, width, k, opts.bias, opts.layers, opts.channels,
                           generator, dtype)  # fmt: skip
        self.radius = (k // 2) * (opts.layers if opts.model == "cnn" else 1)
        self.device = torch.device(opts.device or "cpu") if self.engine == "conv" else None
        self.sources = {"train": (data.x, data.y), "val": (data.x, data.y)}
        if data.test_x is not None:
            self.sources["test"] = (data.test_x, data.test_y)
        if self.device is not None:
            self.model.to(self.device)
            self.sources = {
                name: (x.to(self.device, dtype), y.to(self.device, dtype))
                for name, (x, y) in self.sources.items()
            }
        self.patches = {}
        if opts.model == "gradient_pair" and Patches.affordable(data.x, k):
            x = self.sources["train"][0]
            self.patches = {"train": Patches(x, k, data.train), "val": Patches(x, k, data.val)}
            if data.test_x is not None and Patches.affordable(data.test_x, k):
                self.patches["test"] = Patches(self.sources["test"][0], k)
        self.optimiser = _optimiser(self.model.parameters(), opts)
        self.train_total = data.moments.total(data.train) if data.moments else None
        self.val_total = (
            data.moments.total(data.val) if data.moments is not None and len(data.val) else None
        )
        self.test_total = data.test_moments.total() if data.test_moments is not None else None
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
        return self._torch_loss("train", batch)

    def _indices(self, which: str) -> torch.Tensor:
        if which == "test":
            return torch.arange(len(self.data.test_x))
        return self.data.train if which == "train" else self.data.val

    def _output(self, which: str, index: torch.Tensor, whole: bool) -> torch.Tensor:
        patches = self.patches.get(which)
        if patches is not None:
            return patches.forward(self.model, None if whole else index)
        return self.model(self.sources[which][0][index])

    def _torch_loss(self, which: str, index: torch.Tensor | None = None) -> torch.Tensor:
        whole = index is None
        index = self._indices(which) if whole else index
        r = self.radius
        y = self.sources[which][1][index]
        y = y[..., r : y.shape[-2] - r, r : y.shape[-1] - r]
        out = self._output(which, index, whole)
        if not self.linear and self.data.kind in POLAR_TARGETS:
            return polar_loss(self.opts.model, self.data.kind, out, y)
        return F.mse_loss(out, y)

    @torch.no_grad()
    def _evaluate(self, which: str) -> float | None:
        if which == "val" and not len(self.data.val):
            return None
        if which == "test" and self.data.test_x is None:
            return None
        if self.engine == "moments":
            total = {"train": self.train_total, "val": self.val_total, "test": self.test_total}
            return max(0.0, float(total[which].loss(self._matrix())))
        return float(self._torch_loss(which))

    @torch.no_grad()
    def _magnitude_error(self) -> float | None:
        """Relative RMS error of the predicted magnitude on held-out (else validation) images."""
        if self.data.kind not in ("magnitude", "polar"):
            return None
        which = "test" if self.data.test_x is not None else "val"
        if which == "val" and not len(self.data.val):
            which = "train"
        index, r = self._indices(which), self.radius
        y = self.sources[which][1][index]
        truth = y[:, 0, r : y.shape[-2] - r, r : y.shape[-1] - r].double()
        if self.engine == "moments":
            x = self.sources[which][0][index]
            out = F.conv2d(x, self.model.weight, self.model.bias)[:, 0]
        else:
            out = self._output(which, index, whole=True)
            if self.opts.model == "gradient_pair":
                out = torch.sqrt(out[:, 0] ** 2 + out[:, 1] ** 2)
            else:
                out = out[:, 0]
        norm = torch.sqrt(torch.mean(truth**2))
        return float(torch.sqrt(torch.mean((out.double() - truth) ** 2)) / norm)

    def _report(self, step: int, loss: float, trace: list, status: str) -> TrainingStep:
        alignment = None
        if self.linear:
            weight, bias = _to_original(self._matrix(), self.data, self.opts)
        else:
            conv = first_conv(self.model)
            weight = conv.weight.detach().cpu().to(torch.float64).numpy().copy()
            bias = None if conv.bias is None else conv.bias.detach().cpu().double().numpy()
        compared = weight
        if self.opts.model == "gradient_pair" and self.reference is not None:
            alignment = pair_alignment(weight, self.reference)
            compared = alignment["aligned"]
        reference = self.reference if self.opts.model != "cnn" else None
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
            reference=reference,
            error=kernel_error(compared, reference) if reference is not None else None,
            status=status,
            learning_rate=self.opts.rate,
            test_loss=self._evaluate("test"),
            magnitude_error=self._magnitude_error(),
            alignment=alignment,
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
