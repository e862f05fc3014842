"""The ``napari-nuclei-edges`` command: napari with the dataset and every dock of the plugin."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from ._display import display_problem
from ._plugin.titles import SHORT_TITLES

PLUGIN_NAME = "napari-nuclei-edges"
SAMPLE_KEY = "synthetic_nuclei"
#: Tab texts shorter than the docks' names, so that every tab is read whole on a
#: 1366-pixel screen (the dock's own title bar still gives its whole name).
TAB_TITLES = SHORT_TITLES


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
        help=(
            "an .npz of (N, H, W) class stacks, or a folder with one sub-folder per class; "
            "or your own image (TIFF, PNG) or folder of images, opened beside the sample"
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def plugin_widget_names() -> list[str]:
    """Display names of every widget the plugin's manifest contributes."""
    from npe2 import PluginManager

    manifest = PluginManager.instance().get_manifest(PLUGIN_NAME)
    return [widget.display_name for widget in manifest.contributions.widgets or ()]


def launch(
    path: str | os.PathLike | None = None,
    viewer=None,
    *,
    layers=None,
    own=None,
    freeze: bool = False,
):
    """Open the dataset at ``path`` (or the synthetic sample) and dock every widget.

    Parameters
    ----------
    path : str or PathLike, optional
        Dataset to open with the plugin's reader; None loads the synthetic sample.
    viewer : napari.Viewer, optional
        Viewer to use; a new one is made when None.
    layers : list of layer-data tuples, optional
        The reader's layers for ``path``, already read (the command line reads
        the dataset before starting Qt, to answer a bad file with a sentence).
    own : list of layer-data tuples, optional
        A user's own images (not a class dataset), shown beside the sample's
        classes, each in a tile of its own.
    freeze : bool
        Once the window is up, freeze every object alive out of Python's garbage
        collector (the command line does: its process is this window's). Not in a
        process that goes on with other work, a test session for one.

    Returns
    -------
    napari.Viewer
        The viewer, with the class layers and the plugin's docks.
    """
    import napari

    if viewer is None:
        viewer = napari.Viewer(title="napari-nuclei-edges")
    if layers is not None:
        for data, meta, kind in layers:
            getattr(viewer, f"add_{kind}")(data, **meta)
    elif path is None:
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
    for data, meta, kind in own or ():
        # after the docks: a column of its own, and not pooled with the classes unless ticked
        getattr(viewer, f"add_{kind}")(data, **meta)
    fit_to_screen(viewer)
    from qtpy.QtCore import QTimer

    from ._plugin.memory import freeze_startup_objects

    viewer.reset_view()
    QTimer.singleShot(0, viewer.reset_view)  # the canvas's final size, with the docks in
    if freeze:
        QTimer.singleShot(0, freeze_startup_objects)  # once the window is up
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
        dock.setWindowTitle(TAB_TITLES.get(name, name))  # no "(napari-nuclei-edges)" in tabs
        docks.append(dock)
    if docks:
        first = docks[0]
        first.raise_()

        def raise_first() -> None:  # Qt makes the tab bar on its next layout
            if isalive(first):  # the viewer may have been closed at once
                first.raise_()

        QTimer.singleShot(0, raise_first)


