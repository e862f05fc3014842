"""The batch command's tables: measurements and predictions, one value per slot, and their CSVs.

The ``measure`` step stores one array per column under ``measurements/``
(``label`` and :data:`~napari_nuclei_edges.classification.FEATURES`), the
``classify`` step under ``predictions/`` (``class``: an index into the model's
class names, ``confidence``, and ``p_<class>`` per class). Many slots share a
chunk (one file per image per column would be millions of files), so tasks
write them under a lock. At the end of every run each table is written again
from the store as a CSV inside it, one row per image of the input that is done,
so a resumed run's CSV is the whole dataset's.

numpy, zarr (torch only to load the model); no Qt, no napari.
"""

from __future__ import annotations

import hashlib
import re
from functools import partial
from pathlib import Path

import numpy as np

#: Slots per chunk of a table column (a column of 100,000 images: 25 files).
TABLE_CHUNK = 4096
MEASUREMENTS = "measurements"
PREDICTIONS = "predictions"


def load_model(path: str):
    """The classifier at ``path`` and a hash of its files; ValueError in one line naming it."""
    from ..classification.model_io import _paths, load_classifier

    try:  # checked whole: a tampered or foreign file is one sentence, before any work
        model = load_classifier(path)
        digest = hashlib.sha256()
        for part in _paths(path):
            digest.update(part.read_bytes())
    except (ValueError, OSError) as exc:
        raise ValueError(f"--model {path}: {exc}") from None
    return model, digest.hexdigest()


def model_problem(model, shape) -> str | None:
    """Why ``model`` cannot classify images of ``shape``, or None."""
    if model.options.uses_images and tuple(model.image_size) != tuple(shape):
        h, w = model.image_size
        return (f"the model was trained on {h} × {w} images, not {shape[0]} × {shape[1]} "
                "like the input's; crop or resize the images to its size.")  # fmt: skip
    return None


def table_outputs(steps, class_names) -> dict[str, tuple]:
    """Array name -> (dtype, fill value, attributes) of each table column the steps store."""
    from ..classification.measurements import FEATURES

    tables = {}
    if "measure" in steps:
        tables[f"{MEASUREMENTS}/label"] = ("int32", 0, {})
        for name in FEATURES:
            tables[f"{MEASUREMENTS}/{name}"] = ("float64", float("nan"), {})
    if "classify" in steps:
        meaning = "index into class_names of the predicted class; -1: none"
        tables[f"{PREDICTIONS}/class"] = ("int16", -1, {"class_names": list(class_names),
                                                        "meaning": meaning})  # fmt: skip
        tables[f"{PREDICTIONS}/confidence"] = ("float32", float("nan"), {})
        for name, column in zip(class_names, probability_arrays(class_names), strict=True):
            tables[f"{PREDICTIONS}/{column}"] = ("float32", float("nan"), {"class": name})
    return tables


def probability_arrays(class_names) -> list[str]:
    """``p_<class>`` per class, made a valid zarr name (no ``/``), distinct."""
    names = []
    for name in class_names:
        safe = "p_" + re.sub(r"[^\w.-]", "_", str(name))
        while safe in names:
            safe += "_"
        names.append(safe)
    return names


def block_columns(found, steps, class_names) -> dict[str, np.ndarray]:
    """A :class:`BlockTables`' values by array name (rows as in the block)."""
    columns = {}
    if "measure" in steps:
        for name, values in found.measurements.items():
            columns[f"{MEASUREMENTS}/{name}"] = values
    if "classify" in steps:
        columns[f"{PREDICTIONS}/class"] = found.predictions["class"]
        columns[f"{PREDICTIONS}/confidence"] = found.predictions["confidence"]
        probabilities = found.predictions["probabilities"]
        for i, column in enumerate(probability_arrays(class_names)):
            columns[f"{PREDICTIONS}/{column}"] = probabilities[:, i]
    return columns


def write_csvs(out: Path, record: dict, steps) -> tuple[dict[Path, int], int]:
    """Each table of the store as ``<out>/<table>.csv``: (path -> rows written, names unreadable).

    One row per image of the input that is done (gone and skipped images left
    out), in slot order: ``name``, ``slot``, then the columns; the class by name.
    One header, then a chunk of slots at a time (:class:`~napari_nuclei_edges.tables.CsvTable`:
    formulas escaped, names not valid UTF-8 shown as ``\\xNN`` and counted once per
    image); each file replaced whole, never half written.
    """
    import zarr

    from ..tables import save_csv

    root = zarr.open_group(str(out), mode="r")
    slots = record["images"]
    done = root["done"][:] if "done" in root else np.zeros(0, np.uint8)
    rows = np.array([k for k, entry in enumerate(slots)
                     if entry and not entry.get("gone") and k < done.size and done[k]],
                    np.int64)  # fmt: skip
    written, unreadable = {}, 0
    for table in (MEASUREMENTS, PREDICTIONS):
        if (table == MEASUREMENTS and "measure" not in steps) or (
            table == PREDICTIONS and "classify" not in steps
        ):
            continue
        columns, class_names = _csv_columns(root, table)
        path = out / f"{table}.csv"
        csv = save_csv(path, partial(_write_table, root=root, slots=slots, rows=rows,
                                     columns=columns, class_names=class_names))  # fmt: skip
        written[path] = csv.rows
        unreadable = max(unreadable, csv.unreadable)  # the same names in each table
    return written, unreadable


def _csv_columns(root, table: str) -> tuple[dict[str, str], list | None]:
    """CSV column -> array of the store, and the class names (None for measurements)."""
    from ..classification.measurements import FEATURES

    if table == MEASUREMENTS:
        return {name: f"{MEASUREMENTS}/{name}" for name in ("label", *FEATURES)}, None
    class_names = list(root[f"{PREDICTIONS}/class"].attrs["class_names"])
    columns = {"predicted_class": f"{PREDICTIONS}/class",
               "confidence": f"{PREDICTIONS}/confidence"}  # fmt: skip
    for name, array in zip(class_names, probability_arrays(class_names), strict=True):
        columns[f"p_{name}"] = f"{PREDICTIONS}/{array}"
    return columns, class_names


def _write_table(file, *, root, slots, rows, columns, class_names):
    from ..tables import CsvTable

    csv = CsvTable(file, ["name", "slot", *columns])
    for begin in range(0, rows.size, TABLE_CHUNK):
        part = rows[begin : begin + TABLE_CHUNK]
        values = [np.array([slots[k]["name"] for k in part], dtype=object), part]
        for array in columns.values():
            # the run of slots these rows span, read once, then picked
            values.append(root[array][part[0] : part[-1] + 1][part - part[0]])
        if class_names is not None:
            names = np.array([*class_names, ""], dtype=object)
            values[2] = names[np.where(values[2] >= 0, values[2], -1)]
        csv.write_rows(zip(*values, strict=True))
    return csv
