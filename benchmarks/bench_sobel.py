"""Sobel Gx, Gy, magnitude and direction: ``sobel`` against OpenCV on many shapes and dtypes.

Every method produces the four float32 outputs as numpy arrays, in one run on 2
threads. OpenCV is ``cv2.Sobel`` ×2 + ``cv2.cartToPolar`` per image into fresh
arrays, what a user would pick for speed. Each row times ours and OpenCV
alternately, ``--repeat`` times (twice: once dropping our results, once keeping
them), and keeps the fastest of each (the machine may be shared: the minimum is
the least disturbed run, and alternating exposes both to the same load). Columns:

- ``ours``: ``sobel(x)``, its result dropped before the next call (as in a loop
  over files; dropped results' memory is recycled, as glibc recycles OpenCV's);
- ``kept``: ``sobel(x)`` while the caller keeps its last three results (fresh
  memory every call: the strictest case, no reuse of anything the caller holds);
- ``ratio``: OpenCV's time / ours (> 1: ours is faster), and the same for ``kept``
  (against OpenCV timed in the kept race);
- ``Mpx/s``: output pixels per second, ours;
- ``of limit``: that speed as a share of the memory-bound limit, the rate at
  which this machine can read the input and write four float32 outputs, each
  once (measured here with torch ``copy_``/``fill_`` on 2 threads);
- ``atan2``: the share of our time that ``torch.atan2`` alone takes on the same
  pixels (the direction; what no rearrangement of the other passes can save).

Then: the first call in a new process; on a CUDA device (where there is one) the
same workloads; last, the same stack as a lazy dask array (one image per chunk),
its four outputs computed together, against the numpy call and against dask's own
cost of making four float32 stacks (last, because once dask's threads have run
torch, libgomp's throttled spinning slows torch in the rest of the process).

``python -m benchmarks.bench_sobel`` (the issue's shapes); ``--quick`` for
smaller ones; ``--tiles`` compares tile sizes; ``--others`` adds scipy,
scikit-image and ``F.conv2d`` on the reference stack.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from benchmarks._timing import best_of, limit_threads, print_table

#: The workloads the engine is held to first (the course's stack, then users' images).
HEADLINE = [("reference", "uint8"), ((1, 4080, 4080), "float32"),
            ((32, 1040, 1040), "uint8"), ((1, 3000, 5000), "float32")]  # fmt: skip
FULL = [(1, 4080, 4080), (1, 4096, 4096), (32, 1040, 1040), (32, 1024, 1024), (1, 3000, 5000)]
QUICK = [(1, 2040, 2040), (8, 1040, 1040), (1, 1500, 2500)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller shapes, fewer repeats")
    parser.add_argument("--repeat", type=int, default=None, help="timed calls per method")
    parser.add_argument("--tiles", action="store_true", help="compare tile sizes")
    parser.add_argument("--others", action="store_true", help="scipy, skimage, conv2d rows")
    args = parser.parse_args(argv)
    limit_threads()
    import cv2
    import numpy as np
    import torch

    from napari_nuclei_edges.gradients import sobel

    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    repeat = args.repeat or (5 if args.quick else 9)
    read_bw, write_bw = _bandwidth(torch)
    capability = torch.backends.cpu.get_cpu_capability()
    threads = torch.get_num_threads()
    print(f"engine: torch {torch.__version__}, CPU {capability}, {threads} threads")
    print(f"memory: read {read_bw / 1e9:.1f} GB/s, write {write_bw / 1e9:.1f} GB/s (2 threads)")
    rng = np.random.default_rng(0)
    if args.quick:
        workloads = [("reference", "uint8")] + [(s, "uint8") for s in QUICK]
    else:
        shapes = ["reference", *FULL]
        rest = [(s, d) for s in shapes for d in ("uint8", "float32") if (s, d) not in HEADLINE]
        workloads = HEADLINE + rest
    print(
        f"\n{'workload':<30}{'ours ms':>9}{'kept ms':>9}{'cv2 ms':>9}"
        f"{'ratio':>7}{'kept':>6}{'Mpx/s':>7}{'of limit':>10}{'atan2':>7}"
    )
    for shape, dtype in workloads:
        stack = _stack(np, rng, shape, dtype)
        ours, kept, theirs, theirs_kept = _race(stack, sobel, _opencv(cv2, np), repeat)
        limit = 1 / (stack.itemsize / read_bw + 16 / write_bw)  # pixels per second
        atan2 = _atan2_share(torch, stack.size, ours)
        print(
            f"{_label(stack):<30}{ours * 1e3:>9.1f}{kept * 1e3:>9.1f}{theirs * 1e3:>9.1f}"
            f"{theirs / ours:>7.2f}{theirs_kept / kept:>6.2f}{stack.size / ours / 1e6:>7.0f}"
            f"{stack.size / ours / limit:>10.0%}{atan2:>7.0%}",
            flush=True,
        )
    _first_calls()
    if args.tiles:
        _tile_sizes(np, sobel, rng)
    if args.others:
        _other_libraries(np, torch, _reference(np))
    if torch.cuda.is_available():
        _cuda(np, torch, sobel, rng, workloads)
    # last: once dask's threads have run torch, torch is slower in this process
    _lazy(np, sobel, _stack(np, rng, QUICK[1] if args.quick else FULL[2], "uint8"))


def _stack(np, rng, shape, dtype):
    stack = _reference(np) if shape == "reference" else rng.integers(0, 255, shape)
    return stack.astype(dtype)


def _label(stack) -> str:
    return f"{' × '.join(map(str, stack.shape))} {stack.dtype.name}"


def _atan2_share(torch, pixels: int, ours: float) -> float:
    """``torch.atan2`` alone on as many pixels, in tiles as ``sobel`` makes them."""
    from napari_nuclei_edges.gradients._tiles import TILE_PIXELS

    size = min(pixels, TILE_PIXELS)
    y, x, out = torch.randn(size), torch.randn(size), torch.empty(size)
    seconds = best_of(lambda: torch.atan2(y, x, out=out), repeat=3, min_time=0.05)
    return seconds * pixels / size / ours


def _race(stack, sobel, opencv, repeat: int):
    """Fastest of ``repeat`` alternating calls: ours (dropped) and OpenCV; then, in a
    race of their own, ours (kept) and OpenCV.

    Kept results tie up the pool's buffers, so interleaving them with the dropped
    ones would make both pay for fresh memory by turns; each race is one usage.
    """
    held: list = []

    def keep():
        held.append(sobel(stack))
        del held[:-3]

    dropped = _fastest({"ours": lambda: sobel(stack), "cv2": lambda: opencv(stack)}, repeat)
    kept = _fastest({"kept": keep, "cv2": lambda: opencv(stack)}, repeat)
    held.clear()
    return dropped["ours"], kept["kept"], dropped["cv2"], kept["cv2"]


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


def _lazy(np, sobel, stack) -> None:
    """The four lazy outputs of a dask stack (one image per chunk) computed together,
    against the numpy call on the same data (each block is convolved once), and what
    dask alone costs to make four float32 stacks of it (its floor)."""
    import dask
    import dask.array as da

    lazy = da.from_array(stack, chunks=(1, *stack.shape[1:]))
    copies = [lazy.astype(np.float32) + i for i in range(4)]
    rows = {"numpy call": lambda: sobel(stack)}
    for scheduler in ("synchronous", "threads"):
        rows[f"lazy, {scheduler}"] = lambda s=scheduler: dask.compute(*sobel(lazy), scheduler=s)
        rows[f"dask floor, {scheduler}"] = lambda s=scheduler: dask.compute(*copies, scheduler=s)
    rows["numpy call, after dask's threads"] = lambda: sobel(stack)
    times = {name: best_of(call, repeat=3, min_time=0.1) for name, call in rows.items()}
    print(f"\nlazy {_label(stack)}, one image per chunk, four outputs computed together")
    print("(dask floor: four float32 copies of the input, no Sobel)")
    for name, seconds in times.items():
        ratio = seconds / times["numpy call"]
        print(f"  {name:<36}{seconds * 1e3:>8.0f} ms{ratio:>7.2f}× the numpy call")


def _first_calls() -> None:
    """The first call on new shapes in a new process, after ``import torch``."""
    code = (
        "import time, numpy as np, torch\n"
        "from napari_nuclei_edges.gradients import sobel\n"
        "for shape, dtype in (((3, 777, 555), np.uint8), ((1, 2999, 4001), np.float32)):\n"
        "    x = np.zeros(shape, dtype); t = time.perf_counter(); sobel(x)\n"
        "    print(f'{shape} {np.dtype(dtype).name}: {time.perf_counter() - t:.3f} s')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = (run.stdout.strip() or run.stderr.strip()[-500:]).splitlines()
    print("first call on a new shape in a new process (after import torch): " + "; ".join(lines))


def _cuda(np, torch, sobel, rng, workloads) -> None:
    """Each workload on the GPU: a tensor already there, and numpy in and out."""
    device = torch.device("cuda")
    print(f"\nCUDA: {torch.cuda.get_device_name(device)}")
    print(f"{'workload':<30}{'on device ms':>14}{'numpy in/out ms':>17}{'Mpx/s':>9}")
    for shape, dtype in workloads:
        stack = _stack(np, rng, shape, dtype)
        tensor = torch.from_numpy(stack).to(device)

        def on_device(tensor=tensor):
            sobel(tensor)
            torch.cuda.synchronize()

        resident = best_of(on_device, repeat=5, min_time=0.05)
        copied = best_of(lambda s=stack: sobel(s, device="cuda"), repeat=3, min_time=0.05)
        print(f"{_label(stack):<30}{resident * 1e3:>14.2f}{copied * 1e3:>17.1f}"
              f"{stack.size / resident / 1e6:>9.0f}")  # fmt: skip


def _tile_sizes(np, sobel, rng) -> None:
    """Fastest call per tile size, on a large image and a stack of medium ones."""
    from napari_nuclei_edges.gradients import _tiles

    default = _tiles.TILE_PIXELS
    stacks = [_stack(np, rng, (1, 4080, 4080), "float32"),
              _stack(np, rng, (32, 1040, 1040), "uint8")]  # fmt: skip
    print("\ntile size (output pixels): ms per call, " + ", ".join(map(_label, stacks)))
    try:
        for power in range(16, 23):
            _tiles.TILE_PIXELS = 1 << power
            times = [_fastest({"ours": lambda s=s: sobel(s)}, 5)["ours"] for s in stacks]
            mark = "  (default)" if 1 << power == default else ""
            print(f"  2^{power}: " + ", ".join(f"{t * 1e3:.1f}" for t in times) + mark)
    finally:
        _tiles.TILE_PIXELS = default


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
