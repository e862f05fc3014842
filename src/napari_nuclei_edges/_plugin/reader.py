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
    if path.suffix.lower() == ".npz" and path.is_file():
        return read_dataset
    if path.is_dir() and _has_class_folders(path):
        return read_dataset
    return None


def _has_class_folders(path: Path) -> bool:
    # cheap check on names only: reading happens in read_dataset, which reports problems
    for sub in os.scandir(path):
        if sub.is_dir() and not sub.name.startswith("."):
            for entry in os.scandir(sub.path):
                if Path(entry.name).suffix.lower() in IMAGE_SUFFIXES:
                    return True
    return False


def read_dataset(path: str | list[str]) -> list[tuple]:
    """One image layer per class, named by class; metadata records the source path."""
    if isinstance(path, list):
        path = path[0]
    resolved = str(Path(path).expanduser().resolve())
    stacks = load_dataset(resolved)
    return class_image_layers(stacks, {"source_path": resolved})
