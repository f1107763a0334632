"""Train SinGAN on one image per process (paper defaults; a fast concurrent mode for CPUs).

    accelerate launch -m carstudio.train.singan --images a.png b.png --out runs/singan
    python -m carstudio.train.singan --images car.png --preset fast --out runs/singan-fast

With several processes (GPUs or CPU workers) each process trains its own share of the
images; nothing is synchronized between them. Each finished scale is checkpointed, and a run
resumes from the last one (plus a mid-scale snapshot) when started again with the same --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from carstudio.train.singan_trainer import PRESETS, SinGANTrainOptions, train_image


def parse_args(argv=None) -> tuple[argparse.Namespace, SinGANTrainOptions]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", nargs="+", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="paper")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    for f in dataclasses.fields(SinGANTrainOptions):
        kind = float if f.type in ("float", float) else int if f.type in ("int", int) else str
        if f.name == "betas":
            parser.add_argument("--betas", type=float, nargs=2)
        else:
            parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind)
    args = parser.parse_args(argv)
    overrides = {**PRESETS[args.preset]}
    overrides.update({f.name: getattr(args, f.name) for f in dataclasses.fields(SinGANTrainOptions)
                      if getattr(args, f.name) is not None})
    if "betas" in overrides:
        overrides["betas"] = tuple(overrides["betas"])
    return args, SinGANTrainOptions().with_overrides(**overrides)


def main(argv=None) -> None:
    from accelerate import Accelerator

    args, options = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    accelerator = Accelerator()
    args.out.mkdir(parents=True, exist_ok=True)
    if accelerator.is_main_process:
        (args.out / "options.json").write_text(
            json.dumps({"preset": args.preset, "images": [str(p) for p in args.images],
                        **dataclasses.asdict(options)}, indent=1))
    mine = args.images[accelerator.process_index :: accelerator.num_processes]
    log = lambda msg: print(f"[rank {accelerator.process_index}] {msg}", flush=True)  # noqa: E731
    for path in mine:
        train_image(path, args.out, options, accelerator.device, log)
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main()
