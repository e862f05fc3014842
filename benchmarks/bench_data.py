"""Loading a class-folder dataset: ``load_dataset`` against scikit-image's ImageCollection.

A user without the plugin would read each class folder with
``skimage.io.ImageCollection(...).concatenate()``. Both read the same PNG files
written from the synthetic sample (250 images of 80 × 80).
"""

from __future__ import annotations

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


if __name__ == "__main__":
    main()
