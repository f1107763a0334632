"""SinGAN speed on this machine: paint-to-image latency and batch throughput of a shipped model,
and training seconds per iteration at each scale for the paper defaults vs the fast preset, with
FLOPs per iteration against the measured matmul peak.

    python benchmarks/singan.py --model singan-car1-trb1-side --image data/ref/car1-trb1_side_250x150.png \
        [--presets paper fast] [--threads 1] [--json docs/bench_singan.json]

The training image comes from `python -m carstudio.data reference --car car1-trb1 --view side
--width 250 --height 150 --out data/ref`. `--presets` with no name times paint-to-image only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks.timing import write_report  # noqa: E402
from carstudio.pipelines.singan import SinGANPipeline  # noqa: E402
from carstudio.train.singan_trainer import PRESETS, SinGANTrainer, SinGANTrainOptions, load_training_image  # noqa: E402


def matmul_peak_gflops(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def paint_benchmark(pipe: SinGANPipeline, repeats: int = 20) -> dict:
    painting = pipe.reference_image()
    rows = {}
    for scale in range(1, pipe.num_scales):
        pipe(1, seed=0, painting=painting, inject_scale=scale)
        start = time.perf_counter()
        for i in range(repeats):
            pipe(1, seed=i, painting=painting, inject_scale=scale)
        rows[f"paint_ms_scale{scale}"] = round((time.perf_counter() - start) / repeats * 1000, 2)
    for batch in (1, 4, 8):
        start = time.perf_counter()
        for i in range(max(1, repeats // batch)):
            pipe(batch, seed=i, painting=painting, inject_scale=pipe.num_scales // 2)
        rows[f"images_per_s_batch{batch}"] = round(batch * max(1, repeats // batch) / (time.perf_counter() - start), 1)
    return rows


def training_benchmark(image_path: str, preset: str, iterations: int = 5) -> list[dict]:
    """Time `iterations` per scale; count FLOPs of one iteration on a twin trainer (FLOPs do
    not depend on the weights, and the counter would slow the timed run). torch's FLOP counter
    cannot follow the gradient penalty's double backward, so the twin runs without it: the
    counts are lower bounds."""
    options = SinGANTrainOptions().with_overrides(**{**PRESETS[preset], "iterations": iterations})
    image = load_training_image(image_path, options.max_size)
    timed = SinGANTrainer(image, options)
    counted = SinGANTrainer(image, options.with_overrides(iterations=1, gp_weight=0.0))
    rows = []
    for n in range(timed.num_scales):
        stats = timed.train_scale(n)
        with FlopCounterMode(display=False) as counter:
            counted.train_scale(n)
        rows.append({"scale": n, "size": list(stats.size), "s_per_it": round(stats.seconds / stats.iterations, 3),
                     "gflop_per_it_lower_bound": round(counter.get_total_flops() / 1e9, 2)})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--image", required=True, help="training image for the training-speed rows")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--presets", nargs="*", default=["paper", "fast"], choices=sorted(PRESETS),
                        help="training presets to time (none: paint-to-image only)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    peak = matmul_peak_gflops()
    pipe = SinGANPipeline.from_pretrained(args.model)
    report = {"model": args.model, "output_size": list(pipe.reference_image().size[::-1]),
              "threads": torch.get_num_threads(), "matmul_peak_gflops": round(peak, 1), "paint": paint_benchmark(pipe)}
    for preset in args.presets:
        rows = training_benchmark(args.image, preset, args.iterations)
        for row in rows:
            row["gflops_sustained_lower_bound"] = round(row["gflop_per_it_lower_bound"] / row["s_per_it"], 1)
            row["fraction_of_peak_lower_bound"] = round(row["gflops_sustained_lower_bound"] / peak, 3)
        full = PRESETS[preset].get("iterations", SinGANTrainOptions.iterations)
        report[preset] = {"scales": rows, "estimated_total_min": round(sum(r["s_per_it"] for r in rows) * full / 60, 1)}
    print(json.dumps(report, indent=1))
    write_report(report, args.json)


if __name__ == "__main__":
    main()
