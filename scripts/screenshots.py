"""Take every screenshot in docs/ from the real application.

Run under a display or a virtual one (``make screenshots`` uses ``xvfb-run``)::

    python scripts/screenshots.py [--out docs/images]

Each screenshot is the real napari window as a user sees it after the same
calls the launcher and the widgets make; nothing is drawn by hand.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _shots import _fresh_settings, _front, _settle, _settle_until, _wait

WINDOW_SIZE = (1920, 1080)
LAPTOP_SIZE = (1366, 768)


def _launched(size):
    """What ``napari-nuclei-edges`` opens: the sample and every dock, in a window of ``size``."""
    import napari

    from napari_nuclei_edges._cli import launch

    viewer = napari.Viewer(title="napari-nuclei-edges", show=True)
    viewer.window.resize(*size)
    return launch(viewer=viewer)


def launcher(out: Path) -> Path:
    """The launcher's whole window on a 1080p screen: the sample, the docks tabbed."""
    return _launcher_at(WINDOW_SIZE, out / "launcher.png")


def laptop(out: Path) -> Path:
    """The same window shrunk to a laptop's 1366 × 768: every dock still reachable."""
    return _launcher_at(LAPTOP_SIZE, out / "launcher-1366x768.png")


def _launcher_at(size, path: Path) -> Path:
    viewer = _launched(size)
    viewer.window.resize(*size)  # what a user's window manager does on that screen
    _settle(viewer)
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def threshold(out: Path) -> Path:
    """The threshold dock: Otsu on the class histograms, previews, and scored labels."""
    viewer = _launched(WINDOW_SIZE)
    widget = viewer.window.dock_widgets["Histograms and threshold (napari-nuclei-edges)"]
    widget._preview_check.click()  # as a user switches the live previews on
    widget.method = "otsu"
    worker = widget.apply()
    _wait(worker)
    for layer in viewer.layers:
        # the class, its truth hidden, its live mask over it; labels hidden to keep it readable
        if layer.name.endswith("_labels"):
            layer.visible = False
    _settle(viewer)
    path = out / "threshold.png"
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def _dock_alone(layers: dict, name: str, path: Path, *, truth: bool = False) -> Path:
    """The threshold dock opened from the Plugins menu on ``layers``, at its natural width:
    its whole content (it scrolls in a window), after *Try all methods* and *Apply*."""
    import napari
    from qtpy.QtWidgets import QWidget

    viewer = napari.Viewer(title="napari-nuclei-edges", show=True)
    viewer.window.resize(*WINDOW_SIZE)
    for layer_name, data in layers.items():
        kind = "labels" if layer_name.endswith("_truth") else "image"
        getattr(viewer, f"add_{kind}")(data, name=layer_name, visible=kind == "image")
    _, widget = viewer.window.add_plugin_dock_widget("napari-nuclei-edges", name)
    widget._statistics_section.expand(animate=False)
    widget._preview_check.click()
    widget._try_all_button.click()
    _wait(widget._methods_worker)  # the methods are compared in a worker
    _wait(widget.apply())
    _settle(viewer, 40)
    content = widget.findChild(QWidget, "dock_content")
    content.resize(widget.sizeHint().width(), content.sizeHint().height())
    _settle(viewer)
    content.grab().save(str(path))
    viewer.close()
    return path


def threshold_dock(out: Path) -> Path:
    """The threshold dock on the reference data (the sample when it is absent)."""
    from napari_nuclei_edges.data import load_dataset
    from napari_nuclei_edges.synthetic import synthetic_nuclei

    if REFERENCE_DATA.is_file():
        layers = load_dataset(REFERENCE_DATA)
    else:
        images, truths = synthetic_nuclei(masks="labels")  # one id per nucleus, as the sample
        layers = {**images, **{f"{n}_truth": t.astype("uint8") for n, t in truths.items()}}
    return _dock_alone(layers, "Histograms and threshold", out / "threshold-dock.png")


def threshold_16bit(out: Path) -> Path:
    """The threshold dock on 12-bit nuclei in uint16 with their truth: exact counts,
    every method and its Dice side by side."""
    import numpy as np

    from napari_nuclei_edges.synthetic import synthetic_nuclei

    images, truths = synthetic_nuclei(n_per_class=10, masks="labels")
    rng = np.random.default_rng(0)
    layers = {}
    for name in ("interphase", "metaphase", "apoptosis"):
        # a 12-bit camera: offset, gain, shot noise, values 0..4095 in uint16
        signal = 100 + images[name].astype(float) * 14
        layers[name] = np.clip(rng.poisson(signal), 0, 4095).astype(np.uint16)
        layers[f"{name}_truth"] = truths[name].astype(np.uint8)  # one id per nucleus
    return _dock_alone(layers, "Histograms and threshold", out / "threshold-16bit.png")


