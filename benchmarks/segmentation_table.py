"""The segmentation tables: a plain threshold against ``segment_nuclei``, on crops and fields.

``python -m benchmarks.segmentation_table`` scores, with ``segmentation_scores``:

- the 250 images of the synthetic sample (``synthetic_nuclei()``, seed 0) against
  their truth as the sample opens it (instance labels: one id per nucleus in each
  image);
- crowded fields (``synthetic_field()``, 512², 120 nuclei, seeds 0–3) against their
  instance labels: what a user would do instead (Otsu or Li with scikit-image, then
  connected components) beside ``segment_nuclei`` with and without splitting.

No timing: the figures are the same on every machine.
"""

from __future__ import annotations

import numpy as np


def rows() -> dict[str, dict]:
    """Scores of the segmentations docs/segmentation.md compares, by the row's label."""
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
        "`segment_nuclei(images)`: per-image Otsu (the default), σ = 1, fill holes, min size 20 "
        "(the threshold dock's *Apply*; touching nuclei are split in crowded images only)": (
            segmentation_scores(segment_nuclei(stack), labels)
        ),
    }


FIELD_SEEDS = (0, 1, 2, 3)


def field_rows() -> dict[str, list[dict]]:
    """Scores on each crowded field, by the row's label."""
    from skimage.filters import threshold_li, threshold_otsu
    from skimage.measure import label

    from napari_nuclei_edges.data import synthetic_field
    from napari_nuclei_edges.segmentation import segment_nuclei, segmentation_scores

    ways = {
        "Otsu threshold + connected components (scikit-image)": (
            lambda im: label(im > threshold_otsu(im))
        ),
        "Li threshold + connected components (scikit-image)": (
            lambda im: label(im > threshold_li(im))
        ),
        "`segment_nuclei(image, split_touching=False)`": (
            lambda im: segment_nuclei(im, split_touching=False)
        ),
        "`segment_nuclei(image)`: the defaults (touching nuclei split)": segment_nuclei,
    }
    fields = [synthetic_field(seed=seed) for seed in FIELD_SEEDS]
    return {
        name: [segmentation_scores(way(image), truth) for image, truth in fields]
        for name, way in ways.items()
    }


def main() -> None:
    table = rows()
    total = next(iter(table.values()))["true_objects"]
    print(f"| segmentation | Dice | recall | objects matched (of {total}) | split |")
    print("|---|---|---|---|---|")
    for label, s in table.items():
        print(f"| {label} | {s['dice']:.3f} | {s['recall']:.3f} | {s['matched']} | {s['split']} |")
    print(f"\nCrowded fields (synthetic_field, seeds {FIELD_SEEDS}, 120 nuclei each):\n")
    print("| segmentation | Dice | nuclei matched, seed 0 | mean of the fields | merged | split |")
    print("|---|---|---|---|---|---|")
    for label, scores in field_rows().items():
        matched = [s["matched"] / s["true_objects"] for s in scores]
        print(
            f"| {label} | {np.mean([s['dice'] for s in scores]):.3f} "
            f"| {scores[0]['matched']} ({matched[0]:.0%}) | {np.mean(matched):.0%} "
            f"| {np.mean([s['merged'] for s in scores]):.1f} "
            f"| {np.mean([s['split'] for s in scores]):.1f} |"
        )


if __name__ == "__main__":
    main()
