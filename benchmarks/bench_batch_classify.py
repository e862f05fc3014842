"""Images per second of ``batch --steps measure,classify`` on N 80 × 80 images (zarr in).

The command-line steps of issue 17: the measurements of each image's centre
nucleus and a saved model's predictions, written to the zarr store and the CSVs,
for a "features" model and a CNN (trained a few epochs on the synthetic sample:
the speed, not the accuracy, is measured here).

``python -m benchmarks.bench_batch_classify [N]`` (N = 20,000 by default).
"""

from __future__ import annotations

import sys
import tempfile
import time

from benchmarks._timing import limit_threads


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 20_000
    limit_threads()
    import numpy as np
    import zarr

    from napari_nuclei_edges.batch import run_batch
    from napari_nuclei_edges.classification import fit_classifier, save_classifier
    from napari_nuclei_edges.data import synthetic_nuclei

    folder = tempfile.mkdtemp()
    data = synthetic_nuclei(n_per_class=50)
    stack = np.concatenate(list(data.values()))
    array = zarr.create_array(
        f"{folder}/in.zarr", shape=(n, 80, 80), chunks=(256, 80, 80), dtype="uint8"
    )
    for i in range(0, n, len(stack)):
        array[i : i + len(stack)] = stack[: min(len(stack), n - i)]
    print(f"\n{n} images of 80 × 80 (zarr), 2 threads")
    for model in ("features", "cnn"):
        *_, last = fit_classifier(data, model=model, epochs=3)
        path = save_classifier(f"{folder}/{model}", last.model)
        for steps in (("measure",), ("classify",), ("measure", "classify")):
            if model == "cnn" and steps == ("measure",):
                continue  # the same as the features row
            start = time.perf_counter()
            result = run_batch(
                f"{folder}/in.zarr", f"{folder}/{model}-{'-'.join(steps)}.zarr",
                steps=steps, model=path if "classify" in steps else None, progress=False,
            )  # fmt: skip
            seconds = time.perf_counter() - start
            print(
                f"{model:<9}{'+'.join(steps):<18}{result.processed:>7} images "
                f"{seconds:7.2f} s {result.processed / seconds:8.0f} images/s",
                flush=True,
            )


if __name__ == "__main__":
    main()
