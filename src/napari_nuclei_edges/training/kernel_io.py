"""Save, load and export learned kernels and loss histories.

A kernel is saved as ``name.npy`` (the ``(C_out, C_in, k, k)`` float64 array)
beside ``name.json`` (bias, training options, final errors, plugin version), and
can be exported as text for Fiji's *Process ▸ Filters ▸ Convolve…* (rows of
numbers; paste them in, or *Open…* the file there; untick *Normalize Kernel* to
keep the learned scale). A loss history exports as CSV.

numpy only; no torch, no Qt.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from napari_nuclei_edges.tables import CsvTable, save_csv
from napari_nuclei_edges.training.options import MAX_KERNEL_SIZE

__all__ = ["fiji_kernel_text", "history_csv", "load_kernel", "save_history_csv", "save_kernel"]

#: Columns of the CSV history, one row per optimiser step.
CSV_COLUMNS = ("step", "loss", "val_loss", "elapsed_s")


def _paths(path) -> tuple[Path, Path]:
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".npy", ".json") else path
    return base.with_name(base.name + ".npy"), base.with_name(base.name + ".json")


#: Keys :func:`save_kernel` writes itself; ``metadata`` cannot replace them.
RESERVED_KEYS = ("shape", "bias", "plugin_version")


def save_kernel(path, weight, *, bias=None, metadata: dict | None = None) -> Path:
    """Write ``weight`` to ``path`` (``.npy``) and its metadata to the ``.json`` beside it.

    Both files are written under temporary names first and then renamed into
    place: a failure (metadata JSON cannot hold, a full disk) leaves the old pair
    as it was, never a new kernel beside a stale bias.

    Parameters
    ----------
    path : str or Path
        File name, with or without ``.npy``.
    weight : array_like
        ``(C_out, C_in, k, k)`` or ``(k, k)`` real, finite kernel, ``k`` odd.
    bias : array_like, optional
        One finite constant per output channel.
    metadata : dict, optional
        Anything JSON can hold: training options, errors, notes; not the
        reserved keys ``shape``, ``bias`` and ``plugin_version``.

    Returns
    -------
    Path
        The ``.npy`` file written.

    Raises
    ------
    ValueError
        For a kernel, bias or metadata that cannot be saved, with a sentence;
        nothing is written then.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> saved = save_kernel(f"{folder}/gx", np.eye(3), metadata={"note": "demo"})
    >>> load_kernel(saved)[2]["note"]
    'demo'
    """
    from napari_nuclei_edges import __version__

    weight = _checked_weight(weight, "the kernel")
    bias = _checked_bias(bias, weight.shape[0], "the bias")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict, not {type(metadata).__name__}.")
    clash = sorted(set(metadata) & set(RESERVED_KEYS))
    if clash:
        raise ValueError(
            f"metadata cannot set {', '.join(clash)}: save_kernel writes them from the "
            "kernel and its bias (pass bias=... for the bias)."
        )
    info = {
        **metadata,
        "shape": list(weight.shape),
        "bias": None if bias is None else bias.tolist(),
        "plugin_version": __version__,
    }
    try:  # before any file is touched: metadata JSON cannot hold fails here
        text = json.dumps(info, indent=2, default=_plain, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the metadata cannot be saved as JSON: {exc}.") from None
    npy, sidecar = _paths(path)
    temporary = []
    try:
        for final, write in ((npy, lambda f: np.save(f, weight)),
                             (sidecar, lambda f: f.write(text.encode()))):  # fmt: skip
            handle, name = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
            temporary.append(Path(name))
            with os.fdopen(handle, "wb") as file:
                write(file)
        # both written: rename into place (each rename is atomic on one file system)
        os.replace(temporary[0], npy)
        os.replace(temporary[1], sidecar)
    finally:
        for name in temporary:
            name.unlink(missing_ok=True)
    return npy


def load_kernel(path) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Read a kernel written by :func:`save_kernel` (or any ``.npy`` kernel).

    Returns
    -------
    tuple
        ``(weight (C_out, C_in, k, k) float64, bias (C_out,) or None, metadata dict)``.

    Raises
    ------
    FileNotFoundError
        When there is no such ``.npy`` file.
    ValueError
        For every malformed file, with a sentence naming it: empty, truncated or
        not a ``.npy`` file, not real numbers, NaN/inf, complex, not an odd square
        kernel, larger than 15 × 15, a sidecar that is not a JSON object, or a
        bias that is not one finite number per output channel.
    """
    npy, sidecar = _paths(path)
    if not npy.exists():
        raise FileNotFoundError(f"no kernel file {npy}.")
    try:
        weight = np.load(npy, allow_pickle=False)
    except OSError:
        raise
    except Exception as exc:  # EOFError, ValueError, UnpicklingError: not a readable .npy
        reason = "it is empty" if npy.stat().st_size == 0 else f"{type(exc).__name__}: {exc}"
        raise ValueError(f"{npy.name} is not a readable .npy kernel ({reason}).") from None
    if not isinstance(weight, np.ndarray):
        raise ValueError(f"{npy.name} holds several arrays, not one kernel.")
    weight = _checked_weight(weight, npy.name)
    metadata = {}
    if sidecar.exists():
        try:
            metadata = json.loads(sidecar.read_text())
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{sidecar.name} is not valid JSON ({exc}).") from None
        if not isinstance(metadata, dict):
            raise ValueError(
                f"{sidecar.name} must hold a JSON object (names and values), not a "
                f"{type(metadata).__name__}."
            )
    bias = _checked_bias(metadata.get("bias"), weight.shape[0], f"the bias in {sidecar.name}")
    return weight, bias, metadata


