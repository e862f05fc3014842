"""Save, load and export learned kernels and loss histories.

A kernel is saved as ``name.npy`` (the ``(C_out, C_in, k, k)`` float64 array)
beside ``name.json`` (bias, training options, final errors, plugin version), and
can be exported as text for Fiji's *Process ▸ Filters ▸ Convolve…* (rows of
numbers; paste them in, or *Open…* the file there; untick *Normalize Kernel* to
keep the learned scale). A loss history exports as CSV.

numpy only; no torch, no Qt.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["fiji_kernel_text", "history_csv", "load_kernel", "save_history_csv", "save_kernel"]

#: Columns of the CSV history, one row per optimiser step.
CSV_COLUMNS = ("step", "loss", "val_loss", "elapsed_s")


def _paths(path) -> tuple[Path, Path]:
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".npy", ".json") else path
    return base.with_name(base.name + ".npy"), base.with_name(base.name + ".json")


def save_kernel(path, weight, *, bias=None, metadata: dict | None = None) -> Path:
    """Write ``weight`` to ``path`` (``.npy``) and its metadata to the ``.json`` beside it.

    Parameters
    ----------
    path : str or Path
        File name, with or without ``.npy``.
    weight : array_like
        ``(C_out, C_in, k, k)`` or ``(k, k)`` kernel.
    bias : array_like, optional
        One constant per output channel.
    metadata : dict, optional
        Anything JSON can hold: training options, errors, notes.

    Returns
    -------
    Path
        The ``.npy`` file written.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> saved = save_kernel(f"{folder}/gx", np.eye(3), metadata={"note": "demo"})
    >>> load_kernel(saved)[2]["note"]
    'demo'
    """
    from napari_nuclei_edges import __version__

    weight = np.asarray(weight, np.float64)
    if weight.ndim == 2:
        weight = weight[None, None]
    if weight.ndim != 4 or weight.shape[-1] != weight.shape[-2]:
        raise ValueError(f"a kernel is (C_out, C_in, k, k) or (k, k), not shape {weight.shape}.")
    npy, sidecar = _paths(path)
    np.save(npy, weight)
    info = {
        "shape": list(weight.shape),
        "bias": None if bias is None else np.asarray(bias, np.float64).ravel().tolist(),
        "plugin_version": __version__,
        **(metadata or {}),
    }
    sidecar.write_text(json.dumps(info, indent=2, default=_plain))
    return npy


def load_kernel(path) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Read a kernel written by :func:`save_kernel` (or any ``.npy`` kernel).

    Returns
    -------
    tuple
        ``(weight (C_out, C_in, k, k), bias or None, metadata dict)``.
    """
    npy, sidecar = _paths(path)
    if not npy.exists():
        raise FileNotFoundError(f"no kernel file {npy}.")
    weight = np.load(npy, allow_pickle=False)
    if weight.ndim == 2:
        weight = weight[None, None]
    if weight.ndim != 4 or weight.shape[-1] != weight.shape[-2] or weight.shape[-1] % 2 == 0:
        raise ValueError(f"{npy.name} does not hold an odd square kernel: shape {weight.shape}.")
    metadata = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    bias = metadata.get("bias")
    return weight, (None if bias is None else np.asarray(bias, np.float64)), metadata


def fiji_kernel_text(kernel, digits: int = 6) -> str:
    """A 2D kernel as the text Fiji's *Convolve…* dialog reads: one row per line.

    Examples
    --------
    >>> print(fiji_kernel_text([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]), end="")
    -1 0 1
    -2 0 2
    -1 0 1
    """
    kernel = np.asarray(kernel, np.float64).squeeze()
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError(
            f"Fiji convolves with one odd square 2D kernel, not shape {kernel.shape}; "
            "export each output channel on its own."
        )
    rows = (" ".join(_number(v, digits) for v in row) for row in kernel)
    return "\n".join(rows) + "\n"


def history_csv(steps: Iterable) -> str:
    """The loss history of training steps as CSV text, one row per optimiser step.

    Every step's trace is written, so the CSV holds what the loss plot shows;
    the validation loss appears on the steps where it was measured.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for report in steps:
        for step, loss in zip(report.trace_steps, report.trace_losses, strict=True):
            measured = step == report.step and report.val_loss is not None
            elapsed = f"{report.elapsed:.6f}" if step == report.step else ""
            writer.writerow([step, repr(loss), repr(report.val_loss) if measured else "", elapsed])
    return out.getvalue()


def save_history_csv(path, steps: Iterable) -> Path:
    """Write :func:`history_csv` to ``path``."""
    path = Path(path)
    path.write_text(history_csv(steps))
    return path


def _number(value: float, digits: int) -> str:
    text = f"{value:.{digits}g}"
    return "0" if text == "-0" else text


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
