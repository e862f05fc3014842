"""The batch command's zarr store: recognised by its own marker, never written elsewhere.

``--out`` is a new path, an empty folder, or a store this command made (its
group attributes carry :data:`MARKER`); anything else is refused, naming what is
there, before a byte is written. The store holds one slot per processed image:
every output array ``(slots, H, W)``, one image per chunk, a ``done`` flag per
slot written after its outputs, and in the attributes each slot's image name
and identity (see ``_source``), so resuming matches images by identity.

zarr and the standard library; no Qt, no napari.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

ATTR = "napari_nuclei_edges"
MARKER = "napari-nuclei-edges batch"
FORMAT = 2


def existing_store(out: Path) -> dict | None:
    """The record of the store this command made at ``out``; None when ``out`` is new.

    Reads only. ValueError, in one line, for anything that is not a new path,
    an empty folder or one of this command's stores.
    """
    if not out.exists() and not out.is_symlink():
        if not out.parent.is_dir():
            raise ValueError(f"{out.parent}: no such folder to make --out {out.name} in; "
                             "create it first.")  # fmt: skip
        return None
    if not out.is_dir():
        raise ValueError(f"{out} is a file, not a store made by this command; give a new "
                         "--out path.")  # fmt: skip
    try:
        entries = sorted(os.listdir(out))
    except OSError as exc:
        raise ValueError(f"{out}: cannot read this folder ({exc.strerror or exc}).") from exc
    if not entries:
        return None
    record = _record(out)
    if record is None:
        shown = [name + ("/" if (out / name).is_dir() else "") for name in entries[:5]]
        more = f" and {len(entries) - 5} more" if len(entries) > 5 else ""
        raise ValueError(f"{out} already holds files this command did not make "
                         f"({', '.join(shown)}{more}); give a new --out path or an empty "
                         "folder.")  # fmt: skip
    return record


def _record(out: Path) -> dict | None:
    try:
        document = json.loads((out / "zarr.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("node_type") != "group":
        return None
    record = (document.get("attributes") or {}).get(ATTR)
    if not isinstance(record, dict):
        return None
    if record.get("made_by") != MARKER or record.get("format") != FORMAT:
        if "steps" in record and "names" in record:  # an earlier version's store
            raise ValueError(
                f"{out} was made by an earlier version of this command, which did "
                "not record what each image was; give a new --out path."
            )
        return None
    return record


def done_flags(out: Path, slots: int) -> np.ndarray:
    """The store's done flag per slot (0 where the array or a flag is missing)."""
    import zarr

    flags = np.zeros(slots, np.uint8)
    try:
        stored = zarr.open_group(str(out), mode="r")["done"][:]
    except (KeyError, FileNotFoundError):  # made, then stopped before its arrays
        return flags
    flags[: min(slots, stored.size)] = stored[:slots]
    return flags


def open_for_writing(out: Path, record: dict | None, outputs: dict[str, tuple],
                     tables: dict[str, tuple] | None = None):  # fmt: skip
    """The store's group, created with ``record`` when new; arrays made or grown to fit.

    ``outputs``: array name -> (dtype, shape of one image); ``tables``: array name
    -> (dtype, fill value, attributes) of a column with one value per slot
    (``_tables``: many slots per chunk, written under a lock).
    """
    import zarr

    slots = len(record["images"])
    if not (out / "zarr.json").exists():
        # the marker goes in with the group itself: a store is never unrecognisable
        root = zarr.create_group(str(out), attributes={ATTR: record})
    else:
        root = zarr.open_group(str(out), mode="r+")
    for name, (dtype, shape) in {**outputs, "done": ("uint8", ())}.items():
        if name in root:
            array = root[name]
            if array.shape[0] < slots:
                array.resize((slots, *array.shape[1:]))
            continue
        # float gradients barely compress, and compressing them costs more than computing
        # them; masks and labels are mostly zeros and shrink many times
        compressors = None if dtype == "float32" else "auto"
        root.create_array(name, shape=(slots, *shape), chunks=(1, *shape), dtype=dtype,
                          fill_value=0, compressors=compressors)  # fmt: skip
    from ._tables import TABLE_CHUNK

    for name, (dtype, fill, attributes) in (tables or {}).items():
        if name in root:
            if root[name].shape[0] < slots:
                root[name].resize((slots,))
            continue
        root.create_array(name, shape=(slots,), chunks=(TABLE_CHUNK,), dtype=dtype,
                          fill_value=fill, attributes=attributes)  # fmt: skip
    return root


def write_record(root, record: dict) -> None:
    root.attrs[ATTR] = record


def reset(root, outputs, reset_slots, clear_slots) -> None:
    """Done flags down first, then the outputs of removed images cleared (to the fill value)."""
    if "done" not in root:
        return
    done = root["done"]
    flags = done[:]  # one read: a new slot is down already, and most slots are new or down
    for slot in sorted(reset_slots):
        if slot < flags.size and flags[slot]:
            done[slot] = 0
    for name in outputs:
        if name not in root:
            continue
        array = root[name]
        slots = np.array([slot for slot in sorted(clear_slots) if slot < array.shape[0]], int)
        if not slots.size:
            continue
        if array.ndim == 1:  # a table column: many slots per chunk, each chunk written once
            array.oindex[slots] = array.fill_value
        else:
            for slot in slots:
                array[slot] = array.fill_value  # all fill value: zarr drops the image's chunk
