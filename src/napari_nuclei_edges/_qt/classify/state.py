"""The classifier dock's state, Qt-free: the run's history, classes and where each image lives."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

#: The most misclassified thumbnails the dock shows.
MAX_THUMBNAILS = 24


@dataclass
class RunState:
    """What one training run has produced so far, and how to find its images in the layers."""

    layer_names: tuple[str, ...] = ()  # one class per layer, in class order
    counts: tuple[int, ...] = ()  # images per class layer
    history: list = field(default_factory=list)  # the ClassifierSteps received
    baseline: float | None = None  # the feature model's validation accuracy, same split
    model: object | None = None  # the latest (or loaded) Classifier
    started: float = 0.0

    def begin(self, layer_names, counts) -> None:
        self.layer_names, self.counts = tuple(layer_names), tuple(int(c) for c in counts)
        self.history, self.baseline, self.model = [], None, None
        self.started = time.perf_counter()

    def add(self, step) -> None:
        self.history.append(step)
        self.model = step.model

    @property
    def last(self):
        return self.history[-1] if self.history else None

    def epochs_per_second(self) -> float | None:
        seconds = time.perf_counter() - self.started
        if not self.history or seconds <= 0:
            return None
        return len(self.history) / seconds

    def locate(self, index: int) -> tuple[str, int]:
        """The layer and the index in it of image ``index`` of all classes in order."""
        edges = np.cumsum(self.counts)
        which = int(np.searchsorted(edges, index, side="right"))
        start = int(edges[which - 1]) if which else 0
        return self.layer_names[which], int(index - start)

    def misclassified(self, limit: int = MAX_THUMBNAILS) -> list[tuple[str, int, str, str]]:
        """(layer, index in layer, true class, predicted class) of wrong validation images."""
        step = self.last
        if step is None:
            return []
        edges = np.cumsum(self.counts)
        true = np.searchsorted(edges, step.val_index, side="right")
        wrong = np.flatnonzero(true != step.val_predicted)[:limit]
        names = step.class_names
        return [
            (*self.locate(int(step.val_index[i])), names[true[i]], names[step.val_predicted[i]])
            for i in wrong
        ]
