"""Seed 003's comparison on our data: two-stage (StyleGAN layout -> SPADE) vs one-stage StyleGAN.

    python -m carstudio.evaluate.layout table --test data/cars64_test --train-reference data/cars64_everyday \\
        --layout weights/layout-stylegan-64 --renderer weights/layout-spade-64 \\
        --one-stage runs/image-stylegan-64/generator --json docs/layout_table.json
    python -m carstudio.evaluate.layout showcase --layout weights/layout-stylegan-64 \\
        --renderer weights/layout-spade-64 --out docs/img/layout_showcase.png

Table (all at the models' resolution, N samples each, seeded):
- FD(generated layouts, real layouts): the colourised layouts (part colours) in the project's
  feature space, as the seed ran FID on its colour segmentation maps;
- FD(two-stage images, held-out renders) and FD(one-stage images, held-out renders);
- FD of SPADE on the held-out *real* layouts (the renderer alone) and the floor (training renders
  vs held-out renders, training layouts vs held-out layouts);
- semantic consistency (SPADE's check): mIoU between the layout and the part segmenter run on the
  rendered car, on held-out real layouts and on generated layouts, next to the segmenter's own
  mIoU on the held-out renders (its ceiling).
"FD-seg" is the Fréchet distance in the part segmenter's pooled features (no Inception weights
on this machine; `--inception-weights FILE` gives FID). Generated samples use truncation psi=1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from carstudio.data.loading import load_renders
from carstudio.data.parts import NUM_PARTS, PART_COLORS
from carstudio.metrics.features import load_default_segmenter
from carstudio.metrics.frechet import frechet
from carstudio.metrics.segmentation import confusion_matrix, iou_per_class, mean_iou
from carstudio.models.segmenter import PartSegmenter
from carstudio.models.stylegan import StyleGANGenerator
from carstudio.pipelines.layout import LayoutToCarPipeline, layout_image, load_layout_generator, load_renderer

BATCH = 100
SEED = 0


def colourised(parts: torch.Tensor) -> torch.Tensor:
    """(N, R, R) part ids -> (N, 3, R, R) part-colour images in [-1, 1]."""
    rgb = torch.from_numpy(PART_COLORS).float()[parts.long()] / 127.5 - 1.0
    return rgb.permute(0, 3, 1, 2).contiguous()


@torch.inference_mode()
def sample_layouts(pipe: LayoutToCarPipeline, n: int, psi: float = 1.0) -> torch.Tensor:
    return torch.cat([pipe.sample_layouts(min(BATCH, n - i), seed=SEED + i, psi=psi) for i in range(0, n, BATCH)])


@torch.inference_mode()
def render(pipe: LayoutToCarPipeline, parts: torch.Tensor) -> torch.Tensor:
    """(N, R, R) -> (N, 3, R, R) in [-1, 1], z from seeded batches."""
    out = []
    for i in range(0, len(parts), BATCH):
        g = torch.Generator().manual_seed(SEED + i)
        z = torch.randn(len(parts[i:i + BATCH]), pipe.renderer.config.z_dim, generator=g)
        out.append(pipe.renderer(F.one_hot(parts[i:i + BATCH], NUM_PARTS).permute(0, 3, 1, 2).float(), z=z)[0])
    return torch.cat(out)


@torch.inference_mode()
def one_stage_images(generator: StyleGANGenerator, n: int) -> torch.Tensor:
    out = []
    for i in range(0, n, BATCH):
        g = torch.Generator().manual_seed(SEED + i)
        z = generator.sample_latents(min(BATCH, n - i), g)
        out.append(generator(z, noise_generator=g).clamp(-1, 1))
    return torch.cat(out)


@torch.inference_mode()
def segment(segmenter: PartSegmenter, images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images at any size -> part ids at the images' size (segmenter run at its own)."""
    size, out = segmenter.config.resolution, []
    for i in range(0, len(images), BATCH):
        x = images[i:i + BATCH]
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        logits = segmenter(x)
        if logits.shape[-1] != images.shape[-1]:
            logits = F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)
        out.append(logits.argmax(1))
    return torch.cat(out)


def consistency(segmenter: PartSegmenter, images: torch.Tensor, parts: torch.Tensor) -> dict:
    conf = confusion_matrix(segment(segmenter, images), parts, NUM_PARTS)
    return {"miou": mean_iou(conf), "iou": [None if np.isnan(v) else round(float(v), 4) for v in iou_per_class(conf)]}


