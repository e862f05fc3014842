"""The threshold dock's long work, as plain functions its workers run: no Qt, no viewer.

*Apply* segments each selected layer (:func:`segment_layers`); *Try all methods*
compares every method and draws their thumbnails (:func:`compare_with_gallery`).
"""

from __future__ import annotations

from collections.abc import Iterator


def segment_layers(jobs, threshold, method: str, polarity: str, options: dict) -> Iterator[tuple]:
    """``segment_nuclei`` of each ``(name, data)`` job: yields ``(name, labels, thresholds)``.

    ``threshold`` given: that one for every image; None: ``method`` on each image.
    """
    from ...segmentation import segment_nuclei

    for name, data in jobs:
        labels, used = segment_nuclei(
            data, threshold=threshold, method=method if threshold is None else "otsu",
            rule="per_image", polarity=polarity, return_thresholds=True, **options,
        )  # fmt: skip
        yield name, labels, used


def compare_with_gallery(stacks: dict, truths: dict, planes: dict, polarity: str) -> tuple:
    """Every method's row (threshold, share above, scores), the thumbnails and their tips."""
    from ...segmentation.compare import compare_methods, gallery

    rows = compare_methods(stacks, truths, polarity=polarity)
    return rows, *gallery(rows, planes, polarity)
