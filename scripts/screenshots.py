"""Take every screenshot in docs/ from the real application.

Run under a display or a virtual one (``make screenshots`` uses ``xvfb-run``)::

    python scripts/screenshots.py [--out docs/images]

Each screenshot is the real napari window as a user sees it after the same
calls the launcher and the widgets make; nothing is drawn by hand.
"""

from __future__ import annotations

import argparse
from pathlib import Path

WINDOW_SIZE = (1920, 1080)
LAPTOP_SIZE = (1366, 768)


def _settle(viewer, rounds: int = 20) -> None:
    from qtpy.QtWidgets import QApplication

    for _ in range(rounds):
        QApplication.processEvents()


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
    widget.threshold = 0  # a first move turns the live previews on, as a hand would
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


def edges(out: Path) -> Path:
    """The Sobel dock: Gx, Gy, magnitude, direction and the colour picture of metaphase."""
    viewer = _launched(WINDOW_SIZE)
    widget = viewer.window.dock_widgets["Sobel edges (napari-nuclei-edges)"]
    _front(widget)
    widget.layer_name = "metaphase"
    widget.set_outputs("gx", "gy", "magnitude", "direction", "rgb")
    widget._kernels_check.setChecked(True)
    widget.run()
    _settle_until(lambda: not widget.busy)  # the layers appear one per frame
    for layer in viewer.layers:
        # one class and what was made from it, side by side
        layer.visible = layer.name == "metaphase" or layer.name.startswith("metaphase_sobel")
    grid = getattr(viewer.canvas, "grid", None) or viewer.grid
    grid.stride, grid.shape = 1, (2, 3)
    viewer.dims.set_point(0, 7)
    viewer.reset_view()
    _settle(viewer)
    path = out / "edges.png"
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def _training_dock():
    """The launcher's window with only the training dock open, and that dock."""
    viewer = _launched(WINDOW_SIZE)
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
    for layer in viewer.layers:
        layer.visible = layer.name == "metaphase"
    grid = getattr(viewer.canvas, "grid", None) or viewer.grid
    grid.enabled = False
    viewer.reset_view()
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
    widget.set_options(model="gradient_pair", optimiser="lbfgs", steps=300)
    widget._held_out_check.setChecked(True)
    _wait(widget.start(), timeout=300)
    layer = widget.apply_kernel()
    for each in viewer.layers:
        each.visible = each.name in ("metaphase", layer.name)
    grid = getattr(viewer.canvas, "grid", None) or viewer.grid
    grid.stride, grid.shape = 1, (1, 2)
    viewer.reset_view()
    _settle(viewer)
    path = out / "magnitude.png"
    viewer.screenshot(str(path), canvas_only=False)
    viewer.close()
    return path


def _settle_until(done, timeout: float = 30) -> None:
    import time

    from qtpy.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)


def _front(widget) -> None:
    """Bring a dock's tab to the front, as a click on its tab does."""
    from qtpy.QtWidgets import QDockWidget

    _settle(None)  # after the launcher's own deferred raise of the first tab
    parent = widget.parentWidget()
    while not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    parent.raise_()


def _wait(worker, timeout: float = 60) -> None:
    import time

    from qtpy.QtWidgets import QApplication

    done = []
    worker.finished.connect(lambda: done.append(True))
    deadline = time.monotonic() + timeout
    while not done and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)


def _fresh_settings() -> None:
    """Every widget as a new user first sees it: settings in an empty temporary folder."""
    import tempfile

    from qtpy.QtCore import QSettings

    folder = tempfile.mkdtemp(prefix="napari-nuclei-edges-settings-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)


SHOTS = {
    "launcher": launcher,
    "launcher-1366x768": laptop,
    "threshold": threshold,
    "edges": edges,
    "training": training,
    "magnitude": magnitude,
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