def score_table(test: list[Path], train_reference: list[Path], layout: str, renderer: str, one_stage: str | None,
                limit: int | None, inception_weights: str | None, log=print) -> dict:
    spade, encoder = load_renderer(renderer)
    pipe = LayoutToCarPipeline(load_layout_generator(layout), spade, encoder)
    resolution = pipe.resolution
    data = load_renders(test, resolution)
    n = len(data) if limit is None else min(limit, len(data))
    real_images, real_parts = data.images[:n].float() / 127.5 - 1.0, data.parts[:n].long()
    features = load_default_segmenter()
    result = {"held_out": [str(p) for p in test], "samples": n, "resolution": resolution, "layout": layout,
              "renderer": renderer, "one_stage": one_stage, "rows": []}

    def row(what: str, images: torch.Tensor, reference: torch.Tensor, against: str) -> None:
        label, value = frechet(images, reference, features, inception_weights)
        result["rows"].append({"what": what, "against": against, "metric": label, "fd": value})
        log(f"{what:<48} vs {against:<22} {label} {value:.4g}")

    generated_parts = sample_layouts(pipe, n)
    row("generated layouts (StyleGAN)", colourised(generated_parts), colourised(real_parts), "held-out layouts")
    two_stage = render(pipe, generated_parts)
    row("two-stage: StyleGAN layout -> SPADE", two_stage, real_images, "held-out renders")
    if one_stage:
        row("one-stage: StyleGAN on images", one_stage_images(load_layout_generator(one_stage), n), real_images,
            "held-out renders")
    row("SPADE on held-out real layouts (renderer alone)", render(pipe, real_parts), real_images, "held-out renders")
    if train_reference:
        train = load_renders(train_reference, resolution)
        row("floor: training layouts", colourised(train.parts[:n].long()), colourised(real_parts), "held-out layouts")
        row("floor: training renders", train.images[:n].float() / 127.5 - 1.0, real_images, "held-out renders")

    result["consistency"] = {
        "segmenter_on_held_out_renders": consistency(features, real_images, real_parts),
        "spade_on_held_out_layouts": consistency(features, render(pipe, real_parts), real_parts),
        "spade_on_generated_layouts": consistency(features, two_stage, generated_parts),
    }
    for name, value in result["consistency"].items():
        log(f"mIoU {name}: {value['miou']:.3f}")
    share = lambda parts: float((parts != 0).float().mean())  # noqa: E731
    result["foreground_share"] = {"generated": share(generated_parts), "held_out": share(real_parts)}
    return result


def markdown_table(result: dict) -> str:
    label = result["rows"][0]["metric"]
    lines = [f"| samples | compared with | {label} ↓ |", "| --- | --- | --- |"]
    lines += [f"| {r['what']} | {r['against']} | {r['fd']:.4g} |" for r in result["rows"]]
    lines += ["", "| semantic consistency (part segmenter on the image vs the layout) | mIoU ↑ |", "| --- | --- |"]
    lines += [f"| {k.replace('_', ' ')} | {v['miou']:.3f} |" for k, v in result["consistency"].items()]
    return "\n".join(lines)


def _cells(images: list[Image.Image], cell: int, nearest: bool) -> np.ndarray:
    method = Image.NEAREST if nearest else Image.BICUBIC
    return np.concatenate([np.asarray(i.convert("RGB").resize((cell, cell), method)) for i in images], 1)


def showcase(layout: str, renderer: str, out: Path, columns: int = 8, cell: int = 96) -> Path:
    """Rows: sampled layouts, their cars; one layout under several style seeds; a truncation sweep
    (psi 0 .. 1) of one seed with its cars."""
    spade, encoder = load_renderer(renderer)
    pipe = LayoutToCarPipeline(load_layout_generator(layout), spade, encoder)
    sampled = pipe(columns, seed=1, psi=0.8, style_seed=1)
    styles = pipe.render(np.repeat(sampled.parts[:1], columns, axis=0), style_seed=2)
    psis = np.linspace(0.0, 1.0, columns)
    sweep = torch.cat([pipe.sample_layouts(1, seed=3, psi=float(p)) for p in psis])
    rows = [_cells(sampled.layouts, cell, True), _cells(sampled.images, cell, False), _cells(styles, cell, False),
            _cells([layout_image(p) for p in sweep.numpy()], cell, True), _cells(pipe.render(sweep, 4), cell, False)]
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    table = sub.add_parser("table", help="the seed's FD table and SPADE's semantic consistency")
    table.add_argument("--test", nargs="+", type=Path, required=True, help="held-out render folders")
    table.add_argument("--train-reference", nargs="*", type=Path, default=[], help="training render folders (floor)")
    table.add_argument("--layout", required=True, help="layout StyleGAN: weights name or folder")
    table.add_argument("--renderer", required=True, help="SPADE renderer: weights name or folder")
    table.add_argument("--one-stage", help="the one-stage StyleGAN on images: weights name or folder")
    table.add_argument("--limit", type=int)
    table.add_argument("--inception-weights", help="torch-fidelity Inception weights file: FID instead of FD-seg")
    table.add_argument("--json", type=Path)
    show = sub.add_parser("showcase", help="sampled layouts and cars, style variations, truncation sweep")
    show.add_argument("--layout", required=True)
    show.add_argument("--renderer", required=True)
    show.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "table":
        result = score_table(args.test, args.train_reference, args.layout, args.renderer, args.one_stage, args.limit,
                             args.inception_weights)
        print(markdown_table(result))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1))
    else:
        print(showcase(args.layout, args.renderer, args.out))


if __name__ == "__main__":
    main()
