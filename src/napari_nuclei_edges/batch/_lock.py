"""One batch run at a time on an ``--out``: a lock file beside it, held while the run lasts.

The lock is the operating system's (``flock``; ``msvcrt.locking`` on Windows), so it
goes with its process: a run that was killed leaves a file that no process holds,
which the next run recognises, takes over and names. The file records who holds it
(process, host, start), so a refused run can say who is writing.

The standard library only; no Qt, no napari.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path


def lock_path(out: Path) -> Path:
    """The lock file of the store ``out``: beside it, hidden."""
    return out.parent / f".{out.name}.lock"


@contextlib.contextmanager
def holding(out: Path):
    """Hold ``out``'s lock while the block runs; yields the stale holder taken over (or None).

    Raises
    ------
    ValueError
        With a sentence, when another process holds the lock.
    """
    path = lock_path(out)
    if not path.parent.is_dir():  # the run is refused with its own sentence
        yield None
        return
    file = _locked(path, out)
    if file is None:  # a folder where no lock file can be written: run unlocked
        yield None
        return
    try:
        stale = _holder(file)
        file.seek(0)
        file.truncate()
        file.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                               "started": time.strftime("%Y-%m-%d %H:%M:%S")}))  # fmt: skip
        file.flush()
        yield stale
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before the unlock: a waiting run then makes its own file
        _unlock(file)
        file.close()


def _locked(path: Path, out: Path):
    """The lock file, opened and locked; None when it cannot be created."""
    for _ in range(10):  # the holder may remove the file between our open and our lock
        try:
            file = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while locked
        except OSError:
            return None
        if not _try_lock(file):
            holder = _holder(file)
            file.close()
            who = (f" (process {holder['pid']} on {holder['host']}, since {holder['started']})"
                   if holder else "")  # fmt: skip
            raise ValueError(
                f"--out {out} is being written by another batch run{who}; wait for it to "
                "finish (or stop it), then run again: it resumes where that run stopped."
            )
        try:
            same = os.path.samestat(os.fstat(file.fileno()), os.stat(path))
        except OSError:
            same = False
        if same:
            return file
        _unlock(file)
        file.close()
    return None


def _holder(file) -> dict | None:
    """Who the file says holds (or held) the lock, or None for an empty or foreign file."""
    file.seek(0)
    try:
        holder = json.loads(file.read(4096) or "null")
    except ValueError:
        return None
    keys = ("pid", "host", "started")
    return holder if isinstance(holder, dict) and all(k in holder for k in keys) else None


def _try_lock(file) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            file.seek(0)
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks: run unlocked rather than never
        return True
    return True


def _unlock(file) -> None:
    with contextlib.suppress(OSError, ImportError):
        try:
            import fcntl
        except ImportError:
            import msvcrt

            file.seek(0)
            msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)
            return
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)
