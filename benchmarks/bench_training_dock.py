"""The training dock in a real napari viewer: does the GUI stay live while it trains?

A 1 ms QTimer samples the event loop while the dock trains on all the images;
the longest gap between two samples is the worst stall a user could feel.
Also measured: how often the loss plot and kernel view redraw, and the dock's
iterations per second against the same run without a GUI. Needs a display:
``xvfb-run -a python -m benchmarks.bench_training_dock``.

Then the course's magnitude exercise in the dock with its defaults: the gradient
pair learning the Sobel magnitude on metaphase (the five classes as layers),
with and without the held-out test on the other four: seconds from Start to the
first report whose held-out magnitude error is ≤ 1 %, the step, the it/s, and
the ratio of it/s without and with the held-out test, over several runs.
``xvfb-run -a python -m benchmarks.bench_training_dock magnitude [runs]`` prints
only that table.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import time

from benchmarks._timing import limit_threads


def _run_in_dock(viewer, widget, options: dict) -> dict:
    from qtpy.QtCore import QEventLoop, QTimer

    ticks, redraws = [], []
    timer = QTimer(interval=1)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    widget.set_options(**options)
    loop = QEventLoop()
    start = time.perf_counter()
    worker = widget.start()
    worker.yielded.connect(lambda _: redraws.append(time.perf_counter()))
    worker.finished.connect(loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    seconds = time.perf_counter() - start
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    intervals = [b - a for a, b in itertools.pairwise(redraws)]
    last = widget.history[-1]
    return {
        "steps": last.step,
        "seconds": seconds,
        "it/s": last.step / seconds,
        "max stall ms": 1e3 * max(gaps),
        "p99 stall ms": 1e3 * sorted(gaps)[int(0.99 * (len(gaps) - 1))],
        "redraws/s": len(redraws) / seconds,
        "max redraw gap ms": 1e3 * max(intervals) if intervals else float("nan"),
        "status": last.status,
    }


def _headless(images, options: dict) -> float:
    from napari_nuclei_edges.training import fit_kernel

    start = time.perf_counter()
    *_, last = fit_kernel(images, "gx", report_interval=1 / 30, **options)
    return last.step / (time.perf_counter() - start)


def _magnitude_run(viewer, widget, held_out: bool) -> dict:
    """One magnitude run in the dock with its defaults; when it reached ≤ 1 % error."""
    from qtpy.QtCore import QEventLoop

    widget.reset()
    widget.input_name = "metaphase"
    widget.target = "Sobel magnitude"
    widget.set_options(model="gradient_pair", optimiser=None, learning_rate=None)
    widget._held_out_check.setChecked(held_out)
    reached = []
    loop = QEventLoop()
    start = time.perf_counter()
    worker = widget.start()

    def on_step(step) -> None:
        if not reached and step.magnitude_error is not None and step.magnitude_error <= 0.01:
            reached.append((time.perf_counter() - start, step.step))

    worker.yielded.connect(on_step)
    worker.finished.connect(loop.quit)
    loop.exec()
    seconds = time.perf_counter() - start
    last = widget.history[-1]
    return {
        "seconds to 1 %": reached[0][0] if reached else float("nan"),
        "step at 1 %": reached[0][1] if reached else -1,
        "steps": last.step,
        "seconds": seconds,
        "it/s": last.step / seconds,
        "final error": last.magnitude_error or float("nan"),
        "status": last.status,
        "optimiser": widget.options().optimiser,
    }


def magnitude_exercise(viewer, widget, runs: int = 3) -> None:
    """Print the gradient-pair magnitude exercise in the dock, with and without held-out."""
    print(
        f"\nMagnitude exercise in the dock with its defaults (model gradient pair, optimiser "
        f"auto), train on metaphase, {runs} runs each, 2 threads"
    )
    header = ("seconds to 1 %", "step at 1 %", "steps", "seconds", "it/s", "final error")
    print(f"{'held-out test':<16}{'run':>4}" + "".join(f"{h:>16}" for h in header))
    rates = {}
    for held_out in (True, False):
        results = [_magnitude_run(viewer, widget, held_out) for _ in range(runs)]
        rates[held_out] = statistics.median(r["it/s"] for r in results)
        for index, result in enumerate(results):
            cells = "".join(
                f"{result[h]:>16.0f}" if h in ("step at 1 %", "steps")
                else f"{result[h]:>16.2e}" if h == "final error"
                else f"{result[h]:>16.2f}"
                for h in header
            )  # fmt: skip
            label = "on" if held_out else "off"
            print(f"{label:<16}{index + 1:>4}{cells}   {result['status']} ({result['optimiser']})")
    print(
        f"median it/s: {rates[True]:.1f} with the held-out test, {rates[False]:.1f} without: "
        f"{rates[False] / rates[True]:.2f}× (target ≤ 1.5×)"
    )


def _magnitude_viewer():
    import napari
    import numpy as np

    from napari_nuclei_edges._qt.training_widget import KernelTrainingWidget

    try:
        from tests.conftest import REFERENCE_DATA

        from napari_nuclei_edges.data import load_dataset

        classes, which = load_dataset(REFERENCE_DATA), "reference"
    except (ImportError, FileNotFoundError):
        from napari_nuclei_edges.data import synthetic_nuclei

        classes, which = synthetic_nuclei(), "synthetic"
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1500, 1000)
    for name, images in classes.items():
        viewer.add_image(np.asarray(images), name=name)
    widget = KernelTrainingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Learn a kernel")
    print(f"\n({which} images: {', '.join(f'{k} {len(v)}' for k, v in classes.items())})")
    return viewer, widget


def main(argv: list[str] | None = None) -> None:
    import sys

    argv = sys.argv[1:] if argv is None else argv
    limit_threads()
    import napari
    import torch
    from qtpy.QtCore import QSettings

    from benchmarks.bench_training import _images
    from napari_nuclei_edges._qt.training_widget import KernelTrainingWidget

    # the dock's defaults, not the settings of whoever runs this
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    torch.set_num_threads(2)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # torch's one-off dynamo import
    runs = int(argv[1]) if len(argv) > 1 else 3
    if argv[:1] == ["magnitude"]:
        viewer, widget = _magnitude_viewer()
        magnitude_exercise(viewer, widget, runs)
        viewer.close()
        return
    images, which = _images()
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1500, 1000)
    viewer.add_image(images, name=which)
    widget = KernelTrainingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Learn a kernel")
    # a user reads the dock before pressing Start: its warm-up worker finishes meanwhile
    from qtpy.QtCore import QEventLoop, QTimer

    idle = QEventLoop()
    QTimer.singleShot(4000, idle.quit)
    idle.exec()
    cases = {
        "dock defaults (Adam 0.1), to convergence": {},
        "Adam 0.01, 3000 steps": {"learning_rate": 0.01, "steps": 3000},
        "mini-batches of 8, Adam 0.01, 3000 steps": {
            "learning_rate": 0.01, "steps": 3000, "batch_size": 8},
    }  # fmt: skip
    print(f"\nTraining dock on {len(images)} {which} images, Sobel Gx, 2 threads, real viewer")
    header = ("steps", "seconds", "it/s", "headless it/s", "max stall ms", "p99 stall ms",
              "redraws/s", "max redraw gap ms")  # fmt: skip
    print(f"{'run':<44}" + "".join(f"{h:>14}" for h in header))
    for label, options in cases.items():
        result = _run_in_dock(viewer, widget, options)
        result["headless it/s"] = statistics.median(_headless(images, options) for _ in range(3))
        row = "".join(
            f"{result[h]:>14.0f}" if h in ("steps",) else f"{result[h]:>14.1f}" for h in header
        )
        print(f"{label:<44}{row}   {result['status']}")
    viewer.close()
    viewer, widget = _magnitude_viewer()
    magnitude_exercise(viewer, widget, runs)
    viewer.close()


if __name__ == "__main__":
    main()
