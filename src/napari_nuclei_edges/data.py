"""The nuclei dataset: class names, and loading images and datasets from disk.

The reference dataset (CELL0027 course data, MIT licence) holds 250 single-channel
80 × 80 uint8 images of nuclei, 50 per mitotic class. It is not shipped with the
plugin; :func:`load_dataset` opens the real ``.npz`` or any folder with one
sub-folder of images per class, and :func:`read_image` one image file (the batch
command reads through it too). The synthetic look-alike lives in
:mod:`napari_nuclei_edges.synthetic` and is re-exported here.

numpy, imageio and tifffile only: no Qt, no napari.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CLASS_NAMES",
    "IMAGE_SUFFIXES",
    "finite_values",
    "image_files",
    "load_dataset",
    "looks_like_labels",
    "npz_members",
    "read_image",
    "sample_indices",
    "synthetic_field",  # noqa: F822 (reached through __getattr__ below)
    "synthetic_nuclei",  # noqa: F822
]

from ._values import finite_values, looks_like_labels, sample_indices

CLASS_NAMES: tuple[str, ...] = (
    "interphase",
    "prometaphase",
    "metaphase",
    "anaphase",
    "apoptosis",
)

#: File name endings that :func:`load_dataset` reads inside a class folder.
IMAGE_SUFFIXES: tuple[str, ...] = (".tif", ".tiff", ".png")

#: An ``.npz`` member declaring more than this many times its compressed size is refused
#: unread: images compress 2-20 times, a file of zeros ~1000 times (deflate's limit).
NPZ_MOST_EXPANSION = 250
#: Below this declared size any compression ratio is harmless and allowed.
NPZ_ALWAYS_ALLOWED = 64 << 20


# --------------------------------------------------------------------------- loading


def load_dataset(path: str | Path) -> dict[str, np.ndarray]:
    """Load a labelled nuclei dataset as one ``(N, H, W)`` stack per class.

    Parameters
    ----------
    path : str or Path
        Either an ``.npz`` file holding one ``(N, H, W)`` array per class (the
        reference ``cell0027_nuclei.npz``), or a folder with one sub-folder per
        class, each holding 2D TIFF or PNG images (read in file-name order).

    Returns
    -------
    dict of str to numpy.ndarray
        Class name to image stack. Classes named in :data:`CLASS_NAMES` come
        first, in that order; any other class follows alphabetically.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a file or folder cannot be read, an image is not 2D, has no pixels
        or is not real numbers, the images of one class differ in size, a
        folder holds no images, an ``.npz`` declares far more data than it
        holds or than memory can take, or the file type is not supported.
        The message names the offending file and says why.

    Examples
    --------
    >>> stacks = load_dataset("cell0027_nuclei.npz")  # doctest: +SKIP
    >>> stacks["metaphase"].shape  # doctest: +SKIP
    (50, 80, 80)
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder.")
    if path.is_dir():
        try:
            stacks = _load_folder(path)
        except OSError as exc:  # a folder that cannot be listed: permissions, a symlink loop
            raise ValueError(f"{exc.filename or path}: cannot read this folder "
                             f"({exc.strerror or exc}).") from exc  # fmt: skip
    elif path.suffix.lower() == ".npz":
        stacks = _load_npz(path)
    else:
        raise ValueError(
            f"{path}: not a dataset. Give an .npz file of (N, H, W) stacks or a folder "
            "with one sub-folder of 2D images per class."
        )
    return _class_order(stacks)


