"""The segmenter (a small U-Net) against the threshold pipeline, on synthetic fields.

Trains on ``synthetic_field(size=512, seed=0)`` for 30 s (2 threads, CPU, seed 0),
tests on ``seed=1``: held-out pixel Dice and the share of nuclei matched at IoU > 0.5,
beside ``segmentation.segment_nuclei``'s defaults on the same test image; the same
with scribbles on 10 % of the pixels (``sparse=True``); and ``segment_with``'s speed
in Mpx/s on a 2048² field. Prints a markdown table.

Run ``python -m benchmarks.bench_segmenter`` (full) or ``--quick`` (a 256² field,
3 s of training, a 512² speed image) to check it runs.
"""

from __future__ import annotations

import argparse
import time

from benchmarks._timing import limit_threads


def scribbles(truth, share: float = 0.1, seed: int = 0, radius: int = 3):
    """Scribbles as a user paints them: dabs of ``radius`` inside nuclei (1) and in the
    background (2), a pixel clear of any edge, until ``share`` of the pixels are painted."""
    import numpy as np
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    nucleus = truth > 0
    edges = ndimage.maximum_filter(truth, 3) != ndimage.minimum_filter(truth, 3)
    inside = ~ndimage.binary_dilation(edges)  # a pixel away from every edge
    paint = np.zeros(truth.shape, np.uint8)
    ys, xs = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    dab = ys**2 + xs**2 <= radius**2
    h, w = truth.shape
    while np.count_nonzero(paint) < share * truth.size:
        y, x = rng.integers(radius, h - radius), rng.integers(radius, w - radius)
        box = (slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
        same = dab & inside[box] & (nucleus[box] == nucleus[y, x])
        paint[box][same] = 1 if nucleus[y, x] else 2
    return paint


def scores(labels, truth) -> tuple[float, float]:
    """Pixel Dice and the share of true nuclei matched at IoU > 0.5."""
    from napari_nuclei_edges.segmentation.scores import segmentation_scores

    s = segmentation_scores(labels, truth)
    return s["dice"], s["matched"] / max(1, s["true_objects"])


def train(image, labels, seconds: float, **options):
    from napari_nuclei_edges.segmenter import fit_segmenter

    steps = list(fit_segmenter(image, labels, seconds=seconds, seed=0, **options))
    return steps[-1]


def speed(model, size: int) -> float:
    """Mpx/s of ``segment_with`` on a ``size``² field (after a warm-up on a small one)."""
    from napari_nuclei_edges.data import synthetic_field
    from napari_nuclei_edges.segmenter import segment_with

    image, _ = synthetic_field(size=size, n_nuclei=size * size // 2200, seed=2)
    segment_with(model, image[:128, :128])
    start = time.perf_counter()
    segment_with(model, image)
    return size * size / (time.perf_counter() - start) / 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, to check it runs")
    parser.add_argument("--seconds", type=float, default=None, help="training budget")
    args = parser.parse_args(argv)
    limit_threads(2)
    import torch

    torch.set_num_threads(2)
    from napari_nuclei_edges.data import synthetic_field
    from napari_nuclei_edges.segmentation import segment_nuclei

    size, n, seconds, big = (256, 30, 3.0, 512) if args.quick else (512, 120, 30.0, 2048)
    seconds = args.seconds or seconds
    image, truth = synthetic_field(size=size, n_nuclei=n, seed=0)
    test, test_truth = synthetic_field(size=size, n_nuclei=n, seed=1)
    from napari_nuclei_edges.segmenter import segment_with

    rows = [("segment_nuclei (defaults)", "–", *scores(segment_nuclei(test), test_truth), "–")]
    for name, labels, options in (
        ("U-Net, instance labels", truth, {}),
        ("U-Net, scribbles on 10 % of pixels", scribbles(truth), {"sparse": True}),
    ):
        last = train(image, labels, seconds, **options)
        rows.append((f"{name} ({last.step} steps)", f"{last.elapsed:.1f}",
                     *scores(segment_with(last.model, test), test_truth),
                     f"{speed(last.model, big):.2f}"))  # fmt: skip
    print(f"\nTrained on synthetic_field(size={size}, seed=0), tested on seed=1; 2 threads, CPU; "
          f"segment_with speed on a {big}² field\n")  # fmt: skip
    print("| method | training s | pixel Dice | nuclei matched (IoU > 0.5) | Mpx/s |")
    print("|---|---:|---:|---:|---:|")
    for name, elapsed, dice, matched, mpx in rows:
        print(f"| {name} | {elapsed} | {dice:.3f} | {100 * matched:.0f} % | {mpx} |")


if __name__ == "__main__":
    main()
