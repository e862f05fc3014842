"""Save and load segmenters.

A segmenter is two files: ``name.pt``, the U-Net's state dict (tensors only, read
back with ``torch.load(..., weights_only=True)``, which executes no code), and
``name.json``: options, the training images' intensity range, plugin version. A
file that is not one of these gets a sentence naming it and the problem.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["load_segmenter", "save_segmenter"]

FORMAT = "napari-nuclei-edges segmenter"
VERSION = 1
#: Far above what the plugin saves (a few hundred bytes of description; the largest
#: network the options allow, 5 levels of 64 to 1024 filters, holds about 125 MB).
MAX_DESCRIPTION_BYTES = 1 << 20
MAX_WEIGHTS_BYTES = 256 << 20


def _paths(path) -> tuple[Path, Path]:
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".pt", ".json") else path
    return base.with_name(base.name + ".pt"), base.with_name(base.name + ".json")


def save_segmenter(path, model) -> Path:
    """Write a segmenter to ``path.pt`` (weights) and ``path.json`` (everything else).

    Returns the path of the weights.

    Examples
    --------
    >>> import tempfile
    >>> from napari_nuclei_edges.segmenter._model import Segmenter
    >>> from napari_nuclei_edges.segmenter._unet import build
    >>> from napari_nuclei_edges.segmenter.options import SegmenterOptions
    >>> opts = SegmenterOptions(depth=2, channels=4)
    >>> saved = save_segmenter(f"{tempfile.mkdtemp()}/nuclei", Segmenter(build(opts), opts))
    >>> saved.name, load_segmenter(saved).options == opts
    ('nuclei.pt', True)
    """
    import torch

    from .. import __version__

    weights, meta = _paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in model.net.state_dict().items()}, weights)
    info = {
        "format": FORMAT,
        "version": VERSION,
        "plugin_version": __version__,
        "options": model.options.to_dict(),
        "intensity": model.intensity,
    }
    meta.write_text(json.dumps(info, indent=2))
    return weights


def load_segmenter(path):
    """Read a segmenter written by :func:`save_segmenter` (``.pt`` or ``.json`` path).

    Everything is checked before a model is returned: the description (format,
    version, every option's type and range, the intensity range), the weights
    (tensors only, finite, the shapes of the network the options describe) and
    the network's outputs on a probe (finite probabilities).

    Raises
    ------
    ValueError
        With a sentence naming the file and the problem, for a missing, foreign,
        damaged or tampered file.
    """
    from ._model import Segmenter
    from ._unet import build

    weights, meta = _paths(path)
    if not meta.exists() or not weights.exists():
        raise ValueError(f"{Path(path).name} is not a saved segmenter: one needs both "
                         f"{weights.name} and {meta.name} side by side.")  # fmt: skip
    for part, limit in ((meta, MAX_DESCRIPTION_BYTES), (weights, MAX_WEIGHTS_BYTES)):
        if part.stat().st_size > limit:
            raise ValueError(f"{part.name} is {part.stat().st_size / 1e6:.0f} MB, far more "
                             "than a segmenter this plugin saves: it is not one.")  # fmt: skip
    opts, intensity = _description(meta)
    state = _weights(weights)
    net = build(opts)
    try:
        net.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as exc:  # missing, extra or reshaped tensors
        first = str(exc).strip().splitlines()[0][:160]
        raise ValueError(
            f"{weights.name} does not hold the weights of the network {meta.name} describes "
            f"({first}): save the model again."
        ) from None
    model = Segmenter(net.eval(), opts, intensity)
    _check_outputs(model, weights.name)
    return model


def _description(meta: Path):
    """The checked options and intensity range of a ``.json``."""
    from ..classification.model_io import _intensity
    from .options import SegmenterOptions

    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
        raise ValueError(f"{meta.name} is not a segmenter description ({why}).") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"{meta.name} was not written by this plugin's segmenter.")
    version = info.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"{meta.name}: its version {version!r} is not a version number.")
    if version > VERSION:
        raise ValueError(f"{meta.name} was written by a newer version of the plugin.")
    if "options" not in info:
        raise ValueError(f"{meta.name} lacks options: save the model again.")

    def bad(what: str) -> ValueError:
        return ValueError(f"{meta.name}: {what}; it was not saved by this plugin as it is.")

    try:
        opts = SegmenterOptions.from_dict(info["options"])
    except ValueError as exc:
        raise bad(f"its options are not valid ({exc})") from None
    return opts, _intensity(info.get("intensity"), bad)


def _weights(weights: Path) -> dict:
    """The tensors of a ``.pt`` (read without running code), each finite."""
    import torch

    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip or torch's refusal of code: one sentence
        raise ValueError(f"{weights.name} is not a weights file this plugin saved "
                         f"({type(exc).__name__}): save the model again.") from None  # fmt: skip
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{weights.name} does not hold named tensors: it is not a segmenter.")
    broken = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if broken:
        raise ValueError(f"{weights.name} holds NaN or infinite weights ({', '.join(broken[:3])}):"
                         " this model cannot segment; train it and save it again.")  # fmt: skip
    return state


def _check_outputs(model, name: str) -> None:
    """Refuse a model whose probabilities on a probe are not finite."""
    probe = np.random.default_rng(0).random((48, 48)).astype(np.float32)
    with np.errstate(all="ignore"):
        p = model.probabilities(probe)
    if not np.isfinite(p).all():
        raise ValueError(f"{name} gives no finite probabilities (its weights overflow): it "
                         "would find no nuclei; train it and save it again.")  # fmt: skip
