"""Sobel Gx, Gy, magnitude and direction: ``sobel`` against OpenCV on many shapes and dtypes.

Every method produces the four float32 outputs as numpy arrays, in one run on 2
threads. OpenCV is ``cv2.Sobel`` ×2 + ``cv2.cartToPolar`` per image into fresh
arrays, what a user would pick for speed. Each row times ours and OpenCV
alternately, ``--repeat`` times (twice: once dropping our results, once keeping
them), and keeps the fastest of each (the machine may be shared: the minimum is
the least disturbed run, and alternating exposes both to the same load). Columns:

- ``ours``: ``sobel(x)`` with the default engine (the fused native kernel of
  ``gradients/_sobel.c`` where it can be built, else torch's operations), its
  result dropped before the next call (as in a loop over files; dropped
  results' memory is recycled, as glibc recycles OpenCV's);
- ``eager``: the same with torch's operations only, the engine of a machine
  where the native kernel cannot be built (no gcc, no AVX2), and ``e-ratio``
  its ratio to OpenCV;
- ``kept``: ``sobel(x)`` while the caller keeps its last three results (fresh
  memory every call: the strictest case, no reuse of anything the caller holds);
- ``ratio``: OpenCV's time / ours (> 1: ours is faster), and the same for ``kept``
  (against OpenCV timed in the kept race);
- ``Mpx/s``: output pixels per second, ours;
- ``of limit``: that speed as a share of the memory-bound limit, the rate at
  which this machine can read the input and write four float32 outputs, each
  once (measured here with torch ``copy_``/``fill_`` on 2 threads).

``python -m benchmarks.bench_sobel`` (the issue's shapes); ``--quick`` for
smaller ones; ``--others`` adds scipy, scikit-image and ``F.conv2d`` on the
reference stack. The native kernel is built or loaded first (see
``gradients/_native.py``); ``Mpx/s`` and ``of limit`` are for ``ours``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from benchmarks._timing import best_of, limit_threads, print_table

FULL = [(1, 4080, 4080), (1, 4096, 4096), (32, 1040, 1040), (32, 1024, 1024), (1, 3000, 5000)]
QUICK = [(1, 2040, 2040), (8, 1040, 1040), (1, 1500, 2500)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller shapes, fewer repeats")
    parser.add_argument("--repeat", type=int, default=None, help="timed calls per method")
    parser.add_argument("--others", action="store_true", help="scipy, skimage, conv2d rows")
    args = parser.parse_args(argv)
    limit_threads()
    import cv2
    import numpy as np
    import torch

    from napari_nuclei_edges.gradients import _native, sobel

    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    repeat = args.repeat or (5 if args.quick else 9)
    start = time.perf_counter()
    native = _native.warm_up(wait=True)
    engine = "native kernel" if native else f"torch operations ({_native.reason()})"
    print(f"engine: {engine} (ready after {time.perf_counter() - start:.2f} s)")
    read_bw, write_bw = _bandwidth(torch)
    print(f"memory: read {read_bw / 1e9:.1f} GB/s, write {write_bw / 1e9:.1f} GB/s (2 threads)")

    rng = np.random.default_rng(0)
    shapes = ["reference"] + (QUICK if args.quick else FULL)
    print(
        f"\n{'workload':<30}{'ours ms':>9}{'kept ms':>9}{'eager ms':>9}{'cv2 ms':>9}"
        f"{'ratio':>7}{'kept':>6}{'e-ratio':>8}{'Mpx/s':>7}{'of limit':>10}"
    )
    for shape in shapes:
        for dtype in (np.uint8, np.float32):
            stack = _reference(np) if shape == "reference" else rng.integers(0, 255, shape)
            stack = stack.astype(dtype)
            ours, kept, eager, theirs, theirs_kept = _race(
                stack, sobel, _opencv(cv2, np), repeat, _native
            )
            pixels = stack.size
            limit = 1 / (stack.itemsize / read_bw + 16 / write_bw)  # pixels per second
            label = f"{' × '.join(map(str, stack.shape))} {np.dtype(dtype).name}"
            print(
                f"{label:<30}{ours * 1e3:>9.1f}{kept * 1e3:>9.1f}{eager * 1e3:>9.1f}"
                f"{theirs * 1e3:>9.1f}{theirs / ours:>7.2f}{theirs_kept / kept:>6.2f}"
                f"{theirs / eager:>8.2f}{pixels / ours / 1e6:>7.0f}"
                f"{pixels / ours / limit:>10.0%}",
                flush=True,
            )
    _first_calls()
    if args.others:
        _other_libraries(np, torch, _reference(np))


def _race(stack, sobel, opencv, repeat: int, native):
    """Fastest of ``repeat`` alternating calls: ours (dropped), ours with torch's
    operations only, OpenCV; then, in a race of their own, ours (kept) and OpenCV.

    Kept results tie up the pool's buffers, so interleaving them with the dropped
    ones would make both pay for fresh memory by turns; each race is one usage.
    """
    default_kernel = native.kernel

    def eager():
        native.kernel = lambda: None
        try:
            sobel(stack)
        finally:
            native.kernel = default_kernel

    held: list = []

    def keep():
        held.append(sobel(stack))
        del held[:-3]

    dropped = _fastest(
        {"ours": lambda: sobel(stack), "eager": eager, "cv2": lambda: opencv(stack)}, repeat
    )
    kept = _fastest({"kept": keep, "cv2": lambda: opencv(stack)}, repeat)
    held.clear()
    return dropped["ours"], kept["kept"], dropped["eager"], dropped["cv2"], kept["cv2"]


def _fastest(calls: dict, repeat: int) -> dict:
    for call in calls.values():
        call()  # warm-up: caches, lazy imports, the first tile buffers
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeat):
        for name, call in calls.items():
            begin = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - begin)
    return best


def _opencv(cv2, np):
    def opencv(stack):
        # the same product as ours: four float32 stacks, filled image by image
        gx, gy, magnitude, angle = (np.empty(stack.shape, np.float32) for _ in range(4))
        for i, image in enumerate(stack):
            image = image.astype(np.float32, copy=False)
            border = cv2.BORDER_REFLECT_101
            cv2.Sobel(image, cv2.CV_32F, 1, 0, dst=gx[i], ksize=3, borderType=border)
            cv2.Sobel(image, cv2.CV_32F, 0, 1, dst=gy[i], ksize=3, borderType=border)
            cv2.cartToPolar(gx[i], gy[i], magnitude=magnitude[i], angle=angle[i])
        return gx, gy, magnitude, angle

    return opencv


def _bandwidth(torch) -> tuple[float, float]:
    """Bytes per second that 2 threads read (a sum) and write (a fill), on 256 MiB."""
    big = torch.ones(1 << 26)
    big.fill_(0.0)  # page it in
    read = best_of(lambda: big.sum(), repeat=5, min_time=0.05)
    write = best_of(lambda: big.fill_(1.0), repeat=5, min_time=0.05)
    return big.nbytes / read, big.nbytes / write


def _reference(np):
    try:
        from tests.conftest import REFERENCE_DATA

        from napari_nuclei_edges.data import load_dataset

        return np.concatenate(list(load_dataset(REFERENCE_DATA).values()))
    except (ImportError, FileNotFoundError, OSError):
        from napari_nuclei_edges.data import synthetic_nuclei

        return np.concatenate(list(synthetic_nuclei().values()))


def _first_calls() -> None:
    """The first call on new shapes in a new process, after ``import torch``: with the
    native kernel in the cache, and with an empty cache (it builds meanwhile)."""
    import os
    import tempfile

    code = (
        "import time, numpy as np, torch\n"
        "from napari_nuclei_edges.gradients import sobel\n"
        "for shape, dtype in (((3, 777, 555), np.uint8), ((1, 2999, 4001), np.float32)):\n"
        "    x = np.zeros(shape, dtype); t = time.perf_counter(); sobel(x)\n"
        "    print(f'{shape} {np.dtype(dtype).name}: {time.perf_counter() - t:.3f} s')\n"
    )
    print("\nfirst call on a new shape in a new process (after import torch):")
    with tempfile.TemporaryDirectory() as empty:
        for label, environment in (
            ("kernel in the cache", os.environ),
            ("empty cache", {**os.environ, "NAPARI_NUCLEI_EDGES_CACHE": empty}),
        ):
            run = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=environment
            )
            lines = (run.stdout.strip() or run.stderr.strip()[-500:]).splitlines()
            print(f"  {label}: " + "; ".join(lines))


def _other_libraries(np, torch, stack) -> None:
    import cv2
    from scipy import ndimage
    from skimage.filters import sobel_h, sobel_v

    from napari_nuclei_edges.gradients import SOBEL_X, SOBEL_Y, sobel

    def scipy_(stack):
        for image in stack.astype(np.float32):
            gx = ndimage.sobel(image, axis=-1, mode="mirror")
            gy = ndimage.sobel(image, axis=-2, mode="mirror")
            np.hypot(gx, gy), np.arctan2(gy, gx)

    def skimage_(stack):
        for image in stack.astype(np.float32):
            gx, gy = sobel_v(image) * 4, sobel_h(image) * 4
            np.hypot(gx, gy), np.arctan2(gy, gx)

    weight = torch.stack([SOBEL_X, SOBEL_Y])[:, None]

    def conv2d(stack):
        x = torch.from_numpy(stack.astype(np.float32))[:, None]
        x = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
        g = torch.nn.functional.conv2d(x, weight)
        gx, gy = g[:, 0], g[:, 1]
        torch.hypot(gx, gy).numpy(), torch.atan2(gy, gx).numpy()

    opencv = _opencv(cv2, np)
    rows = [
        ("sobel (napari-nuclei-edges)", best_of(lambda: sobel(stack), repeat=3)),
        ("cv2.Sobel ×2 + cartToPolar", best_of(lambda: opencv(stack), repeat=3)),
        ("F.conv2d (2, 1, 3, 3) + hypot/atan2", best_of(lambda: conv2d(stack), repeat=3)),
        ("scipy.ndimage.sobel ×2 + numpy", best_of(lambda: scipy_(stack), repeat=3)),
        ("skimage sobel_h/v ×4 + numpy", best_of(lambda: skimage_(stack), repeat=3)),
    ]
    label = " × ".join(map(str, stack.shape))
    print_table(f"Sobel, four outputs: {label}", rows, reference="sobel (napari-nuclei-edges)")


if __name__ == "__main__":
    main()
