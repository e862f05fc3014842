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

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data import finite_values
from ._runner import _Runner
from ._source import ImageSource, _is_zarr  # noqa: F401  (ImageSource is public)

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

    from .. import __version__

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
    previous = _previous_parameters(root, params, out)
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
    _create_arrays(root, steps, (n, h, w))
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
    _count_statuses(result, statuses, images.names)
    result.seconds = time.perf_counter() - start
    return result


def _previous_parameters(root, params: dict, out) -> dict | None:
    """What an earlier run of this store recorded; refuse to resume with other parameters."""
    previous = dict(root.attrs).get("napari_nuclei_edges")
    same = {k: v for k, v in params.items() if k != "plugin_version"}
    if previous is not None and {k: previous.get(k) for k in same} != same:
        raise ValueError(
            f"{out} was made with other parameters ({previous}); write to a new --out, "
            "or delete it to start again."
        )
    return previous


def _create_arrays(root, steps, shape: tuple[int, int, int]) -> None:
    """One array per output, one image per chunk, and the per-image done flags."""
    n, h, w = shape
    for name, dtype in _outputs(steps).items():
        if name not in root:
            # float gradients barely compress, and compressing them costs more than computing
            # them; masks and labels are mostly zeros and shrink many times
            compressors = None if dtype == "float32" else "auto"
            root.create_array(name, shape=shape, chunks=(1, h, w), dtype=dtype,
                              fill_value=0, compressors=compressors)  # fmt: skip
    if "done" not in root:
        root.create_array("done", shape=(n,), chunks=(1,), dtype="uint8", fill_value=0)


def _count_statuses(result: BatchResult, statuses: list[str], names: list[str]) -> None:
    for index, status in enumerate(statuses):
        if status == "done":
            result.processed += 1
        elif status == "skipped":
            result.skipped += 1
        else:
            result.failed[names[index]] = status


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
        from ..gradients import sobel

        results.update(zip(SOBEL_OUTPUTS, sobel(stack, padding=job["padding"]), strict=True))
    if "threshold" in steps:
        from ..segmentation import segment

        results["mask"] = segment(stack, job["threshold"]).astype(np.uint8)
    if "labels" in steps:
        from ..segmentation import segment_nuclei

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
    """A value, or a method on the pooled histogram of every image (intensity's binning)."""
    from ..intensity import THRESHOLD_METHODS, ClassHistograms, auto_threshold, histogram_edges

    if not isinstance(rule, str) or rule not in THRESHOLD_METHODS:
        try:
            return float(rule)
        except ValueError:
            raise ValueError(
                f"--threshold must be a number or one of {THRESHOLD_METHODS}, not {rule!r}."
            ) from None
    job = {"source": str(images.path)}
    ranges = [r for r in runner.map(_range_one, job, range(len(images)), "ranges") if r]
    if not ranges:
        raise ValueError(f"{images.path}: no finite pixel values to threshold.")
    low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
    edges, unit_bins = histogram_edges(images.dtype.kind in "uib", low, high)
    job.update(edges=edges, unit_bins=unit_bins)
    counts = [c for c in runner.map(_histogram_one, job, range(len(images)), "histograms")
              if c is not None]  # fmt: skip
    histograms = ClassHistograms(edges, {"all": np.sum(counts, axis=0)}, {}, unit_bins)
    return auto_threshold(histograms, rule)


def _range_one(job: dict, index: int):
    try:
        finite = finite_values(_reader(job["source"]).read(index))
    except ValueError:
        return None
    return (finite.min(), finite.max()) if finite.size else None


def _histogram_one(job: dict, index: int):
    from ..intensity import bin_counts

    try:
        image = _reader(job["source"]).read(index)
    except ValueError:
        return None
    return bin_counts(image, job["edges"], job["unit_bins"])[0]
