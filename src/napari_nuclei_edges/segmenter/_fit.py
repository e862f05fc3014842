"""The training loop behind :func:`fit_segmenter`, one :class:`SegmenterStep` per epoch.

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

from ._data import NUCLEUS, SEAM
from ._model import Segmenter, forward, labels_of
from ._prepare import Prepared
from ._unet import build
from .options import (
    DIVERGENCE_FACTOR,
    MIN_STEPS_PER_EPOCH,
    SegmenterDiverged,
    SegmenterOptions,
    SegmenterStep,
)

#: Steps the averaged weights mostly remember (see :func:`_follow`).
AVERAGE_STEPS = 10


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, kind: str,
                      seam_weight: float = 1.0) -> torch.Tensor:  # fmt: skip
    """The loss of scores ``logits`` (B, 3, H, W) against ``target`` (B, H, W), on the
    labelled pixels only (target ≥ 0).

    Cross-entropy of the three classes, a scribbled nucleus pixel (:data:`NUCLEUS`)
    scoring the probability of interior or boundary and a boundary pixel where two
    nuclei touch (:data:`SEAM`) counting ``seam_weight`` times (the U-Net paper's
    weight map, simplified); the soft Dice loss of the nuclei (not background), and
    of the interior and boundary when the targets have them; or their sum.

    Examples
    --------
    >>> target = torch.tensor([[[0, 1], [2, -1]]])
    >>> perfect = 20 * F.one_hot(target.clamp(min=0), 3).permute(0, 3, 1, 2).float()
    >>> round(float(segmentation_loss(perfect, target, "ce+dice")), 3)
    0.0
    """
    scores = logits.permute(0, 2, 3, 1).reshape(-1, logits.shape[1])
    target = target.reshape(-1).long()
    keep = target >= 0
    scores, target = scores[keep], target[keep]
    if target.numel() == 0:
        return logits.sum() * 0.0
    seam = target == SEAM
    target = torch.where(seam, 2, target)
    log_p = F.log_softmax(scores, dim=1)
    nucleus = torch.logsumexp(log_p[:, 1:], dim=1, keepdim=True)
    ce = -torch.cat([log_p, nucleus], dim=1).gather(1, target[:, None])[:, 0]
    weight = torch.where(seam, float(seam_weight), 1.0)
    ce = (ce * weight).sum() / weight.sum()
    if kind == "ce":
        return ce
    dice = _dice_loss(1 - log_p[:, 0].exp(), target > 0)
    if not (target == NUCLEUS).any():  # instance labels: interior and boundary matter too
        p = log_p.exp()
        dice = (dice + _dice_loss(p[:, 1], target == 1) + _dice_loss(p[:, 2], target == 2)) / 3
    return dice if kind == "dice" else ce + dice


def _dice_loss(p: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    truth = truth.float()
    return 1 - (2 * (p * truth).sum() + 1) / (p.sum() + truth.sum() + 1)


def draw_batch(data: Prepared, opts: SegmenterOptions, rng: np.random.Generator):
    """Patches around random training pixels, flipped, turned, jittered and noised.

    Every draw comes from ``rng`` (numpy), so a seed gives the same patches on any device.
    """
    n, h, w = data.images.shape
    size, count = opts.patch_size, opts.batch_size
    at = np.unravel_index(data.centres[rng.integers(len(data.centres), size=count)], (n, h, w))
    y0 = np.clip(at[1] - rng.integers(size, size=count), 0, h - size)
    x0 = np.clip(at[2] - rng.integers(size, size=count), 0, w - size)
    xs, ts = [], []
    for i, y, x in zip(at[0], y0, x0, strict=True):
        image = data.images[i, y : y + size, x : x + size]
        target = data.target[i, y : y + size, x : x + size]
        if opts.augment:
            turns, flip = int(rng.integers(4)), bool(rng.integers(2))
            image, target = np.rot90(image, turns), np.rot90(target, turns)
            if flip:
                image, target = image[:, ::-1], target[:, ::-1]
        xs.append(image)
        ts.append(target)
    x = np.stack(xs).astype(np.float32)
    if opts.jitter:
        j = opts.jitter * (2 * rng.random((2, count, 1, 1)) - 1)
        x = x * (1 + j[0]).astype(np.float32) + j[1].astype(np.float32)
    if opts.noise:
        sigma = (opts.noise * rng.random((count, 1, 1))).astype(np.float32)
        x = x + sigma * rng.standard_normal(x.shape, dtype=np.float32)
    return torch.from_numpy(x[:, None].copy()), torch.from_numpy(np.stack(ts).astype(np.int64))


class Run:
    """A training run: the network, its optimiser and the budget; iterate for the steps."""

    def __init__(self, data: Prepared, opts: SegmenterOptions, rng, *, seconds, epochs,
                 start: float) -> None:  # fmt: skip
        from ..classification._classifier import torch_device

        self.data, self.opts, self.rng, self.start = data, opts, rng, start
        self.seconds, self.epochs = seconds, epochs
        self.device = torch_device(opts.device)  # "auto": a GPU when there is one
        self.net = build(opts).to(self.device)
        self.optimiser = torch.optim.Adam(self.net.parameters(), lr=opts.learning_rate)
        #: The weights averaged over the last steps: what is validated and handed out
        self.average = copy.deepcopy(self.net)
        per_step = opts.batch_size * opts.patch_size**2
        self.steps_per_epoch = opts.steps_per_epoch or max(
            MIN_STEPS_PER_EPOCH, math.ceil(data.labelled_pixels / per_step)
        )
        self.step, self.first_loss, self.last = 0, None, None

    def _held_out(self) -> tuple:
        """The training images' tiles held out to validate on ((image, rows, columns) each);
        none when the run validates on images of its own."""
        val = self.data.validation
        return tuple(val.boxes) if val is not None and val.own_images is False else ()

    def _out_of_time(self) -> bool:
        return self.seconds is not None and time.perf_counter() - self.start >= self.seconds

    def _train_step(self, epoch: int) -> float:
        x, target = draw_batch(self.data, self.opts, self.rng)
        self.net.train()
        self.optimiser.zero_grad()
        loss = segmentation_loss(self.net(x.to(self.device)), target.to(self.device),
                                 self.opts.loss, self.opts.seam_weight)  # fmt: skip
        loss.backward()
        self.optimiser.step()
        self.step += 1
        _follow(self.average, self.net, self.step)
        value = float(loss.detach())
        self.first_loss = value if self.first_loss is None else self.first_loss
        if not math.isfinite(value) or value > DIVERGENCE_FACTOR * max(self.first_loss, 1.0):
            raise SegmenterDiverged(
                f"Training diverged at epoch {epoch}, step {self.step} (loss {value:.3g}): the "
                f"learning rate {self.opts.learning_rate:g} is too large; try one 10 times "
                "smaller.",
                self.last,
            )
        return value

    def __iter__(self) -> Iterator[SegmenterStep]:
        epoch = 0
        while True:
            epoch += 1
            losses = []
            for _ in range(self.steps_per_epoch):
                losses.append(self._train_step(epoch))
                if self._out_of_time():
                    break
            done = self._out_of_time() or epoch >= self.epochs
            val_loss, val_dice, val_f1 = self._validate()
            model = Segmenter(copy.deepcopy(self.average).cpu().eval(), self.opts,
                              self.data.intensity)  # fmt: skip
            self.last = SegmenterStep(
                epoch=epoch, step=self.step, loss=float(np.mean(losses)), val_loss=val_loss,
                val_dice=val_dice, val_f1=val_f1, elapsed=time.perf_counter() - self.start,
                model=model, status="finished" if done else "running",
                learning_rate=self.opts.learning_rate, held_out=self._held_out(),
            )  # fmt: skip
            yield self.last
            if done:
                return

    @torch.no_grad()
    def _validate(self) -> tuple[float, float, float]:
        """Loss, pixel Dice of the nuclei and object F1 on the validation tiles (NaN
        without any; object F1 NaN for scribbles, which have no objects)."""
        val = self.data.validation
        if val is None or not val.boxes:
            return math.nan, math.nan, math.nan
        self.average.eval()
        scores, targets = [], []
        hits = np.zeros(3, np.int64)  # true positive, predicted, true nucleus pixels
        objects = np.zeros(3, np.int64)  # matched, predicted, true objects
        for (image, rows, columns), s in _tile_scores(self.average, val, self.opts.margin,
                                                      self.device):  # fmt: skip
            target = val.target[image, rows, columns]
            scores.append(s.reshape(1, 3, 1, -1))
            targets.append(torch.from_numpy(target.astype(np.int64)).reshape(1, 1, -1))
            p = torch.softmax(s, 0).cpu().numpy()
            hits += _pixel_hits(p, target)
            if val.truth is not None:
                objects += _object_hits(p, val.truth[image, rows, columns], self.opts)
        target = torch.cat(targets, dim=-1)
        if not (target >= 0).any():
            return math.nan, math.nan, math.nan
        loss = segmentation_loss(torch.cat(scores, dim=-1), target.to(self.device),
                                 self.opts.loss, self.opts.seam_weight)  # fmt: skip
        dice = 2 * hits[0] / (hits[1] + hits[2]) if hits[1] + hits[2] else 1.0
        f1 = math.nan
        if val.truth is not None:
            f1 = 2 * objects[0] / (objects[1] + objects[2]) if objects[1:].sum() else 1.0
        return float(loss), float(dice), float(f1)


@torch.no_grad()
def _follow(average, net, step: int) -> None:
    """Move ``average``'s weights towards ``net``'s (an exponential moving average over
    about the last :data:`AVERAGE_STEPS` steps, fewer at the start), its batch
    normalisation statistics set to ``net``'s: the averaged model is steadier
    from epoch to epoch than the last step's."""
    keep = min(1 - 1 / AVERAGE_STEPS, (1 + step) / (AVERAGE_STEPS + step))
    torch._foreach_lerp_(list(average.parameters()), list(net.parameters()), 1 - keep)
    for mine, theirs in zip(average.buffers(), net.buffers(), strict=True):
        mine.copy_(theirs)


