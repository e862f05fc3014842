"""Run every ``bench_*.py`` module in this folder, in name order."""

import importlib
import pkgutil
from pathlib import Path

for module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
    if module.name.startswith("bench_"):
        importlib.import_module(f"benchmarks.{module.name}").main()
