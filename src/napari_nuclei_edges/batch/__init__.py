"""Headless batch processing of many images into a zarr store, on dask.

``run_batch(INPUT, OUTPUT)`` applies the plugin's own compute functions
(:func:`~napari_nuclei_edges.gradients.sobel`,
:func:`~napari_nuclei_edges.segmentation.segment`,
:func:`~napari_nuclei_edges.segmentation.segment_nuclei`,
:func:`~napari_nuclei_edges.classification.measure`, a saved classifier) to
every 2D image of INPUT, in dask tasks on dask's local threads or on a
``dask.distributed`` scheduler. OUTPUT is a zarr group with one array per
output, one image per chunk (a table column: one value per image, ``_tables``),
and in its attributes the parameters and each slot's image name and identity;
the tables are also written as CSV files inside it at the end of each run.

Safe with a user's files and changing inputs:

- ``--out`` must be new, an empty folder, or a store this command made; every
  parameter is checked, and compared by meaning with the store's, before a
  byte is written;
- a re-run matches images by identity (``_source``): it processes exactly the
  new and changed images, never gives a stored output another image's name,
  and keeps (or, asked, removes) the outputs of images gone from the input;
- each image's ``done`` flag is written after its outputs, so a killed run
  resumes where it stopped;
- the expected size is the most common one; every other image is skipped and
  named with its reason in one summary.

numpy, dask, zarr; no Qt, no napari.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..tables import unreadable_note
from . import _store, _tables, _tasks
from ._params import GONE, RULES, STEPS, Parameters, compare, parameters
from ._plan import Plan, make_plan
from ._runner import _Runner
from ._source import ImageSource
from ._tasks import BLOCK_PIXELS, SOBEL_OUTPUTS

__all__ = ["GONE", "RULES", "STEPS", "BatchResult", "ImageSource", "run_batch"]

#: At most this many tasks share one ``.npz`` member: each streams it from its start
#: to its own part, so the decompression stays a small multiple of the member.
NPZ_TASKS_PER_MEMBER = 8


@dataclass
class BatchResult:
    """What a batch run found and did."""

    out: Path
    processed: int = 0
    already_done: int = 0  # unchanged, finished by an earlier run
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    gone_removed: bool = False
    resumed: bool = False
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # image name -> why it was skipped
    threshold: float | None = None
    threshold_kept: bool = False  # the store's threshold, computed by its first run
    seconds: float = 0.0
    tables: dict[Path, int] = field(default_factory=dict)  # CSV written -> its rows
    unreadable: int = 0  # image names written in the CSVs with their bytes as \xNN
    stale_lock: dict | None = None  # the lock a killed run left, taken over: its holder

    def summary(self) -> str:
        lines = []
        if self.stale_lock:
            held = self.stale_lock
            lines.append(f"The lock left by a run that was stopped (process {held['pid']} on "
                         f"{held['host']}, since {held['started']}) was taken over.")  # fmt: skip
        if self.resumed:
            gone = f"{len(self.gone)} gone"
            if self.gone:
                gone += (" (their outputs removed)" if self.gone_removed else
                         " (their outputs kept; --gone remove drops them)")  # fmt: skip
            lines.append(f"{self.out}: found {len(self.new)} new, {len(self.changed)} changed, "
                         f"{gone}, {self.unchanged} unchanged.")  # fmt: skip
        if self.resumed and self.processed == 0 and not self.failed and not self.gone_removed:
            lines.append(f"Nothing to do: all {self.already_done} images are done.")
        else:
            parts = [
                f"{_count(self.processed, 'image')} processed",
                f"{self.already_done} already done",
            ]
            if self.threshold is not None:
                kept = " (the store's, from its first run)" if self.threshold_kept else ""
                parts.append(f"threshold {self.threshold:g}{kept}")
            lines.append(("" if self.resumed else f"{self.out}: ") + ", ".join(parts)
                         + f" in {self.seconds:.1f} s.")  # fmt: skip
        lines += [f"{path}: {_count(rows, 'image')}, one row each." for path, rows in
                  self.tables.items()]  # fmt: skip
        if self.unreadable:
            lines.append(unreadable_note(self.unreadable, "the CSV"))
        if self.failed:
            lines.append(f"{_count(len(self.failed), 'image')} skipped:")
            lines += [f"  {name}: {why}" for name, why in self.failed.items()]
        return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def run_batch(
    source,
    out,
    *,
    steps=("sobel",),
    threshold: str | float = "otsu",
    rule: str = "per_image",
    padding: str = "reflect",
    size=None,
    gone: str = "keep",
    scheduler: str | None = None,
    progress: bool = True,
    model=None,
) -> BatchResult:
    """Compute the chosen outputs for every image of ``source`` into the zarr store ``out``.

    Parameters
    ----------
    source : str or Path
        A zarr array, an ``.npz``, a folder of images or of class folders.
    out : str or Path
        The zarr store: a new path or empty folder (created), or a store this
        command made (resumed: only new and changed images are processed).
    steps : sequence of str
        Any of ``"sobel"`` (Gx, Gy, magnitude, direction), ``"threshold"``
        (``mask = x > t``, one ``t`` for all images), ``"labels"``
        (:func:`segment_nuclei`), ``"measure"`` (the centre nucleus of each
        image, :func:`~napari_nuclei_edges.classification.measure`: one array per
        column under ``measurements/``, NaN without a nucleus, and
        ``measurements.csv``) and ``"classify"`` (``model``'s class, confidence
        and probabilities under ``predictions/``, and ``predictions.csv``).
    threshold : str or float
        A method of :data:`~napari_nuclei_edges.intensity.THRESHOLD_METHODS`
        or a finite value.
    rule : {"per_image", "global"}
        For ``labels`` with a method: the method on each image, or once on
        every image pooled.
    padding : str
        Sobel border handling, as in :func:`~napari_nuclei_edges.gradients.sobel`.
    size : (int, int) or str, optional
        The images' expected size (``"80x80"``); default: the most common one.
    gone : {"keep", "remove"}
        What a re-run does with the outputs of images no longer in ``source``.
    scheduler : str, optional
        A ``dask.distributed`` scheduler address (``tcp://host:8786``);
        default: dask's local threads.
    progress : bool
        Print progress lines to stderr.
    model : str or Path, optional
        For ``classify``: a classifier saved by
        :func:`~napari_nuclei_edges.classification.save_classifier` (its ``.pt`` or
        ``.json``), loaded without executing code; a store resumed with another
        model is refused.

    Returns
    -------
    BatchResult

    Raises
    ------
    FileNotFoundError
        When ``source`` does not exist.
    ValueError
        With one line naming the parameter or the file, before anything is
        written: another run writing to ``out`` (``_lock``), a bad parameter, an
        ``--out`` that is not new nor this command's, a store made with other
        parameters, an input without one usable image, a model that is not a
        saved classifier or not for these images' size.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> folder = tempfile.mkdtemp()
    >>> np.savez(f"{folder}/in.npz", **synthetic_nuclei(n_per_class=2))
    >>> result = run_batch(f"{folder}/in.npz", f"{folder}/out.zarr", steps="measure",
    ...                    progress=False)
    >>> result.processed, [path.name for path in result.tables]
    (10, ['measurements.csv'])
    """
    from ._lock import holding

    where = Path(out).expanduser().absolute()
    with holding(where) as stale:  # one run at a time on a store
        result = _run(source, where, steps=steps, threshold=threshold, rule=rule,
                      padding=padding, size=size, gone=gone, scheduler=scheduler,
                      progress=progress, model=model)  # fmt: skip
    result.stale_lock = stale
    return result


def _run(source, out: Path, *, steps, threshold, rule, padding, size, gone, scheduler,
         progress, model) -> BatchResult:  # fmt: skip
    from .. import __version__

    start = time.perf_counter()
    images = ImageSource(source)
    params = parameters(images.path, steps, threshold, rule, padding, size, gone, model)
    classifier = None
    if params.model is not None:  # loaded (safely) and identified before anything else
        classifier, identity = _tables.load_model(params.model)
        params = replace(params, model_identity=identity)
    if out == images.path or images.path in out.parents:
        raise ValueError(f"--out {out} is inside the input {images.path}; give a path outside it.")
    stored = _store.existing_store(out)
    if stored is not None:
        compare(stored, params, out)
    runner = _Runner(scheduler, progress)
    job = {"source": str(images.path), "out": str(out), "run": uuid.uuid4().hex}
    plan, ranges = _survey(images, stored, params, runner, job, out)
    problem = classifier and _tables.model_problem(classifier, plan.shape)
    if problem:
        raise ValueError(f"--model {params.model}: {problem}")
    result = BatchResult(out, resumed=stored is not None, new=plan.new, changed=plan.changed,
                         gone=plan.gone, gone_removed=params.gone == "remove" and bool(plan.gone),
                         failed={n: s["reason"] for n, s in plan.skipped.items()})  # fmt: skip
    result.threshold = _threshold_value(params, stored, plan, ranges, runner, job, images)
    result.threshold_kept = params.pooled_threshold and stored is not None
    record = {
        "made_by": _store.MARKER, "format": _store.FORMAT, "plugin_version": __version__,
        **params.record(), "threshold_value": result.threshold, "shape": list(plan.shape),
        "dtype": plan.dtype, "source_identity": images.container_identity(),
        "names": [slot["name"] if slot else None for slot in plan.slots],
        "images": plan.slots, "skipped": plan.skipped,
    }  # fmt: skip
    outputs = _outputs(params, plan.shape)
    class_names = list(classifier.class_names) if classifier else []
    tables = _tables.table_outputs(params.steps, class_names)
    result.unchanged, result.already_done = plan.unchanged, plan.unchanged - plan.pending
    if stored is not None and not (plan.process or plan.reset or plan.clear):
        if record != stored:  # images marked gone, or an .npz touched but the same
            _store.write_record(_store.open_for_writing(out, stored, outputs, tables), record)
        if tables:  # the CSV of the store as it is (the input's images, gone ones left out)
            result.tables, result.unreadable = _tables.write_csvs(out, record, params.steps)
        result.seconds = time.perf_counter() - start
        return result  # nothing to compute
    root = _store.open_for_writing(out, record, outputs, tables)
    _store.reset(root, {**outputs, **tables}, plan.reset, plan.clear)
    _store.write_record(root, record)
    job.update(steps=params.steps, padding=params.padding, threshold=params.threshold,
               rule=params.rule, threshold_value=result.threshold, shape=plan.shape,
               dtype=plan.dtype, model=params.model, model_identity=params.model_identity,
               class_names=class_names, scheduler=scheduler,
               arrays=[*outputs, *tables, "done"])  # fmt: skip
    if classifier is not None:  # local threads use the model loaded here
        _tasks.hand_model(job, classifier)
    tasks = _tasks_of(images, plan.process, plan.shape)
    statuses = [
        status for task in runner.map(_tasks.process, job, tasks, "images") for status in task
    ]
    names = images.names
    for index, status in statuses:
        if status == "done":
            result.processed += 1
        else:
            result.failed[names[index]] = status
    if tables:  # rewritten whole from the store: a resumed run's CSV lists every image
        result.tables, result.unreadable = _tables.write_csvs(out, record, params.steps)
    result.seconds = time.perf_counter() - start
    return result


def _survey(images, stored, params: Parameters, runner, job, out) -> tuple[Plan, dict]:
    """Match the input with the store; read (once) only the images that may have changed."""
    known: dict[int, tuple] = {}
    slots = (stored or {}).get("images", [])
    by_name = {entry["name"]: k for k, entry in enumerate(slots) if entry}
    skipped = (stored or {}).get("skipped", {})
    identities = images.stat_identities()
    container_same = (
        stored is not None
        and images.container_identity() is not None
        and images.container_identity() == stored.get("source_identity")
    )
    to_read = []
    for index, name in enumerate(images.names):
        slot, identity = by_name.get(name), identities[index]
        if slot is not None and (container_same or identity == slots[slot]["identity"]):
            known[index] = ("same", slot)
        elif name in skipped and (container_same or identity == skipped[name]["identity"]):
            known[index] = ("same_bad", skipped[name])
        else:
            to_read.append((index, name, identity))
    ranges_needed = params.pooled_threshold and (stored or {}).get("threshold_value") is None
    surveyed = {}
    if to_read:
        survey_job = {**job, "ranges": ranges_needed}
        for task in runner.map(_tasks.survey, survey_job, _tasks_of(images, to_read, None),
                               "checking images"):  # fmt: skip
            surveyed.update(task)
    done = _store.done_flags(out, len(slots)) if stored is not None else np.zeros(0, np.uint8)
    plan = make_plan(images.names, known, surveyed, stored, done, size=params.size,
                     gone=params.gone)  # fmt: skip
    if stored is None and not plan.process:
        reasons = "; ".join(f"{n}: {s['reason']}" for n, s in list(plan.skipped.items())[:3])
        raise ValueError(f"{images.path}: not one usable 2D image ({reasons}).")
    ranges = {i: surveyed[i]["range"] for i, *_ in plan.process if i in surveyed}
    return plan, ranges


def _threshold_value(params: Parameters, stored, plan: Plan, ranges, runner, job, images):
    """The one threshold of a run: the value given, the store's, or the method on all images."""
    if isinstance(params.threshold, float):
        return params.threshold
    if not params.pooled_threshold:
        return None
    if stored is not None and stored.get("threshold_value") is not None:
        return float(stored["threshold_value"])  # every output made with the same threshold
    from ..intensity import ClassHistograms, auto_threshold, histogram_edges

    found = [r for r in ranges.values() if r]
    if not found:
        raise ValueError(f"{job['source']}: no finite pixel values to threshold.")
    low, high = min(r[0] for r in found), max(r[1] for r in found)
    edges, unit_bins = histogram_edges(np.dtype(plan.dtype).kind in "uib", low, high)
    histogram_job = {**job, "edges": edges.tolist(), "unit_bins": unit_bins}
    items = [(i, n) for i, n, _ in plan.process]
    tasks = _tasks_of(images, items, plan.shape)
    counts = runner.map(_tasks.histogram, histogram_job, tasks, "histograms")
    histograms = ClassHistograms(edges, {"all": np.sum(counts, axis=0)}, {}, unit_bins)
    return float(auto_threshold(histograms, params.threshold))


def _tasks_of(images: ImageSource, items: list, shape) -> list[tuple]:
    """Items cut into tasks, in input order; an ``.npz`` member in a few long tasks.

    Returned as 1-tuples of item lists (the runner unpacks tuples into arguments).
    """
    items = sorted(items, key=lambda item: item[0])
    if not items:
        return []
    pixels = shape[0] * shape[1] if shape else 1 << 16
    per_task = max(1, min(BLOCK_PIXELS // pixels, -(-len(items) // 8)))
    if images.kind != "npz":
        return [(items[i : i + per_task],) for i in range(0, len(items), per_task)]
    tasks, by_member = [], {}
    for item in items:
        by_member.setdefault(images.keys[item[0]][0], []).append(item)
    for member_items in by_member.values():
        size = max(per_task, -(-len(member_items) // NPZ_TASKS_PER_MEMBER))
        tasks += [(member_items[i : i + size],) for i in range(0, len(member_items), size)]
    return tasks


def _outputs(params: Parameters, shape) -> dict[str, tuple]:
    outputs = {}
    if "sobel" in params.steps:
        from ..gradients import output_shape

        sobel_shape = output_shape(tuple(shape), params.padding) if min(shape) >= 3 else shape
        outputs.update(dict.fromkeys(SOBEL_OUTPUTS, ("float32", tuple(sobel_shape))))
    if "threshold" in params.steps:
        outputs["mask"] = ("uint8", tuple(shape))
    if "labels" in params.steps:
        outputs["labels"] = ("int32", tuple(shape))
    return outputs
