"""The ``napari-nuclei-edges`` command: napari with the dataset and every dock of the plugin."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__

PLUGIN_NAME = "napari-nuclei-edges"
SAMPLE_KEY = "synthetic_nuclei"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-nuclei-edges",
        description=(
            "Open napari with a nuclei dataset and dock every widget of napari-nuclei-edges. "
            "Without PATH, the synthetic sample (5 classes with ground-truth masks) is loaded."
        ),
    )
    parser.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="an .npz of (N, H, W) class stacks, or a folder with one sub-folder per class",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def plugin_widget_names() -> list[str]:
    """Display names of every widget the plugin's manifest contributes."""
    from npe2 import PluginManager

    manifest = PluginManager.instance().get_manifest(PLUGIN_NAME)
    return [widget.display_name for widget in manifest.contributions.widgets or ()]


def launch(path: str | os.PathLike | None = None, viewer=None):
    """Open the dataset at ``path`` (or the synthetic sample) and dock every widget.

    Parameters
    ----------
    path : str or PathLike, optional
        Dataset to open with the plugin's reader; None loads the synthetic sample.
    viewer : napari.Viewer, optional
        Viewer to use; a new one is made when None.

    Returns
    -------
    napari.Viewer
        The viewer, with the class layers and the plugin's docks.
    """
    import napari

    if viewer is None:
        viewer = napari.Viewer(title="napari-nuclei-edges")
    if path is None:
        viewer.open_sample(PLUGIN_NAME, SAMPLE_KEY)
    else:
        viewer.open(os.fspath(path), plugin=PLUGIN_NAME)
    show_classes_side_by_side(viewer)
    from napari.layers import Image

    images = [layer for layer in viewer.layers if isinstance(layer, Image)]
    if images:
        # an image, not a hidden truth mask, is what the layer controls should show
        viewer.layers.selection.active = images[-1]
    dock_course(viewer)
    fit_to_screen(viewer)
    return viewer


def dock_course(viewer) -> None:
    """Every dock of the plugin, tabbed on the right in the course's order, the first in front.

    Tabbed, the window is as tall as its tallest dock needs, not the sum of all
    of them (1019 + 283 + 819 px stacked), and each dock scrolls within it.
    """
    from qtpy.compat import isalive
    from qtpy.QtCore import QTimer

    docks = []
    for name in plugin_widget_names():
        dock, _ = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, name, tabify=True)
        dock.setWindowTitle(name)  # the tab's text: "(napari-nuclei-edges)" would cut it
        docks.append(dock)
    if docks:
        first = docks[0]
        first.raise_()

        def raise_first() -> None:  # Qt makes the tab bar on its next layout
            if isalive(first):  # the viewer may have been closed at once
                first.raise_()

        QTimer.singleShot(0, raise_first)


def fit_to_screen(viewer, screen_size: tuple[int, int] | None = None) -> tuple[int, int]:
    """Shrink napari's window to the screen it is on, if it is larger (napari remembers it).

    Returns the window's (width, height) after.
    """
    if screen_size is None:
        from qtpy.QtWidgets import QApplication

        screen = QApplication.primaryScreen()
        if screen is None:
            return viewer.window.geometry()[2:]
        available = screen.availableGeometry()
        screen_size = (available.width(), available.height())
    left, top, width, height = viewer.window.geometry()
    fitted = (min(width, screen_size[0]), min(height, screen_size[1]))
    if fitted != (width, height):
        left = max(0, min(left, screen_size[0] - fitted[0]))
        top = max(0, min(top, screen_size[1] - fitted[1]))
        viewer.window.set_geometry(left, top, *fitted)
    return fitted


def show_classes_side_by_side(viewer) -> None:
    """napari's grid view, one class per cell, each ground truth over its class.

    The sample puts every ``<class>_truth`` right after its class, so each class
    and the layers named after it share a cell (see ``_viewer.arrange_grid``).
    """
    from ._plugin.grid import arrange_grid

    arrange_grid(viewer, enable=True)
    viewer.reset_view()


def _display_problem() -> str | None:
    """A sentence when Qt has nowhere to draw, instead of Qt's abort."""
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "No display found (DISPLAY is not set), so napari cannot open a window. "
        "Run this on a desktop, or under a virtual screen: xvfb-run -a napari-nuclei-edges"
    )


def batch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-nuclei-edges batch",
        description=(
            "Compute Sobel outputs, threshold masks and labels for every image of INPUT into "
            "the zarr store OUTPUT, on dask (local threads, or a dask.distributed scheduler). "
            "Re-running skips finished images; a bad image is reported and skipped."
        ),
    )
    parser.add_argument(
        "input",
        metavar="INPUT",
        help="a zarr array, an .npz, a folder of images or of class folders",
    )
    parser.add_argument("--out", required=True, metavar="OUTPUT", help="the zarr store to write")
    parser.add_argument(
        "--steps",
        default="sobel",
        help="comma-separated: sobel, threshold, labels (default: sobel)",
    )
    parser.add_argument(
        "--threshold",
        default="otsu",
        help="a method (otsu, li, yen, …) over all images, or a value",
    )
    parser.add_argument("--padding", default="reflect", help="Sobel borders (default: reflect)")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a dask.distributed scheduler, e.g. tcp://127.0.0.1:8786",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    return parser  # fmt: skip


def batch_main(argv: Sequence[str]) -> int:
    """``napari-nuclei-edges batch``: exit 0 when every image was done, 1 when some failed."""
    from .batch import run_batch

    args = batch_parser().parse_args(argv)
    try:
        result = run_batch(
            args.input, args.out, steps=[s.strip() for s in args.steps.split(",") if s.strip()],
            threshold=args.threshold, padding=args.padding, scheduler=args.scheduler,
            progress=not args.quiet,
        )  # fmt: skip
    except (FileNotFoundError, ValueError, OSError) as exc:
        print(f"napari-nuclei-edges batch: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 1 if result.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["batch"]:
        return batch_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.path is not None and not Path(args.path).expanduser().exists():
        print(f"napari-nuclei-edges: {args.path}: no such file or folder.", file=sys.stderr)
        return 2
    problem = _display_problem()
    if problem:
        print(f"napari-nuclei-edges: {problem}", file=sys.stderr)
        return 1
    import napari

    launch(args.path)
    napari.run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
