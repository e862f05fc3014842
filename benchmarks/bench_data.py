"""Loading a class-folder dataset: ``load_dataset`` against scikit-image's ImageCollection.

A user without the plugin would read each class folder with
``skimage.io.ImageCollection(...).concatenate()``. Both read the same PNG files
written from the synthetic sample (250 images of 80 × 80).

Then ``load_dataset`` against the number of images (100, 200, 400, 800 of
256 × 256, 5 classes) from a compressed ``.npz`` and from class folders of PNG
files, and how long the loader, the reader and the batch command take to
refuse a 2 MiB ``.npz`` that declares 2 GiB of zeros (a zip bomb).

    python -m benchmarks.bench_data            # everything
    python -m benchmarks.bench_data --quick    # 25/50/100 images, a 256 MiB bomb: a check
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks._timing import best_of, limit_threads, print_table


def main() -> None:
    limit_threads()
    import numpy as np
    from imageio import v3 as iio
    from skimage.io import ImageCollection

    from napari_nuclei_edges.data import load_dataset, synthetic_nuclei

    images = best_of(lambda: synthetic_nuclei(), repeat=3)
    print(f"\nsynthetic_nuclei(): {images * 1e3:.1f} ms for 250 images of 80 × 80 with masks off")

    stacks = synthetic_nuclei()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, stack in stacks.items():
            (root / name).mkdir()
            for i, image in enumerate(stack):
                iio.imwrite(root / name / f"{i:03d}.png", image)

        def ours():
            return load_dataset(root)

        def skimage_collections():
            return {
                name: ImageCollection(
                    str(root / name / "*.png"), load_func=iio.imread
                ).concatenate()
                for name in stacks
            }

        loaded, reference = ours(), skimage_collections()
        assert all(np.array_equal(loaded[n], reference[n]) for n in stacks)
        print_table(
            "Load 250 PNGs in 5 class folders",
            [
                ("load_dataset (napari-nuclei-edges)", best_of(ours, repeat=3)),
                ("skimage.io.ImageCollection.concatenate", best_of(skimage_collections, repeat=3)),
            ],
            reference="load_dataset (napari-nuclei-edges)",
        )
    quick = "--quick" in sys.argv
    loading_scaling((25, 50, 100) if quick else (100, 200, 400, 800))
    zip_bomb(256 << 20 if quick else 2 << 30)


def loading_scaling(counts=(100, 200, 400, 800), size: int = 256) -> None:
    """Seconds of ``load_dataset`` against the number of images, .npz and class folders."""
    import time

    import numpy as np
    from imageio import v3 as iio

    from napari_nuclei_edges.data import load_dataset
    from napari_nuclei_edges.synthetic import synthetic_nuclei

    rows = {".npz (compressed, 5 stacks)": [], "class folders of PNG files": []}
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            images = np.concatenate(
                list(synthetic_nuclei(count // 5, size=size, seed=count).values())
            )
            classes = {f"class{c}": part for c, part in enumerate(np.array_split(images, 5))}
            npz = Path(tmp, f"set{count}.npz")
            np.savez_compressed(npz, **classes)
            folder = Path(tmp, f"set{count}")
            for name, part in classes.items():
                (folder / name).mkdir(parents=True)
                for i, image in enumerate(part):
                    iio.imwrite(folder / name / f"{i:04d}.png", image)
            for label, path in zip(rows, (npz, folder), strict=True):
                start = time.perf_counter()
                load_dataset(path)
                rows[label].append(time.perf_counter() - start)
    print(f"\nload_dataset of N images of {size} × {size} uint8 in 5 classes (seconds)")
    print(
        f"{'input':<30}" + "".join(f"{f'N = {n}':>12}" for n in counts) + f"{'last / first':>14}"
    )
    for label, seconds in rows.items():
        cells = "".join(f"{t:>12.3f}" for t in seconds)
        print(f"{label:<30}{cells}{seconds[-1] / seconds[0]:>14.1f}")
    print(f"(linear: last / first = {counts[-1] / counts[0]:g})")


def zip_bomb(declared: int = 2 << 30) -> None:
    """How long each door takes to refuse an .npz declaring ``declared`` bytes of zeros."""
    import contextlib
    import io
    import time
    import zipfile

    from numpy.lib import format as npy

    from napari_nuclei_edges._cli import main as command
    from napari_nuclei_edges._plugin.reader import get_reader
    from napari_nuclei_edges.data import load_dataset

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "bomb.npz")
        header = {"descr": "|u1", "fortran_order": False, "shape": (declared >> 16, 256, 256)}
        with (
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
            archive.open("metaphase.npy", "w", force_zip64=True) as file,
        ):
            npy.write_array_header_1_0(file, header)
            block = bytes(64 << 20)
            for _ in range(declared // len(block)):
                file.write(block)
        print(f"\nA {path.stat().st_size / 2**20:.1f} MiB .npz declaring "
              f"{declared / 2**30:g} GiB of zeros: time to refuse it")  # fmt: skip
        doors = {
            "load_dataset": lambda: load_dataset(path),
            "the reader (get_reader + read)": lambda: get_reader(str(path))(str(path)),
            "napari-nuclei-edges batch": lambda: command(
                ["batch", str(path), "--out", str(Path(tmp, "o.zarr")), "--quiet"]
            ),
        }
        for label, door in doors.items():
            said = io.StringIO()
            start = time.perf_counter()
            try:
                with contextlib.redirect_stderr(said):
                    outcome = f"exit {door()}"
            except ValueError as exc:
                outcome = "ValueError"
                said.write(str(exc))
            seconds = time.perf_counter() - start
            print(f"  {label:<34}{seconds * 1e3:>9.1f} ms  {outcome}: {said.getvalue().strip()}")


if __name__ == "__main__":
    main()
