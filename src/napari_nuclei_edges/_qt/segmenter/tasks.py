"""The segmenter dock's long work, as plain functions its workers run: no Qt, no viewer.

- :func:`training_steps`: the run (the threshold's baseline, then one step an epoch);
- :func:`segmented`: a trained network's labels of an image layer's data;
- :func:`receptive_square`: the square the dock draws to show the receptive field.
"""

from __future__ import annotations

import numpy as np

from .state import Baseline


def baseline_of(image, labels, boxes) -> Baseline:
    """``segment_nuclei``'s defaults (the threshold dock's *Apply*) scored on ``boxes``:
    ``(image index, rows, columns)`` tiles, the network's held-out ones.

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_field
    >>> image, truth = synthetic_field(size=128, n_nuclei=12)
    >>> b = baseline_of(image, truth, [(0, slice(0, 128), slice(0, 128))])
    >>> 0.8 < b.dice <= 1 and 0.5 < b.f1 <= 1
    True
    """
    from ...segmentation import segment_nuclei, segmentation_scores

    stack, truth = np.asarray(image), np.asarray(labels)
    if stack.ndim == 2:
        stack, truth = stack[None], truth[None]
    found = [segment_nuclei(stack[i])[rows, columns] for i, rows, columns in boxes]
    true = [truth[i][rows, columns] for i, rows, columns in boxes]
    matched = predicted = actual = 0
    inter = total = 0
    for pred, gold in zip(found, true, strict=True):
        scores = segmentation_scores(pred, gold)
        matched += scores["matched"]
        predicted += scores["predicted_objects"]
        actual += scores["true_objects"]
        inter += np.count_nonzero((pred > 0) & (gold > 0))
        total += np.count_nonzero(pred > 0) + np.count_nonzero(gold > 0)
    dice = 2 * inter / total if total else float("nan")
    f1 = 2 * matched / (predicted + actual) if predicted + actual else float("nan")
    return Baseline(float(dice), float(f1))


def training_steps(image, labels, sparse: bool, seconds: float, options: dict):
    """The dock's run: the network's steps, one an epoch; after the first, the threshold's
    :class:`~.state.Baseline` on the same held-out tiles (for full labels)."""
    from ...segmenter import fit_segmenter

    said = False
    for step in fit_segmenter(image, labels, seconds=seconds, sparse=sparse, **options):
        yield step
        boxes = getattr(step, "held_out", ())
        if not said and not sparse and boxes:
            said = True
            yield baseline_of(image, labels, boxes)


def segmented(model, data) -> np.ndarray:
    """The network's instance labels of an image layer's data (numpy or lazy)."""
    from ...segmenter import segment_with

    return segment_with(model, data)


def receptive_square(shape, side: int) -> np.ndarray:
    """The corners of a ``side``-pixel square centred on an image of ``shape`` (rows, columns).

    Examples
    --------
    >>> receptive_square((100, 60), 44).tolist()
    [[28.0, 8.0], [28.0, 52.0], [72.0, 52.0], [72.0, 8.0]]
    """
    cy, cx = shape[-2] / 2, shape[-1] / 2
    h = side / 2
    return np.array([[cy - h, cx - h], [cy - h, cx + h], [cy + h, cx + h], [cy + h, cx - h]])
