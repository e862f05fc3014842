"""Mapping a function over images as dask tasks (local threads or distributed), with progress.

dask; no Qt, no napari.
"""

from __future__ import annotations

import sys
import time


class _Runner:
    """Maps a function over image indices as dask tasks, with a progress line."""

    def __init__(self, scheduler: str | None, progress: bool):
        self.scheduler, self.progress = scheduler, progress

    def map(self, function, job: dict, indices, what: str) -> list:
        import dask

        items = list(indices)
        tasks = [
            dask.delayed(function, pure=False)(job, *(i if isinstance(i, tuple) else (i,)))
            for i in items
        ]
        if self.scheduler is None:
            from dask.diagnostics import Callback

            done = [0]
            reporter = _Progress(len(tasks), what, self.progress)

            class _Count(Callback):
                def _posttask(self, key, value, dsk, state, id):
                    done[0] += 1
                    reporter.show(done[0])

            with _Count():
                values = dask.compute(*tasks, scheduler="threads")
            return list(values)
        try:
            from distributed import Client, as_completed
        except ImportError:  # pragma: no cover - depends on the environment
            raise ValueError(
                "--scheduler needs dask.distributed: pip install distributed"
            ) from None
        with Client(self.scheduler) as client:
            futures = client.compute(tasks)
            reporter = _Progress(len(futures), what, self.progress)
            for count, _ in enumerate(as_completed(futures), 1):
                reporter.show(count)
            return client.gather(futures)


class _Progress:
    """``what: done/total`` on one refreshed line on a terminal, every quarter in a log."""

    def __init__(self, total: int, what: str, enabled: bool):
        self.total, self.what, self.enabled = total, what, enabled
        self.last, self.quarter = 0.0, 0
        self.terminal = sys.stderr.isatty()

    def show(self, count: int) -> None:
        if not self.enabled:
            return
        if self.terminal:
            now = time.perf_counter()
            if now - self.last > 0.2 or count == self.total:
                self.last = now
                end = "\n" if count == self.total else "\r"
                print(f"{self.what}: {count}/{self.total}", end=end, file=sys.stderr, flush=True)
        elif count * 4 >= (self.quarter + 1) * self.total:
            self.quarter = count * 4 // self.total
            print(f"{self.what}: {count}/{self.total}", file=sys.stderr, flush=True)
