"""The training dock in a real napari viewer: does the GUI stay live while it trains?

A 1 ms QTimer samples the event loop while the dock trains on all the images;
the longest gap between two samples is the worst stall a user could feel.
Also measured: how often the loss plot and kernel view redraw, and the dock's
iterations per second against the same run without a GUI. Needs a display:
``xvfb-run -a python -m benchmarks.bench_training_dock``.
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


def main() -> None:
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


if __name__ == "__main__":
    main()
