"""Seed 004's Table 1 and Figure 3 on held-out renders: SSGAN vs the SPADE/GauGAN baseline.

    python -m carstudio.evaluate.ssgan table --test data/cars64_test \\
        --generator ssgan=runs/ssgan-64@4000 spade=runs/spade-64@4000 ssgan-shipped=weights/ssgan-64 \\
        --json docs/ssgan_table.json
    python -m carstudio.evaluate.ssgan figure --test data/cars64_test --generator weights/ssgan-64 \\
        --sketches examples/sketches --out docs/img/ssgan_figure3.png

Inputs are the held-out renders' line sketches made to look hand drawn (fixed seed), segmented
by the sketch segmenter into M0, then generated with one z per sample (seeded). Scores:
- FD-seg (or FID with --inception-weights) between generated images and the held-out renders;
  images are upsampled to the feature segmenter's resolution first. FD-seg is the project's
  feature space (carstudio.metrics.frechet), not comparable with published FID numbers;
- SSIM between each generated image and the render its sketch came from;
- mIoU of M0 against the true part map (the sketch segmenter's accuracy, shared by every row);
- z diversity: mean absolute pixel difference between two style seeds on the same masks.
Every generator is also scored on the true part maps ("oracle masks"): the gap between the two
is what the sketch segmentation stage costs. Generators are named `name=PATH[@STEP]`: an exported
folder, or a training run folder and a checkpoint step (the equal-budget comparison).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from carstudio.checkpoints import config_from_options, parse_spec
from carstudio.data.loading import hand_drawn_val, load_renders
from carstudio.data.parts import NUM_PARTS
from carstudio.inputs import sketch_strokes
from carstudio.metrics.features import load_default_segmenter
from carstudio.metrics.frechet import frechet
from carstudio.metrics.image import ssim
from carstudio.metrics.segmentation import confusion_matrix, iou_per_class, mean_iou
from carstudio.models.segmenter import PartSegmenter
from carstudio.models.ssgan import SPADEGenerator, SSGANGenerator, one_hot_masks
from carstudio.pipelines.sketch import SEGMENTER_WEIGHTS, SketchToCarPipeline, load_generator as load_shipped_generator
from carstudio.pipelines.sketch import load_sketch_segmenter

SKETCH_SEED = 1
BATCH = 100
DIVERSITY_SAMPLES = 200


# --- loading ---------------------------------------------------------------------------------
def load_generator(spec: str) -> SSGANGenerator | SPADEGenerator:
    """`PATH` (exported folder or weights name) or `RUN@STEP` / `RUN` (a training checkpoint)."""
    checkpoint = parse_spec(spec)
    if checkpoint is None:
        return load_shipped_generator(spec)
    options = checkpoint.options()
    generator_class = SPADEGenerator if options.get("model") == "spade" else SSGANGenerator
    return checkpoint.load(generator_class, "generator", config_from_options(generator_class, options))


# --- scoring ---------------------------------------------------------------------------------
@dataclass
class HeldOut:
    images: torch.Tensor  # (N, 3, R, R) in [-1, 1]
    parts: torch.Tensor  # (N, R, R) true part ids
    sketches: torch.Tensor  # (N, 1, R, R) hand-drawn sketches in [-1, 1]


def held_out(roots: list[Path], resolution: int, limit: int | None) -> HeldOut:
    data = load_renders(roots, resolution, sketches=True)
    n = len(data) if limit is None else min(limit, len(data))
    sketches = hand_drawn_val(data.sketches[:n], SKETCH_SEED).float() / 127.5 - 1.0
    return HeldOut(data.images[:n].float() / 127.5 - 1.0, data.parts[:n].long(), sketches)


@torch.inference_mode()
def predict_parts(segmenter: PartSegmenter, sketches: torch.Tensor) -> torch.Tensor:
    return torch.cat([segmenter(sketches[i : i + BATCH]).argmax(1) for i in range(0, len(sketches), BATCH)])


@torch.inference_mode()
def generate(generator, parts: torch.Tensor, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(len(parts), generator.config.z_dim, generator=g)
    return torch.cat([generator(one_hot_masks(parts[i : i + BATCH]), z=z[i : i + BATCH])[0]
                      for i in range(0, len(parts), BATCH)])


def z_diversity(generator, parts: torch.Tensor) -> float:
    """Mean absolute difference (images in [-1, 1]) between two style seeds on the same masks:
    how much z changes the output. 0 means the generator ignores z."""
    return float((generate(generator, parts, seed=0) - generate(generator, parts, seed=1)).abs().mean())


def score_table(test: list[Path], generators: dict[str, str], sketch_segmenter: str, limit: int | None,
                train_reference: list[Path], inception_weights: str | None, log=print) -> dict:
    feature_segmenter = load_default_segmenter()
    segmenter = load_sketch_segmenter(sketch_segmenter)
    resolution = segmenter.config.resolution
    data = held_out(test, resolution, limit)
    predicted = predict_parts(segmenter, data.sketches)
    conf = confusion_matrix(predicted, data.parts, NUM_PARTS)
    result = {
        "held_out": [str(p) for p in test], "samples": len(data.parts), "resolution": resolution,
        "sketches": f"held-out render sketches through hand_drawn (seed {SKETCH_SEED})",
        "sketch_segmenter": sketch_segmenter,
        "mask_miou": mean_iou(conf), "mask_iou": [None if np.isnan(v) else float(v) for v in iou_per_class(conf)],
        "rows": [],
    }
    log(f"sketch segmenter mIoU on {len(data.parts)} held-out hand-drawn sketches: {result['mask_miou']:.3f}")
    if train_reference:
        reference = load_renders(train_reference, resolution).images[: len(data.parts)].float() / 127.5 - 1.0
        label, value = frechet(reference, data.images, feature_segmenter, inception_weights)
        result["floor"] = {"metric": label, "value": value, "what": f"training renders {train_reference} vs held-out"}
        log(f"{label} floor (training renders vs held-out renders): {value:.4g}")
    for name, spec in generators.items():
        generator = load_generator(spec)
        for masks, parts in (("predicted from sketch", predicted), ("oracle (true part map)", data.parts)):
            images = generate(generator, parts)
            label, value = frechet(images, data.images, feature_segmenter, inception_weights)
            row = {"generator": name, "spec": spec, "class": type(generator).__name__, "masks": masks,
                   "metric": label, "fd": value, "ssim": ssim(images, data.images),
                   "z_diversity": z_diversity(generator, parts[:DIVERSITY_SAMPLES])}
            result["rows"].append(row)
            log(f"{name:>16} | {masks:<22} | {label} {value:8.4g} | SSIM {row['ssim']:.3f} | "
                f"z diversity {row['z_diversity']:.3f}")
    return result


def markdown_table(result: dict) -> str:
    label = result["rows"][0]["metric"] if result["rows"] else "FD-seg"
    lines = [f"| generator | masks | {label} ↓ | SSIM ↑ | z diversity |", "| --- | --- | --- | --- | --- |"]
    for row in result["rows"]:
        lines.append(f"| {row['generator']} (`{row['spec']}`) | {row['masks']} | {row['fd']:.4g} | {row['ssim']:.3f} "
                     f"| {row['z_diversity']:.3f} |")
    if "floor" in result:
        lines.append(f"| training renders (floor) | - | {result['floor']['value']:.4g} | - | - |")
    lines.append(f"\nSketch segmenter mIoU on the same {result['samples']} sketches: {result['mask_miou']:.3f}")
    return "\n".join(lines)


# --- figure 3 --------------------------------------------------------------------------------
def _cell(image: Image.Image, size: int) -> np.ndarray:
    method = Image.NEAREST if image.width <= 32 else Image.BICUBIC
    return np.asarray(image.convert("RGB").resize((size, size), method))


def figure(test: list[Path], generator_spec: str, sketch_segmenter: str, count: int, sketch_files: list[Path],
           out: Path, cell: int = 128, seeds: tuple[int, ...] = (0, 1)) -> Path:
    """Rows: sketch | M0 | m_1..m_n (SFM masks) | generated (one per seed) | ground truth."""
    pipe = SketchToCarPipeline(load_sketch_segmenter(sketch_segmenter), load_generator(generator_spec))
    rows = []
    data = held_out(test, pipe.resolution, count)
    blank = np.full((cell, cell, 3), 255, np.uint8)
    inputs = [(((1 - s[0].numpy()) * 127.5).astype(np.uint8), _cell(Image.fromarray(
        ((im.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)), cell))
              for s, im in zip(data.sketches, data.images)]
    inputs += [(sketch_strokes({"composite": str(f)}), blank) for f in sketch_files]
    for ink, truth in inputs:
        outputs = [pipe(ink, 1, seed=s) for s in seeds]
        first = outputs[0]
        cells = [_cell(first.sketch, cell), _cell(first.mask, cell)]
        cells += [_cell(m, cell) for m in first.sfm_masks]
        cells += [_cell(o.images[0], cell) for o in outputs] + [truth]
        rows.append(np.concatenate(cells, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(out)
    return out


# --- command line ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    table = sub.add_parser("table", help="Table 1: FD-seg/FID and SSIM per generator, mask mIoU")
    table.add_argument("--test", nargs="+", type=Path, required=True, help="held-out render folders")
    table.add_argument("--generator", nargs="+", required=True, help="name=PATH[@STEP]")
    table.add_argument("--sketch-segmenter", default=SEGMENTER_WEIGHTS)
    table.add_argument("--limit", type=int, help="score only the first N held-out samples")
    table.add_argument("--train-reference", nargs="*", type=Path, default=[],
                       help="training render folders: their distance to the held-out renders is the floor")
    table.add_argument("--inception-weights", help="torch-fidelity Inception weights file: FID instead of FD-seg")
    table.add_argument("--json", type=Path, help="write the results here")
    fig = sub.add_parser("figure", help="Figure 3: sketch, mask, SFM masks, generated, ground truth")
    fig.add_argument("--test", nargs="+", type=Path, required=True)
    fig.add_argument("--generator", required=True, help="PATH[@STEP]")
    fig.add_argument("--sketch-segmenter", default=SEGMENTER_WEIGHTS)
    fig.add_argument("--count", type=int, default=4, help="held-out sketches to show")
    fig.add_argument("--sketches", type=Path, help="folder of extra sketches (e.g. drawn in the browser)")
    fig.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.command == "table":
        generators = dict(item.split("=", 1) for item in args.generator)
        result = score_table(args.test, generators, args.sketch_segmenter, args.limit, args.train_reference,
                             args.inception_weights)
        print(markdown_table(result))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1))
    else:
        extra = sorted(args.sketches.glob("*.png")) if args.sketches else []
        print(figure(args.test, args.generator, args.sketch_segmenter, args.count, extra, args.out))


if __name__ == "__main__":
    main()
