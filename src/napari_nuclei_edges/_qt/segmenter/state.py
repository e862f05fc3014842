"""The segmenter dock's state, Qt-free: what the user chose, and what the run has shown.

The view draws it; the dock (``widget.py``) writes the run's steps into it. Its
rules — which labels are scribbles, what a step and a finished run say — are
tested without Qt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from psygnal import evented

#: What the labels layer holds: whole nuclei (one id each), or a user's scribbles.
LABEL_KINDS = ("nuclei", "scribbles")
#: Seconds between two refreshes of the live prediction while training.
REFRESH_SECONDS = 3.0


def guess_kind(values) -> str:
    """``"scribbles"`` when a labels layer holds only 0, 1 and 2 with both 1 and 2 painted
    (nucleus and background strokes), else ``"nuclei"``.

    Examples
    --------
    >>> guess_kind([0, 1, 2]), guess_kind([0, 1, 2, 3]), guess_kind([0, 1])
    ('scribbles', 'nuclei', 'nuclei')
    """
    present = set(np.unique(np.asarray(values)).tolist())
    return "scribbles" if present <= {0, 1, 2} and {1, 2} <= present else "nuclei"


@dataclass(frozen=True)
class Baseline:
    """The threshold dock's segmentation (``segment_nuclei``'s defaults) scored on the
    same validation nuclei as the network."""

    dice: float
    f1: float


@evented
@dataclass
class SegmenterState:
    """The dock's choices and the run's curves (one row per epoch)."""

    image: str = ""
    labels: str = ""
    kind: str = "nuclei"
    seconds: float = 30.0
    epochs: tuple[int, ...] = ()
    loss: tuple[float, ...] = ()
    val_loss: tuple[float, ...] = ()
    val_dice: tuple[float, ...] = ()
    val_f1: tuple[float, ...] = ()
    baseline: Baseline | None = None
    model: object | None = field(default=None, repr=False)

    def begin(self) -> None:
        """A new run: its curves and model start empty."""
        self.loss = self.val_loss = self.val_dice = self.val_f1 = ()
        self.baseline, self.model = None, None
        self.epochs = ()  # last: a view redraws on it

    def add(self, step) -> None:
        """A reported epoch (a :class:`~napari_nuclei_edges.segmenter.SegmenterStep`).

        ``epochs`` changes last: a view redraws every curve on its event.
        """
        self.loss = (*self.loss, float(step.loss))
        self.val_loss = (*self.val_loss, float(step.val_loss))
        self.val_dice = (*self.val_dice, float(step.val_dice))
        self.val_f1 = (*self.val_f1, float(step.val_f1))
        self.model = step.model
        self.epochs = (*self.epochs, int(step.epoch))

    def progress_text(self, step) -> str:
        """What the dock says after an epoch: time, and the scores beside the threshold's.

        Examples
        --------
        >>> from types import SimpleNamespace as Step
        >>> s = SegmenterState(baseline=Baseline(0.87, 0.80))
        >>> s.progress_text(Step(epoch=3, elapsed=9.6, val_dice=0.912, val_f1=0.85, loss=0.3))
        'Epoch 3, 10 s: held-out Dice 0.91 (threshold 0.87), nuclei F1 0.85 (threshold 0.80).'
        """
        said = f"Epoch {step.epoch}, {step.elapsed:.0f} s: "
        if math.isnan(step.val_dice):
            return said + f"loss {step.loss:.3g} (nothing held out to score on)."
        base = self.baseline
        said += f"held-out Dice {step.val_dice:.2f}" + _beside(base and base.dice)
        if not math.isnan(step.val_f1):
            said += f", nuclei F1 {step.val_f1:.2f}" + _beside(base and base.f1)
        return said + "."

    def verdict(self) -> str:
        """Does the network earn its place? The last epoch against the threshold's scores.

        Examples
        --------
        >>> s = SegmenterState(baseline=Baseline(0.87, 0.80))
        >>> s.val_dice, s.val_f1 = (0.5, 0.93), (0.4, 0.90)
        >>> s.verdict()
        'It beats the threshold on the held-out nuclei (F1 0.90 against 0.80): use it.'
        >>> s.val_f1 = (0.4, 0.70)
        >>> s.verdict()[:56]
        'The threshold still does better on the held-out nuclei ('
        """
        if not self.val_dice or self.baseline is None or math.isnan(self.val_dice[-1]):
            return ""
        use_f1 = not math.isnan(self.val_f1[-1])
        ours = self.val_f1[-1] if use_f1 else self.val_dice[-1]
        theirs = self.baseline.f1 if use_f1 else self.baseline.dice
        what = "F1" if use_f1 else "Dice"
        if ours > theirs:
            return (f"It beats the threshold on the held-out nuclei ({what} {ours:.2f} "
                    f"against {theirs:.2f}): use it.")  # fmt: skip
        return (f"The threshold still does better on the held-out nuclei ({what} {theirs:.2f}"
                f" against {ours:.2f}): train longer, or label more nuclei.")  # fmt: skip


def _beside(value) -> str:
    return "" if value is None or math.isnan(value) else f" (threshold {value:.2f})"
