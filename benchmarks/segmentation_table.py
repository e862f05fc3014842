"""The README's segmentation table: a global threshold against ``segment_nuclei`` on the sample.

``python -m benchmarks.segmentation_table`` scores, with ``segmentation_scores``,
the 250 images of the synthetic sample (``synthetic_nuclei()``, seed 0) against
their truth as the sample opens it (instance labels: one id per nucleus in each
image). No timing: the figures are the same on every machine.
"""

from __future__ import annotations

import numpy as np


def rows() -> dict[str, dict]:
    """Scores of the segmentations the README compares, by the row's label."""
    from napari_nuclei_edges.data import CLASS_NAMES
    from napari_nuclei_edges.intensity import auto_threshold
    from napari_nuclei_edges.segmentation import segment, segment_nuclei, segmentation_scores
    from napari_nuclei_edges.synthetic import synthetic_nuclei

    images, truth = synthetic_nuclei(masks="labels")
    stack = np.concatenate([images[name] for name in CLASS_NAMES])
    labels = np.concatenate([truth[name] for name in CLASS_NAMES])
    t = auto_threshold(images, "otsu")
    return {
        f"one global Otsu threshold, `x > {t:g}`": segmentation_scores(segment(stack, t), labels),
        "`segment_nuclei(images, split_touching=False)`: per-image Otsu, σ = 1, fill holes, "
        "min size 20 (the threshold dock's *Apply*)": (
            segmentation_scores(segment_nuclei(stack, split_touching=False), labels)
        ),
        "`segment_nuclei(images)`: the same, touching nuclei split (the defaults)": (
            segmentation_scores(segment_nuclei(stack), labels)
        ),
    }


def main() -> None:
    table = rows()
    total = next(iter(table.values()))["true_objects"]
    print(f"| segmentation | Dice | recall | objects matched (of {total}) | split |")
    print("|---|---|---|---|---|")
    for label, s in table.items():
        print(f"| {label} | {s['dice']:.3f} | {s['recall']:.3f} | {s['matched']} | {s['split']} |")


if __name__ == "__main__":
    main()
