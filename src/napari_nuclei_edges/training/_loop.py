"""The optimisation loop behind :func:`napari_nuclei_edges.training.fit_kernel`.

:func:`run` prepares the data (see :mod:`._data`) and iterates :class:`_Run`,
which yields a :class:`TrainingStep` per report.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from napari_nuclei_edges.training._data import (
    Data,
    engine,
    optimum,
    prepare,
    to_original,
)
from napari_nuclei_edges.training._models import (
    POLAR_TARGETS,
    Patches,
    build,
    first_conv,
    output_channels,
    pair_alignment,
    polar_loss,
)
from napari_nuclei_edges.training.options import (
    DIVERGENCE_FACTOR,
    TrainingDiverged,
    TrainingOptions,
    TrainingStep,
    kernel_error,
)
from napari_nuclei_edges.training.verdict import rate_too_high

#: The held-out images are evaluated at a report only while their evaluations have
#: cost at most this share of the time spent on steps (and always at the first and last).
HELD_OUT_BUDGET = 0.2
#: A validation loss counts as better than the best so far when lower by this fraction.
PLATEAU_MIN_IMPROVEMENT = 1e-6


def run(inputs, targets, opts: TrainingOptions, held_out=None) -> Iterator[TrainingStep]:
    """Prepare the data (normalised, split, moments) and run the optimisation."""
    start = time.perf_counter()
    data = prepare(inputs, targets, opts, held_out)
    yield from _Run(data, opts, start)


class _Run:
    """The optimisation loop behind :func:`fit_kernel`, as an iterator of steps."""

    def __init__(self, data: Data, opts: TrainingOptions, start: float) -> None:
        self.data, self.opts, self.start = data, opts, start
        k = opts.kernel_size
        self.generator = torch.Generator().manual_seed(opts.seed)
        self.engine = engine(opts)
        self.linear = opts.model == "linear"
        # float64 where a single layer makes it cheap; conv2d has no fast float64 CPU path
        dtype = torch.float32 if opts.model == "cnn" else torch.float64
        width = output_channels(opts.model, data.kind or "", data.y.shape[1])
        self.model = build(opts.model, data.x.shape[1], width, k, opts.bias, opts.layers,
                           opts.channels, self.generator, dtype)  # fmt: skip
        self.radius = (k // 2) * (opts.layers if opts.model == "cnn" else 1)
        self.device = torch.device(opts.device or "cpu") if self.engine == "conv" else None
        self.sources = self._sources(dtype)
        self.patches = self._patches()
        self.optimiser = _optimiser(self.model.parameters(), opts)
        self.train_total = data.moments.total(data.train) if data.moments else None
        self.val_total = (
            data.moments.total(data.val) if data.moments is not None and len(data.val) else None
        )
        self.test_total = data.test_moments.total() if data.test_moments is not None else None
        self.optimum_loss, self.reference = None, data.reference
        self.reference_kind = "true" if data.reference is not None else None
        if self.train_total is not None:
            best = torch.from_numpy(optimum(self.train_total))
            self.optimum_loss = max(0.0, float(self.train_total.loss(best)))
            if self.reference is None:
                self.reference = to_original(best, data, opts)[0]
                self.reference_kind = "least squares"
        elif opts.model == "gradient_pair" and self.reference is not None:
            self.optimum_loss = 0.0  # the Sobel pair gives its targets exactly
        self.stable_rate = self._stable_rate()
        self.batches = self._batches()
        # seconds spent on steps and on the held-out images: the evaluation's budget
        self.step_seconds = self.test_seconds = 0.0
        self.first = math.nan
        self.best_step: int | None = None
        self._due = -math.inf  # when the next step of a paced run is due

    def _stable_rate(self) -> float | None:
        """Plain gradient descent on a quadratic is stable below 2 / (largest curvature)."""
        if self.train_total is None or self.opts.optimiser not in ("sgd", "momentum"):
            return None
        curvature = torch.linalg.eigvalsh(self.train_total.gram[0]).max().item()
        if not curvature > 0:
            return None
        boost = 1.9 if self.opts.optimiser == "momentum" else 1.0  # heavy ball: 2(1 + β)/λ
        return boost * self.train_total.count * self.data.y.shape[1] / curvature

    def _sources(self, dtype) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Images and targets by set ("train", "val", "test"), on the device of the run."""
        data = self.data
        sources = {"train": (data.x, data.y), "val": (data.x, data.y)}
        if data.test_x is not None:
            sources["test"] = (data.test_x, data.test_y)
        if self.device is None:
            return sources
        self.model.to(self.device)
        return {
            name: (x.to(self.device, dtype), y.to(self.device, dtype))
            for name, (x, y) in sources.items()
        }

    def _patches(self) -> dict[str, Patches]:
        """The gradient pair's unfolded patches by set, where they fit in memory."""
        data, k = self.data, self.opts.kernel_size
        if self.opts.model != "gradient_pair" or not Patches.affordable(data.x, k):
            return {}
        x = self.sources["train"][0]
        patches = {"train": Patches(x, k, data.train), "val": Patches(x, k, data.val)}
        if data.test_x is not None and Patches.affordable(data.test_x, k):
            patches["test"] = Patches(self.sources["test"][0], k)
        return patches

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
    def _evaluate(self, which: str, magnitude: bool = True) -> tuple[float | None, float | None]:
        """``(loss, magnitude error)`` on a set of images, from one forward pass."""
        if which == "val" and not len(self.data.val):
            return None, None
        if which == "test" and self.data.test_x is None:
            return None, None
        wants_magnitude = magnitude and self.data.kind in ("magnitude", "polar")
        if self.engine == "moments":
            total = {"train": self.train_total, "val": self.val_total, "test": self.test_total}
            loss = max(0.0, float(total[which].loss(self._matrix())))
            return loss, self._magnitude_error(which, None) if wants_magnitude else None
        index, r = self._indices(which), self.radius
        y = self.sources[which][1][index]
        y = y[..., r : y.shape[-2] - r, r : y.shape[-1] - r]
        out = self._output(which, index, whole=True)
        if not self.linear and self.data.kind in POLAR_TARGETS:
            loss = float(polar_loss(self.opts.model, self.data.kind, out, y))
        else:
            loss = float(F.mse_loss(out, y))
        return loss, self._magnitude_error(which, out) if wants_magnitude else None

    def _magnitude_error(self, which: str, out: torch.Tensor | None) -> float:
        """Relative RMS error of the predicted magnitude on one set of images."""
        index, r = self._indices(which), self.radius
        y = self.sources[which][1][index]
        truth = y[:, 0, r : y.shape[-2] - r, r : y.shape[-1] - r].double()
        if out is None:  # the moments engine keeps no output: convolve once
            x = self.sources[which][0][index]
            predicted = F.conv2d(x, self.model.weight, self.model.bias)[:, 0]
        elif self.opts.model == "gradient_pair":
            predicted = torch.sqrt(out[:, 0] ** 2 + out[:, 1] ** 2)
        else:
            predicted = out[:, 0]
        norm = torch.sqrt(torch.mean(truth**2))
        return float(torch.sqrt(torch.mean((predicted.double() - truth) ** 2)) / norm)

    def _weights(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The kernel (and bias) to report, in original units."""
        if self.linear:
            return to_original(self._matrix(), self.data, self.opts)
        conv = first_conv(self.model)
        weight = conv.weight.detach().cpu().to(torch.float64).numpy().copy()
        bias = None if conv.bias is None else conv.bias.detach().cpu().double().numpy()
        return weight, bias

    def _report(self, step: int, loss: float, trace: list, status: str, *,
                val=(None, None), test=None, message=None) -> TrainingStep:  # fmt: skip
        weight, bias = self._weights()
        alignment = None
        compared = weight
        if self.opts.model == "gradient_pair" and self.reference is not None:
            alignment = pair_alignment(weight, self.reference)
            compared = alignment["aligned"]
        reference = self.reference if self.opts.model != "cnn" else None
        test_loss, test_magnitude = (None, None) if test is None else test
        magnitude = test_magnitude if self.data.test_x is not None else val[1]
        if magnitude is None and self.data.test_x is None and not len(self.data.val):
            magnitude = self._evaluate("train")[1]
        return TrainingStep(
            step=step,
            loss=loss,
            val_loss=val[0],
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
            test_loss=test_loss,
            magnitude_error=magnitude,
            alignment=alignment,
            first_loss=self.first,
            stable_rate=self.stable_rate,
            targets=self.data.targets,
            message=message,
            best_step=self.best_step,
            reference_kind=self.reference_kind if reference is not None else None,
        )

    def _held_out(self, final: bool) -> tuple[float | None, float | None] | None:
        """The held-out loss and magnitude error, when the budget allows (None: not measured)."""
        if self.data.test_x is None:
            return None
        if not final and self.test_seconds > HELD_OUT_BUDGET * self.step_seconds:
            return None
        began = time.perf_counter()
        result = self._evaluate("test")
        self.test_seconds += time.perf_counter() - began
        return result

    def __iter__(self) -> Iterator[TrainingStep]:
        opts = self.opts
        first = self._evaluate("train", magnitude=False)[0]
        if not math.isfinite(first):
            precision = "float32 (the cnn's precision)" if opts.model == "cnn" else "float64"
            raise ValueError(
                f"the loss of the random start is already NaN/inf: the images' values "
                f"overflow {precision}; choose normalisation 'standardise' or scale the "
                "images down."
            )
        self.first = first
        trace = [(0, first)]
        last_report = time.perf_counter()
        val = self._evaluate("val")
        best_val, best_step = (val[0] if val[0] is not None else first), 0
        self.best_step = best_step
        previous = self._report(0, first, trace, "running", val=val, test=self._held_out(True))
        yield previous
        trace = []
        for step in range(1, opts.steps + 1):
            kept = [p.detach().clone() for p in self.model.parameters()]  # should it diverge
            began = time.perf_counter()
            loss = self._step(next(self.batches))
            if self.engine == "moments":
                # cheap here: report the loss at the new weights, on all training images
                loss = self._evaluate("train", magnitude=False)[0]
            self.step_seconds += time.perf_counter() - began
            if opts.pace:
                self._keep_pace()
            trace.append((step, loss))
            problem = self._divergence(first, loss)
            if problem is not None:
                message = self._divergence_message(step, problem)
                with torch.no_grad():  # back to the last finite weights: the kernel kept
                    for parameter, before in zip(self.model.parameters(), kept, strict=True):
                        parameter.copy_(before)
                final = self._report(step, loss, trace, "diverged", message=message)
                yield final
                raise TrainingDiverged(message, final)
            converged = self._converged(first, loss)
            now = time.perf_counter()
            last = converged or step == opts.steps
            if not last and now - last_report < opts.report_interval:
                continue
            val = self._evaluate("val")
            watched = val[0] if val[0] is not None else loss
            if watched < best_val * (1 - PLATEAU_MIN_IMPROVEMENT):
                best_val, best_step = watched, step
                self.best_step = best_step
            plateau = not last and opts.patience and step - best_step >= opts.patience
            status = ("converged" if converged else "plateau" if plateau
                      else "finished" if step == opts.steps else "running")  # fmt: skip
            message = None
            if plateau:
                which = "validation" if val[0] is not None else "training"
                message = (
                    f"Stopped at step {step}: the {which} loss has not improved for "
                    f"{step - best_step} steps (best {best_val:.3g} at step {best_step})."
                )
            previous = self._report(step, loss, trace, status, val=val,
                                    test=self._held_out(status != "running"),
                                    message=message)  # fmt: skip
            yield previous
            trace, last_report = [], time.perf_counter()
            if status != "running":
                return

    def _keep_pace(self) -> None:
        """Sleep so that steps come ``pace`` seconds apart, the step's own time included.

        Behind (after a pause of the worker, or a slow step), the next step is due a
        pace from now: a paused run does not race to catch up when it resumes.
        """
        now = time.perf_counter()
        due = self._due + self.opts.pace
        if due > now:
            time.sleep(due - now)  # the GIL is free meanwhile: the dock stays live
        self._due = max(due, now)

    def _step(self, batch: torch.Tensor | None) -> float:
        def closure():
            self.optimiser.zero_grad()
            value = self._loss(batch)
            value.backward()
            return value

        value = self.optimiser.step(closure)
        return float(value.detach())

    def _divergence(self, first: float, loss: float) -> str | None:
        """Why the run cannot go on (None: it can)."""
        if not math.isfinite(loss):
            return "became NaN/inf"
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            return "stayed finite but the weights became NaN/inf"
        if loss > DIVERGENCE_FACTOR * max(first, 1e-300):
            return f"grew from {first:.3g} to {loss:.3g}"
        return None

    def _converged(self, first: float, loss: float) -> bool:
        if self.optimum_loss is None or not self.opts.tolerance or not math.isfinite(loss):
            return False
        return loss - self.optimum_loss <= self.opts.tolerance * (first - self.optimum_loss)

    def _divergence_message(self, step: int, what: str) -> str:
        lesson = rate_too_high(self.opts, self.stable_rate)
        return (
            f"Training diverged at step {step}: the loss {what}. {lesson[:1].upper()}"
            f"{lesson[1:]}. The kernel shown is the last finite one, from step {step - 1}."
        )


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
