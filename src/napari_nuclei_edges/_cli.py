"""The ``napari-nuclei-edges`` command: napari with the dataset and every dock of the plugin."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
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
        help="an .npz of (N, H, W) class stacks, or a folder with one sub-folder per class",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def plugin_widget_names() -> list[str]:
    """Display names of every widget the plugin's manifest contributes."""
    from npe2 import PluginManager

    manifest = PluginManager.instance().get_manifest(PLUGIN_NAME)
    return [widget.display_name for widget in manifest.contributions.widgets or ()]


def launch(
    path: str | os.PathLike | None = None, viewer=None, *, layers=None, freeze: bool = False
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


def _display_problem() -> str | None:
    """A sentence when Qt has nowhere to draw, found before Qt starts (Qt would abort)."""
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return None
    display, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not display and not wayland:
        return (
            "No display found (DISPLAY is not set), so napari cannot open a window. "
            "Run this on a desktop, or under a virtual screen: xvfb-run -a napari-nuclei-edges"
        )
    if wayland and _wayland_socket(wayland).exists():
        return None
    if display and _x_display_opens(display):
        return None
    shown = f"DISPLAY={display}" if display else f"WAYLAND_DISPLAY={wayland}"
    return (
        f"The display {shown} does not open, so napari cannot open a window. Check that "
        "the desktop session is running and DISPLAY is right (over ssh: ssh -X), or run "
        "under a virtual screen: xvfb-run -a napari-nuclei-edges"
    )


def _wayland_socket(name: str) -> Path:
    return Path(os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}"), name)


#: Opens the X display with Xlib (no Qt): exit 0 when it opens, 1 when not, 3 without Xlib.
_X_PROBE = """
import ctypes, ctypes.util, sys
name = ctypes.util.find_library("X11")
if not name:
    sys.exit(3)
xlib = ctypes.CDLL(name)
xlib.XOpenDisplay.restype = ctypes.c_void_p
xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
display = xlib.XOpenDisplay(None)
if not display:
    sys.exit(1)
xlib.XCloseDisplay(display)
"""


def _x_display_opens(display: str) -> bool:
    """Whether the X display opens, asked in a child process before Qt starts.

    A child, so that an X server that never answers costs a timeout rather than a
    hang, and Xlib's exit on a broken connection is not ours; Xlib, so the answer
    includes the X authority (a socket that exists but refuses us is "no").
    Without Xlib, whether the display's socket takes a connection.
    """
    import subprocess

    try:
        done = subprocess.run([sys.executable, "-c", _X_PROBE], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if done.returncode != 3:
        return done.returncode == 0
    return _x_socket_answers(display)


def _x_socket_answers(display: str) -> bool:
    import re
    import socket

    match = re.fullmatch(r"(?:unix)?(.*?):(\d+)(?:\.\d+)?", display)
    if not match:
        return False
    host, number = match.group(1), int(match.group(2))
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(f"/tmp/.X11-unix/X{number}")
        else:
            socket.create_connection((host, 6000 + number), timeout=2).close()
    except OSError:
        return False
    return True


def _dataset_layers(path: Path) -> tuple[list | None, str | None]:
    """The reader's layers for ``path``, or why it is not a dataset (Qt-free, nothing shown)."""
    from ._plugin.reader import read_dataset

    try:
        return read_dataset(str(path)), None
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
        help="the zarr store: a new path, an empty folder, or a store this command made",
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
        print(f"napari-nuclei-edges batch: {exc.filename or args.out}: "
              f"{exc.strerror or exc}; what was finished is kept, run again to resume.",
              file=sys.stderr)  # fmt: skip
        return 2
    print(result.summary())
    return 1 if result.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["batch"]:
        return batch_main(argv[1:])
    args = build_parser().parse_args(argv)
    layers = None
    if args.path is not None:
        if not Path(args.path).expanduser().exists():
            print(f"napari-nuclei-edges: {args.path}: no such file or folder.", file=sys.stderr)
            return 2
        # read before Qt starts: a file that is not a dataset gets a sentence, not a dialog
        layers, problem = _dataset_layers(Path(args.path).expanduser())
        if problem:
            print(f"napari-nuclei-edges: {problem}", file=sys.stderr)
            return 2
    problem = _display_problem()
    if problem:
        print(f"napari-nuclei-edges: {problem}", file=sys.stderr)
        return 1
    import napari

    launch(args.path, layers=layers, freeze=True)
    napari.run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
