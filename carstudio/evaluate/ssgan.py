"""Seed 004's Table 1 and Figure 3 on held-out renders: SSGAN vs the SPADE/GauGAN baseline.

    python -m carstudio.evaluate.ssgan table --test data/eval/everyday-test-128 \\
        --generator ssgan=runs/ssgan128-v2@6000 spade=runs/spade128-v2@6000 before=weights/ssgan-64 \\
        --train-reference data/eval/everyday-train-128 --json docs/ssgan_table.json
    python -m carstudio.evaluate.ssgan figure --test data/cars64_test --generator weights/ssgan-64 \\
        --sketches examples/sketches --out docs/img/ssgan_figure3.png

Inputs are the held-out renders' line sketches made to look hand drawn (fixed seed), segmented
by the sketch segmenter into M0 (at the generator's resolution, as the tab does), then generated
with one z per sample (seed 0). Every generator is scored at its own resolution and also on the
true part maps ("oracle masks": the gap is what the sketch segmentation stage costs); palette
models (issue 19) and models with a style encoder also with the style of the render (its own
palette; its encoded z). Scores:
- the independent yardstick (`carstudio.metrics.independent`): FD-ind, KID, precision/recall
  and density/coverage in the evaluation network's features, against the held-out renders;
- paired L1/PSNR/SSIM, per-part CIELAB ΔE and sharpness against the render behind each sketch;
- z diversity: mean absolute pixel difference between two style seeds on the same masks;
- FD-seg (or FID with --inception-weights) as a secondary column: the part segmenter's features,
  which some of the losses use, so never the yardstick;
- mIoU of M0 against the true part map (the sketch segmenter's accuracy, shared by every row).
Generators are named `name=PATH[@STEP]`: an exported folder, or a training run folder and a
checkpoint step (the equal-budget comparison).
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
from carstudio.data.palette import measured_palettes
from carstudio.data.parts import NUM_PARTS
from carstudio.evaluate.registry import distribution_row, paired_row
from carstudio.inputs import sketch_strokes
from carstudio.metrics.features import load_default_segmenter
from carstudio.metrics.frechet import frechet
from carstudio.metrics.independent import EVALNET, load_evaluation_network, pooled_features
from carstudio.metrics.segmentation import confusion_matrix, iou_per_class, mean_iou
from carstudio.models.segmenter import PartSegmenter
from carstudio.models.ssgan import SPADEGenerator, SSGANGenerator, StyleEncoder, one_hot_masks
from carstudio.pipelines.sketch import SEGMENTER_WEIGHTS, SketchToCarPipeline, load_generator as load_shipped_generator
from carstudio.pipelines.palettes import choose_palettes, is_palette_conditioned
from carstudio.pipelines.layout import load_style_encoder as load_exported_style_encoder
from carstudio.pipelines.sketch import load_sketch_segmenter

SKETCH_SEED = 1
BATCH = 100
DIVERSITY_SAMPLES = 200


# --- loading ---------------------------------------------------------------------------------
def load_generator(spec: str) -> SSGANGenerator | SPADEGenerator:
    """`PATH` (exported folder or weights name) or `RUN@STEP` / `RUN` (a training checkpoint: its
    EMA generator when the run keeps one)."""
    checkpoint = parse_spec(spec)
    if checkpoint is None:
        return load_shipped_generator(spec)
    options = checkpoint.options()
    generator_class = SPADEGenerator if options.get("model") == "spade" else SSGANGenerator
    # runs with an EMA of G sample and export it: score that one
    name = "generator_ema" if "generator_ema" in checkpoint.contents() else "generator"
    return checkpoint.load(generator_class, name, config_from_options(generator_class, options))


def load_style_encoder(spec: str) -> StyleEncoder | None:
    """The style encoder (SPADE's VAE) trained beside the generator of `spec`, or None: a
    checkpoint's `style_encoder`, or an exported folder's `style_encoder/` subfolder."""
    checkpoint = parse_spec(spec)
    if checkpoint is None:
        return load_exported_style_encoder(spec)
    if "style_encoder" not in checkpoint.contents():
        return None
    options = checkpoint.options()
    config = {"z_dim": options["z_dim"], "widths": tuple(options["encoder_widths"]), "resolution": options["resolution"]}
    return checkpoint.load(StyleEncoder, "style_encoder", config).eval()


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
def predict_parts(pipe: SketchToCarPipeline, sketches: torch.Tensor) -> torch.Tensor:
    """M0 at the generator's resolution, as the tab makes it (logits enlarged before the argmax)."""
    return torch.cat([pipe.segment(sketches[i : i + BATCH]) for i in range(0, len(sketches), BATCH)])


def render_palettes(generator, data: HeldOut) -> torch.Tensor | None:
    """Palette models: each held-out render's own palette (the style of the render); else None."""
    if not is_palette_conditioned(generator):
        return None
    return measured_palettes(data.images, data.parts, generator.palette.bank.mean(0))


@torch.inference_mode()
def render_codes(encoder: StyleEncoder | None, data: HeldOut) -> torch.Tensor | None:
    """Models with a style encoder: each held-out render's z (the mean of its encoded Gaussian,
    as "style from an example car" does); else None."""
    if encoder is None:
        return None
    return torch.cat([encoder(data.images[i : i + BATCH])[0] for i in range(0, len(data.images), BATCH)])


@torch.inference_mode()
def generate(generator, parts: torch.Tensor, seed: int = 0, palettes: torch.Tensor | None = None,
             codes: torch.Tensor | None = None) -> torch.Tensor:
    """One z per sample from `seed` (or `codes`, e.g. encoded from the renders); palette models
    paint with `palettes` or, without them, with palettes drawn from their bank by the same
    generator (the tab's style seed)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(len(parts), generator.config.z_dim, generator=g)
    if codes is not None:
        z = codes.to(z)
    chosen = choose_palettes(generator, len(parts), g, palettes)
    out = []
    for i in range(0, len(parts), BATCH):
        extra = {} if chosen is None else {"palettes": chosen[i : i + BATCH]}
        out.append(generator(one_hot_masks(parts[i : i + BATCH]), z=z[i : i + BATCH], **extra)[0])
    return torch.cat(out)


def z_diversity(generator, parts: torch.Tensor, palettes: torch.Tensor | None = None) -> float:
    """Mean absolute difference (images in [-1, 1]) between two style seeds on the same masks (and
    the same palettes, when given): how much z changes the output. 0 means G ignores z."""
    return float((generate(generator, parts, 0, palettes) - generate(generator, parts, 1, palettes)).abs().mean())


def score_table(test: list[Path], generators: dict[str, str], sketch_segmenter: str, limit: int | None,
                train_reference: list[Path], inception_weights: str | None, evalnet: str = EVALNET,
                log=print) -> dict:
    """Every generator at its own resolution (held-out renders loaded at that size), fed masks
    predicted from the sketches and the true part maps; styles drawn by seed 0 and, for palette
    models, the style of the render. Columns: the independent yardstick (FD-ind, KID,
    precision/recall; evaluation-network features) and paired scores against the render behind
    each sketch; FD-seg beside them as a secondary column."""
    feature_segmenter, net = load_default_segmenter(), load_evaluation_network(evalnet)
    segmenter = load_sketch_segmenter(sketch_segmenter)
    result = {"held_out": [str(p) for p in test], "sketch_segmenter": sketch_segmenter, "evalnet": evalnet,
              "sketches": f"held-out render sketches through hand_drawn (seed {SKETCH_SEED})", "rows": [],
              "floors": {}}
    cache: dict[int, tuple] = {}
    for name, spec in generators.items():
        generator = load_generator(spec)
        resolution = generator.config.resolution
        if resolution not in cache:
            data = held_out(test, resolution, limit)
            pipe = SketchToCarPipeline(segmenter, generator)
            predicted = predict_parts(pipe, data.sketches)
            conf = confusion_matrix(predicted, data.parts, NUM_PARTS)
            real = pooled_features(net, data.images, BATCH)
            cache[resolution] = (data, predicted, real)
            result.setdefault("mask_miou", {})[str(resolution)] = mean_iou(conf)
            result["samples"] = len(data.parts)
            log(f"{resolution} px: sketch segmenter mIoU on {len(data.parts)} held-out sketches: {mean_iou(conf):.3f}")
            if train_reference:
                reference = load_renders(train_reference, resolution).images[: len(data.parts)].float() / 127.5 - 1
                label, value = frechet(reference, data.images, feature_segmenter, inception_weights)
                result["floors"][str(resolution)] = {
                    **distribution_row(real, pooled_features(net, reference, BATCH)), "fd_seg": value,
                    "what": f"training renders {[str(p) for p in train_reference]} vs held-out"}
                log(f"{resolution} px floor: FD-ind {result['floors'][str(resolution)]['fd_ind']:.1f}")
        data, predicted, real = cache[resolution]
        palettes, codes = render_palettes(generator, data), render_codes(load_style_encoder(spec), data)
        styles = [("seed 0", None, None)]
        if palettes is not None or codes is not None:
            styles.append(("style of the render", palettes, codes))
        for masks, parts in (("predicted from sketch", predicted), ("oracle (true part map)", data.parts)):
            for style, chosen, z in styles:
                images = generate(generator, parts, 0, chosen, z)
                label, fd_seg = frechet(images, data.images, feature_segmenter, inception_weights)
                row = {"generator": name, "spec": spec, "class": type(generator).__name__, "resolution": resolution,
                       "masks": masks, "style": style, **distribution_row(real, pooled_features(net, images, BATCH)),
                       **paired_row(images, data.images, data.parts), "secondary_metric": label, "fd_seg": fd_seg,
                       "z_diversity": z_diversity(generator, parts[:DIVERSITY_SAMPLES],
                                                  None if chosen is None else chosen[:DIVERSITY_SAMPLES])}
                result["rows"].append(row)
                log(f"{name:>16} | {masks:<22} | {style:<19} | FD-ind {row['fd_ind']:6.1f} | P {row['precision']:.3f} "
                    f"R {row['recall']:.3f} | SSIM {row['ssim']:.3f} | dE body {row['delta_e_body']:.1f}")
    return result


def markdown_table(result: dict) -> str:
    lines = ["| generator | px | masks | style | FD-ind ↓ | KID×10³ ↓ | precision ↑ | recall ↑ | SSIM ↑ | PSNR ↑ "
             "| ΔE body ↓ | sharpness | z diversity | FD-seg (secondary) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["rows"]:
        lines.append(f"| {r['generator']} (`{r['spec']}`) | {r['resolution']} | {r['masks']} | {r['style']} "
                     f"| {r['fd_ind']:.1f} | {r['kid'] * 1000:.0f} | {r['precision']:.3f} | {r['recall']:.3f} "
                     f"| {r['ssim']:.3f} | {r['psnr']:.2f} | {r['delta_e_body']:.1f} | {r['sharpness']:.2f} "
                     f"| {r['z_diversity']:.3f} | {r['fd_seg']:.4g} |")
    for size, floor in result["floors"].items():
        lines.append(f"| training renders (floor) | {size} | - | - | {floor['fd_ind']:.1f} | {floor['kid'] * 1000:.0f} "
                     f"| {floor['precision']:.3f} | {floor['recall']:.3f} | - | - | - | - | - | {floor['fd_seg']:.4g} |")
    miou = ", ".join(f"{v:.3f} at {k} px" for k, v in result.get("mask_miou", {}).items())
    lines.append(f"\nSketch segmenter mIoU on the same {result.get('samples', 0)} sketches: {miou}")
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
    table.add_argument("--evalnet", default=EVALNET, help="the evaluation network (weights name or folder)")
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
                             args.inception_weights, args.evalnet)
        print(markdown_table(result))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1))
    else:
        extra = sorted(args.sketches.glob("*.png")) if args.sketches else []
        print(figure(args.test, args.generator, args.sketch_segmenter, args.count, extra, args.out))


if __name__ == "__main__":
    main()
