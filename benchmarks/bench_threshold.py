"""Threshold preview latency in a real napari viewer, and histogram/Otsu speed.

Latency is measured from setting ``w.threshold`` to the frame drawn, as a ratio
to a bare redraw of the same viewer with the same layers in the same run (the
frame is the floor). Needs a display: ``xvfb-run -a python -m benchmarks.bench_threshold``.
"""

from __future__ import annotations

import statistics
import time

from benchmarks._timing import best_of, limit_threads, print_table

ROUNDS = 60


def _frame_time(viewer, trigger) -> float:
    """Seconds from ``trigger()`` to the next frame of the canvas on screen.

    On screen means Qt's ``frameSwapped`` of the canvas's QOpenGLWidget after
    vispy has drawn the scene: the whole frame, composition and swap included.
    """
    from qtpy.QtWidgets import QApplication

    canvas = viewer.window._qt_viewer.canvas._scene_canvas
    drawn, swapped = [], []

    def on_drawn(event):
        drawn.append(time.perf_counter())

    def on_swapped():
        if drawn:
            swapped.append(time.perf_counter())

    canvas.events.draw.connect(on_drawn, position="last")
    canvas.native.frameSwapped.connect(on_swapped)
    start = time.perf_counter()
    trigger()
    deadline = start + 5
    while not swapped and time.perf_counter() < deadline:
        QApplication.processEvents()
    canvas.events.draw.disconnect(on_drawn)
    canvas.native.frameSwapped.disconnect(on_swapped)
    return swapped[0] - start if swapped else float("nan")


def _latency(viewer, widget, values) -> tuple[float, float]:
    from qtpy.QtWidgets import QApplication

    def bare():
        viewer.window._qt_viewer.canvas._scene_canvas.update()

    previews, redraws = [], []
    for value in values:
        previews.append(_frame_time(viewer, lambda v=value: setattr(widget, "threshold", v)))
        redraws.append(_frame_time(viewer, bare))
        QApplication.processEvents()
    return statistics.median(previews), statistics.median(redraws)


def main() -> None:
    limit_threads()
    import napari
    import numpy as np
    from qtpy.QtWidgets import QApplication
    from skimage.filters import threshold_otsu

    from napari_nuclei_edges.data import load_dataset, synthetic_nuclei
    from napari_nuclei_edges.intensity import auto_threshold, class_histograms

    try:
        from tests.conftest import REFERENCE_DATA

        stacks = load_dataset(REFERENCE_DATA)
        source = "reference dataset"
    except (ImportError, FileNotFoundError):
        stacks, source = synthetic_nuclei(), "synthetic sample"

    pooled = np.concatenate(list(stacks.values()))
    histograms = class_histograms(stacks)
    print_table(
        f"Histograms of the whole {source} (250 × 80 × 80 uint8)",
        [
            ("class_histograms (np.bincount)", best_of(lambda: class_histograms(stacks))),
            (
                "np.histogram per class, 256 bins",
                best_of(
                    lambda: [np.histogram(s, bins=256, range=(0, 256)) for s in stacks.values()]
                ),
            ),
        ],
        reference="class_histograms (np.bincount)",
    )
    print_table(
        "Otsu threshold of the pooled dataset",
        [
            ("auto_threshold(histograms) ", best_of(lambda: auto_threshold(histograms, "otsu"))),
            ("skimage threshold_otsu(pixels)", best_of(lambda: threshold_otsu(pooled))),
        ],
        reference="auto_threshold(histograms) ",
    )

    rows = []
    for label, layers in (
        ("five class layers, 50 × 80 × 80 uint8", stacks),
        ("one 4096 × 4096 uint16 image (0..65535)", {
            "big": np.random.default_rng(0).integers(0, 65536, (4096, 4096), dtype=np.uint16)
        }),
    ):  # fmt: skip
        viewer = napari.Viewer(show=True)
        for name, data in layers.items():
            viewer.add_image(data, name=name)
        # from the Plugins menu, as a user opens it (napari hands the dock a proxy viewer)
        _, widget = viewer.window.add_plugin_dock_widget(
            "napari-nuclei-edges", "Histograms and threshold"
        )
        widget.state.preview = True  # the live preview switched on
        widget.method = "manual"
        high = 64000 if "big" in layers else 200
        widget.threshold = high / 2  # creates the preview layers
        for _ in range(50):
            QApplication.processEvents()
        values = np.linspace(high * 0.3, high * 0.7, ROUNDS)
        preview, redraw = _latency(viewer, widget, values)
        rows.append((label, preview, redraw))
        viewer.close()
    print(
        f"\nThreshold preview latency: w.threshold = t → frame on screen (median of {ROUNDS}),"
        "\nagainst a bare redraw of the same viewer; the histogram's line moves in the same frame"
    )
    print(f"{'workload':<44}{'preview ms':>12}{'bare redraw ms':>16}{'ratio':>8}")
    for label, preview, redraw in rows:
        print(f"{label:<44}{preview * 1e3:>12.1f}{redraw * 1e3:>16.1f}{preview / redraw:>8.2f}")


if __name__ == "__main__":
    main()
