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
#: The keys of a classifier's ``.json`` besides its format and version.
FIELDS = ("options", "class_names", "feature_names", "feature_mean", "feature_std", "image_size")
#: Far above what the plugin saves (a few kB of description, at most ~4 MB of weights).
MAX_DESCRIPTION_BYTES = 1 << 20
MAX_WEIGHTS_BYTES = 64 << 20
MAX_CLASSES = 1000
MAX_IMAGE_SIDE = 1024  # of the crops a CNN reads (the feature model reads any size)
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
        "options": _options(model.options),
        "class_names": list(model.class_names),
        "feature_names": list(model.feature_names),
        "feature_mean": np.asarray(model.feature_mean, float).tolist(),
        "feature_std": np.asarray(model.feature_std, float).tolist(),
        "image_size": [int(v) for v in model.image_size],
        "intensity": getattr(model, "intensity", None),
    }
    meta.write_text(json.dumps(info, indent=2))
    return weights


def _options(opts) -> dict:
    """The options to save: a feature model's hidden units as used, not "auto" (None), so
    that the file describes its network whatever the default becomes."""
    values = opts.to_dict()
    if opts.model == "features":
        values["hidden"] = opts.hidden_units
    return values


def load_classifier(path):
    """Read a classifier written by :func:`save_classifier` (``.pt`` or ``.json`` path).

    Everything is checked before a model is returned: the description's every field
    (types, lengths, finite numbers, unique text class names, known measurements,
    sizes), the weights (tensors only, finite, the network's shapes), and the
    model's outputs on a probe (finite probabilities).

    Raises
    ------
    ValueError
        With a sentence naming the file and the problem, for a missing, foreign,
        damaged or tampered file.
    """
    from ._classifier import Classifier
    from ._models import build

    weights, meta = _paths(path)
    if not meta.exists() or not weights.exists():
        raise ValueError(
            f"{Path(path).name} is not a saved classifier: one needs both "
            f"{weights.name} and {meta.name} side by side."
        )
    for part, limit in ((meta, MAX_DESCRIPTION_BYTES), (weights, MAX_WEIGHTS_BYTES)):
        if part.stat().st_size > limit:
            raise ValueError(f"{part.name} is {part.stat().st_size / 1e6:.0f} MB, far more "
                             "than a classifier this plugin saves: it is not one.")  # fmt: skip
    opts, names, features, mean, std, size, intensity = _description(meta)
    state = _weights(weights)
    net = build(len(names), opts, len(features), opts.seed)
    try:
        net.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as exc:  # missing, extra or reshaped tensors
        first = str(exc).strip().splitlines()[0][:160]
        raise ValueError(
            f"{weights.name} does not hold the weights of the network {meta.name} describes "
            f"({first}): save the model again."
        ) from None
    net.eval()
    model = Classifier(net, opts, names, features, mean, std, size, intensity)
    _check_outputs(model, weights.name)
    return model


def _description(meta: Path):
    """The checked fields of a ``.json``: options, class names, features, mean, std, size."""
    from .measurements import FEATURES
    from .options import ClassifierOptions

    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
        raise ValueError(f"{meta.name} is not a classifier description ({why}).") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"{meta.name} was not written by this plugin's classifier.")
    version = info.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"{meta.name}: its version {version!r} is not a version number.")
    if version > VERSION:
        raise ValueError(f"{meta.name} was written by a newer version of the plugin.")
    missing = [key for key in FIELDS if key not in info]
    if missing:
        raise ValueError(f"{meta.name} lacks {', '.join(missing)}: save the model again.")

    def bad(what: str) -> ValueError:
        return ValueError(f"{meta.name}: {what}; it was not saved by this plugin as it is.")

    options = info["options"]
    if isinstance(options, dict) and "hidden" not in options:
        options = {**options, "hidden": 0}  # saved before the hidden layer: logistic regression
    try:
        opts = ClassifierOptions.from_dict(options)
    except ValueError as exc:
        raise bad(f"its options are not valid ({exc})") from None
    names = _names(info["class_names"], bad, "class_names")
    if not 2 <= len(names) <= MAX_CLASSES:
        raise bad(f"class_names holds {len(names)} classes, not 2 to {MAX_CLASSES}")
    features = _names(info["feature_names"], bad, "feature_names")
    unknown = [name for name in features if name not in FEATURES]
    if unknown:
        raise bad(f"feature_names {unknown} are not measurements ({', '.join(FEATURES)})")
    if opts.uses_features and not features:
        raise bad(f"a {opts.model} model needs feature_names")
    n = len(features) if opts.uses_features else 0
    mean = _numbers(info["feature_mean"], n, bad, "feature_mean")
    std = _numbers(info["feature_std"], n, bad, "feature_std")
    if (std <= 0).any():
        raise bad("feature_std holds zeros or negative values (a division by zero)")
    size, most = info["image_size"], MAX_IMAGE_SIDE if opts.uses_images else 1 << 16
    if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) for v in size)
            and all(1 <= v <= most for v in size)):  # fmt: skip
        raise bad(f"image_size must be two sizes from 1 to {most}, not {size!r:.40}")
    intensity = _intensity(info.get("intensity"), bad)
    return opts, names, features, mean, std, (int(size[0]), int(size[1])), intensity


