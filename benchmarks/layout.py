"""Layout-to-car speed on this machine: sample a layout and render it (what /layout_generate does),
its two stages, and images/s for batches.

    python benchmarks/layout.py [--threads 2] [--json docs/bench_layout.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks.sketch import timed  # noqa: E402
from carstudio.pipelines.layout import LayoutToCarPipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = LayoutToCarPipeline.from_pretrained()
    parts = pipe.sample_layouts(1, seed=0)
    rows = {"threads": args.threads, "resolution": pipe.resolution}
    for name, fn in {
        "sample_and_render_1": lambda: pipe(1, seed=0, psi=0.8),
        "sample_and_render_4": lambda: pipe(4, seed=0, psi=0.8),
        "sample_layout_1": lambda: pipe.sample_layouts(1, seed=0, psi=0.8),
        "render_1": lambda: pipe.render(parts, style_seed=0),
    }.items():
        times = timed(fn, args.repeats)
        rows[name + "_ms"] = {"median": round(statistics.median(times), 2),
                              "p95": round(float(np.percentile(times, 95)), 2)}
    for batch in (1, 8, 32):
        rounds = max(1, args.repeats // 4)
        start = time.perf_counter()
        for i in range(rounds):
            pipe(batch, seed=i)
        rows[f"images_per_s_batch{batch}"] = round(batch * rounds / (time.perf_counter() - start), 1)
    print(json.dumps(rows, indent=1))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
