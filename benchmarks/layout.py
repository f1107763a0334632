"""Layout-to-car speed on this machine: sample a layout and render it (what /layout_generate does),
its two stages, and images/s for batches.

    python benchmarks/layout.py [--threads 2] [--json docs/bench_layout.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks.timing import add_common_arguments, images_per_second, time_steps, write_report  # noqa: E402
from carstudio.pipelines.layout import LayoutToCarPipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = LayoutToCarPipeline.from_pretrained()
    parts = pipe.sample_layouts(1, seed=0)
    rows = {"threads": args.threads, "resolution": pipe.resolution}
    rows |= time_steps({
        "sample_and_render_1": lambda: pipe(1, seed=0, psi=0.8),
        "sample_and_render_4": lambda: pipe(4, seed=0, psi=0.8),
        "sample_layout_1": lambda: pipe.sample_layouts(1, seed=0, psi=0.8),
        "render_1": lambda: pipe.render(parts, style_seed=0),
    }, args.repeats)
    rows |= images_per_second(lambda batch, seed: pipe(batch, seed=seed), max(1, args.repeats // 4))
    print(json.dumps(rows, indent=1))
    write_report(rows, args.json)


if __name__ == "__main__":
    main()
