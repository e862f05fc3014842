"""Real files in a temporary folder, and a byte-for-byte record of what a user owns."""

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def stack():
    from napari_nuclei_edges.data import synthetic_nuclei

    images = synthetic_nuclei(n_per_class=2)
    return np.concatenate(list(images.values()))  # (10, 80, 80) uint8


def write_pngs(folder: Path, images, names) -> Path:
    from imageio import v3 as iio

    folder.mkdir(parents=True, exist_ok=True)
    for name, image in zip(names, images, strict=True):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(folder / name, image)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links not followed), by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """``napari-nuclei-edges batch ...`` through the command line's own function."""
    from napari_nuclei_edges._cli import main

    code = main(["batch", *map(str, argv), "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stored(out: Path) -> tuple[dict, dict]:
    """The store's record, and its arrays as numpy."""
    import zarr

    root = zarr.open_group(str(out), mode="r")
    return dict(root.attrs)["napari_nuclei_edges"], {n: root[n][:] for n in root.array_keys()}


@pytest.fixture
def h():
    """The helpers above (test modules cannot import a conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        write_pngs=write_pngs, snapshot=snapshot, run_cli=run_cli, stored=stored
    )
