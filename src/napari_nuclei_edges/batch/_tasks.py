"""The batch command's dask tasks: survey, histogram and process a run of images.

Each task gets a list of ``(index, name, ...)`` items in input order and reads
them once through :meth:`ImageSource.iter_images` (an ``.npz`` member streamed
forward once per task). Tasks run in dask threads or on ``dask.distributed``
workers: they get plain values (the job dict), open the input and the store
once per process and run, and return small values.

numpy, zarr; no Qt, no napari.
"""

from __future__ import annotations

import threading

import numpy as np

from ..data import finite_values
from ._source import ImageSource, content_hash

SOBEL_OUTPUTS = ("sobel_gx", "sobel_gy", "sobel_magnitude", "sobel_direction")
#: Pixels computed and written together: big enough to amortise a call, small for memory.
BLOCK_PIXELS = 1 << 22


def survey(job: dict, items: list) -> list[tuple[int, dict]]:
    """Shape, dtype, identity (and value range) of each image; the reason when it is bad."""
    source = _reader(job)
    found = []
    for item, image in source.iter_images(items):
        index, identity = item[0], item[2]
        if isinstance(image, str):
            found.append((index, {"identity": identity or "unreadable", "shape": None,
                                  "dtype": None, "error": image, "range": None}))  # fmt: skip
            continue
        if identity is None:
            identity = content_hash(image)
        low_high = None
        if job["ranges"]:
            finite = finite_values(image)
            low_high = (float(finite.min()), float(finite.max())) if finite.size else None
        found.append((index, {"identity": identity, "shape": list(image.shape),
                              "dtype": image.dtype.str, "error": None,
                              "range": low_high}))  # fmt: skip
    return found


def histogram(job: dict, items: list) -> np.ndarray:
    """The summed counts of these images in the job's bins."""
    from ..intensity import bin_counts

    counts = np.zeros(len(job["edges"]) - 1, np.int64)
    for _, image in _reader(job).iter_images(items):
        if not isinstance(image, str):
            counts += bin_counts(image, np.asarray(job["edges"]), job["unit_bins"])[0]
    return counts


