"""Learning Sobel Gx from a random start: ``fit_kernel`` against the course notebook's loop.

All 250 reference images (the synthetic set when the reference file is absent),
CPU, 2 threads, in one run. Time is measured from the call to the first step
whose kernel is within 1e-3 (max-abs) of Sobel Gx, setup included. Both sides
get torch's one-off import of ``torch._dynamo`` (about 1.3 s, paid by the first
optimiser a process builds) before the clock starts; the cold first run of a new
process is printed separately.

Also the course's two target conventions: targets of the input's size
(``padding="same"``, as the notebook makes them) and of the valid size
(``(H − 2) × (W − 2)``, the assignment's valid cross-correlation), each learned by
``least_squares_kernel`` and ``fit_kernel`` (dock defaults) → max-abs error to
Sobel Gx and seconds (median of several runs).

``python -m benchmarks.bench_training`` prints everything;
``python -m benchmarks.bench_training conventions`` only the conventions table.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks._timing import limit_threads

TARGET = 1e-3


def _images():
    import numpy as np

    try:
        from tests.conftest import REFERENCE_DATA

        from napari_nuclei_edges.data import load_dataset

        return np.concatenate(list(load_dataset(REFERENCE_DATA).values())), "reference"
    except (ImportError, FileNotFoundError):
        from napari_nuclei_edges.data import synthetic_nuclei

        return np.concatenate(list(synthetic_nuclei().values())), "synthetic"


def ours(images, **options) -> tuple[int | None, float, float]:
    """(steps to TARGET, seconds to TARGET, iterations per second) of ``fit_kernel``."""
    from napari_nuclei_edges.training import fit_kernel

    start = time.perf_counter()
    for step in fit_kernel(images, "gx", **options):
        if step.error["max_abs"] < TARGET:
            seconds = time.perf_counter() - start
            return step.step, seconds, step.step / seconds
    return None, time.perf_counter() - start, step.step / (time.perf_counter() - start)


def notebook(images, max_steps: int, max_seconds: float) -> tuple[int | None, float, float]:
    """The course's loop: Conv2d(1, 1, 3) on [0, 1] images, MSE, Adam lr 1e-2, full batch."""
    import numpy as np
    import torch

    from napari_nuclei_edges.gradients import SOBEL_X

    start = time.perf_counter()
    x = torch.from_numpy(images.astype(np.float32) / 255)[:, None]
    # the valid region of the Sobel response, where the kernel sees no padding
    y = torch.nn.functional.conv2d(x, SOBEL_X[None, None])
    model = torch.nn.Conv2d(1, 1, 3, bias=False)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(1, max_steps + 1):
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimiser.step()
        error = (model.weight.detach()[0, 0] - SOBEL_X).abs().max().item()
        elapsed = time.perf_counter() - start
        if error < TARGET:
            return step, elapsed, step / elapsed
        if elapsed > max_seconds:
            break
    return None, elapsed, step / elapsed


def conventions(images, which: str, repeat: int = 5) -> None:
    """Print the table: target convention × (least_squares_kernel, fit_kernel)."""
    import numpy as np

    from napari_nuclei_edges.gradients import SOBEL_X, sobel
    from napari_nuclei_edges.training import fit_kernel, kernel_error, least_squares_kernel

    reference = SOBEL_X.numpy()[None, None]
    x = images.astype(np.float32)
    cases = {
        "same: input's size, padding='same' (notebook)": sobel(x, padding="reflect").gx,
        "valid: (H-2) × (W-2), valid ⋆ (assignment)": sobel(x, padding="valid").gx,
    }

    def closed(targets):
        return least_squares_kernel(images, targets)

    def trained(targets):
        *_, final = fit_kernel(images, targets)
        assert final.status == "converged", final.status
        return final.weight

    print(
        f"\nTarget conventions on {len(images)} {which} images: max-abs error to Sobel Gx "
        f"and seconds (median of {repeat} runs, 2 threads)"
    )
    print(f"{'targets':<48}{'targets shape':>16}{'function':>24}{'max-abs':>11}{'seconds':>10}")
    for label, targets in cases.items():
        for name, function in (("least_squares_kernel", closed), ("fit_kernel", trained)):
            times, weight = [], None
            for _ in range(repeat):
                start = time.perf_counter()
                weight = function(targets)
                times.append(time.perf_counter() - start)
            error = kernel_error(weight, reference)["max_abs"]
            shape = " × ".join(map(str, targets.shape))
            print(
                f"{label:<48}{shape:>16}{name:>24}{error:>11.1e}{statistics.median(times):>10.3f}"
            )


def main(argv: list[str] | None = None) -> None:
    limit_threads()
    import torch

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["conventions"]:
        torch.set_num_threads(2)
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # torch's one-off dynamo import
        conventions(*_images())
        return

    torch.set_num_threads(2)
    code = (
        "import time, numpy as np, torch; torch.set_num_threads(2); "
        "from benchmarks.bench_training import _images, ours; "
        "images, _ = _images(); t = time.perf_counter(); "
        "print(ours(images)[1])"
    )
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # torch's one-off dynamo import
    images, which = _images()
    from napari_nuclei_edges.training import least_squares_kernel

    start = time.perf_counter()
    least_squares_kernel(images, "gx")
    closed = time.perf_counter() - start

    rows = []
    for label, options in [
        ("fit_kernel, dock defaults (Adam 0.1, standardise)", {}),
        ("fit_kernel, LBFGS", {"optimiser": "lbfgs"}),
        (
            "fit_kernel, Adam 1e-2 on [0, 1] like the notebook",
            {"normalisation": "scale", "learning_rate": 1e-2, "steps": 5000},
        ),
    ]:
        runs = [ours(images, **options) for _ in range(5)]
        steps = runs[0][0]
        rows.append(
            (
                label,
                steps,
                statistics.median(r[1] for r in runs),
                statistics.median(r[2] for r in runs),
            )
        )
    engine = ours(images, engine="conv", steps=400)
    rows.append(("fit_kernel, dock defaults, engine='conv'", *engine))
    rows.append(("notebook loop: Conv2d, Adam 1e-2, [0, 1]", *notebook(images, 5000, 400.0)))

    print(
        f"\nLearning Sobel Gx from a random start on {len(images)} {which} images, "
        f"to max-abs error < {TARGET:g} (2 threads)"
    )
    print(f"{'method':<52}{'steps':>7}{'seconds':>10}{'it/s':>10}{'notebook ×':>12}")
    notebook_seconds = rows[-1][2]
    for label, steps, seconds, rate in rows:
        shown = "not reached" if steps is None else str(steps)
        print(
            f"{label:<52}{shown:>7}{seconds:>10.3f}{rate:>10.0f}"
            f"{notebook_seconds / seconds:>12.1f}"
        )
    print(f"least_squares_kernel (closed form, float64): {closed:.3f} s")
    print(
        f"cold first run in a new process (dynamo import included): {cold.stdout.strip()} s"
        f"{cold.stderr[-300:] if cold.returncode else ''}"
    )
    conventions(images, which)


if __name__ == "__main__":
    main()
