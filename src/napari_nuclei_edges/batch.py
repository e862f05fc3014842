"""Headless batch processing of many images into a zarr store, on dask.

``run_batch(INPUT, OUTPUT)`` applies the plugin's own compute functions
(:func:`~napari_nuclei_edges.gradients.sobel`,
:func:`~napari_nuclei_edges.segmentation.segment`,
:func:`~napari_nuclei_edges.segmentation.segment_nuclei`) to every 2D image of
INPUT, one dask task per image, on dask's local threads or on a
``dask.distributed`` scheduler. OUTPUT is a zarr group with one array per
output, chunked one image per chunk, and the parameters in its attributes.

It is resumable: each image's ``done`` flag is written after its outputs, so a
second run skips finished images. A bad image (unreadable, not 2D, another
size) is reported by name and skipped; the others go on.

numpy, dask, zarr; no Qt, no napari.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["STEPS", "BatchResult", "ImageSource", "run_batch"]

STEPS = ("sobel", "threshold", "labels")
SOBEL_OUTPUTS = ("sobel_gx", "sobel_gy", "sobel_magnitude", "sobel_direction")
#: Pixels per dask task (whole images): big enough to amortise the task, small to spread.
BLOCK_PIXELS = 1 << 22


@dataclass
class BatchResult:
    """What a batch run did."""

    out: Path
    processed: int = 0
    skipped: int = 0  # finished by an earlier run
    failed: dict[str, str] = field(default_factory=dict)  # image name -> why
    threshold: float | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{self.processed} images processed", f"{self.skipped} already done"]
        if self.threshold is not None:
            parts.append(f"threshold {self.threshold:g}")
        lines = [f"{self.out}: " + ", ".join(parts) + f" in {self.seconds:.1f} s."]
        for name, why in self.failed.items():
            lines.append(f"skipped {name}: {why}")
        return "\n".join(lines)


class ImageSource:
    """The 2D images of INPUT by index, read one at a time (in the task that needs it).

    INPUT: a zarr array (``(N, H, W)`` or ``(H, W)``), an ``.npz`` of ``(N, H, W)``
    stacks, a folder of 2D TIFF/PNG images, or a folder of class folders of them.
    """

    def __init__(self, path: str | Path):
        from .data import IMAGE_SUFFIXES

        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or folder.")
        self.kind, self.files, self.keys = "files", [], []
        if self.path.suffix == ".npz":
            self.kind = "npz"
            with np.load(self.path) as npz:
                for key in npz.files:
                    count = npz[key].shape[0] if npz[key].ndim == 3 else 1
                    self.keys += [(key, i) for i in range(count)]
            self.names = [f"{key}/{i:04d}" for key, i in self.keys]
        elif _is_zarr(self.path):
            self.kind = "zarr"
            array = self._zarr()
            count = array.shape[0] if array.ndim == 3 else 1
            self.names = [f"{self.path.name}[{i}]" for i in range(count)]
        else:
            files = sorted(
                p for p in self.path.rglob("*")
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                and not p.name.startswith(".")
            )  # fmt: skip
            if not files:
                raise ValueError(f"{self.path}: no images ({', '.join(IMAGE_SUFFIXES)}) found.")
            self.files = files
            self.names = [str(p.relative_to(self.path)) for p in files]
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
            key, i = self.keys[index]
            with np.load(self.path) as npz:
                stack = npz[key]
            image = stack[i] if stack.ndim == 3 else stack
        else:
            from .data import read_image

            try:
                image = read_image(self.files[index])
            except Exception as exc:  # any reader's failure on a corrupt file
                raise ValueError(f"unreadable ({type(exc).__name__}: {exc})") from exc
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


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in (".zarray", "zarr.json"))


def run_batch(
    source,
    out,
    *,
    steps=("sobel",),
    threshold: str | float = "otsu",
    padding: str = "reflect",
    scheduler: str | None = None,
    progress: bool = True,
) -> BatchResult:
    """Compute the chosen outputs for every image of ``source`` into the zarr store ``out``.

    Parameters
    ----------
    source : str or Path
        A zarr array, an ``.npz``, a folder of images or of class folders.
    out : str or Path
        The zarr store to write (created, or resumed when it exists).
    steps : sequence of str
        Any of ``"sobel"`` (Gx, Gy, magnitude, direction), ``"threshold"``
        (``mask = x > t``) and ``"labels"`` (:func:`segment_nuclei` at ``t``).
    threshold : str or float
        A method of :data:`~napari_nuclei_edges.intensity.THRESHOLD_METHODS`,
        computed from the histogram of all images, or a value.
    padding : str
        Sobel border handling, as in :func:`~napari_nuclei_edges.gradients.sobel`.
    scheduler : str, optional
        A ``dask.distributed`` scheduler address (``tcp://host:8786``);
        default: dask's local threads.
    progress : bool
        Print a progress line to stderr.

    Returns
    -------
    BatchResult
    """
    import zarr

    from . import __version__

    start = time.perf_counter()
    steps = tuple(steps)
    unknown = set(steps) - set(STEPS)
    if unknown or not steps:
        raise ValueError(f"steps must be some of {STEPS}, not {sorted(unknown) or 'none'}.")
    images = ImageSource(source)
    result = BatchResult(Path(out))
    params = {
        "steps": list(steps),
        "threshold_rule": str(threshold),
        "padding": padding,
        "source": str(images.path),
        "plugin_version": __version__,
    }
    root = zarr.open_group(str(out), mode="a")
    previous = dict(root.attrs).get("napari_nuclei_edges")
    if previous is not None and {k: previous.get(k) for k in params if k != "plugin_version"} != {
        k: v for k, v in params.items() if k != "plugin_version"
    }:
        raise ValueError(
            f"{out} was made with other parameters ({previous}); write to a new --out, "
            "or delete it to start again."
        )
    runner = _Runner(scheduler, progress)
    needs_t = "threshold" in steps or "labels" in steps
    if needs_t:
        if previous is not None and previous.get("threshold") is not None:
            value = previous["threshold"]
        else:
            value = _threshold(images, threshold, runner, result)
        params["threshold"] = result.threshold = float(value)
    params["names"] = images.names
    root.attrs["napari_nuclei_edges"] = params
    n, (h, w) = len(images), images.shape
    outputs = _outputs(steps)
    for name, dtype in outputs.items():
        if name not in root:
            # float gradients barely compress, and compressing them costs more than computing
            # them; masks and labels are mostly zeros and shrink many times
            compressors = None if dtype == "float32" else "auto"
            root.create_array(name, shape=(n, h, w), chunks=(1, h, w), dtype=dtype,
                              fill_value=0, compressors=compressors)  # fmt: skip
    if "done" not in root:
        root.create_array("done", shape=(n,), chunks=(1,), dtype="uint8", fill_value=0)
    _OUTPUTS.pop(str(out), None)  # arrays may have been created since a process opened it
    _SOURCES.pop(str(images.path), None)
    job = {"source": str(images.path), "out": str(out), "steps": steps, "padding": padding,
           "threshold": result.threshold}  # fmt: skip
    per_task = max(1, min(BLOCK_PIXELS // (h * w), -(-n // 8)))
    blocks = [(i, min(n, i + per_task)) for i in range(0, n, per_task)]
    statuses = [
        status
        for block in runner.map(_process_block, job, blocks, "blocks of images")
        for status in block
    ]
    for index, status in enumerate(statuses):
        if status == "done":
            result.processed += 1
        elif status == "skipped":
            result.skipped += 1
        else:
            result.failed[images.names[index]] = status
    result.seconds = time.perf_counter() - start
    return result


def _outputs(steps) -> dict[str, str]:
    outputs = {}
    if "sobel" in steps:
        outputs.update(dict.fromkeys(SOBEL_OUTPUTS, "float32"))
    if "threshold" in steps:
        outputs["mask"] = "uint8"
    if "labels" in steps:
        outputs["labels"] = "int32"
    return outputs


def _process_block(job: dict, start: int, stop: int) -> list[str]:
    """Images ``start:stop``: read, compute, write their outputs, then their done flags.

    Runs in a dask task. A block of images per task lets ``sobel`` work on a stack
    and zarr write its chunks together; a bad image only costs its own slot.
    """
    root = _opened(job["out"])
    done = root["done"][start:stop]
    statuses = ["skipped"] * (stop - start)
    good, images = [], []
    for offset in np.flatnonzero(done == 0):
        try:
            images.append(_reader(job["source"]).read(start + int(offset)))
            good.append(int(offset))
        except ValueError as exc:
            statuses[offset] = str(exc)
    if not good:
        return statuses
    stack = np.stack(images)
    results = {}
    steps = job["steps"]
    if "sobel" in steps:
        from .gradients import sobel

        results.update(zip(SOBEL_OUTPUTS, sobel(stack, padding=job["padding"]), strict=True))
    if "threshold" in steps:
        from .segmentation import segment

        results["mask"] = segment(stack, job["threshold"]).astype(np.uint8)
    if "labels" in steps:
        from .segmentation import segment_nuclei

        results["labels"] = np.stack(
            [segment_nuclei(image, threshold=job["threshold"]) for image in stack]
        )
    whole = len(good) == stop - start
    for name, values in results.items():
        if whole:
            root[name][start:stop] = values  # zarr writes the chunks concurrently
        else:
            for row, offset in enumerate(good):
                root[name][start + offset] = values[row]
    flags = root["done"][start:stop]
    flags[good] = 1
    root["done"][start:stop] = flags  # only after every output of these images
    for offset in good:
        statuses[offset] = "done"
    return statuses


_SOURCES: dict[str, ImageSource] = {}
_OUTPUTS: dict[str, dict] = {}


def _opened(out: str) -> dict:
    """The output arrays, opened once per process (zarr reads their metadata on each open)."""
    if out not in _OUTPUTS:
        import zarr

        group = zarr.open_group(out, mode="r+")
        _OUTPUTS[out] = {name: group[name] for name in group.array_keys()}
    return _OUTPUTS[out]


def _reader(path: str) -> ImageSource:
    """One ImageSource per input per process: listing a folder once, not once per image."""
    if path not in _SOURCES:
        _SOURCES[path] = ImageSource(path)
    return _SOURCES[path]


def _threshold(images: ImageSource, rule, runner: _Runner, result: BatchResult) -> float:
    from .intensity import THRESHOLD_METHODS, ClassHistograms, auto_threshold

    if not isinstance(rule, str) or rule not in THRESHOLD_METHODS:
        try:
            return float(rule)
        except ValueError:
            raise ValueError(
                f"--threshold must be a number or one of {THRESHOLD_METHODS}, not {rule!r}."
            ) from None
    job = {"source": str(images.path)}
    if images.dtype.kind in "ui" and images.dtype.itemsize <= 2:
        info = np.iinfo(images.dtype)
        low, high = int(info.min), int(info.max)
    else:
        ranges = [r for r in runner.map(_range_one, job, range(len(images)), "ranges") if r]
        low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
    job.update(low=low, high=high, integer=images.dtype.kind in "uib")
    counts = [c for c in runner.map(_histogram_one, job, range(len(images)), "histograms")
              if c is not None]  # fmt: skip
    edges = (np.arange(low, high + 2) - 0.5) if job["integer"] else np.linspace(low, high, 257)
    histograms = ClassHistograms(edges, {"all": np.sum(counts, axis=0)}, {}, job["integer"])
    return auto_threshold(histograms, rule)


def _range_one(job: dict, index: int):
    try:
        image = _reader(job["source"]).read(index)
    except ValueError:
        return None
    finite = image[np.isfinite(image)] if image.dtype.kind == "f" else image
    return (float(finite.min()), float(finite.max())) if finite.size else None


def _histogram_one(job: dict, index: int):
    try:
        image = _reader(job["source"]).read(index)
    except ValueError:
        return None
    low, high = job["low"], job["high"]
    if job["integer"]:
        return np.bincount(image.ravel().astype(np.int64) - low, minlength=high - low + 1)
    finite = image[np.isfinite(image)]
    return np.histogram(finite, bins=256, range=(low, high))[0]


class _Runner:
    """Maps a function over image indices as dask tasks, with a progress line."""

    def __init__(self, scheduler: str | None, progress: bool):
        self.scheduler, self.progress = scheduler, progress

    def map(self, function, job: dict, indices, what: str) -> list:
        import dask

        items = list(indices)
        tasks = [
            dask.delayed(function, pure=False)(job, *(i if isinstance(i, tuple) else (i,)))
            for i in items
        ]
        if self.scheduler is None:
            from dask.diagnostics import Callback

            done = [0]
            reporter = _Progress(len(tasks), what, self.progress)

            class _Count(Callback):
                def _posttask(self, key, value, dsk, state, id):
                    done[0] += 1
                    reporter.show(done[0])

            with _Count():
                values = dask.compute(*tasks, scheduler="threads")
            return list(values)
        try:
            from distributed import Client, as_completed
        except ImportError:  # pragma: no cover - depends on the environment
            raise ValueError(
                "--scheduler needs dask.distributed: pip install distributed"
            ) from None
        with Client(self.scheduler) as client:
            futures = client.compute(tasks)
            reporter = _Progress(len(futures), what, self.progress)
            for count, _ in enumerate(as_completed(futures), 1):
                reporter.show(count)
            return client.gather(futures)


class _Progress:
    """``what: done/total`` on one refreshed line on a terminal, every quarter in a log."""

    def __init__(self, total: int, what: str, enabled: bool):
        self.total, self.what, self.enabled = total, what, enabled
        self.last, self.quarter = 0.0, 0
        self.terminal = sys.stderr.isatty()

    def show(self, count: int) -> None:
        if not self.enabled:
            return
        if self.terminal:
            now = time.perf_counter()
            if now - self.last > 0.2 or count == self.total:
                self.last = now
                end = "\n" if count == self.total else "\r"
                print(f"{self.what}: {count}/{self.total}", end=end, file=sys.stderr, flush=True)
        elif count * 4 >= (self.quarter + 1) * self.total:
            self.quarter = count * 4 // self.total
            print(f"{self.what}: {count}/{self.total}", file=sys.stderr, flush=True)