def _intensity(value, bad) -> dict | None:
    """The training images' dtype and percentiles (None in a file saved before they were kept)."""
    if value is None:
        return None
    keys = {"dtype", "low", "high"}
    if not (isinstance(value, dict) and set(value) == keys and isinstance(value["dtype"], str)):
        raise bad(f"intensity must hold dtype, low and high, not {value!r:.60}")
    try:
        kind = np.dtype(value["dtype"]).kind
    except (TypeError, ValueError):
        kind = ""
    if kind not in "uif" or not kind:
        raise bad(f"intensity's dtype {value['dtype']!r:.30} is not a numeric dtype")
    low, high = _numbers([value["low"], value["high"]], 2, bad, "intensity")
    if low > high:
        raise bad("intensity's low is above its high")
    return {"dtype": np.dtype(value["dtype"]).name, "low": float(low), "high": float(high)}


def _names(value, bad, key: str) -> tuple[str, ...]:
    """A list of distinct, non-empty strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad(f"{key} must be a list of names (text), not {value!r:.60}")
    repeated = sorted({v for v in value if value.count(v) > 1})
    if repeated:
        raise bad(f"{key} names {repeated} more than once")
    return tuple(value)


def _numbers(value, n: int, bad, key: str) -> np.ndarray:
    """A list of ``n`` finite numbers, as float32."""
    if not isinstance(value, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        raise bad(f"{key} must be a list of numbers, not {value!r:.60}")
    if len(value) != n:
        raise bad(f"{key} holds {len(value)} numbers, not one per measurement ({n})")
    array = np.asarray(value, np.float64)
    if not np.isfinite(array).all() or (np.abs(array) > np.finfo(np.float32).max).any():
        raise bad(f"{key} holds NaN, infinite or out-of-range numbers")
    return array.astype(np.float32)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _weights(weights: Path) -> dict:
    """The tensors of a ``.pt`` (read without running code), each finite."""
    import torch

    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip or torch's refusal of code: one sentence
        raise ValueError(
            f"{weights.name} is not a weights file this plugin saved ({type(exc).__name__}): "
            "save the model again."
        ) from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{weights.name} does not hold named tensors: it is not a classifier.")
    broken = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if broken:
        raise ValueError(f"{weights.name} holds NaN or infinite weights ({', '.join(broken[:3])}):"
                         " this model cannot classify; train it and save it again.")  # fmt: skip
    return state


def _check_outputs(model, name: str) -> None:
    """Refuse a model whose probabilities on a probe are not finite."""
    rng = np.random.default_rng(0)
    h, w = model.image_size if model.options.uses_images else (16, 16)
    images = rng.integers(0, 256, (2, h, w)).astype(np.float32)
    features = None
    if model.options.uses_features:  # typical measurements: the training mean ± std
        noise = rng.standard_normal((2, len(model.feature_mean)))
        features = (model.feature_mean + noise * model.feature_std).astype(np.float32)
    with np.errstate(all="ignore"):
        probabilities = model.probabilities(images, features)
    if not np.isfinite(probabilities).all():
        raise ValueError(
            f"{name} gives no finite probabilities (its weights overflow): it would label "
            "every image with the first class; train it and save it again."
        )


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
