"""Sketch-to-car speed on this machine: one sketch -> mask -> image request (what the endpoint
does after decoding the upload), its stages, and images/s for batches of variations.

    python benchmarks/sketch.py [--threads 2] [--json docs/bench_sketch.json]
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
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from carstudio.pipelines.sketch import SketchToCarPipeline  # noqa: E402


def example_ink(canvas=(512, 320)) -> np.ndarray:
    """A car outline as a browser Sketchpad would send it (4-px strokes on a 512x320 canvas)."""
    image = Image.new("L", canvas, 0)
    draw = ImageDraw.Draw(image)
    w, h = canvas
    draw.line([(0.1 * w, 0.7 * h), (0.1 * w, 0.5 * h), (0.3 * w, 0.45 * h), (0.4 * w, 0.3 * h), (0.65 * w, 0.3 * h),
               (0.78 * w, 0.45 * h), (0.9 * w, 0.5 * h), (0.9 * w, 0.7 * h), (0.1 * w, 0.7 * h)], fill=255, width=4)
    for cx in (0.25 * w, 0.75 * w):
        draw.ellipse([cx - 0.12 * h, 0.6 * h, cx + 0.12 * h, 0.84 * h], outline=255, width=4)
    return np.asarray(image)


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = SketchToCarPipeline.from_pretrained()
    ink = example_ink()
    sketch = pipe.prepare(ink)
    parts = pipe.segment(sketch)[0]
    rows = {"threads": args.threads, "resolution": pipe.resolution}
    for name, fn in {
        "request_1_image": lambda: pipe(ink, 1, seed=0),
        "request_4_images": lambda: pipe(ink, 4, seed=0),
        "normalize_ms": lambda: pipe.prepare(ink),
        "segment_ms": lambda: pipe.segment(sketch),
        "generate_1_ms": lambda: pipe.generate(parts, 1, seed=0),
    }.items():
        times = timed(fn, args.repeats)
        rows[name if name.endswith("_ms") else name + "_ms"] = {
            "median": round(statistics.median(times), 2), "p95": round(float(np.percentile(times, 95)), 2)}
    for batch in (1, 8, 32):
        start = time.perf_counter()
        rounds = max(1, args.repeats // 4)
        for i in range(rounds):
            pipe.generate(parts, batch, seed=i)
        rows[f"images_per_s_batch{batch}"] = round(batch * rounds / (time.perf_counter() - start), 1)
    print(json.dumps(rows, indent=1))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
