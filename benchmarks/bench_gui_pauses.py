"""Does napari stay live in the launcher's window? The longest event-loop pause, measured.

What a newcomer does after ``napari-nuclei-edges``: the window with the sample and
every dock. A 1 ms QTimer samples the event loop; the longest gap between two
samples is the worst freeze a user could feel.

- **Training**: from *Start* (pressed as a user does, a click on the button, with
  the dock's defaults) to the end of the run, several runs: median and max of
  each run's longest pause. The issue's bar: 50 ms.
- **First Sobel Run**: a fresh window, the *Run* button clicked once: the
  longest pause until its layers are all shown (bar: 100 ms), and how long that
  took.
- **Sobel on a large image** (3000 × 4000 uint16, computed in a worker), three
  runs in one window: the longest pause of each, until its layers are shown.
- **Learn a segmentation**: *Start* on the field sample, 20-s runs: the longest
  pause of each (bar: 50 ms), live segmentations included.
- **Find the focus**: *Measure*, then *Focus map*, on the 21-slice sample and on a
  64 × 1024 × 1024 uint16 stack: the longest pause of each, until its result is
  shown (bar: 50 ms).

Needs a display: ``xvfb-run -a -s "-screen 0 1920x1080x24" python -m benchmarks.bench_gui_pauses``.
Never run it beside other work on a 2-core machine: it measures the event loop.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import tempfile
import time

from benchmarks._timing import limit_threads

RUNS = 5


class PauseMeter:
    """The gaps between 1 ms timer ticks, while it runs."""

    def __init__(self):
        from qtpy.QtCore import QTimer

        self.ticks: list[float] = []
        self._timer = QTimer(interval=1)
        self._timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self._timer.start()

    def stop(self) -> float:
        """The longest pause, in ms."""
        self._timer.stop()
        self.ticks.append(time.perf_counter())
        return 1e3 * max(b - a for a, b in itertools.pairwise(self.ticks))


def _wait(seconds: float, until=None) -> None:
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.perf_counter() + seconds
    poll = QTimer(interval=5)

    def check() -> None:
        if (until is not None and until()) or time.perf_counter() > deadline:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()


def _dock(viewer, name: str):
    from napari_nuclei_edges._cli import PLUGIN_NAME

    dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, name)
    dock.raise_()  # its tab in front, as a click on the tab does
    return widget


def _launch():
    import napari

    from napari_nuclei_edges._cli import launch

    viewer = napari.Viewer(title="napari-nuclei-edges", show=True)
    viewer.window.resize(1920, 1080)
    launch(viewer=viewer, freeze=True)  # as the command line does
    _wait(4.0)  # a user reads the window before pressing anything; warm-ups finish
    return viewer


def training_pauses(runs: int = RUNS) -> list[dict]:
    viewer = _launch()
    widget = _dock(viewer, "Learn a kernel")
    meter, results = PauseMeter(), []
    for _ in range(runs):
        _wait(0.5)
        meter.start()
        start = time.perf_counter()
        widget._start_button.click()
        _wait(120, until=lambda: not widget.is_running)
        seconds = time.perf_counter() - start
        results.append({"pause": meter.stop(), "seconds": seconds,
                        "steps": widget.history[-1].step if widget.history else 0})  # fmt: skip
    viewer.close()
    return results


def first_sobel_run() -> dict:
    viewer = _launch()
    widget = _dock(viewer, "Sobel edges")
    widget.layer_name = "metaphase"
    widget.set_outputs("gx", "gy", "magnitude", "direction")
    names = [f"metaphase_sobel_{what}" for what in ("gx", "gy", "magnitude", "direction")]
    meter = PauseMeter()
    _wait(0.5)
    meter.start()
    start = time.perf_counter()
    widget._run_button.click()
    _wait(30, until=lambda: all(name in viewer.layers for name in names))
    seconds = time.perf_counter() - start
    _wait(0.3)  # the frames that draw them
    pause = meter.stop()
    viewer.close()
    return {"pause": pause, "seconds": seconds}


def large_sobel_runs(runs: int = 3) -> list[dict]:
    """Sobel *Run* on a 3000 × 4000 uint16 layer (a worker), the dock's default outputs,
    repeated in one window: the longest pause of each run, until its layers are shown."""
    import numpy as np

    viewer = _launch()
    widget = _dock(viewer, "Sobel edges")
    image = np.random.default_rng(0).integers(0, 4096, (3000, 4000)).astype(np.uint16)
    viewer.add_image(image, name="large")
    widget.layer_name = "large"
    meter, results = PauseMeter(), []
    for _ in range(runs):
        _wait(0.5)
        meter.start()
        start = time.perf_counter()
        widget._run_button.click()
        _wait(60, until=lambda: not widget.busy)
        seconds = time.perf_counter() - start
        results.append({"pause": meter.stop(), "seconds": seconds})
    viewer.close()
    return results


def focus_runs() -> list[dict]:
    """Measure, then Focus map, on the focus sample and on a 64 × 1024² uint16 stack."""
    import numpy as np

    from napari_nuclei_edges._cli import PLUGIN_NAME

    viewer = _launch()
    viewer.open_sample(PLUGIN_NAME, "synthetic_focus_stack")
    stack = np.random.default_rng(0).integers(0, 4096, (64, 1024, 1024), dtype=np.uint16)
    viewer.add_image(stack, name="large stack")
    widget = _dock(viewer, "Find the focus")
    meter, results = PauseMeter(), []
    for name in ("focus_stack", "large stack"):
        widget.layer_name = name
        measured = lambda: bool(widget.state.values)  # noqa: E731
        mapped = lambda n=name: f"{n}_focus_map" in viewer.layers  # noqa: E731
        for action, done in ((widget.measure, measured), (widget.make_focus_map, mapped)):
            _wait(0.5)
            meter.start()
            start = time.perf_counter()
            action()
            _wait(120, until=lambda d=done: d() and not widget.busy)
            _wait(0.2)  # the frames that draw the result
            results.append({"what": f"{action.__name__}, {name}", "pause": meter.stop(),
                            "seconds": time.perf_counter() - start})  # fmt: skip
    viewer.close()
    return results + _napari_floor(stack)


def segmenter_pauses(runs: int = 3) -> list[dict]:
    """*Learn a segmentation* on the field sample: Start (20 s runs, the dock's network),
    the longest pause of each run until its last live segmentation is shown."""
    import napari

    from napari_nuclei_edges._cli import PLUGIN_NAME

    viewer = napari.Viewer(show=True)
    viewer.window.resize(1920, 1080)
    viewer.open_sample(PLUGIN_NAME, "synthetic_field")
    widget = _dock(viewer, "Learn a segmentation")
    widget.set_options(seconds=20)
    _wait(2.0)
    meter, results = PauseMeter(), []
    for _ in range(runs):
        _wait(0.5)
        meter.start()
        start = time.perf_counter()
        widget.buttons.start_button.click()
        _wait(120, until=lambda: not widget.is_running)
        _wait(1.5)  # the last live segmentation, made in a worker, then shown
        results.append({"pause": meter.stop(), "seconds": time.perf_counter() - start,
                        "epochs": len(widget.state.epochs)})  # fmt: skip
    viewer.close()
    return results


def _napari_floor(stack) -> list[dict]:
    """napari's own pauses, for scale, in a plain window of the same size holding the
    same large stack (no plugin): one slider step (a frame drawn) and inserting a
    16 × 16 image layer."""
    import napari
    import numpy as np

    viewer = napari.Viewer(show=True)
    viewer.window.resize(1920, 1080)
    viewer.add_image(stack, name="large stack")
    _wait(2.0)

    def step() -> None:
        viewer.dims.current_step = (viewer.dims.current_step[0] + 1, 0, 0)

    def insert() -> None:
        viewer.add_image(np.zeros((16, 16), np.int16), contrast_limits=(0, 1))

    meter, results = PauseMeter(), []
    actions = (("napari alone: a slider step", step), ("napari alone: add a 16² layer", insert))
    for what, action in actions:
        _wait(0.5)
        meter.start()
        start = time.perf_counter()
        action()
        _wait(0.3)
        seconds = time.perf_counter() - start
        results.append({"what": what, "pause": meter.stop(), "seconds": seconds})
    viewer.close()
    return results


def main() -> None:
    limit_threads()
    from qtpy.QtCore import QSettings

    # the docks' defaults, not the settings of whoever runs this
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    print("\nLongest event-loop pause in the launcher's window (1 ms timer; bar: training 50 ms,")
    print("first Sobel Run 100 ms)")
    runs = training_pauses()
    pauses = [r["pause"] for r in runs]
    print(f"{'training, dock defaults, ' + str(len(runs)) + ' runs':<44}"
          f"median {statistics.median(pauses):7.1f} ms   max {max(pauses):7.1f} ms   "
          f"({statistics.median(r['seconds'] for r in runs):.2f} s, "
          f"{statistics.median(r['steps'] for r in runs):.0f} steps a run)")  # fmt: skip
    sobel = [first_sobel_run() for _ in range(3)]
    pauses = [r["pause"] for r in sobel]
    print(
        f"{'first Sobel Run (4 layers), 3 fresh windows':<44}"
        f"median {statistics.median(pauses):7.1f} ms   max {max(pauses):7.1f} ms   "
        f"(layers shown after {statistics.median(r['seconds'] for r in sobel):.2f} s)"
    )
    large = large_sobel_runs()
    pauses = [r["pause"] for r in large]
    print(
        f"{'Sobel Run, 3000 × 4000 uint16, 3 runs':<44}"
        f"median {statistics.median(pauses):7.1f} ms   max {max(pauses):7.1f} ms   "
        f"(done after {statistics.median(r['seconds'] for r in large):.2f} s)"
    )
    runs = segmenter_pauses()
    pauses = [r["pause"] for r in runs]
    print(f"{'Learn a segmentation, 20-s runs, field sample':<44}"
          f"median {statistics.median(pauses):7.1f} ms   max {max(pauses):7.1f} ms   "
          f"({statistics.median(r['epochs'] for r in runs):.0f} epochs a run)")  # fmt: skip
    for run in focus_runs():
        print(f"{'Find the focus: ' + run['what']:<44}longest {run['pause']:7.1f} ms   "
              f"(done after {run['seconds']:.2f} s)")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
