"""``napari-nuclei-edges batch`` against doing it by hand in memory, and its peak memory.

Throughput on a 32 × 1024 × 1024 uint8 zarr stack, Sobel outputs into a zarr
store, 2 threads, in one run: the batch on dask's local threads and on a local
``dask.distributed`` cluster (2 single-thread workers), against (a) ``sobel`` on
the stack in memory alone and (b) what a user would write without the command:
load the stack, ``sobel`` it, save the four arrays to zarr with the same layout.
The dask overhead is the batch over (b).

Peak memory: the batch thresholds a zarr input of 512 MiB (128 × 2048 × 2048)
in a child process, against a budget of 256 MiB above the same process's
baseline (Python, numpy, torch, zarr imported): the input is twice the budget.

Scaling: the batch's Sobel of 100, 200, 400 and 800 images of 256 × 256 uint8
from a compressed ``.npz`` of 5 class stacks, a zarr array and a folder of PNG
files, each into a new store: the time should double with the images (linear
in the input), whatever the input's kind. Only ``run_batch(INPUT, OUT,
progress=False)`` is called, so the same script times an earlier version too.

    python -m benchmarks.bench_batch              # everything
    python -m benchmarks.bench_batch --scaling    # the scaling table only
    python -m benchmarks.bench_batch --scaling --quick   # 25/50/100 images: a check
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._timing import limit_threads

BUDGET = 256 << 20


def _by_hand(source: str, out: str) -> None:
    import numpy as np
    import zarr

    from napari_nuclei_edges.gradients import sobel

    stack = np.asarray(zarr.open_array(source, mode="r"))
    result = sobel(stack)
    group = zarr.open_group(out, mode="w")
    for name, values in zip(("gx", "gy", "magnitude", "direction"), result, strict=True):
        array = group.create_array(name, shape=values.shape, chunks=(1, *values.shape[1:]),
                                   dtype="float32", compressors=None)  # fmt: skip
        array[:] = values


def _timed(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def _peak_rss_child(code: str) -> int:
    """Peak resident memory, in bytes, of a new Python process running ``code``.

    VmHWM of /proc/self/status: ``ru_maxrss`` would carry the parent's peak over fork.
    """
    report = (
        "; print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
    )
    done = subprocess.run([sys.executable, "-c", code + report], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout.split()[-1]) * 1024


def _scaling_inputs(folder: Path, count: int, size: int) -> dict[str, Path]:
    """The same ``count`` synthetic images as an .npz of 5 stacks, a zarr array, a PNG folder."""
    import numpy as np
    import zarr
    from imageio import v3 as iio

    # the synthetic look-alike: nuclei on a background compress like
    # real images (random pixels would not, and would hide the cost of inflating)
    from napari_nuclei_edges.synthetic import synthetic_nuclei

    images = np.concatenate(list(synthetic_nuclei(count // 5, size=size, seed=count).values()))
    npz = folder / f"in{count}.npz"
    np.savez_compressed(npz, **{f"class{c}": part for c, part in
                                enumerate(np.array_split(images, 5))})  # fmt: skip
    array = zarr.create_array(str(folder / f"in{count}.zarr"), shape=images.shape,
                              chunks=(1, size, size), dtype="uint8")  # fmt: skip
    array[:] = images
    pngs = folder / f"in{count}"
    pngs.mkdir()
    for i, image in enumerate(images):
        iio.imwrite(pngs / f"{i:04d}.png", image)
    return {".npz (compressed, 5 stacks)": npz, "zarr": folder / f"in{count}.zarr",
            "folder of PNG files": pngs}  # fmt: skip


def scaling(counts=(100, 200, 400, 800), size: int = 256) -> None:
    """Seconds of ``run_batch`` (Sobel) against the number of images, per input kind."""
    import torch

    from napari_nuclei_edges.batch import run_batch

    torch.set_num_threads(2)
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-scaling-"))
    try:
        rows = {}
        (folder / "warm").mkdir()
        for i, source in enumerate(_scaling_inputs(folder / "warm", 8, size).values()):
            run_batch(source, folder / f"warm{i}.zarr", progress=False)  # imports, off the clock
        for count in counts:
            for kind, source in _scaling_inputs(folder, count, size).items():
                out = folder / f"out-{count}-{len(rows)}.zarr"
                rows.setdefault(kind, []).append(_timed(run_batch, source, out, progress=False))
                shutil.rmtree(out, ignore_errors=True)
        print(f"\nBatch Sobel of N images of {size} × {size} uint8 into a new zarr store, "
              "2 threads (seconds; ms per image)")  # fmt: skip
        print(f"{'input':<30}" + "".join(f"{f'N = {n}':>18}" for n in counts)
              + f"{'last / first':>14}")  # fmt: skip
        for kind, seconds in rows.items():
            cells = "".join(f"{f'{t:.2f} s ({t / n * 1e3:.1f} ms)':>18}"
                            for t, n in zip(seconds, counts, strict=True))  # fmt: skip
            print(f"{kind:<30}{cells}{seconds[-1] / seconds[0]:>14.1f}")
        print(f"(linear: last / first = {counts[-1] / counts[0]:g})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    limit_threads()
    if "--scaling" in sys.argv:
        scaling((25, 50, 100) if "--quick" in sys.argv else (100, 200, 400, 800))
        return
    import numpy as np
    import torch
    import zarr

    from napari_nuclei_edges.batch import run_batch
    from napari_nuclei_edges.gradients import sobel

    torch.set_num_threads(2)
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        stack = np.random.default_rng(0).integers(0, 255, (32, 1024, 1024), dtype=np.uint8)
        source = str(folder / "in.zarr")
        zarr.create_array(source, shape=stack.shape, chunks=(1, 1024, 1024), dtype="uint8")[:] = (
            stack
        )
        sobel(stack)
        rows = {
            "sobel in memory (no store)": min(_timed(sobel, stack) for _ in range(3)),
            "by hand: load, sobel, save to zarr": min(
                _timed(_by_hand, source, str(folder / f"hand{i}.zarr")) for i in range(3)
            ),
            "batch, dask local threads": min(
                _timed(run_batch, source, folder / f"batch{i}.zarr", progress=False)
                for i in range(3)
            ),
        }
        try:
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                              dashboard_address=None) as cluster:  # fmt: skip
                address = cluster.scheduler_address
                run_batch(source, folder / "warm.zarr", scheduler=address, progress=False)
                rows["batch, dask.distributed (2 workers)"] = min(
                    _timed(
                        run_batch,
                        source,
                        folder / f"dist{i}.zarr",
                        scheduler=address,
                        progress=False,
                    )
                    for i in range(2)
                )
        except ImportError:
            pass
        hand = rows["by hand: load, sobel, save to zarr"]
        print("\nBatch Sobel of 32 × 1024 × 1024 uint8 (zarr in, zarr out), 2 threads")
        print(f"{'method':<40}{'seconds':>10}{'Mpx/s':>9}{'vs by hand':>12}")
        for label, seconds in rows.items():
            print(f"{label:<40}{seconds:>10.3f}{stack.size / seconds / 1e6:>9.0f}"
                  f"{seconds / hand:>12.2f}")  # fmt: skip

        big = str(folder / "big.zarr")
        array = zarr.create_array(big, shape=(128, 2048, 2048), chunks=(1, 2048, 2048),
                                  dtype="uint8")  # fmt: skip
        rng = np.random.default_rng(1)
        for i in range(0, 128, 16):
            array[i : i + 16] = rng.integers(0, 255, (16, 2048, 2048), dtype=np.uint8)
        del stack
        imports = "import numpy, torch, zarr, dask.array; import napari_nuclei_edges.batch"
        baseline = _peak_rss_child(imports)
        code = (
            f"{imports}; from napari_nuclei_edges.batch import run_batch; "
            f"run_batch({big!r}, {str(folder / 'big-out.zarr')!r}, steps=['threshold'], "
            "threshold=127, progress=False)"
        )
        peak = _peak_rss_child(code)
        print(f"\nPeak memory, thresholding a 512 MiB zarr input (budget {BUDGET >> 20} MiB "
              f"above a {baseline / 2**20:.0f} MiB baseline): peak {peak / 2**20:.0f} MiB, "
              f"{(peak - baseline) / 2**20:.0f} MiB above the baseline")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    scaling()


if __name__ == "__main__":
    main()