#: The course's reference dataset beside the checkout, for the shots that show real data.
REFERENCE_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cell0027_nuclei.npz"


def edges(out: Path) -> Path:
    """The Sobel dock on the reference metaphase images (the sample when they are absent):
    Gx, Gy, magnitude, the direction as a colour picture, and the arrows."""
    import napari

    from napari_nuclei_edges._cli import launch

    viewer = napari.Viewer(title="napari-nuclei-edges", show=True)
    viewer.window.resize(*WINDOW_SIZE)
    launch(REFERENCE_DATA if REFERENCE_DATA.is_file() else None, viewer=viewer)
    widget = viewer.window.dock_widgets["Sobel edges (napari-nuclei-edges)"]
    _front(widget)
    viewer.dims.set_point(0, 7)  # the plane shown, whose contrast the outputs take
    widget.layer_name = "metaphase"
    widget.set_outputs("gx", "gy", "magnitude", "rgb", "vectors")
    widget._kernels_check.setChecked(True)
    widget.run()
    _settle_until(lambda: not widget.busy)  # the layers appear one per frame
    # the launcher's view: each class in a column, metaphase's outputs beneath it
    _settle(viewer)
    path = out / "edges.png"
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def focus(out: Path) -> Path:
    """The focus dock on the synthetic focus stack: the five curves, the sharpest slice."""
    import napari

    from napari_nuclei_edges._cli import PLUGIN_NAME

    viewer = napari.Viewer(title="napari-nuclei-edges", show=True)
    viewer.window.resize(*WINDOW_SIZE)
    viewer.open_sample(PLUGIN_NAME, "synthetic_focus_stack")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, "Find the focus")
    widget._noise_spin.setValue(8.0)  # a little noise: a false maximum or two to see
    _wait(widget.measure())
    widget.go_to_slice(widget.state.picked)
    _settle(viewer)
    path = out / "focus.png"
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def segmenter(out: Path) -> Path:
    """Learn a segmentation at 1366 × 768 on the field sample, after a 30-s run."""
    import napari

    from napari_nuclei_edges._cli import PLUGIN_NAME

    viewer = napari.Viewer(title="napari-nuclei-edges", show=True)
    viewer.window.resize(*LAPTOP_SIZE)
    viewer.open_sample(PLUGIN_NAME, "synthetic_field")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, "Learn a segmentation")
    widget.set_options(seconds=30)
    widget.buttons.start_button.click()
    _settle_until(lambda: not widget.is_running, timeout=120)
    _settle_until(lambda: "field_segmentation" in viewer.layers, timeout=30)
    viewer.layers["field_truth"].visible = False  # the network's nuclei, not the truth's
    _settle(viewer)
    path = out / "segmenter.png"
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def _only(viewer, *names: str) -> None:
    """Show only the named layers (and their tiles' names), fitted to the window."""
    from napari_nuclei_edges._plugin.grid import TITLES

    shown = [layer for layer in viewer.layers if layer.name in names]
    for layer in viewer.layers:
        layer.visible = layer.name in names or layer.name == TITLES
    viewer.reset_view(layers=shown)


def _training_dock(size=WINDOW_SIZE):
    """The launcher's window with only the training dock open, and that dock."""
    viewer = _launched(size)
    widget = viewer.window.dock_widgets["Learn a kernel (napari-nuclei-edges)"]
    _front(widget)
    return viewer, widget


def training(out: Path) -> Path:
    """The training dock mid-run: the loss falling, the learned kernel beside Sobel Gx."""
    import time

    from qtpy.QtWidgets import QApplication

    viewer, widget = _training_dock()
    widget.input_name = "metaphase"
    widget.set_options(learning_rate=0.02)  # slower than the default, to catch it mid-way
    worker = widget.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not widget.history or widget.history[-1].step < 300):
        QApplication.processEvents()
        time.sleep(0.005)
    widget.pause()
    _settle(viewer)
    _only(viewer, "metaphase")
    _settle(viewer)
    path = out / "training.png"
    viewer.screenshot(str(path), canvas_only=False)
    widget.stop()
    _wait(worker)
    viewer.close()
    return path


def magnitude(out: Path) -> Path:
    """The gradient pair learning Sobel's magnitude on metaphase, tested on the other classes."""
    viewer, widget = _training_dock()
    widget.input_name = "metaphase"
    widget.target = "Sobel magnitude"
    widget.set_options(model="gradient_pair")  # the dock's defaults: LBFGS, plateau stop
    widget._held_out_check.setChecked(True)
    _wait(widget.start(), timeout=300)
    layer = widget.apply_kernel()
    _only(viewer, "metaphase", layer.name)  # the learned output in its tile beneath
    _settle(viewer)
    path = out / "magnitude.png"
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def _training_run(options: dict, path: Path, target: str = "Sobel Gx") -> Path:
    """The training dock after one whole run with ``options`` on metaphase, as it ends."""
    viewer, widget = _training_dock()
    widget.input_name = "metaphase"
    widget.target = target
    widget.set_options(**options)
    _wait(widget.start(), timeout=120)
    _only(viewer, "metaphase")
    _settle(viewer)
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def training_diverged(out: Path) -> Path:
    """The course notebook's preset (SGD 0.01 on raw pixels): the explosion, drawn."""
    from napari_nuclei_edges.training.presets import preset

    return _training_run(preset("course notebook")[0], out / "training-diverged.png")


