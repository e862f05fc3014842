"""What a batch run does to its store: images matched by identity, never by position.

Pure bookkeeping over names and identities (nothing read, nothing written):
an image whose identity is in the store is unchanged and keeps its slot; one
whose name is there with another identity changed and is done again in its
slot; one not there is new and takes a free slot or a new one; a stored name
no longer in the input is gone, its outputs kept (marked ``gone``) or removed
as asked. A slot's name is never given to another image while its outputs
stay. The expected image size is the most common one (or the store's, or
``--size``), and the images' dtypes meet in one dtype that holds them all.

numpy only; no Qt, no napari.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Plan:
    slots: list[dict | None]  # per slot: name, identity, dtype, gone; None for a free slot
    shape: tuple[int, int]
    dtype: str
    process: list[tuple[int, str, int]] = field(default_factory=list)  # (index, name, slot)
    reset: set[int] = field(default_factory=set)  # done flags to clear before anything
    clear: set[int] = field(default_factory=set)  # slots whose outputs are removed
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    unchanged: int = 0
    pending: int = 0  # unchanged, but not finished by the run that found them
    skipped: dict[str, dict] = field(default_factory=dict)  # name -> identity, reason


def make_plan(names, known, surveyed, stored, done, *, size, gone) -> Plan:
    """The plan for the input ``names``.

    ``known``: index -> ("same", slot) or ("same_bad", skipped record), for
    images whose identity matched the store without reading them;
    ``surveyed``: index -> {"identity", "shape", "dtype", "error"} for the ones read.
    """
    slots = [dict(r) if r else None for r in (stored or {}).get("images", [])]
    by_name = {r["name"]: k for k, r in enumerate(slots) if r}
    for index, info in surveyed.items():  # read, yet the same as stored: unchanged
        slot = by_name.get(names[index])
        if slot is not None and slots[slot]["identity"] == info["identity"]:
            known[index] = ("same", slot)
    shape = _expected_shape(stored, size, surveyed, known)
    basis = (
        "like the store's images"
        if stored and stored.get("shape")
        else "as --size asks"
        if size is not None
        else "like the others"
    )
    dtypes = [np.dtype(stored["dtype"])] if stored and stored.get("dtype") else []
    plan = Plan(slots, shape, "")
    present, waiting = set(), []
    for index, name in enumerate(names):
        state = known.get(index)
        if state and state[0] == "same":
            slot = state[1]
            present.add(slot)
            slots[slot]["gone"] = False
            plan.unchanged += 1
            if not done[slot]:
                plan.pending += 1
                plan.process.append((index, name, slot))
            continue
        if state:  # unchanged, and as bad as before
            plan.skipped[name] = state[1]
            continue
        info = surveyed[index]
        reason = info["error"] or _size_reason(info["shape"], shape, basis)
        slot = by_name.get(name)
        if slot is not None:
            plan.changed.append(name)
            present.add(slot)
            if reason:  # its stored outputs describe a file that is no more
                slots[slot] = None
                plan.reset.add(slot)
                plan.clear.add(slot)
            else:
                slots[slot] = _entry(name, info)
                plan.reset.add(slot)
                plan.process.append((index, name, slot))
                dtypes.append(np.dtype(info["dtype"]))
        elif not reason:
            waiting.append((index, name, info))
            dtypes.append(np.dtype(info["dtype"]))
        if reason:
            plan.skipped[name] = {"identity": info["identity"], "reason": reason}
    for slot, entry in enumerate(slots):
        if entry is None or slot in present:
            continue
        plan.gone.append(entry["name"])
        if gone == "remove":
            slots[slot] = None
            plan.reset.add(slot)
            plan.clear.add(slot)
        else:
            entry["gone"] = True
    free = [slot for slot, entry in enumerate(slots) if entry is None]
    for index, name, info in waiting:
        slot = free.pop(0) if free else len(slots)
        if slot == len(slots):
            slots.append(None)
        slots[slot] = _entry(name, info)
        plan.reset.add(slot)
        plan.new.append(name)
        plan.process.append((index, name, slot))
    plan.dtype = common_dtype(dtypes).str if dtypes else (stored or {}).get("dtype", "|u1")
    return plan


def _entry(name: str, info: dict) -> dict:
    return {"name": name, "identity": info["identity"], "dtype": info["dtype"], "gone": False}


def _expected_shape(stored, size, surveyed, known) -> tuple[int, int]:
    if stored and stored.get("shape"):
        return tuple(stored["shape"])
    if size is not None:
        return tuple(size)
    shapes = Counter(tuple(info["shape"]) for info in surveyed.values() if not info["error"])
    return shapes.most_common(1)[0][0] if shapes else (0, 0)


def _size_reason(shape, expected, basis: str) -> str | None:
    if tuple(shape) == tuple(expected):
        return None
    return f"{shape[0]} × {shape[1]}, not {expected[0]} × {expected[1]} {basis}"


def common_dtype(dtypes) -> np.dtype:
    """The dtype that holds the values of every one of ``dtypes`` (bool read as uint8).

    Examples
    --------
    >>> common_dtype([np.dtype("uint8"), np.dtype("int16")])
    dtype('int16')
    >>> common_dtype([np.dtype("uint8"), np.dtype("uint16")])
    dtype('uint16')
    """
    kinds = [np.dtype(np.uint8) if np.dtype(d) == bool else np.dtype(d) for d in dtypes]
    return np.result_type(*kinds)
