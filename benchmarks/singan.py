"""SinGAN speed on this machine: paint-to-image latency and batch throughput of a shipped model,
and training seconds per iteration at each scale for the paper defaults vs the fast preset, with
FLOPs per iteration against the measured matmul peak.

    python benchmarks/singan.py --model singan-car1-trb1-side --image data/ref/car1-trb1_side_250x150.png
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
from carstudio.pipelines.singan import SinGANPipeline  # noqa: E402
from carstudio.train.singan import PRESETS, SinGANTrainer, SinGANTrainOptions, load_training_image  # noqa: E402


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
        rows[f"paint_ms_scale{scale}"] = (time.perf_counter() - start) / repeats * 1000
    for batch in (1, 4, 8):
        start = time.perf_counter()
        for i in range(max(1, repeats // batch)):
            pipe(batch, seed=i, painting=painting, inject_scale=pipe.num_scales // 2)
        rows[f"images_per_s_batch{batch}"] = batch * max(1, repeats // batch) / (time.perf_counter() - start)
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
        rows.append({"scale": n, "size": list(stats.size), "s_per_it": stats.seconds / stats.iterations,
                     "gflop_per_it_lower_bound": counter.get_total_flops() / 1e9})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--image", required=True, help="training image for the training-speed rows")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    peak = matmul_peak_gflops()
    report = {"threads": torch.get_num_threads(), "matmul_peak_gflops": peak,
              "paint": paint_benchmark(SinGANPipeline.from_pretrained(args.model))}
    for preset in ("paper", "fast"):
        rows = training_benchmark(args.image, preset, args.iterations)
        for row in rows:
            row["gflops_sustained_lower_bound"] = row["gflop_per_it_lower_bound"] / row["s_per_it"]
            row["fraction_of_peak_lower_bound"] = row["gflops_sustained_lower_bound"] / peak
        full = PRESETS[preset].get("iterations", SinGANTrainOptions.iterations)
        report[preset] = {"scales": rows, "estimated_total_min": sum(r["s_per_it"] for r in rows) * full / 60}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
