"""The training loop behind :func:`fit_classifier`, one :class:`ClassifierStep` per epoch.

torch and numpy; no Qt, no napari.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from ._classifier import Classifier, torch_device
from ._data import Dataset, feature_statistics, normalise_images, standardise_features
from ._models import augment, build
from .metrics import confusion_matrix, scores
from .options import DIVERGENCE_FACTOR, ClassifierDiverged, ClassifierOptions, ClassifierStep


def run(data: Dataset, opts: ClassifierOptions, train: np.ndarray, val: np.ndarray,
        start: float | None = None) -> Iterator[ClassifierStep]:  # fmt: skip
    """Train on ``train`` indices of ``data``, validate on ``val``, one step per epoch."""
    start = time.perf_counter() if start is None else start
    yield from _Run(data, opts, train, val, start)


class _Run:
    def __init__(self, data, opts, train, val, start) -> None:
        self.data, self.opts, self.train, self.val, self.start = data, opts, train, val, start
        self.generator = torch.Generator().manual_seed(opts.seed)
        self.device = torch_device(opts.device)  # "auto": a GPU when there is one
        n_features = len(data.feature_names) if data.features is not None else 0
        mean = np.zeros(n_features, np.float32)
        std = np.ones(n_features, np.float32)
        self.f = None
        if data.features is not None:
            mean, std = feature_statistics(data.features[train])  # training rows only
            self.f = torch.from_numpy(standardise_features(data.features, mean, std))
        self.x = None
        if opts.uses_images:
            self.x = torch.from_numpy(normalise_images(data.images, opts))[:, None]
        self.net = build(len(data.class_names), opts, n_features, opts.seed).to(self.device)
        self.net.generator = self.generator if self.device.type == "cpu" else None
        self.classifier = Classifier(
            self.net,
            opts,
            data.class_names,
            data.feature_names,
            mean,
            std,
            data.size,
            data.intensity,
        )
        self.targets = torch.from_numpy(data.targets).long()
        self.warm = opts.model == "cnn+features" and self.f is not None
        if self.warm:
            self._warm_start()
        self.optimiser = _optimiser(self.net, opts)

    def _warm_start(self) -> None:
        """Start the joined model's last layer from logistic regression on the measurements.

        The CNN's columns start at 0, so epoch 0 is the measurement model and the CNN
        only has to learn what the measurements miss; early stopping keeps epoch 0
        when it never does better on the validation images.
        """
        head = self.net.head
        n_image = self.net.n_image_features
        linear = torch.nn.Linear(self.f.shape[1], head.out_features)
        torch.nn.init.zeros_(linear.weight)
        torch.nn.init.zeros_(linear.bias)
        x, y = self.f[self.train], self.targets[self.train]
        decay = ClassifierOptions(model="features").decay
        optimiser = torch.optim.LBFGS(
            linear.parameters(), lr=1.0, max_iter=200, line_search_fn="strong_wolfe"
        )

        def closure():
            optimiser.zero_grad()
            loss = F.cross_entropy(linear(x), y) + 0.5 * decay * (linear.weight**2).sum()
            loss.backward()
            return loss

        optimiser.step(closure)
        with torch.no_grad():
            head.weight.zero_()
            head.weight[:, n_image:] = linear.weight
            head.bias.copy_(linear.bias)

    def _inputs(self, index, training: bool = False):
        x = None if self.x is None else self.x[index]
        if x is not None and training:
            x = augment(x, self.opts, self.generator)
        f = None if self.f is None else self.f[index]
        move = lambda t: None if t is None else t.to(self.device)  # noqa: E731
        return move(x), move(f)

    def _loss(self, index, training: bool):
        x, f = self._inputs(index, training)
        out = self.net(x, f)
        loss = F.cross_entropy(out, self.targets[index].to(self.device))
        return loss, out

    def _epoch_lbfgs(self) -> tuple[float, float]:
        index = torch.from_numpy(self.train)
        decay = self.opts.decay

        def closure():
            self.optimiser.zero_grad()
            loss, _ = self._loss(index, True)
            if decay:  # LBFGS has no weight decay of its own
                loss = loss + 0.5 * decay * sum((p**2).sum() for p in self.net.parameters())
            loss.backward()
            return loss

        self.net.train()
        self.optimiser.step(closure)
        self.net.eval()
        with torch.no_grad():
            loss, out = self._loss(index, False)
        accuracy = (out.argmax(1).cpu() == self.targets[index]).float().mean()
        return float(loss), float(accuracy)

    def _epoch_batches(self) -> tuple[float, float]:
        self.net.train()
        order = self.train[torch.randperm(len(self.train), generator=self.generator).numpy()]
        size = self.opts.batch_size
        total, hits, count = 0.0, 0, 0
        for begin in range(0, len(order), size):
            index = torch.from_numpy(order[begin : begin + size])
            if len(index) < 2 and count:  # batch norm cannot train on one image
                continue
            self.optimiser.zero_grad()
            loss, out = self._loss(index, True)
            loss.backward()
            self.optimiser.step()
            total += float(loss.detach()) * len(index)
            hits += int((out.argmax(1).cpu() == self.targets[index]).sum())
            count += len(index)
        return total / count, hits / count

    @torch.no_grad()
    def _validate(self):
        self.net.eval()
        index = torch.from_numpy(self.val)
        loss, out = self._loss(index, False)
        return float(loss), out.argmax(1).cpu().numpy()

    def __iter__(self) -> Iterator[ClassifierStep]:
        opts = self.opts
        epochs = opts.epoch_count
        lbfgs = opts.optimiser_in_use == "lbfgs"
        best_loss, best_epoch, best_state, best_step = math.inf, 0, None, None
        first_loss, last = None, None
        if self.warm:  # epoch 0, the measurement model, is the one to beat
            with torch.no_grad():
                self.net.eval()
                loss0, out = self._loss(torch.from_numpy(self.train), False)
            accuracy0 = float((out.argmax(1).cpu() == self.targets[self.train]).float().mean())
            val_loss, predicted = self._validate()
            best_loss, best_state = val_loss, copy.deepcopy(self.net.state_dict())
            best_step = self._step(0, float(loss0), accuracy0, val_loss, predicted, 0, "running")
        for epoch in range(1, epochs + 1):
            loss, accuracy = self._epoch_lbfgs() if lbfgs else self._epoch_batches()
            first_loss = loss if first_loss is None else first_loss
            if not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * max(first_loss, 1.0):
                raise ClassifierDiverged(
                    f"Training diverged at epoch {epoch} (loss {loss:.3g}): the learning "
                    f"rate {opts.rate:g} is too large for {opts.optimiser_in_use}; try one "
                    "10 times smaller.",
                    last,
                )
            val_loss, predicted = self._validate()
            improved = val_loss < best_loss - 1e-6
            if improved:
                best_loss, best_epoch = val_loss, epoch
                best_state = copy.deepcopy(self.net.state_dict())
            stop = opts.patience_epochs and epoch - best_epoch >= opts.patience_epochs
            status = "running"
            if stop or epoch == epochs:
                status = "stopped early" if stop else "finished"
            step = self._step(epoch, loss, accuracy, val_loss, predicted, best_epoch, status)
            if improved:
                best_step = step
            last = step
            if status != "running":
                if opts.patience_epochs and best_state is not None and best_step is not None:
                    # early stopping keeps the best model: report it as the last step
                    self.net.load_state_dict(best_state)
                    step = _with_best(step, best_step, self._snapshot())
                yield step
                return
            yield step

    def _step(self, epoch, loss, accuracy, val_loss, predicted, best_epoch, status):
        opts, n_classes = self.opts, len(self.data.class_names)
        confusion = confusion_matrix(self.data.targets[self.val], predicted, n_classes)
        s = scores(confusion)
        return ClassifierStep(
            epoch=epoch, epochs=opts.epoch_count, loss=loss, val_loss=val_loss,
            accuracy=accuracy, val_accuracy=s["accuracy"], confusion=confusion,
            precision=s["precision"], recall=s["recall"], f1=s["f1"], macro_f1=s["macro_f1"],
            elapsed=time.perf_counter() - self.start, model=self._snapshot(),
            class_names=self.data.class_names, val_index=self.val.copy(),
            val_predicted=predicted, best_epoch=best_epoch, status=status,
            learning_rate=opts.rate,
        )  # fmt: skip

    def _snapshot(self) -> Classifier:
        """A copy of the classifier as it is now (the run goes on training its own)."""
        net = copy.deepcopy(self.net).cpu().eval()
        return Classifier(net, self.opts, self.classifier.class_names,
                          self.classifier.feature_names, self.classifier.feature_mean,
                          self.classifier.feature_std, self.classifier.image_size,
                          self.classifier.intensity)  # fmt: skip


def _with_best(step: ClassifierStep, best: ClassifierStep, model) -> ClassifierStep:
    """The last step, carrying the best epoch's model and its validation scores."""
    from dataclasses import replace

    return replace(
        step, model=model, val_accuracy=best.val_accuracy, confusion=best.confusion,
        precision=best.precision, recall=best.recall, f1=best.f1, macro_f1=best.macro_f1,
        val_predicted=best.val_predicted,
    )  # fmt: skip


def _optimiser(net, opts: ClassifierOptions) -> torch.optim.Optimizer:
    name, rate = opts.optimiser_in_use, opts.rate
    if name == "lbfgs":
        return torch.optim.LBFGS(
            net.parameters(), lr=rate, max_iter=10, history_size=20,
            line_search_fn="strong_wolfe",
        )  # fmt: skip
    if name == "sgd":
        return torch.optim.SGD(net.parameters(), lr=rate, momentum=0.9, weight_decay=opts.decay)
    return torch.optim.Adam(net.parameters(), lr=rate, weight_decay=opts.decay)
