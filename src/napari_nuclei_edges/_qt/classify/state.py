"""The classifier dock's state, Qt-free: the run's history, classes and where each image lives."""

from __future__ import annotations

import time
import weakref
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

    def rename(self, old: str, new: str) -> None:
        """A class layer was renamed: its images are found under the new name (the
        model's class names stay as trained)."""
        self.layer_names = tuple(new if name == old else name for name in self.layer_names)

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


@dataclass
class Kept:
    """What a closed dock leaves for the next one on the same viewer."""

    run: RunState
    predictions: object | None = None


#: Each viewer's model of a closed dock, kept for the session (the viewer held weakly).
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _key(viewer):
    from ..._napari_compat import unwrap

    return unwrap(viewer)  # a dock's proxy: the viewer itself


def keep(viewer, run: RunState, predictions=None) -> None:
    """Keep ``run`` (when it has a model) for the next dock opened on ``viewer``.

    Examples
    --------
    >>> class Viewer: ...
    >>> viewer, run = Viewer(), RunState(model="a model")
    >>> keep(viewer, run); take(viewer).run is run, take(viewer)
    (True, None)
    """
    if run.model is None:
        _KEPT.pop(_key(viewer), None)
    else:
        _KEPT[_key(viewer)] = Kept(run, predictions)


def take(viewer) -> Kept | None:
    """What a closed dock kept for ``viewer`` (once), or None."""
    return _KEPT.pop(_key(viewer), None)
