"""Sketch-to-car speed on this machine: one sketch -> mask -> image request (what the endpoint
does after decoding the upload), its stages, and images/s for batches of variations.

    python benchmarks/sketch.py [--threads 2] [--json docs/bench_sketch.json]
    python benchmarks/sketch.py --generator runs/ssgan128-v2@latest   # a candidate (folder or RUN@STEP)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks.timing import add_common_arguments, images_per_second, time_steps, write_report  # noqa: E402
from carstudio.evaluate.ssgan import load_generator  # noqa: E402
from carstudio.pipelines.sketch import GENERATOR_WEIGHTS, SEGMENTER_WEIGHTS, SketchToCarPipeline  # noqa: E402
from carstudio.pipelines.sketch import load_sketch_segmenter  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generator", default=GENERATOR_WEIGHTS,
                        help="weights name, folder or training checkpoint RUN[@STEP] (its EMA generator)")
    add_common_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = SketchToCarPipeline(load_sketch_segmenter(SEGMENTER_WEIGHTS), load_generator(args.generator).eval())
    ink = example_ink()
    sketch = pipe.prepare(ink)
    parts = pipe.segment(sketch)[0]
    rows = {"threads": args.threads, "resolution": pipe.resolution, "generator": str(args.generator)}
    rows |= time_steps({
        "request_1_image": lambda: pipe(ink, 1, seed=0),
        "request_4_images": lambda: pipe(ink, 4, seed=0),
        "normalize": lambda: pipe.prepare(ink),
        "segment": lambda: pipe.segment(sketch),
        "generate_1": lambda: pipe.generate(parts, 1, seed=0),
    }, args.repeats)
    rows |= images_per_second(lambda batch, seed: pipe.generate(parts, batch, seed=seed), max(1, args.repeats // 4))
    print(json.dumps(rows, indent=1))
    write_report(rows, args.json)


if __name__ == "__main__":
    main()
