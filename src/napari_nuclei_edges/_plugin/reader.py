"""The reader contribution: an ``.npz`` of class stacks, or a folder of class folders."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..data import IMAGE_SUFFIXES, load_dataset
from .layers import class_image_layers


def get_reader(path: str | list[str]) -> Callable[[str | list[str]], list[tuple]] | None:
    """Return :func:`read_dataset` if ``path`` looks like a nuclei dataset, else None.

    napari asks every reader plugin; answering None for anything else lets the
    other readers (and napari's own) open it.
    """
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz" and path.is_file():
            return read_dataset
        if path.is_dir() and _has_class_folders(path):
            return read_dataset
    except OSError:  # cannot even be looked at: not ours to claim
        return None
    return None


def _has_class_folders(path: Path) -> bool:
    # cheap check on names only: reading happens in read_dataset, which reports problems
    with os.scandir(path) as entries:
        subs = [e.path for e in entries if not e.name.startswith(".") and _is_dir(e)]
    for sub in subs:
        try:
            with os.scandir(sub) as entries:
                if any(Path(e.name).suffix.lower() in IMAGE_SUFFIXES for e in entries):
                    return True
        except OSError:  # unreadable: read_dataset names it if another class is there
            continue
    return False


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a loop of symbolic links
        return False


def read_dataset(path: str | list[str]) -> list[tuple]:
    """One image layer per class, named by class; metadata records the source path.

    Raises
    ------
    ValueError
        With a sentence naming the file and why, for anything it cannot read
        or that napari could not show (never a bare ``OSError``).
    """
    if isinstance(path, list):
        path = path[0]
    try:
        resolved = str(Path(path).expanduser().resolve())
        stacks = load_dataset(resolved)
    except OSError as exc:  # load_dataset's own sentences are ValueErrors already
        raise ValueError(
            f"{exc.filename or path}: cannot read it ({exc.strerror or exc})."
        ) from exc
    return class_image_layers(stacks, {"source_path": resolved})


def read_user_images(path: str | Path) -> tuple[list[tuple], str]:
    """A user's own image file, or the images of a folder that is not a class dataset:
    one Image layer each, named by its file, and a note of what was left out.

    Raises
    ------
    ValueError
        With a sentence when nothing in ``path`` is an image this plugin reads.

    Examples
    --------
    >>> layers, note = read_user_images("field.tif")  # doctest: +SKIP
    >>> layers[0][1]["name"], note  # doctest: +SKIP
    ('field', '')
    """
    from ..data import image_files, read_image

    path = Path(path).expanduser()
    if path.is_dir():
        files = image_files(path)
        others = sum(1 for p in path.iterdir() if p.is_file() and p not in files)
    else:
        files, others = ([path], 0) if path.suffix.lower() in IMAGE_SUFFIXES else ([], 1)
    layers, unreadable = [], []
    for file in files:
        try:
            data = read_image(file)
        except ValueError:
            unreadable.append(file.name)
            continue
        layers.append((data, {"name": file.stem, "metadata": {"source_path": str(file)}}, "image"))
    kinds = "/".join(s.lstrip(".").upper() for s in IMAGE_SUFFIXES)
    if not layers:
        raise ValueError(
            f"{path}: no image this plugin reads ({kinds}) "
            + (f"could be read ({', '.join(unreadable)})." if unreadable else "is there.")
        )
    skipped = others + len(unreadable)
    note = f"{skipped} other file{'s' if skipped != 1 else ''} in {path.name} left out." if (
        skipped and path.is_dir()) else ""  # fmt: skip
    return layers, note
