"""Region edit speed on this machine: what the region tab's endpoints do after decoding the upload
(a 512-px car image with a brushed region): RoI-GAN alone (resize, generate, composite), Telea
alone, both (the inpaint endpoint), a 7-frame slider sweep and one frame per category.
Targets (issue 6): inpaint <= 200 ms, 7-frame sweep <= 500 ms.

    python benchmarks/roigan.py [--generator weights/roigan-64] [--test data/cars64_test] \\
        [--threads 2] [--json docs/bench_roigan.json]
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
from benchmarks.timing import add_common_arguments, time_steps, with_targets, write_report  # noqa: E402
from carstudio.pipelines.roigan import GENERATOR_WEIGHTS, RegionEditPipeline  # noqa: E402

TARGETS_MS = {"inpaint_ms": 200, "sweep_7_ms": 500}


def example(test: Path | None, side: int = 512) -> tuple[Image.Image, np.ndarray]:
    """A held-out render enlarged to `side` px (or a plain car-like drawing) and a brushed blob
    over its middle (5% of the picture), as a browser brush would leave it."""
    images = sorted((test / "images").glob("*.png")) if test else []
    if images:
        image = Image.open(images[0]).convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
    else:
        image = Image.new("RGB", (side, side), "white")
        ImageDraw.Draw(image).rectangle([0.1 * side, 0.45 * side, 0.9 * side, 0.7 * side], fill=(180, 30, 30))
    brush = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(brush)
    draw.line([(0.35 * side, 0.5 * side), (0.55 * side, 0.45 * side), (0.65 * side, 0.6 * side)], fill=255,
              width=side // 10)
    draw.ellipse([0.4 * side, 0.4 * side, 0.6 * side, 0.6 * side], fill=255)
    return image, np.asarray(brush) > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generator", default=GENERATOR_WEIGHTS, help="weights name or folder")
    parser.add_argument("--test", type=Path, default=Path("data/cars64_test"), help="a render folder for the image")
    parser.add_argument("--side", type=int, default=512, help="the upload's size in px")
    add_common_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = RegionEditPipeline.from_pretrained(args.generator)
    image, mask = example(args.test if args.test.is_dir() else None, args.side)
    codes = [0.5] * pipe.num_codes
    rows = {"threads": args.threads, "resolution": pipe.resolution, "upload_px": args.side,
            "mask_share": round(float(mask.mean()), 3)}
    rows |= time_steps({
        "inpaint": lambda: pipe(image, mask, codes=codes, category=1, seed=0),
        "roigan_only": lambda: pipe.inpaint(image, mask, codes=codes, category=1, seed=0),
        "telea_only": lambda: pipe.telea(image, mask),
        "sweep_7": lambda: pipe.sweep(image, mask, 0, seed=0, codes=codes),
        f"categories_{pipe.num_categories}": lambda: pipe.category_sweep(image, mask, seed=0, codes=codes),
    }, args.repeats)
    rows = with_targets(rows, TARGETS_MS)
    print(json.dumps(rows, indent=1))
    write_report(rows, args.json)


if __name__ == "__main__":
    main()
