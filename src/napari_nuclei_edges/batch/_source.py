"""The images of a batch command's INPUT, by index, read one at a time through ``data``.

numpy (and zarr for zarr input); no Qt, no napari.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import IMAGE_SUFFIXES


class ImageSource:
    """The 2D images of INPUT by index, read one at a time (in the task that needs it).

    INPUT: a zarr array (``(N, H, W)`` or ``(H, W)``), an ``.npz`` of ``(N, H, W)``
    stacks, a folder of 2D TIFF/PNG images, or a folder of class folders of them.
    """

    def __init__(self, path: str | Path):
        from ..data import image_files

        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or folder.")
        self.kind, self.files, self.keys = "files", [], []
        if self.path.suffix == ".npz":
            self.kind = "npz"
            for key, count in _npz_counts(self.path).items():
                self.keys += [(key, i) for i in range(count)]
            self.names = [f"{key}/{i:04d}" for key, i in self.keys]
        elif _is_zarr(self.path):
            self.kind = "zarr"
            array = self._zarr()
            count = array.shape[0] if array.ndim == 3 else 1
            self.names = [f"{self.path.name}[{i}]" for i in range(count)]
        else:
            # the loader's own listing: the same suffixes, order and hidden-file rule
            self.files = image_files(self.path, recursive=True)
            if not self.files:
                raise ValueError(f"{self.path}: no images ({', '.join(IMAGE_SUFFIXES)}) found.")
            self.names = [str(p.relative_to(self.path)) for p in self.files]
        self.shape, self.dtype = self._first_shape()

    def __len__(self) -> int:
        return len(self.names)

    def _zarr(self):
        if getattr(self, "_array", None) is None:
            import zarr

            self._array = zarr.open_array(str(self.path), mode="r")
        return self._array

    def read(self, index: int) -> np.ndarray:
        """Image ``index`` as a 2D array; ValueError naming it when it is not one."""
        if self.kind == "zarr":
            array = self._zarr()
            image = np.asarray(array[index] if array.ndim == 3 else array[...])
        elif self.kind == "npz":
            from ..data import npz_stack

            key, i = self.keys[index]
            with np.load(self.path, allow_pickle=False) as npz:
                image = npz_stack(self.path, key, npz[key])[i]
        else:
            from ..data import read_image

            try:
                image = read_image(self.files[index])
            except ValueError as exc:  # the summary names the file; say why only
                cause = exc.__cause__ or exc
                raise ValueError(f"unreadable ({type(cause).__name__}: {cause})") from exc
        if image.ndim != 2:
            raise ValueError(f"not a 2D image (shape {image.shape})")
        if getattr(self, "shape", None) is not None and image.shape != self.shape:
            raise ValueError(f"{image.shape[0]} × {image.shape[1]}, not {self.shape[0]} × "
                             f"{self.shape[1]} like the others")  # fmt: skip
        return image

    def _first_shape(self):
        self.shape = None
        for index in range(len(self)):
            try:
                image = self.read(index)
            except ValueError:
                continue
            return image.shape, image.dtype
        raise ValueError(f"{self.path}: not one readable 2D image.")


def _npz_counts(path: Path) -> dict[str, int]:
    """Images per member of an ``.npz``, from the headers only (nothing decompressed)."""
    import zipfile

    from numpy.lib import format as npy

    counts = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                with archive.open(member) as file:
                    major, _ = npy.read_magic(file)
                    read_header = npy.read_array_header_1_0 if major == 1 else (
                        npy.read_array_header_2_0)  # fmt: skip
                    shape = read_header(file)[0]
                counts[member.removesuffix(".npy")] = shape[0] if len(shape) == 3 else 1
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: cannot read this .npz file ({exc}).") from exc
    return counts


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in (".zarray", "zarr.json"))
