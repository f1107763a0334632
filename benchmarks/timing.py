"""What the speed benchmarks share: the common options, timing a set of steps (median and p95 after
a warm-up call), images/s for batch sizes, checking targets and writing the JSON report (with the
machine's state: this project's machine is often shared with a training job, so every figure is
stored with the 1-minute load average it was measured under)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """Milliseconds of `repeats` calls after one warm-up call (first calls allocate and tune)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def time_steps(steps: dict[str, Callable[[], object]], repeats: int,
               fewer: dict[str, int] | None = None) -> dict[str, dict[str, float]]:
    """{name + "_ms": {"median", "p95"}} for each step; `fewer` gives some steps their own repeats."""
    rows = {}
    for name, fn in steps.items():
        times = timed(fn, (fewer or {}).get(name, repeats))
        rows[name + "_ms"] = {"median": round(statistics.median(times), 2),
                              "p95": round(float(np.percentile(times, 95)), 2)}
    return rows


def images_per_second(generate: Callable[[int, int], object], rounds: int,
                      batches: tuple[int, ...] = (1, 8, 32)) -> dict[str, float]:
    """{"images_per_s_batchB": ...}: `generate(batch, seed)` called `rounds` times per batch size."""
    rows = {}
    for batch in batches:
        start = time.perf_counter()
        for seed in range(rounds):
            generate(batch, seed)
        rows[f"images_per_s_batch{batch}"] = round(batch * rounds / (time.perf_counter() - start), 1)
    return rows


def with_targets(rows: dict, targets_ms: dict[str, float]) -> dict:
    """The rows plus the targets and whether every targeted median meets its target."""
    return {**rows, "targets_ms": targets_ms,
            "meets_targets": all(rows[k]["median"] <= v for k, v in targets_ms.items())}


def machine_state() -> dict:
    """CPU count, the 1-minute load average (it includes the benchmark's own threads when read
    after the timing) and when and how the report was made."""
    return {"cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M"),
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}


def write_report(rows: dict, path: Path | None) -> None:
    """Write `rows` as JSON with the machine's state under "machine" (kept if `rows` has it)."""
    if path:
        path.write_text(json.dumps({**rows, "machine": rows.get("machine") or machine_state()}, indent=1) + "\n")