def _class_order(stacks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    known = [name for name in CLASS_NAMES if name in stacks]
    others = sorted(name for name in stacks if name not in CLASS_NAMES)
    return {name: stacks[name] for name in known + others}


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    members = npz_members(path)  # every header checked before anything is decompressed
    if not members:
        raise ValueError(f"{path}: the .npz file holds no arrays.")
    for member in members:
        _check_stack(path, member.key, member.shape, member.dtype)
    needed = sum(member.nbytes for member in members)
    available = available_memory()
    if available is not None and needed > available:
        raise ValueError(
            f"{path}: its arrays need {_size(needed)} of memory and {_size(available)} is "
            "free; open a smaller file, or process it with napari-nuclei-edges batch."
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {member.key: npz[member.key] for member in members}
    except Exception as exc:  # zipfile, zlib and OS errors all mean "unreadable"
        raise ValueError(f"{path}: cannot read this .npz file ({exc}).") from exc
    return {key: npz_stack(path, key, array) for key, array in arrays.items()}


def npz_stack(path: Path, key: str, array: np.ndarray) -> np.ndarray:
    """Member ``key`` of an ``.npz`` as an ``(N, H, W)`` stack; ValueError naming it if not one."""
    _check_stack(path, key, array.shape, array.dtype)
    return array[np.newaxis] if array.ndim == 2 else array


def _check_stack(path: Path, key: str, shape: tuple, dtype: np.dtype) -> None:
    if len(shape) not in (2, 3):
        raise ValueError(
            f"{path}: array {key!r} has shape {tuple(shape)}; expected one (N, H, W) "
            "stack of 2D images per class."
        )
    if 0 in shape:
        raise ValueError(f"{path}: array {key!r} has shape {tuple(shape)}: it holds no pixels.")
    problem = dtype_problem(dtype)
    if problem:
        raise ValueError(f"{path}: array {key!r} holds {problem}.")


def dtype_problem(dtype) -> str | None:
    """Why values of ``dtype`` are not image intensities (None when they are).

    Examples
    --------
    >>> dtype_problem(np.uint16) is None, dtype_problem(np.complex64)
    (True, 'complex numbers (complex64), not intensities')
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return f"complex numbers ({dtype}), not intensities"
    if dtype.kind not in "biuf":
        return f"values of type {dtype}, not numbers"
    return None


@dataclass(frozen=True)
class NpzMember:
    """One array of an ``.npz``, as its headers declare it (nothing decompressed)."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # where the array's bytes start in the uncompressed member
    compressed: int  # the member's bytes in the file

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def npz_members(path: str | Path) -> list[NpzMember]:
    """The arrays of an ``.npz`` from their headers, checked before anything is decompressed.

    Raises
    ------
    ValueError
        With a sentence naming the file (and the member) when it is not a zip
        of ``.npy`` arrays, a member holds Python objects (never unpickled),
        its header disagrees with the zip's sizes, or it declares far more data
        than its compressed size (:data:`NPZ_MOST_EXPANSION`, a zip bomb), or two
        members share a name (the reader and the batch command refuse it alike).
    """
    import zipfile

    path = Path(path)
    members = []
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                members.append(_npz_member(path, archive, info))
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as exc:
        raise ValueError(f"{path}: cannot read this .npz file ({exc}).") from exc
    keys = [member.key for member in members]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:  # a zip may hold one name twice: numpy reads the last, a listing both
        raise ValueError(
            f"{path}: the .npz holds more than one array named {', '.join(map(repr, twice))}, "
            "so which one is meant is unclear; save it again with one array per name."
        )
    return members


def _npz_member(path: Path, archive, info) -> NpzMember:
    from numpy.lib import format as npy

    if not info.filename.endswith(".npy"):
        raise ValueError(
            f"{path}: member {info.filename!r} is not a numpy array (.npy); an .npz of "
            "nuclei holds one (N, H, W) array per class."
        )
    key = info.filename.removesuffix(".npy")
    try:
        with archive.open(info) as file:
            major, _ = npy.read_magic(file)
            read_header = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
            shape, fortran_order, dtype = read_header(file, max_header_size=1 << 16)
            offset = file.tell()
    except ValueError as exc:
        raise ValueError(f"{path}: member {key!r} is not a readable numpy array ({exc}).") from exc
    if dtype.hasobject:
        raise ValueError(
            f"{path}: array {key!r} holds Python objects, which are never unpickled; "
            "save the images as numbers."
        )
    member = NpzMember(key, tuple(shape), dtype, fortran_order, offset, info.compress_size)
    if offset + member.nbytes != info.file_size:
        raise ValueError(
            f"{path}: array {key!r} declares {_size(member.nbytes)} but the file holds "
            f"{_size(info.file_size - offset)}; the file is damaged."
        )
    if member.nbytes > max(NPZ_ALWAYS_ALLOWED, NPZ_MOST_EXPANSION * info.compress_size):
        raise ValueError(
            f"{path}: array {key!r} declares {_size(member.nbytes)} in "
            f"{_size(info.compress_size)} of file ({member.nbytes // max(1, info.compress_size)}"
            " times smaller): refused unread, as no image data compresses that far."
        )
    return member


def available_memory() -> int | None:
    """Bytes of memory free for new data (None when the system does not say)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # psutil missing or unsupported here: the system's own count
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # not a POSIX system: no cap
        return None


def check_memory(needed: int, doing: str, fix: str) -> None:
    """Refuse, before it starts, work that would not fit in the memory free now.

    ``doing`` names the work ("Training on 1 image of 20000 × 20000"), ``fix`` what
    makes it smaller; the sentence names both sizes.

    >>> check_memory(1 << 60, "Counting the stars", "count fewer.")
    Traceback (most recent call last):
    ...
    ValueError: Counting the stars needs about 1073741824.0 GiB of memory ...
    """
    available = available_memory()
    if available is not None and needed > available:
        raise ValueError(f"{doing} needs about {_size(needed)} of memory and "
                         f"{_size(available)} is free: {fix}")  # fmt: skip


def _size(nbytes: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"


def _load_folder(path: Path) -> dict[str, np.ndarray]:
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        loose = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        if loose:
            raise ValueError(
                f"{path}: no class sub-folders found; it holds {len(loose)} images directly: "
                "put them in one sub-folder per class."
            )
        raise ValueError(f"{path}: empty folder, no class sub-folders found.")
    return {class_dir.name: _load_class_folder(class_dir) for class_dir in class_dirs}


def image_files(folder: str | Path, *, recursive: bool = False) -> list[Path]:
    """The image files (:data:`IMAGE_SUFFIXES`) of a folder, in file-name order.

    Hidden files and folders (a leading dot) are left out. With ``recursive``,
    the images of every sub-folder too, sorted by their path; a folder reached
    twice through symbolic links (a loop) is listed once.

    Raises
    ------
    OSError
        When a folder cannot be listed (its ``filename`` names it).

    Examples
    --------
    >>> image_files(".")  # doctest: +SKIP
    [PosixPath('a.png'), PosixPath('b.tif')]
    """
    folder = Path(folder)
    if not recursive:
        found = folder.iterdir()
    else:
        found, seen = [], set()

        def fail(exc: OSError) -> None:
            raise exc

        for root, dirs, names in os.walk(folder, onerror=fail, followlinks=True):
            info = os.stat(root)
            if (info.st_dev, info.st_ino) in seen:  # a loop of links: been here
                dirs[:] = []
                continue
            seen.add((info.st_dev, info.st_ino))
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            found += [Path(root, name) for name in names]
    return sorted(
        p
        for p in found
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def _load_class_folder(folder: Path) -> np.ndarray:
    files = image_files(folder)
    if not files:
        raise ValueError(f"{folder}: empty folder, no images ({', '.join(IMAGE_SUFFIXES)}) found.")
    images = []
    for file in files:
        image = read_image(file)
        if image.ndim != 2:
            raise ValueError(
                f"{file}: image has shape {image.shape}; expected a 2D single-channel image "
                "(convert RGB or multi-page files to one grey image per file)."
            )
        problem = dtype_problem(image.dtype) or (None if image.size else "no pixels")
        if problem:
            raise ValueError(f"{file}: the image holds {problem}.")
        if images and image.shape != images[0].shape:
            raise ValueError(
                f"{file}: image size {image.shape} differs from {images[0].shape} of "
                f"{files[0].name}; all images of a class must have the same size."
            )
        images.append(image)
    return np.stack(images)


def read_image(file: str | Path) -> np.ndarray:
    """One TIFF or PNG image file as a numpy array, as stored (no conversion).

    Raises
    ------
    ValueError
        When the file cannot be read; the message names the file and why.
    """
    import logging

    file = Path(file)
    # tifffile logs a broken file's problem and returns an empty array: said here instead
    quiet = logging.getLogger("tifffile")
    level, quiet.level = quiet.level, logging.CRITICAL
    try:
        if file.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            image = np.asarray(tifffile.imread(file))
        else:
            import imageio.v3 as iio

            image = np.asarray(iio.imread(file))
    except Exception as exc:  # each reader raises its own types for a broken file
        raise ValueError(f"{file}: cannot read image ({type(exc).__name__}: {exc}).") from exc
    finally:
        quiet.setLevel(level)
    if image.ndim < 2 or image.size == 0:
        raise ValueError(f"{file}: cannot read image (no pixels in it: shape {image.shape}).")
    return image


def __getattr__(name: str):
    # the look-alike has its own module, which needs CLASS_NAMES from this one: it is
    # reached lazily, so ``from napari_nuclei_edges.data import synthetic_nuclei`` keeps
    # working whichever of the two modules is imported first
    if name in ("synthetic_nuclei", "synthetic_field"):
        from . import synthetic

        return getattr(synthetic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
