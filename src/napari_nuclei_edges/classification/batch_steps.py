"""The classification steps of the batch command, as pure functions of one block.

The batch runner hands each block of a (lazy) stack with its first image's index
to :func:`classify_block`; the tables of all blocks, joined with
:func:`join_tables`, go to the zarr store (one array per column) and to a CSV
(:func:`~napari_nuclei_edges.classification.model_io.table_csv`).
:func:`block_tables` is the batch command's form: measurements and predictions
of a block as separate tables, an image that cannot be measured or classified
named with its reason instead of failing the block.

numpy and scikit-image (torch only through a model); no Qt, no napari.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .measurements import measure

__all__ = ["BlockTables", "block_tables", "classify_block", "join_tables", "prediction_table"]


def prediction_table(predictions, start: int = 0) -> dict[str, np.ndarray]:
    """A table of :class:`Predictions`: image index, class, confidence, one column per class."""
    table = {
        "image": np.arange(start, start + len(predictions.labels)),
        "predicted_class": np.asarray(predictions.labels, dtype=str),
        "confidence": predictions.confidence,
    }
    for i, name in enumerate(predictions.class_names):
        table[f"p_{name}"] = predictions.probabilities[:, i]
    return table


def classify_block(block, start: int = 0, model=None) -> dict[str, np.ndarray]:
    """Measurements (and, with a model, predictions) of one block of images.

    Parameters
    ----------
    block : array_like
        ``(n, H, W)`` images, computed (one dask block).
    start : int
        Index of the block's first image in the whole stack.
    model : Classifier, optional
        A trained or loaded classifier; without one, measurements only.

    Returns
    -------
    dict of str to numpy.ndarray
        One row per image: ``image`` (index in the whole stack), the measurements
        and, with a model, ``predicted_class``, ``confidence`` and ``p_<class>``.

    Examples
    --------
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> table = classify_block(synthetic_nuclei(n_per_class=2)["anaphase"], start=10)
    >>> table["image"].tolist(), "area" in table
    ([10, 11], True)
    """
    block = np.asarray(block)
    table = measure(block)
    table["image"] = table["image"] + start
    if model is not None:
        features = None
        if model.options.uses_features:
            features = np.stack([table[n] for n in model.feature_names], 1).astype(np.float32)
        from .options import Predictions

        probabilities = model.probabilities(block, features)
        found = Predictions.of(probabilities, model.class_names, np.zeros((len(block), 2)))
        table["predicted_class"] = found.labels.astype(str)  # "" where none is finite
        table["confidence"] = found.confidence
        for i, name in enumerate(model.class_names):
            table[f"p_{name}"] = probabilities[:, i]
    return table


def join_tables(tables: Sequence[dict]) -> dict[str, np.ndarray]:
    """The blocks' tables one after the other (same columns in each)."""
    if not tables:
        return {}
    return {key: np.concatenate([t[key] for t in tables]) for key in tables[0]}


@dataclass
class BlockTables:
    """What :func:`block_tables` found for a block: one row per image of the block.

    ``measurements``: ``label`` and :data:`~.measurements.FEATURES` (NaN where an
    image has no nucleus, or is constant); ``predictions``: ``class`` (index into
    ``class_names``), ``confidence`` and ``probabilities`` (n, C); ``problems``:
    row -> why that image has neither (its rows hold placeholders).
    """

    measurements: dict[str, np.ndarray] | None = None
    predictions: dict[str, np.ndarray] | None = None
    problems: dict[int, str] = field(default_factory=dict)


def block_tables(block, *, measurements: bool = True, model=None) -> BlockTables:
    """Measurements and (with a model) predictions of one block of images, image by image.

    The whole block is measured and classified at once; only when that is refused
    (an image with NaN pixels, a constant image) is each image done alone, so one
    bad image never costs the others. A constant image has no nucleus: its
    measurements are NaN. Any other refusal is that image's problem.

    Parameters
    ----------
    block : array_like
        ``(n, H, W)`` images.
    measurements : bool
        Return the measurements (they are computed anyway for a model that reads them).
    model : Classifier, optional
        A trained or loaded classifier: predictions too.

    Returns
    -------
    BlockTables

    Examples
    --------
    >>> import numpy as np
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> block = synthetic_nuclei(n_per_class=2)["anaphase"].copy()
    >>> block[1] = 7  # constant: no nucleus
    >>> found = block_tables(block)
    >>> bool(found.measurements["area"][0] > 0), bool(np.isnan(found.measurements["area"][1]))
    (True, True)
    """
    from .measurements import FEATURES

    block = np.asarray(block)
    n = len(block)
    found = BlockTables()
    needs_table = measurements or (model is not None and model.options.uses_features)
    if needs_table:
        found.measurements, found.problems = _each_or_all(block, _measured, _nan_row(FEATURES))
    if model is not None:
        features = None
        if model.options.uses_features:
            features = np.stack([found.measurements[name] for name in model.feature_names], 1)
            features = features.astype(np.float32)
        c = len(model.class_names)
        ok = np.array([row not in found.problems for row in range(n)], bool)
        probabilities = np.full((n, c), np.nan, np.float32)
        if ok.any():

            def classified(images, rows):
                return {"p": model.probabilities(images, None if features is None else
                                                 features[rows])}  # fmt: skip

            done, more = _each_or_all(block[ok], classified, {"p": np.full((1, c), np.nan)},
                                      rows=np.flatnonzero(ok))  # fmt: skip
            probabilities[ok] = done["p"]
            kept = np.flatnonzero(ok)
            found.problems.update({int(kept[row]): why for row, why in more.items()})
        for row in found.problems:
            probabilities[row] = np.nan
        for row in np.flatnonzero(ok & ~np.isfinite(probabilities).all(1)):  # never class 0
            found.problems.setdefault(int(row), "the model gives no finite class probabilities "
                                      "for this image (values it overflows on)")  # fmt: skip
        known = np.isfinite(probabilities).all(1)
        index = np.where(known, np.nan_to_num(probabilities).argmax(1), -1).astype(np.int16)
        found.predictions = {
            "class": index,
            "confidence": np.where(known, np.nan_to_num(probabilities).max(1), np.nan),
            "probabilities": probabilities,
        }
    if not measurements:
        found.measurements = None
    return found


def _measured(images, rows) -> dict[str, np.ndarray]:
    from .measurements import FEATURES

    table = measure(images)
    return {key: table[key] for key in ("label", *FEATURES)}


def _nan_row(columns) -> dict[str, np.ndarray]:
    """The row of an image without a nucleus: label 0, no objects, NaN measurements."""
    row = {"label": np.zeros(1, np.int64), **{name: np.full(1, np.nan) for name in columns}}
    row["object_count"] = np.zeros(1)
    return row


def _each_or_all(images, compute, empty_row, rows=None):
    """``compute`` on the whole stack; refused, on each image alone (its reason kept).

    A constant image refused alone gets ``empty_row`` and no problem: it has no nucleus.
    Returns the table (one row per image) and ``{row: reason}``.
    """
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    try:
        return compute(images, rows), {}
    except ValueError:
        pass
    parts, problems = [], {}
    for i in range(len(images)):
        try:
            parts.append(compute(images[i : i + 1], rows[i : i + 1]))
        except ValueError as exc:
            if _constant(images[i]):
                parts.append(empty_row)
            else:
                problems[i] = str(exc)
                parts.append(empty_row)
    table = {key: np.concatenate([np.asarray(part[key]) for part in parts]) for key in parts[0]}
    return table, problems


def _constant(image: np.ndarray) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.all(image == image.flat[0]))
