"""Futuristic blend speed on this machine: what the blend tab's endpoints do, display enlargement
and PNG encoding aside.

- blend: decode the blended code with the fine-tuned G, plus the novelty figure (the /blend
  endpoint; the codes are already in the session);
- encode_both_and_blend: encode two 512-px uploads (find and frame the car, encoder, their
  reconstructions), then blend;
- sample_everyday / sample_futuristic, encode_upload: /blend_sample and /blend_encode;
- strip_8: an 8-frame strip in one generator pass (/blend_strip); refine_100: encoding with the
  largest refinement the tab offers; encode_1024_refine_20: a 1024-px upload framed, encoded and
  refined with the tab's default 20 steps.
Targets (issue 21): the blend endpoint <= 60 ms, strip of 8 <= 400 ms, encode + default refinement
of a 1024-px upload <= 1.5 s. (Issue 5's 150 ms for encoder + generator is still reported as
encode_both_and_blend, without a target: uploads are now framed before encoding.)

    python benchmarks/blend.py [--generator weights/sngan-futuristic-64 --everyday ... --encoder ...] \\
        [--novelty weights/novelty-blend-64] [--threads 2] [--json docs/bench_blend.json]
    python benchmarks/blend.py --random   # before the weights exist: untrained models of the shipped
                                          # architecture (speed does not depend on the weights)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks.roigan import example  # noqa: E402
from benchmarks.timing import add_common_arguments, time_steps, with_targets, write_report  # noqa: E402
from carstudio.hub import ModelUnavailable  # noqa: E402
from carstudio.metrics.novelty import (  # noqa: E402
    DEFAULT_SEGMENTER,
    NOVELTY_WEIGHTS,
    NoveltyBank,
    NoveltyMeter,
    load_segmenter,
    segmenter_fingerprint,
)
from carstudio.models.encoder import ResNet18Encoder  # noqa: E402
from carstudio.models.sngan import SNGANGenerator  # noqa: E402
from carstudio.pipelines.blend import (  # noqa: E402
    ENCODER_WEIGHTS,
    EVERYDAY,
    EVERYDAY_WEIGHTS,
    FUTURISTIC,
    FUTURISTIC_WEIGHTS,
    MAX_REFINE_STEPS,
    FuturisticBlendPipeline,
)

TARGETS_MS = {"blend_ms": 60, "strip_8_ms": 400, "encode_1024_refine_20_ms": 1500}
DEFAULT_REFINE_STEPS = 20  # the tab's default


def random_pipeline(bank_size: int) -> FuturisticBlendPipeline:
    """Untrained models with the shipped configuration (64 px, z 128, G widths 256..16, ResNet-18
    width 24, the shipped encoder's: width 64 would not fit the 10 MB weight files) and, when the
    segmenter is installed, a bank of `bank_size` random feature rows."""
    torch.manual_seed(0)
    meter, note = None, "no segmenter installed"
    try:
        segmenter = load_segmenter(DEFAULT_SEGMENTER)
        features = torch.randn(bank_size, segmenter.feature_channels)
        bank = NoveltyBank(features, torch.rand(bank_size), [f"{i:06d}.png" for i in range(bank_size)],
                           [""] * bank_size, 64, "random", DEFAULT_SEGMENTER, segmenter_fingerprint(segmenter))
        meter = NoveltyMeter(bank, segmenter)
    except ModelUnavailable as error:
        note = str(error)
    return FuturisticBlendPipeline(SNGANGenerator(), SNGANGenerator(), ResNet18Encoder(width=24), meter, note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generator", default=FUTURISTIC_WEIGHTS, help="fine-tuned G: weights name or folder")
    parser.add_argument("--everyday", default=EVERYDAY_WEIGHTS, help="everyday G: weights name or folder")
    parser.add_argument("--encoder", default=ENCODER_WEIGHTS, help="encoder: weights name or folder")
    parser.add_argument("--novelty", default=NOVELTY_WEIGHTS, help="novelty bank: weights name or folder")
    parser.add_argument("--random", action="store_true", help="untrained models of the shipped architecture")
    parser.add_argument("--bank-size", type=int, default=25_000, help="with --random: rows of the random bank")
    parser.add_argument("--test", type=Path, default=Path("data/cars64_test"), help="a render folder for the uploads")
    parser.add_argument("--side", type=int, default=512, help="the uploads' size in px")
    add_common_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.random:
        pipe = random_pipeline(args.bank_size)
    else:
        try:
            pipe = FuturisticBlendPipeline.from_pretrained(args.generator, args.everyday, args.encoder, args.novelty)
        except ModelUnavailable as error:
            sys.exit(f"{error}\nPass --generator/--everyday/--encoder folders, or --random to time untrained models.")
    upload, _ = example(args.test if args.test.is_dir() else None, args.side)
    upload_1024, _ = example(args.test if args.test.is_dir() else None, 1024)
    x, y = pipe.car_from_seed(EVERYDAY, 0).code, pipe.car_from_seed(FUTURISTIC, 1).code

    def blend():
        pipe.describe_novelty(pipe.blend(x, y, 0.5))

    def encode_both_and_blend():
        everyday, futuristic = pipe.car_from_image(upload), pipe.car_from_image(upload)
        pipe.describe_novelty(pipe.blend(everyday.code, futuristic.code, 0.5))

    rows = {"threads": args.threads, "resolution": pipe.resolution, "upload_px": args.side,
            "models": "random (untrained, shipped architecture)" if args.random else
            {"generator": str(args.generator), "everyday": str(args.everyday), "encoder": str(args.encoder)},
            "novelty": pipe.novelty_available and len(pipe.novelty_meter.bank.files)}
    refine = f"refine_{MAX_REFINE_STEPS}"
    rows |= time_steps({
        "blend": blend,
        "encode_both_and_blend": encode_both_and_blend,
        "sample_everyday": lambda: pipe.car_from_seed(EVERYDAY, 0),
        "sample_futuristic": lambda: pipe.car_from_seed(FUTURISTIC, 0),
        "encode_upload": lambda: pipe.car_from_image(upload),
        "strip_8": lambda: pipe.strip(x, y, 8),
        "encode_1024_refine_20": lambda: pipe.car_from_image(upload_1024, DEFAULT_REFINE_STEPS),
        refine: lambda: pipe.car_from_image(upload, MAX_REFINE_STEPS),
    }, args.repeats, fewer={refine: max(3, args.repeats // 10), "encode_1024_refine_20": max(3, args.repeats // 10)})
    rows = with_targets(rows, TARGETS_MS)
    print(f"{'step':<28}{'median ms':>10}{'p95 ms':>10}{'target':>8}")
    for key, value in rows.items():
        if key.endswith("_ms") and key != "targets_ms":
            target = TARGETS_MS.get(key, "")
            print(f"{key[:-3]:<28}{value['median']:>10.1f}{value['p95']:>10.1f}{target:>8}")
    print(f"novelty bank rows: {rows['novelty'] or 'none (novelty unavailable)'}; threads {args.threads}; "
          f"meets targets: {rows['meets_targets']}")
    write_report(rows, args.json)


if __name__ == "__main__":
    main()