def _checked_weight(weight, what: str) -> np.ndarray:
    """A real, finite, odd square ``(C_out, C_in, k, k)`` float64 kernel, or a sentence."""
    try:
        array = np.asarray(weight)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not an array of numbers ({exc}).") from None
    if array.dtype.kind == "c":
        raise ValueError(f"{what} is complex: a kernel is real numbers.")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{what} holds {array.dtype} data, not numbers.")
    if array.ndim == 2:
        array = array[None, None]
    if array.ndim != 4 or array.shape[-1] != array.shape[-2] or array.shape[-1] % 2 == 0:
        raise ValueError(
            f"{what} does not hold an odd square kernel (C_out, C_in, k, k) or (k, k): "
            f"shape {array.shape}."
        )
    if 0 in array.shape:
        raise ValueError(f"{what} is empty: shape {array.shape}.")
    if array.shape[-1] > MAX_KERNEL_SIZE:
        raise ValueError(
            f"{what} is {array.shape[-1]} × {array.shape[-1]}: kernels up to "
            f"{MAX_KERNEL_SIZE} × {MAX_KERNEL_SIZE} are taken."
        )
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or inf.")
    return array


def _checked_bias(bias, c_out: int, what: str) -> np.ndarray | None:
    """``None`` or one finite float per output channel, or a sentence."""
    if bias is None:
        return None
    try:
        array = np.asarray(bias)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not a list of numbers ({exc}).") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{what} must be numbers, one per output channel, not {bias!r:.60}.")
    array = array.astype(np.float64).ravel()
    if array.size != c_out:
        raise ValueError(
            f"{what} holds {array.size} value{'s' if array.size != 1 else ''} for "
            f"{c_out} output channel{'s' if c_out != 1 else ''}."
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or inf.")
    return array


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
    if not np.isfinite(kernel).all():
        raise ValueError("the kernel contains NaN or inf, which Fiji cannot read.")
    rows = (" ".join(_number(v, digits) for v in row) for row in kernel)
    return "\n".join(rows) + "\n"


def history_csv(steps: Iterable) -> str:
    """The loss history of training steps as CSV text, one row per optimiser step.

    Every step's trace is written, so the CSV holds what the loss plot shows;
    the validation loss appears on the steps where it was measured.
    """
    out = io.StringIO()
    _history_table(out, steps)
    return out.getvalue()


def save_history_csv(path, steps: Iterable) -> Path:
    """Write :func:`history_csv` to ``path`` (replaced whole)."""
    save_csv(path, lambda file: _history_table(file, steps))
    return Path(path)


def _history_table(file, steps: Iterable) -> CsvTable:
    exact = dict.fromkeys(("loss", "val_loss"), repr)  # every digit of the loss
    table = CsvTable(file, CSV_COLUMNS, {**exact, "elapsed_s": "{:.6f}".format})
    for report in steps:
        for step, loss in zip(report.trace_steps, report.trace_losses, strict=True):
            measured = step == report.step and report.val_loss is not None
            elapsed = report.elapsed if step == report.step else None
            table.write_rows([(step, loss, report.val_loss if measured else None, elapsed)])
    return table


def _number(value: float, digits: int) -> str:
    text = f"{value:.{digits}g}"
    return "0" if text == "-0" else text


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
