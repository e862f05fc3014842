"""A biologist's large field in every dock: napari's longest pause, the time and the memory.

A ``synthetic_field`` of 4096 × 4096 uint16 (7,680 nuclei; ``--size`` for another)
in a plain napari window of 1920 × 1080, with the synthetic sample's five classes
(to train the stage classifier on). Each dock is opened from the Plugins menu
and used as a user does:

- *Histograms and threshold*: the field selected (its histogram), the threshold
  moved five times (the live preview), *Apply* (``segment_nuclei``: touching
  nuclei split) into ``field_labels``;
- *Sobel edges*: *Run* on the field (the dock's default outputs);
- *Classify the stage*: the measurement model trained on the classes, then
  *Predict* on the field (every nucleus segmented, measured, cropped, classified:
  one point per nucleus).

For scale, napari's own pause to add an image and a labels layer of the field's size.

Printed per action: the longest event-loop pause (a 1 ms QTimer), the seconds to
its result, and the process' peak resident memory above what it held before the
action, in units of the field's own size (32 MiB at 4096² uint16). The bar of
issue 29: pauses of at most 100 ms.

Needs a display: ``xvfb-run -a -s "-screen 0 1920x1080x24" python -m
benchmarks.bench_field_docks``. Never beside other work on a 2-core machine.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time

from benchmarks._timing import limit_threads
from benchmarks.bench_gui_pauses import PauseMeter, _dock, _wait


class PeakMemory:
    """The process' resident memory, sampled every 5 ms in a thread: the peak above a start."""

    def __init__(self):
        import psutil

        self._process = psutil.Process()
        self._stop = threading.Event()
        self.start_rss = self.peak = 0

    def __enter__(self):
        self.start_rss = self.peak = self._process.memory_info().rss
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def above(self) -> int:
        return self.peak - self.start_rss


def _measured(what: str, action, done, image_bytes: int, timeout: float = 600) -> dict:
    meter = PauseMeter()
    _wait(0.5)
    with PeakMemory() as memory:
        meter.start()
        start = time.perf_counter()
        action()
        _wait(timeout, until=done)
        seconds = time.perf_counter() - start
        _wait(0.3)  # the frames that draw the result
        pause = meter.stop()
    return {"what": what, "pause": pause, "seconds": seconds,
            "memory": memory.above / image_bytes}  # fmt: skip


def run(size: int) -> list[dict]:
    import napari

    from napari_nuclei_edges._cli import PLUGIN_NAME
    from napari_nuclei_edges.data import synthetic_field

    image, _ = synthetic_field(size=size, n_nuclei=int(120 * (size / 512) ** 2), seed=0)
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1920, 1080)
    viewer.open_sample(PLUGIN_NAME, "synthetic_nuclei")
    viewer.add_image(image, name="field")
    _wait(3.0)
    results = []

    threshold = _dock(viewer, "Histograms and threshold")
    results.append(_measured("Threshold: select the field (its histogram)",
                             lambda: threshold.select_layers(["field"]),
                             lambda: (threshold._histograms is not None
                                      and "field" in threshold._histograms.counts),
                             image.nbytes))  # fmt: skip

    threshold.state.preview = True  # the live preview, as the dock's checkbox turns it on

    def drag() -> None:
        for value in (900, 1000, 1100, 1200, 1300):
            threshold.threshold = value
            _wait(0.2)

    results.append(_measured("Threshold: move it five times (live preview)", drag,
                             lambda: True, image.nbytes))  # fmt: skip
    apply_button = threshold._segmentation_panel.apply_button
    results.append(_measured("Threshold: Apply (segment_nuclei, split)", threshold.apply,
                             lambda: "field_labels" in viewer.layers and apply_button.isEnabled(),
                             image.nbytes))  # fmt: skip

    sobel = _dock(viewer, "Sobel edges")
    sobel.layer_name = "field"
    results.append(_measured("Sobel: Run", sobel._run_button.click,
                             lambda: not sobel.busy, image.nbytes))  # fmt: skip

    classify = _dock(viewer, "Classify the stage")
    classify.set_options(model="features", epochs=30)
    classify.start()
    _wait(120, until=lambda: not classify.is_running)
    classify.image_name = "field"
    results.append(_measured("Classify: Predict (every nucleus)", classify._predict_button.click,
                             lambda: ("field_stage" in viewer.layers
                                      and classify._task_progress.isHidden()),
                             image.nbytes))  # fmt: skip
    for what, add in (
        ("napari alone: add the field as an image", viewer.add_image),
        ("napari alone: add its labels", viewer.add_labels),
    ):  # for scale
        data = image.copy() if "image" in what else viewer.layers["field_labels"].data.copy()
        results.append(_measured(what, lambda a=add, d=data: a(d), lambda: True, image.nbytes))
    viewer.close()
    return results


def main() -> None:
    limit_threads()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()
    from qtpy.QtCore import QSettings

    # the docks' defaults, not the settings of whoever runs this
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    print(f"\nA {args.size} × {args.size} uint16 field in every dock (1 ms timer; bar: 100 ms)\n")
    print("| action | longest pause | done after | peak memory above before |")
    print("|---|---|---|---|")
    for r in run(args.size):
        print(f"| {r['what']} | {r['pause']:.0f} ms | {r['seconds']:.1f} s | "
              f"{r['memory']:.1f} × the image |")  # fmt: skip


if __name__ == "__main__":
    main()
