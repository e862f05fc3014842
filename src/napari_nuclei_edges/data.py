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

from pathlib import Path

import numpy as np

__all__ = [
    "CLASS_NAMES",
    "IMAGE_SUFFIXES",
    "finite_values",
    "image_files",
    "load_dataset",
    "read_image",
    "sample_indices",
    "synthetic_nuclei",  # noqa: F822 (reached through __getattr__ below)
]

CLASS_NAMES: tuple[str, ...] = (
    "interphase",
    "prometaphase",
    "metaphase",
    "anaphase",
    "apoptosis",
)

#: File name endings that :func:`load_dataset` reads inside a class folder.
IMAGE_SUFFIXES: tuple[str, ...] = (".tif", ".tiff", ".png")


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
        If a file cannot be read, an image is not 2D, the images of one class
        differ in size, a folder holds no images, or the file type is not
        supported. The message names the offending file.

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
        stacks = _load_folder(path)
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
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as exc:  # zipfile, pickle and OS errors all mean "unreadable"
        raise ValueError(f"{path}: cannot read this .npz file ({exc}).") from exc
    if not arrays:
        raise ValueError(f"{path}: the .npz file holds no arrays.")
    return {key: npz_stack(path, key, array) for key, array in arrays.items()}


def npz_stack(path: Path, key: str, array: np.ndarray) -> np.ndarray:
    """Member ``key`` of an ``.npz`` as an ``(N, H, W)`` stack; ValueError naming it if not one."""
    if array.ndim == 2:
        array = array[np.newaxis]
    elif array.ndim != 3:
        raise ValueError(
            f"{path}: array {key!r} has shape {array.shape}; expected one (N, H, W) "
            "stack of 2D images per class."
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{path}: array {key!r} has dtype {array.dtype}, not numbers.")
    return array


def _load_folder(path: Path) -> dict[str, np.ndarray]:
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        loose = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        hint = (
            f" It holds {len(loose)} images directly: put them in one sub-folder per class."
            if loose
            else ""
        )
        raise ValueError(f"{path}: empty folder, no class sub-folders found.{hint}")
    return {class_dir.name: _load_class_folder(class_dir) for class_dir in class_dirs}


def image_files(folder: str | Path, *, recursive: bool = False) -> list[Path]:
    """The image files (:data:`IMAGE_SUFFIXES`) of a folder, in file-name order.

    Hidden files (a leading dot) are left out. With ``recursive``, the images of
    every sub-folder too, sorted by their path.

    Examples
    --------
    >>> image_files(".")  # doctest: +SKIP
    [PosixPath('a.png'), PosixPath('b.tif')]
    """
    folder = Path(folder)
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p
        for p in found
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
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
    file = Path(file)
    try:
        if file.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            return np.asarray(tifffile.imread(file))
        import imageio.v3 as iio

        return np.asarray(iio.imread(file))
    except Exception as exc:  # each reader raises its own types for a broken file
        raise ValueError(f"{file}: cannot read image ({type(exc).__name__}: {exc}).") from exc


def finite_values(array) -> np.ndarray:
    """The finite values of ``array`` (NaN and ±inf dropped; bool read as 0/1).

    Integer arrays are returned as they are (every integer is finite), so the
    common case costs nothing.

    Examples
    --------
    >>> finite_values(np.array([1.0, np.nan, np.inf, 2.0])).tolist()
    [1.0, 2.0]
    """
    array = np.asarray(array)
    if array.dtype == bool:
        return array.view(np.uint8)
    return array[np.isfinite(array)] if array.dtype.kind in "fc" else array


def sample_indices(count: int, most: int) -> np.ndarray:
    """At most ``most`` indices of ``range(count)``, evenly spaced, first and last included.

    How a dock samples a stack too large to read whole on the GUI thread.

    Examples
    --------
    >>> sample_indices(10, 4).tolist()
    [0, 3, 6, 9]
    >>> sample_indices(3, 4).tolist()
    [0, 1, 2]
    """
    if count <= most:
        return np.arange(count)
    return np.linspace(0, count - 1, most).round().astype(int)


def __getattr__(name: str):
    # the look-alike has its own module, which needs CLASS_NAMES from this one: it is
    # reached lazily, so ``from napari_nuclei_edges.data import synthetic_nuclei`` keeps
    # working whichever of the two modules is imported first
    if name == "synthetic_nuclei":
        from .synthetic import synthetic_nuclei

        return synthetic_nuclei
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
