"""Stage classification on the reference data: cross-validation, measurement, prediction.

Prints:

1. 5-fold stratified cross-validation of each model (mean ± std accuracy, macro F1,
   seconds per fold) and the confusion matrix of the dock's default model;
2. the time to measure the 250 reference images;
3. prediction speed (images/s) on a lazy dask stack of 80 × 80 images, block by block.

Run ``python -m benchmarks.bench_classify`` (full: 100,000 images to predict) or
``--quick`` (2 folds, few epochs, 2,000 images) to check it runs. 2 threads, CPU.
``--predict-only`` skips the cross-validation (the measurement time and the
prediction speed only; ``--images N`` to predict, ``--models cnn,...`` to choose,
``--profile`` for the functions that take the time). The synthetic set stands in
when the reference file is absent (stated).
"""

from __future__ import annotations

import argparse
import time

from benchmarks._timing import limit_threads

#: (row label, options): the models, and the feature model without its hidden layer
#: (logistic regression on the same measurements).
MODELS = (
    ("features", {"model": "features"}),
    ("features, linear", {"model": "features", "hidden": 0}),
    ("cnn", {"model": "cnn"}),
    ("cnn+features", {"model": "cnn+features"}),
)


def _data():
    try:
        from tests.conftest import REFERENCE_DATA

        from napari_nuclei_edges.data import load_dataset

        return load_dataset(REFERENCE_DATA), "reference"
    except (ImportError, FileNotFoundError):
        from napari_nuclei_edges.data import synthetic_nuclei

        return synthetic_nuclei(), "synthetic (reference file absent)"


def cross_validation_table(data, folds: int, extra: dict) -> dict:
    from napari_nuclei_edges.classification import ClassifierOptions, cross_validate

    default = ClassifierOptions().model
    results = {}
    print(f"\n{folds}-fold stratified cross-validation (dock default: {default})")
    print(f"{'model':<18}{'accuracy':>16}{'macro F1':>16}{'s/fold':>10}")
    for name, options in MODELS:
        cv = cross_validate(data, folds=folds, **options, **extra)
        results[name] = cv
        f1 = cv.macro_f1
        print(f"{name:<18}{cv.mean_accuracy:>9.3f} ± {cv.std_accuracy:.3f}"
              f"{f1.mean():>9.3f} ± {f1.std():.3f}{cv.seconds_per_fold:>10.2f}")  # fmt: skip
    cv = results[default]
    names = cv.class_names
    print(f"\nConfusion matrix of '{default}' (rows: true class, columns: predicted), summed "
          "over the folds")  # fmt: skip
    print(" " * 14 + "".join(f"{n[:12]:>13}" for n in names))
    for name, row in zip(names, cv.confusion, strict=True):
        print(f"{name[:13]:<14}" + "".join(f"{v:>13d}" for v in row))
    return results


def measure_time(data) -> float:
    import numpy as np

    from napari_nuclei_edges.classification import measure

    stack = np.concatenate(list(data.values()))
    measure(stack[:10])  # warm-up: imports
    start = time.perf_counter()
    measure(stack)
    seconds = time.perf_counter() - start
    print(f"\nmeasure: {len(stack)} images in {seconds:.3f} s")
    return seconds


def predict_speed(
    data, n_images: int, block: int, models=None, profile: bool = False, batch=None
) -> None:
    import resource

    import dask.array as da
    import numpy as np

    from napari_nuclei_edges.classification import fit_classifier, iter_predict

    stack = np.concatenate(list(data.values()))
    # a lazy stack: each block is made on demand from the reference images
    lazy = da.from_array(stack, chunks=(block, *stack.shape[1:]))
    repeats = -(-n_images // len(stack))
    lazy = da.concatenate([lazy] * repeats)[:n_images].rechunk((block, *stack.shape[1:]))
    print(f"\npredict on a lazy stack of {n_images:,} {stack.shape[1]} × {stack.shape[2]} "
          f"images, blocks of {block} (required: >= 2,000 images/s)")  # fmt: skip
    for name in models or ("features", "cnn", "cnn+features"):
        *_, last = fit_classifier(data, model=name, epochs=2)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        done = 0
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        for part in iter_predict(last.model, lazy, block_size=block, batch_size=batch):
            done = part.stop
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{name:<16}{done / seconds:>10,.0f} images/s  ({seconds:.1f} s; peak memory "
              f"{peak:,.0f} MB, +{peak - before:,.0f} MB during the run)")  # fmt: skip
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run to check it works")
    parser.add_argument(
        "--predict-only", action="store_true", help="measurement time and prediction speed only"
    )
    parser.add_argument("--images", type=int, default=None, help="images to predict")
    parser.add_argument("--block", type=int, default=2048, help="images per block")
    parser.add_argument("--models", default=None, help="comma-separated models to predict with")
    parser.add_argument("--profile", action="store_true", help="cProfile each prediction run")
    parser.add_argument(
        "--cnn-batch", type=int, default=None, help="images per CNN pass (default 128)"
    )
    args = parser.parse_args(argv if argv is not None else [])
    limit_threads(2)
    import torch

    torch.set_num_threads(2)
    data, source = _data()
    print(f"Stage classification benchmark on the {source} data, torch threads: 2")
    n_images = args.images or (2_000 if args.quick else 100_000)
    models = args.models.split(",") if args.models else None
    if not args.predict_only:
        if args.quick:
            cross_validation_table(data, folds=2, extra={"epochs": 3})
        else:
            cross_validation_table(data, folds=5, extra={})
    measure_time(data)
    predict_speed(data, n_images, args.block, models, args.profile, args.cnn_batch)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