def _tile_scores(net, val, m: int, device, batch: int = 16) -> Iterator[tuple]:
    """``(box, scores (3, h, w))`` of each validation tile, predicted with its margin of
    context, tiles of one size together (in eval mode a tile's scores are its own)."""
    by_size: dict[tuple, list] = {}
    for box in val.boxes:
        size = (box[1].stop - box[1].start, box[2].stop - box[2].start)
        by_size.setdefault(size, []).append(box)
    for (h, w), boxes in by_size.items():
        for begin in range(0, len(boxes), batch):
            group = boxes[begin : begin + batch]
            pieces = np.stack([val.padded[i, r.start : r.stop + 2 * m, c.start : c.stop + 2 * m]
                               for i, r, c in group])  # fmt: skip
            out = forward(net, torch.from_numpy(pieces)[:, None].to(device))
            yield from zip(group, out[:, :, m : m + h, m : m + w], strict=True)


def _pixel_hits(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    labelled = target >= 0
    predicted, truth = (p[0] < 0.5) & labelled, (target > 0) & labelled
    return np.array([np.count_nonzero(predicted & truth), np.count_nonzero(predicted),
                     np.count_nonzero(truth)])  # fmt: skip


def _object_hits(p: np.ndarray, truth: np.ndarray, opts: SegmenterOptions) -> np.ndarray:
    from ..segmentation.scores import segmentation_scores

    s = segmentation_scores(labels_of(p, opts), truth)
    return np.array([s["matched"], s["predicted_objects"], s["true_objects"]])
