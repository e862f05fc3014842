"""Small timing helpers shared by the benchmarks (no pytest-benchmark: ratios in one run)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def limit_threads(n: int = 2) -> None:
    """Pin numeric libraries to ``n`` threads, as on the reference 2-core machine."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, str(n))


def best_of(func: Callable[[], object], repeat: int = 5, min_time: float = 0.2) -> float:
    """Median seconds of one call, over ``repeat`` rounds of enough calls to last ``min_time``."""
    func()  # warm-up: caches, lazy imports
    start = time.perf_counter()
    func()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(min_time / once))
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            func()
        rounds.append((time.perf_counter() - start) / calls)
    return statistics.median(rounds)


def print_table(title: str, rows: list[tuple[str, float]], reference: str) -> None:
    """Print seconds per call and each row's speed as a ratio to ``reference``."""
    times = dict(rows)
    print(f"\n{title}")
    print(f"{'method':<44}{'ms/call':>12}{'ours is ×faster':>18}")
    for name, seconds in rows:
        ratio = seconds / times[reference]
        print(f"{name:<44}{seconds * 1e3:>12.3f}{ratio:>18.2f}")
