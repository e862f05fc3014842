"""The images of a batch command's INPUT: listed once, identified, and read in order.

INPUT is a zarr array (``(N, H, W)`` or ``(H, W)``), an ``.npz`` of ``(N, H, W)``
stacks, a folder of 2D TIFF/PNG images, or a folder of class folders of them.
Each image has a name (its path in the folder, ``key/0007`` in an ``.npz``,
``name[7]`` in a zarr array) and an identity that changes when it does:

- files: size and modification time (``os.stat``, nothing read): a re-run on
  ten thousand unchanged files costs ten thousand ``stat`` calls, and anything
  that rewrites a file changes its time, so a change is never missed (a copy
  that does not keep times is only processed again, never mislabelled);
- images inside an ``.npz`` or a zarr array: a content hash (BLAKE2b of dtype,
  shape and pixels), as one container holds them all and has one time for all.
  An ``.npz`` whose own size and time are unchanged is not read again at all.

Reading is linear in the input: :meth:`ImageSource.iter_images` reads the
images of a task in order, decompressing each ``.npz`` member once per task
(a forward stream through the member, never the whole class stack per image).

numpy (and zarr for zarr input); no Qt, no napari.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..data import IMAGE_SUFFIXES, dtype_problem, image_files, npz_members


class ImageSource:
    """The 2D images of INPUT by index.

    Parameters
    ----------
    path : str or Path
        The input.
    listing : bool
        List a folder's files (the main process does, once); a task reads by name
        and needs no listing.
    """

    def __init__(self, path: str | Path, *, listing: bool = True):
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or folder.")
        self.path = self.path.resolve()
        self.names: list[str] = []
        self.problems: dict[int, str] = {}  # images known to be bad from headers alone
        if self.path.suffix.lower() == ".npz" and self.path.is_file():
            self.kind = "npz"
            self._list_npz()
        elif _is_zarr(self.path):
            self.kind = "zarr"
            self._list_zarr()
        elif self.path.is_dir():
            self.kind = "files"
            if listing:
                self._list_files()
        else:
            raise ValueError(
                f"{self.path}: not an input the batch reads; give a zarr array, an .npz of "
                f"(N, H, W) stacks, or a folder of images ({', '.join(IMAGE_SUFFIXES)})."
            )

    def __len__(self) -> int:
        return len(self.names)

    # ------------------------------------------------------------------ listing

    def _list_npz(self) -> None:
        self.members = npz_members(self.path)  # headers checked: no bomb, no pickle
        self.keys: list[tuple[int, int]] = []  # (member, image) per index
        for m, member in enumerate(self.members):
            count = member.shape[0] if len(member.shape) == 3 else 1
            problem = _stack_problem(member.shape, member.dtype)
            for i in range(count):
                if problem:
                    self.problems[len(self.keys)] = problem
                self.keys.append((m, i))
                self.names.append(f"{member.key}/{i:04d}")
        if not self.names:
            raise ValueError(f"{self.path}: the .npz file holds no arrays.")

    def _list_zarr(self) -> None:
        array = self._zarr()
        if array.ndim not in (2, 3) or 0 in array.shape:
            raise ValueError(f"{self.path}: a zarr array of shape {array.shape}; expected a "
                             "stack (N, H, W) or one image (H, W).")  # fmt: skip
        problem = dtype_problem(array.dtype)
        if problem:
            raise ValueError(f"{self.path}: the zarr array holds {problem}.")
        count = array.shape[0] if array.ndim == 3 else 1
        self.names = [f"{self.path.name}[{i}]" for i in range(count)]

    def _list_files(self) -> None:
        try:
            files = image_files(self.path, recursive=True)
        except OSError as exc:  # permissions; a loop of links is pruned, not an error
            raise ValueError(f"{exc.filename or self.path}: cannot read this folder "
                             f"({exc.strerror or exc}).") from exc  # fmt: skip
        if not files:
            raise ValueError(f"{self.path}: no images ({', '.join(IMAGE_SUFFIXES)}) found.")
        self.names = [p.relative_to(self.path).as_posix() for p in files]

    # ------------------------------------------------------------------ identity

    def stat_identities(self) -> list[str | None]:
        """Each image's identity when the file system tells it (files), else None."""
        if self.kind != "files":
            return [None] * len(self)
        identities = []
        for name in self.names:
            try:
                info = os.stat(self.path / name)
                identities.append(f"{info.st_size}:{info.st_mtime_ns}")
            except OSError:  # gone since the listing: surveyed, and found unreadable
                identities.append(None)
        return identities

    def container_identity(self) -> str | None:
        """Size and time of an ``.npz`` file: unchanged, none of its images changed."""
        if self.kind != "npz":
            return None
        info = os.stat(self.path)
        return f"{info.st_size}:{info.st_mtime_ns}"

    # ------------------------------------------------------------------ reading

    def _zarr(self):
        if getattr(self, "_array", None) is None:
            import zarr

            try:
                self._array = zarr.open_array(str(self.path), mode="r")
            except Exception as exc:  # zarr raises its own types for a broken store
                raise ValueError(f"{self.path}: cannot read this zarr array ({exc}).") from exc
        return self._array

    def iter_images(self, items):
        """``(item, image or reason)`` for ``(index, name, ...)`` items, in index order.

        Each ``.npz`` member is opened once and streamed forward; a bad image
        yields the reason (a sentence without its name) in place of the image.
        """
        items = sorted(items, key=lambda item: item[0])
        if self.kind == "npz":
            yield from self._iter_npz(items)
            return
        if self.kind == "zarr":
            yield from self._iter_zarr(items)
            return
        for item in items:
            try:
                image = self._read_one(item[0], item[1])
            except ValueError as exc:
                yield item, str(exc)
                continue
            yield item, _checked(image)

    def _iter_zarr(self, items, most: int = 64):
        """Runs of consecutive images read as one slice: a chunk of many images read once."""
        runs: list[list] = []
        for item in items:
            if runs and item[0] == runs[-1][-1][0] + 1 and len(runs[-1]) < most:
                runs[-1].append(item)
            else:
                runs.append([item])
        for run in runs:
            try:
                array = self._zarr()
                if array.ndim == 2:
                    block = np.asarray(array[...])[np.newaxis]
                else:
                    block = np.asarray(array[run[0][0] : run[-1][0] + 1])
            except Exception as exc:  # a damaged chunk: zarr and its codecs raise their own
                yield from ((item, f"unreadable ({type(exc).__name__}: {exc})") for item in run)
                continue
            for row, item in enumerate(run):
                yield item, _checked(block[row])

    def _read_one(self, index: int, name: str) -> np.ndarray:
        from ..data import read_image

        try:
            return read_image(self.path / name)
        except ValueError as exc:  # the summary names the file; say why only
            cause = exc.__cause__ or exc
            raise ValueError(f"unreadable ({type(cause).__name__}: {cause})") from exc

    def _iter_npz(self, items):
        import zipfile

        by_member: dict[int, list] = {}
        for item in items:
            if item[0] in self.problems:
                yield item, self.problems[item[0]]
            else:
                by_member.setdefault(self.keys[item[0]][0], []).append(item)
        if not by_member:
            return
        try:
            archive = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            for member_items in by_member.values():
                for item in member_items:
                    yield item, f"unreadable ({exc})"
            return
        with archive:
            for m, member_items in by_member.items():
                yield from self._stream_member(archive, self.members[m], member_items)

    def _stream_member(self, archive, member, items):
        """The member's images for ``items``, each decompressed once, reading forward."""
        import zipfile

        shape = member.shape[-2:]
        size = int(np.prod(shape)) * member.dtype.itemsize
        done = 0
        try:
            with archive.open(member.key + ".npy") as file:
                if member.fortran_order:  # images are not contiguous: the whole member, once
                    from numpy.lib import format as npy

                    stack = npy.read_array(file, allow_pickle=False).reshape(-1, *shape)
                    for item in items:
                        yield item, _checked(stack[self.keys[item[0]][1]])
                    return
                position = member.offset
                file.seek(position)
                for item in items:
                    start = member.offset + self.keys[item[0]][1] * size
                    if start != position:
                        file.seek(start)  # forward: decompresses what it skips, once
                    data = file.read(size)
                    position = start + len(data)
                    if len(data) != size:
                        done += 1
                        yield item, "unreadable (the .npz member ends early)"
                        continue
                    image = np.frombuffer(data, member.dtype).reshape(shape)
                    done += 1
                    yield item, _checked(image)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            # a damaged stream: this image and the member's later ones
            yield from ((item, f"unreadable ({exc})") for item in items[done:])


def _checked(image: np.ndarray):
    """The image, or why it is not a usable 2D image."""
    return _stack_problem(image.shape, image.dtype, stack=False) or image


def _stack_problem(shape, dtype, *, stack: bool = True) -> str | None:
    ndims = (2, 3) if stack else (2,)
    if len(shape) not in ndims:
        return f"not a 2D image (shape {tuple(shape)})"
    if 0 in shape:
        return f"no pixels (shape {tuple(shape)})"
    return dtype_problem(dtype)


def content_hash(image: np.ndarray) -> str:
    """A short hash of an image's dtype, shape and pixels."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{image.dtype.str}{image.shape}".encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in (".zarray", "zarr.json"))
