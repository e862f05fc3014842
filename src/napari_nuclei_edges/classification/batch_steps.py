"""The classification steps of the batch command, as pure functions of one block.

The batch runner hands each block of a (lazy) stack with its first image's index
to :func:`classify_block`; the tables of all blocks, joined with
:func:`join_tables`, go to the zarr store (one array per column) and to a CSV
(:func:`~napari_nuclei_edges.classification.model_io.table_csv`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .measurements import measure

__all__ = ["classify_block", "join_tables", "prediction_table"]


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
        probabilities = model.probabilities(block, features)
        names = np.asarray(model.class_names)
        table["predicted_class"] = names[probabilities.argmax(1)]
        table["confidence"] = probabilities.max(1)
        for i, name in enumerate(model.class_names):
            table[f"p_{name}"] = probabilities[:, i]
    return table


def join_tables(tables: Sequence[dict]) -> dict[str, np.ndarray]:
    """The blocks' tables one after the other (same columns in each)."""
    if not tables:
        return {}
    return {key: np.concatenate([t[key] for t in tables]) for key in tables[0]}