def training_converged(out: Path) -> Path:
    """The dock's defaults to the end: converged, the bar full, the kernel on Sobel Gx."""
    return _training_run({}, out / "training-converged.png")


def training_far(out: Path) -> Path:
    """A stable but far too small rate: 1000 steps end far from Sobel, and the dock says why."""
    options = {"optimiser": "sgd", "learning_rate": 1e-6, "normalisation": "none"}
    return _training_run(options, out / "training-far.png")


def training_laptop(out: Path) -> Path:
    """The magnitude exercise on a laptop: the verdict, the plot and the kernels in view."""
    viewer, widget = _training_dock(LAPTOP_SIZE)
    viewer.window.resize(*LAPTOP_SIZE)
    widget.input_name = "metaphase"
    widget.target = "Sobel magnitude"
    widget._held_out_check.setChecked(True)
    _wait(widget.start(), timeout=300)
    _only(viewer, "metaphase")
    _settle(viewer)
    path = out / "training-laptop.png"
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def _classify_dock():
    """The launcher's window with the stage classifier's tab in front, and that dock."""
    viewer = _launched(WINDOW_SIZE)
    widget = viewer.window.dock_widgets["Classify the stage (napari-nuclei-edges)"]
    _front(widget)
    return viewer, widget


def classify(out: Path) -> Path:
    """The stage classifier mid-run: a small CNN climbing towards the measurements' baseline."""
    import time

    from qtpy.QtWidgets import QApplication

    viewer, widget = _classify_dock()
    widget.set_options(model="cnn", channels=8, epochs=60, patience=0)
    widget.options_section.collapse(animate=False)  # the curves and the confusion in view
    worker = widget.start()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(widget.history) < 25:
        QApplication.processEvents()
        time.sleep(0.005)
    worker.pause()
    _settle_until(lambda: worker.is_paused, timeout=30)
    _settle(viewer)
    path = out / "classify.png"
    viewer.screenshot(str(path), canvas_only=False)
    widget.stop()
    _wait(worker)
    viewer.close()
    return path


def saliency(out: Path) -> Path:
    """A CNN's saliency (|gradient × input|) over metaphase: does it look at the nucleus?"""
    return _saliency_shot(out / "saliency.png", "gradient × input")


def gradcam(out: Path) -> Path:
    """The same CNN's Grad-CAM over metaphase: the regions its last features fire on."""
    return _saliency_shot(out / "gradcam.png", "Grad-CAM")


def _saliency_shot(path: Path, method: str) -> Path:
    from qtpy.QtWidgets import QScrollArea

    viewer, widget = _classify_dock()
    widget.set_options(model="cnn", channels=8, epochs=20, patience=0)
    _wait(widget.start(), timeout=600)
    widget.image_name = "metaphase"
    widget.saliency_method = method
    _wait(widget.saliency(), timeout=120)  # computed in a worker
    layer = viewer.layers["metaphase_saliency"]
    for each in viewer.layers:
        each.visible = each.name in ("metaphase", layer.name)
    viewer.grid.enabled = False  # one image, the map over it, filling the canvas
    viewer.dims.set_point(0, 3)
    viewer.reset_view(layers=[layer])  # the image's tile, not every (hidden) tile
    widget.options_section.collapse(animate=False)
    area = widget.findChild(QScrollArea, "dock_scroll_area")
    _settle(viewer)
    area.ensureWidgetVisible(widget._saliency_button, 0, 120)  # the method and its button
    _settle(viewer)
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


SHOTS = {
    "launcher": launcher,
    "launcher-1366x768": laptop,
    "threshold": threshold,
    "threshold-dock": threshold_dock,
    "threshold-16bit": threshold_16bit,
    "edges": edges,
    "training": training,
    "magnitude": magnitude,
    "training-diverged": training_diverged,
    "training-converged": training_converged,
    "training-far": training_far,
    "training-laptop": training_laptop,
    "classify": classify,
    "saliency": saliency,
    "gradcam": gradcam,
    "focus": focus,
    "segmenter": segmenter,
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "docs" / "images")
    parser.add_argument("names", nargs="*", choices=[*SHOTS, []], help="screenshots to take")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or SHOTS:
        _fresh_settings()  # each shot as a new user sees it, whatever the one before saved
        print("wrote", SHOTS[name](args.out))


if __name__ == "__main__":
    main()