def process(job: dict, items: list) -> list[tuple[int, str]]:
    """Read, compute and write the outputs of ``items`` into their slots, then their flags.

    Returns ``(index, status)``: ``"done"``, or why that image was not done.
    """
    source, root = _reader(job), _opened(job)
    h, w = job["shape"]
    most = max(1, BLOCK_PIXELS // (h * w))
    statuses, block = [], []
    for item, image in source.iter_images(items):
        if isinstance(image, str):
            statuses.append((item[0], image))
        elif image.shape != (h, w):  # changed since the survey
            statuses.append((item[0], f"now {image.shape[0]} × {image.shape[1]}, not "
                                      f"{h} × {w} like the others"))  # fmt: skip
        else:
            block.append((item, image.astype(job["dtype"], copy=False)))
            if len(block) == most:
                statuses += _compute_and_write(job, root, block)
                block = []
    if block:
        statuses += _compute_and_write(job, root, block)
    return statuses


def _compute_and_write(job: dict, root: dict, block: list) -> list[tuple[int, str]]:
    statuses, results = [], {}
    steps = job["steps"]
    labels = None
    if "labels" in steps:
        from ..segmentation import segment_nuclei

        labels, kept = [], []
        for item, image in block:
            try:
                if job["rule"] == "per_image":
                    labels.append(segment_nuclei(image, method=job["threshold"], rule="per_image"))
                else:  # one threshold for every image: pooled by a method, or a value
                    labels.append(segment_nuclei(image, threshold=job["threshold_value"],
                                                 rule="global"))  # fmt: skip
                kept.append((item, image))
            except ValueError as exc:
                statuses.append((item[0], f"labels: {exc}"))
        block = kept
        if not block:
            return statuses
    columns = {}
    if "measure" in steps or "classify" in steps:
        block, labels, columns, refused = _tables_of(job, block, labels)
        statuses += refused
        if not block:
            return statuses
    if labels is not None:
        results["labels"] = np.stack(labels)
    stack = np.stack([image for _, image in block])
    try:
        if "sobel" in steps:
            from ..gradients import sobel

            results.update(zip(SOBEL_OUTPUTS, sobel(stack, padding=job["padding"]), strict=True))
        if "threshold" in steps:
            from ..segmentation import segment

            results["mask"] = segment(stack, job["threshold_value"]).astype(np.uint8)
    except ValueError as exc:  # e.g. images too small for the Sobel padding
        return statuses + [(item[0], str(exc)) for item, _ in block]
    slots = [item[2] for item, _ in block]
    together = slots == list(range(slots[0], slots[0] + len(slots)))
    for name, values in results.items():
        if together:
            root[name][slots[0] : slots[-1] + 1] = values  # zarr writes the chunks concurrently
        else:
            for row, slot in enumerate(slots):
                root[name][slot] = values[row]
    if columns:
        # many slots share a chunk of a column: one task at a time reads and rewrites it
        with _table_lock(job):
            for name, values in columns.items():
                if together:
                    root[name][slots[0] : slots[-1] + 1] = values
                else:
                    root[name].oindex[np.asarray(slots)] = values
    if together:  # only after every output of these images
        root["done"][slots[0] : slots[-1] + 1] = 1
    else:
        for slot in slots:
            root["done"][slot] = 1
    return statuses + [(item[0], "done") for item, _ in block]


def _tables_of(job: dict, block: list, labels):
    """Measurements and predictions of the block; the images they refuse left out, named."""
    from ..classification.batch_steps import block_tables
    from ._tables import block_columns

    steps = job["steps"]
    model = _model(job) if "classify" in steps else None
    stack = np.stack([image for _, image in block])
    found = block_tables(stack, measurements="measure" in steps, model=model)
    refused = [(block[row][0][0], f"{'measure' if model is None else 'classify'}: {why}")
               for row, why in sorted(found.problems.items())]  # fmt: skip
    keep = np.array([row not in found.problems for row in range(len(block))], bool)
    found_columns = block_columns(found, steps, job.get("class_names"))
    columns = {name: np.asarray(values)[keep] for name, values in found_columns.items()}
    block = [entry for entry, kept in zip(block, keep, strict=True) if kept]
    if labels is not None:
        labels = [plane for plane, kept in zip(labels, keep, strict=True) if kept]
    return block, labels, columns, refused


_TABLE_LOCK = threading.Lock()


def _table_lock(job: dict):
    """A lock every task of the run shares: threads of one process, or a cluster's workers."""
    if job.get("scheduler"):
        from distributed import Lock

        return Lock(f"napari-nuclei-edges tables {job['out']}")
    return _TABLE_LOCK


_SOURCES: dict[tuple, ImageSource] = {}
_OUTPUTS: dict[tuple, dict] = {}
_MODELS: dict[tuple, object] = {}
_MODEL_LOCK = threading.Lock()


def hand_model(job: dict, model) -> None:
    """The main process's loaded model, for the tasks of this run on its threads."""
    with _MODEL_LOCK:
        _MODELS.clear()
        _MODELS[(job["model"], job["run"])] = model


def _model(job: dict):
    """The run's classifier, loaded once per process (the main process hands its own in)."""
    key = (job["model"], job["run"])
    with _MODEL_LOCK:
        if key not in _MODELS:
            from ._tables import load_model

            model, identity = load_model(job["model"])
            if identity != job["model_identity"]:
                raise ValueError(f"--model {job['model']} changed during the run; run again.")
            _MODELS.clear()
            _MODELS[key] = model
        return _MODELS[key]


def _reader(job: dict) -> ImageSource:
    """One ImageSource per input and run per process (reads by name: no listing)."""
    key = (job["source"], job["run"])
    if key not in _SOURCES:
        _SOURCES.clear()  # an earlier run's input may have changed since
        _SOURCES[key] = ImageSource(job["source"], listing=False)
    return _SOURCES[key]


def _opened(job: dict) -> dict:
    """The output arrays, opened once per run per process (a resumed store may have grown)."""
    key = (job["out"], job["run"])
    if key not in _OUTPUTS:
        import zarr

        _OUTPUTS.clear()
        group = zarr.open_group(job["out"], mode="r+")
        # by name, not listed: the store's folder also holds the CSV tables
        _OUTPUTS[key] = {name: group[name] for name in job["arrays"]}
    return _OUTPUTS[key]
