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


def patches_and_cut_offs(image, labels, sparse: bool, options: dict) -> tuple:
    """Eight training patches, their classes, and the image's normalisation."""
    from ...segmenter.preview import cut_offs, training_patches

    patches, classes = training_patches(image, labels, 8, sparse=sparse, **options)
    return patches, classes, cut_offs(image)


def patches_sentence(name: str, classes: np.ndarray, cuts: dict) -> str:
    """What the patches show, and how the image was normalised.

    Examples
    --------
    >>> classes = np.array([[[1, 2, 3, 5]]])
    >>> said = patches_sentence("field", classes, {"low": 120.0, "high": 2411.5,
    ...                                            "below": 0.01, "above": 0.002})
    >>> said.startswith("field_patches: 1 patch of 1 × 4 px as the network sees them")
    True
    >>> said.split("; ")[1][:58]
    'field_patch_classes: background, interior, boundary, seam.'
    >>> said[said.index("so that"):said.index(" (its")]
    'so that 120 is 0 and 2412 is 1'
    """
    from ...segmenter.preview import PATCH_CLASSES

    n, size = len(classes), classes.shape[-2:]
    shown = [PATCH_CLASSES[v] for v in sorted(set(np.unique(classes).tolist()))]
    return (f"{name}_patches: {n} patch{'es' if n != 1 else ''} of {size[0]} × {size[1]} px "
            "as the network sees them (turned, flipped, brightness jittered, noised); "
            f"{name}_patch_classes: {', '.join(shown)}. The image is scaled so that "
            f"{cuts['low']:.4g} is 0 and {cuts['high']:.4g} is 1 (its 1st and 99.8th "
            f"percentiles): {100 * cuts['below']:.1f} % of its pixels lie below, "
            f"{100 * cuts['above']:.1f} % above.")  # fmt: skip


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
