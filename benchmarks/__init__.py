"""Timed comparisons against what a user would pick instead, with ratios in one run.

Run every benchmark with ``python -m benchmarks`` (or ``make bench``); one with
``python -m benchmarks.bench_data``.
"""
