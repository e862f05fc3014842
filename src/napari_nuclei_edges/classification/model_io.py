"""Save and load classifiers, export training histories and tables as CSV (:mod:`..tables`).

A classifier is two files: ``name.pt``, the network's state dict (tensors only,
read back with ``torch.load(..., weights_only=True)``, which executes no code),
and ``name.json``: options, class names, measurement names and statistics,
image size, plugin version. A file that is not one of these gets a sentence.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..tables import CsvTable, table_csv

__all__ = ["history_csv", "load_classifier", "save_classifier", "table_csv", "write_history"]

FORMAT = "napari-nuclei-edges classifier"
VERSION = 1
#: Columns of the CSV history, one row per epoch.
HISTORY_COLUMNS = (
    "epoch",
    "loss",
    "val_loss",
    "accuracy",
    "val_accuracy",
    "macro_f1",
    "elapsed_s",
)
HISTORY_FORMATS = {
    **dict.fromkeys(("accuracy", "val_accuracy", "macro_f1"), "{:.4f}".format),
    "elapsed_s": "{:.3f}".format,
}


def _paths(path) -> tuple[Path, Path]:
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".pt", ".json") else path
    return base.with_name(base.name + ".pt"), base.with_name(base.name + ".json")


def save_classifier(path, model) -> Path:
    """Write a classifier to ``path.pt`` (weights) and ``path.json`` (everything else).

    Examples
    --------
    >>> import tempfile
    >>> from napari_nuclei_edges.classification import fit_classifier
    >>> from napari_nuclei_edges.data import synthetic_nuclei
    >>> *_, last = fit_classifier(synthetic_nuclei(n_per_class=5), epochs=2)
    >>> saved = save_classifier(f"{tempfile.mkdtemp()}/stage", last.model)
    >>> load_classifier(saved).class_names == last.model.class_names
    True
    """
    import torch

    from .. import __version__

    weights, meta = _paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.net.state_dict(), weights)
    info = {
        "format": FORMAT,
        "version": VERSION,
        "plugin_version": __version__,
        "options": model.options.to_dict(),
        "class_names": list(model.class_names),
        "feature_names": list(model.feature_names),
        "feature_mean": np.asarray(model.feature_mean, float).tolist(),
        "feature_std": np.asarray(model.feature_std, float).tolist(),
        "image_size": [int(v) for v in model.image_size],
    }
    meta.write_text(json.dumps(info, indent=2))
    return weights


def load_classifier(path):
    """Read a classifier written by :func:`save_classifier` (``.pt`` or ``.json`` path).

    Raises
    ------
    ValueError
        With a sentence, for a missing, foreign or damaged file.
    """
    import torch

    from ._classifier import Classifier
    from ._models import build
    from .options import ClassifierOptions

    weights, meta = _paths(path)
    if not meta.exists() or not weights.exists():
        raise ValueError(
            f"{Path(path).name} is not a saved classifier: one needs both "
            f"{weights.name} and {meta.name} side by side."
        )
    try:
        info = json.loads(meta.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{meta.name} is not a classifier description ({exc}).") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"{meta.name} was not written by this plugin's classifier.")
    if info.get("version", 0) > VERSION:
        raise ValueError(f"{meta.name} was written by a newer version of the plugin.")
    try:
        opts = ClassifierOptions.from_dict(info["options"])
        names = tuple(info["class_names"])
        features = tuple(info["feature_names"])
        net = build(len(names), opts, len(features), opts.seed)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except Exception as exc:  # a damaged or mismatched file: one sentence
        raise ValueError(
            f"{weights.name} does not hold this classifier's weights ({type(exc).__name__}): "
            "save the model again."
        ) from None
    net.eval()
    return Classifier(
        net, opts, names, features,
        np.asarray(info["feature_mean"], np.float32), np.asarray(info["feature_std"], np.float32),
        tuple(info["image_size"]),
    )  # fmt: skip


def history_csv(steps: Iterable) -> str:
    """The training history (one row per :class:`ClassifierStep`) as CSV text."""
    out = io.StringIO()
    write_history(out, steps)
    return out.getvalue()


def write_history(file, steps: Iterable) -> CsvTable:
    """Write the training history to an open text ``file`` (see :mod:`..tables`)."""
    table = CsvTable(file, HISTORY_COLUMNS, HISTORY_FORMATS)
    table.write_rows((s.epoch, s.loss, s.val_loss, s.accuracy, s.val_accuracy, s.macro_f1,
                      s.elapsed) for s in steps)  # fmt: skip
    return table
