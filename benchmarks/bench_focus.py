"""Focus measures: speed against plain numpy, and how well each measure finds the focus.

Speed: all five measures of a 64 × 1024 × 1024 uint16 stack, ours (torch, a chunk
of slices at a time) against a plain numpy implementation of the same five
formulas, on 2 threads, as ratios in one run.

Judgement (Sun, Duthaler & Nelson 2004): on synthetic focus stacks of known best
slice at several noise levels, each measure's |picked − true|, its false maxima
and its curve width at half height, averaged over several seeds.

    python -m benchmarks.bench_focus            # the full stack (about a minute)
    python -m benchmarks.bench_focus --quick    # an 8 × 256 × 256 stack, 2 seeds: a check
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks._timing import best_of, limit_threads, print_table

NOISE_LEVELS = (0.5, 2.0, 8.0, 20.0, 40.0)


def numpy_measures(stack: np.ndarray) -> dict[str, np.ndarray]:
    """The same five formulas in plain numpy (float64), slice by slice."""
    out = {name: np.zeros(len(stack)) for name in _NAMES}
    for k, plane in enumerate(stack):
        g = plane.astype(np.float64)
        out["brenner"][k] = np.sum((g[:-2] - g[2:]) ** 2)
        mean = g.mean()
        out["normalised_variance"][k] = g.var() / abs(mean) if mean else 0.0
        gx = (
            (g[:-2, 2:] - g[:-2, :-2])
            + 2 * (g[1:-1, 2:] - g[1:-1, :-2])
            + (g[2:, 2:] - g[2:, :-2])
        )
        gy = (
            (g[2:, :-2] - g[:-2, :-2])
            + 2 * (g[2:, 1:-1] - g[:-2, 1:-1])
            + (g[2:, 2:] - g[:-2, 2:])
        )
        out["tenengrad"][k] = np.sum(gx * gx) + np.sum(gy * gy)
        lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
        out["laplacian_variance"][k] = lap.var()
        power = np.abs(np.fft.fft2(g)) ** 2
        radius = np.hypot(np.fft.fftfreq(g.shape[0])[:, None], np.fft.fftfreq(g.shape[1]))
        total = power.sum() - power[0, 0]
        out["spectral"][k] = (radius * power).sum() / total if total > 0 else 0.0
    return out


_NAMES = ("brenner", "normalised_variance", "tenengrad", "laplacian_variance", "spectral")


def speed(shape: tuple[int, int, int]) -> None:
    from napari_nuclei_edges.focus import focus_measures

    rng = np.random.default_rng(0)
    stack = rng.integers(0, 4096, shape, dtype=np.uint16)
    ours = focus_measures(stack)
    reference = numpy_measures(stack)
    for name in _NAMES:
        np.testing.assert_allclose(ours[name], reference[name], rtol=1e-4)
    rows = [
        ("napari_nuclei_edges.focus (torch)", best_of(lambda: focus_measures(stack), 3, 0)),
        ("plain numpy, same five formulas", best_of(lambda: numpy_measures(stack), 3, 0)),
    ]
    size = " × ".join(str(n) for n in shape)
    print_table(f"All five focus measures of a {size} uint16 stack", rows, rows[0][0])


def judge(seeds: int, slices: int, image=None, label: str = "the synthetic sample") -> None:
    from napari_nuclei_edges.focus import focus_measures, judge_curve, synthetic_focus_stack

    print(f"\nJudging the measures on {label}: {slices}-slice stacks, mean over {seeds} seeds")
    print(f"{'noise':>6}  {'measure':<22}{'|picked − true|':>16}{'false maxima':>14}{'width':>8}")
    for noise in NOISE_LEVELS:
        scores = {name: [] for name in _NAMES}
        for seed in range(seeds):
            best = [3, slices // 2, slices - 4][seed % 3]
            stack, true_best = synthetic_focus_stack(
                image, slices=slices, best=best, noise=noise, seed=seed
            )
            for name, values in focus_measures(stack).items():
                scores[name].append(judge_curve(values, true_best))
        for name, rows in scores.items():
            mean = {key: np.mean([row[key] for row in rows]) for key in rows[0]}
            print(
                f"{noise:>6.1f}  {name:<22}{mean['error']:>16.1f}"
                f"{mean['false_maxima']:>14.1f}{mean['width']:>8.1f}"
            )


def real_nuclei(path: str | None):
    """A user's image (``--image``), else a 4 × 5 mosaic of the reference dataset's real
    nuclei (one of each class per row), else None with the reason printed."""
    from napari_nuclei_edges.data import load_dataset, read_image

    if path:
        return read_image(path), path
    try:
        from tests.conftest import REFERENCE_DATA

        stacks = load_dataset(REFERENCE_DATA)
    except (ImportError, FileNotFoundError, OSError, ValueError) as exc:
        print(f"\n(no real image to judge on: {exc}; pass --image PATH)")
        return None, ""
    rows = [np.concatenate([stack[k] for stack in stacks.values()], axis=1) for k in range(4)]
    return np.concatenate(rows, axis=0), "a mosaic of 20 real nuclei (CELL0027)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small stack: check it runs")
    parser.add_argument("--chunks", action="store_true", help="compare chunk sizes")
    parser.add_argument("--image", help="also judge the measures on this 2D image")
    args = parser.parse_args(argv if argv is not None else [])
    limit_threads(2)
    import torch

    torch.set_num_threads(2)
    shape = (8, 256, 256) if args.quick else (64, 1024, 1024)
    speed(shape)
    if args.chunks:
        chunk_sizes(shape)
    seeds = 2 if args.quick else 6
    judge(seeds=seeds, slices=21)
    image, label = real_nuclei(args.image)
    if image is not None:
        judge(seeds=seeds, slices=21, image=image, label=label)


def chunk_sizes(shape: tuple[int, int, int]) -> None:
    """Seconds for all five measures per chunk size (pixels converted and measured at once)."""
    from napari_nuclei_edges.focus import _measures, focus_measures

    stack = np.random.default_rng(0).integers(0, 4096, shape, dtype=np.uint16)
    default = _measures.CHUNK_PIXELS
    print("\nchunk (pixels): ms for all five measures")
    try:
        for power in range(20, 26):
            _measures.CHUNK_PIXELS = 1 << power
            seconds = best_of(lambda: focus_measures(stack), 2, 0)
            mark = "  (default)" if 1 << power == default else ""
            print(f"  2^{power}: {seconds * 1e3:.0f}{mark}")
    finally:
        _measures.CHUNK_PIXELS = default


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