def fit_to_screen(viewer, screen: tuple[int, ...] | None = None) -> tuple[int, int]:
    """Make napari's window fill the screen it is on (its available part).

    napari opens at the size it remembers, or a default: on a first launch on a
    1366 × 768 laptop that was 1122 × 630, a 258-px canvas beside the docks.

    Parameters
    ----------
    screen : tuple, optional
        ``(width, height)`` or ``(left, top, width, height)`` of the screen's free
        area; by default, that of the screen under the window's centre.

    Returns
    -------
    tuple of int
        The window's (width, height) after.
    """
    if screen is None:
        from qtpy.QtCore import QPoint
        from qtpy.QtGui import QGuiApplication

        left, top, width, height = viewer.window.geometry()
        found = QGuiApplication.screenAt(QPoint(left + width // 2, top + height // 2))
        found = found or QGuiApplication.primaryScreen()
        if found is None:
            return (width, height)
        free = found.availableGeometry()
        screen = (free.x(), free.y(), free.width(), free.height())
    if len(screen) == 2:
        screen = (0, 0, *screen)
    viewer.window.set_geometry(*screen)
    return tuple(viewer.window.geometry()[2:])


def show_classes_side_by_side(viewer) -> None:
    """One class per column, each ground truth over its class, outputs beneath it.

    The sample puts every ``<class>_truth`` right after its class, so each class
    and the layers named after it share a column (see ``_plugin.grid.tile_layers``).
    """
    from ._plugin.grid import tile_layers

    tile_layers(viewer)


def _dataset_layers(path: Path) -> tuple[list | None, str | None]:
    """The reader's layers for ``path``, or why it is not a dataset (Qt-free, nothing shown)."""
    from ._plugin.reader import read_dataset

    try:
        return read_dataset(str(path)), None
    except (ValueError, OSError) as exc:
        return None, str(exc)


def _own_images(path: Path) -> tuple[list | None, str]:
    """A user's image file or folder of images as layers (and a note), or why not."""
    from ._plugin.reader import read_user_images

    try:
        return read_user_images(path)
    except (ValueError, OSError) as exc:
        return None, str(exc)


def batch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-nuclei-edges batch",
        description=(
            "Compute Sobel outputs, threshold masks, labels, measurements of the centre "
            "nucleus and a saved classifier's predictions for every image of INPUT into "
            "the zarr store OUTPUT, on dask (local threads, or a dask.distributed scheduler); "
            "measurements and predictions also as OUTPUT/measurements.csv and "
            "OUTPUT/predictions.csv, one row per image, rewritten at the end of each run. "
            "Re-running on the same OUTPUT processes only the new and changed images; a bad "
            "image is named with its reason and skipped. Exit status: 0 every image done, "
            "1 some skipped, 2 nothing done (a sentence says why)."
        ),
    )
    parser.add_argument(
        "input",
        metavar="INPUT",
        help="a zarr array, an .npz, a folder of images or of class folders",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="OUTPUT",
        help="the zarr store: a new path, an empty folder, or a store this command made "
        "(one run at a time: a second is refused while the first runs)",
    )
    parser.add_argument(
        "--steps",
        default="sobel",
        help="comma-separated: sobel, threshold, labels, measure (area, axes, intensity, … of "
        "each image's centre nucleus; NaN where there is none), classify (class, confidence "
        "and one probability per class, by --model) (default: sobel)",
    )
    parser.add_argument(
        "--model",
        metavar="PATH",
        help="for classify: a classifier saved by the Classify the stage dock or "
        "save_classifier (its .pt or .json; loaded without running code); a store resumed "
        "with another model is refused",
    )
    parser.add_argument(
        "--threshold",
        default="otsu",
        help="a method (otsu, li, yen, …) or a value (default: otsu)",
    )
    parser.add_argument(
        "--rule",
        default="per_image",
        help="labels with a method: per_image (the method on each image) or global (once, "
        "on all images pooled); default: per_image",
    )
    parser.add_argument("--padding", default="reflect", help="Sobel borders (default: reflect)")
    parser.add_argument(
        "--size",
        metavar="HxW",
        help="the images' size, e.g. 80x80 (default: the size most images have)",
    )
    parser.add_argument(
        "--gone",
        default="keep",
        help="on a re-run, the outputs of images no longer in INPUT: keep or remove "
        "(default: keep)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a dask.distributed scheduler, e.g. tcp://127.0.0.1:8786",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def batch_main(argv: Sequence[str]) -> int:
    """``napari-nuclei-edges batch``: 0 when every image was done, 1 when some were skipped."""
    from .batch import run_batch

    args = batch_parser().parse_args(argv)
    try:
        result = run_batch(
            args.input,
            args.out,
            steps=args.steps,
            threshold=args.threshold,
            rule=args.rule,
            padding=args.padding,
            size=args.size,
            gone=args.gone,
            scheduler=args.scheduler,
            progress=not args.quiet,
            model=args.model,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"napari-nuclei-edges batch: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a store made read-only: say so, keep what is done
        _silence_abandoned_writes()
        print(f"napari-nuclei-edges batch: {exc.filename or args.out}: "
              f"{exc.strerror or exc}; what was finished is kept, run again to resume.",
              file=sys.stderr)  # fmt: skip
        return 2
    print(result.summary())
    return 1 if result.failed else 0


def _silence_abandoned_writes() -> None:
    """After a failed write, the one sentence is all the user reads: zarr's other writes,
    abandoned in its event loop, would each log a traceback (hundreds on a full disk)."""
    import logging
    import warnings

    logging.getLogger("asyncio").disabled = True
    warnings.simplefilter("ignore")  # "coroutine ... was never awaited"
    sys.unraisablehook = lambda unraisable: None  # their tasks, destroyed at exit


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["batch"]:
        return batch_main(argv[1:])
    args = build_parser().parse_args(argv)
    layers = own = None
    if args.path is not None:
        if not Path(args.path).expanduser().exists():
            print(f"napari-nuclei-edges: {args.path}: no such file or folder.", file=sys.stderr)
            return 2
        # read before Qt starts: a file that is not a dataset gets a sentence, not a dialog
        layers, problem = _dataset_layers(Path(args.path).expanduser())
        if problem:
            own, note = _own_images(Path(args.path).expanduser())
            if own is None:
                print(f"napari-nuclei-edges: {problem} Nor is it an image: {note}",
                      file=sys.stderr)  # fmt: skip
                return 2
            if note:
                print(f"napari-nuclei-edges: {note}", file=sys.stderr)
            layers, args.path = None, None  # the sample's classes, the user's images beside
    problem = display_problem()
    if problem:
        print(f"napari-nuclei-edges: {problem}", file=sys.stderr)
        return 1
    import napari

    launch(args.path, layers=layers, own=own, freeze=True)
    napari.run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
