"""Does every model learn at its default learning rate? One run per model and optimiser.

Trains on the metaphase images of the synthetic sample and tests on the other four
classes, with each optimiser at its default rate for the model
(``MODEL_LEARNING_RATES``): the linear kernel on Sobel Gx (its distance to Sobel),
the gradient pair and the small cnn on the magnitude (the held-out magnitude error).
One thread, as a laptop's training worker beside napari gets about one core::

    python -m benchmarks.bench_learning_rates [images per class, default 6]
"""

from __future__ import annotations

import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> None:
    import torch

    from napari_nuclei_edges.data import synthetic_nuclei
    from napari_nuclei_edges.training import (
        MODEL_LEARNING_RATES,
        OPTIMISERS,
        TrainingDiverged,
        fit_kernel,
    )

    torch.set_num_threads(1)
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 6
    classes = synthetic_nuclei(n_per_class=n)
    train = classes["metaphase"]
    others = np.concatenate([v for k, v in classes.items() if k != "metaphase"])
    print("| model | optimiser | rate | ended | step | result | seconds |")
    print("|---|---|---|---|---|---|---|")
    runs = [(m, o, None) for m in MODEL_LEARNING_RATES for o in OPTIMISERS]
    runs.append(("cnn", "adam", 0.1))  # the linear kernel's Adam rate: the run
    for model, optimiser, rate in runs:
        target = "gx" if model == "linear" else "magnitude"
        began = time.perf_counter()
        try:
            *_, last = fit_kernel(train, target, others, model=model, optimiser=optimiser,
                                  learning_rate=rate, report_interval=0.5)  # fmt: skip
        except TrainingDiverged as exc:
            last = exc.step
        seconds = time.perf_counter() - began
        if model == "linear":
            result = f"max abs to Sobel {last.error['max_abs']:.1e}"
        else:
            result = f"magnitude error {last.magnitude_error:.1%}"
        used = rate or MODEL_LEARNING_RATES[model][optimiser]
        print(f"| {model} | {optimiser} | {used:g} | {last.status} | {last.step} | {result} "
              f"| {seconds:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
