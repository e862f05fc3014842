"""Magnitude and direction: which model can learn them, and does it generalise?

Trains on the 50 metaphase images and tests on the other 200 reference images
(the synthetic set when the reference file is absent), CPU, 2 threads. Prints
the training and held-out losses and the relative RMS error of the predicted
magnitude on the held-out classes, per model and target.
"""

from __future__ import annotations

import time

from benchmarks._timing import limit_threads


def main() -> None:
    limit_threads()
    import numpy as np
    import torch

    from napari_nuclei_edges.training import fit_kernel

    torch.set_num_threads(2)
    try:
        from tests.conftest import REFERENCE_DATA

        from napari_nuclei_edges.data import load_dataset

        classes = load_dataset(REFERENCE_DATA)
    except (ImportError, FileNotFoundError):
        from napari_nuclei_edges.data import synthetic_nuclei

        classes = synthetic_nuclei()
    train = classes["metaphase"]
    others = np.concatenate([v for k, v in classes.items() if k != "metaphase"])
    runs = [
        ("linear, LBFGS", "magnitude", {"optimiser": "lbfgs", "steps": 200}),
        ("gradient pair, dock defaults", "magnitude", {"model": "gradient_pair"}),
        *((f"gradient pair, LBFGS, seed {seed}", "magnitude",
           {"model": "gradient_pair", "optimiser": "lbfgs", "steps": 300, "seed": seed})
          for seed in range(4)),
        ("gradient pair, LBFGS", "direction",
         {"model": "gradient_pair", "optimiser": "lbfgs", "steps": 300}),
        ("gradient pair, LBFGS", "polar",
         {"model": "gradient_pair", "optimiser": "lbfgs", "steps": 300}),
        ("cnn 2 layers × 8, Adam 0.01", "magnitude",
         {"model": "cnn", "optimiser": "adam", "learning_rate": 0.01, "steps": 300}),
        ("cnn 3 layers × 8, Adam 0.01", "magnitude",
         {"model": "cnn", "layers": 3, "optimiser": "adam", "learning_rate": 0.01,
          "steps": 300}),
    ]  # fmt: skip
    print(f"\nTrain on {len(train)} metaphase images, test on the other {len(others)} (2 threads)")
    print(f"{'model':<34}{'target':>10}{'steps':>7}{'seconds':>9}{'loss':>11}"
          f"{'held-out':>11}{'magnitude error':>17}  pair")  # fmt: skip
    for label, target, options in runs:
        start = time.perf_counter()
        *_, last = fit_kernel(train, target, held_out=others, report_interval=2.0, **options)
        seconds = time.perf_counter() - start
        error = "—" if last.magnitude_error is None else f"{last.magnitude_error:.1e}"
        pair = ""
        if last.alignment is not None:
            a = last.alignment
            pair = (f"rotated {a['rotation_deg']:.1f}°{' reflected' if a['reflection'] else ''}, "
                    f"scale {a['scale']:.3f}")  # fmt: skip
        print(f"{label:<34}{target:>10}{last.step:>7}{seconds:>9.1f}{last.loss:>11.2e}"
              f"{last.test_loss:>11.2e}{error:>17}  {pair}")  # fmt: skip


if __name__ == "__main__":
    main()
