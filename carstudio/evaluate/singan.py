"""SinGAN showcase and numbers for one trained model.

    python -m carstudio.evaluate.singan --model weights/singan-car1-trb1-side \
        --paintings a.png b.png c.png --scales 3 4 --out docs/img/singan_showcase.png

Writes a grid (reference | random samples; each painting | outputs at each injection scale) and
prints the timing of paint-to-image.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from PIL import Image, ImageDraw

from carstudio.imaging import grid
from carstudio.pipelines.singan import SinGANPipeline


def labelled(image: Image.Image, text: str, width: int, height: int) -> Image.Image:
    tile = Image.new("RGB", (width, height + 14), "white")
    tile.paste(image.convert("RGB").resize((width, height), Image.LANCZOS), (0, 14))
    ImageDraw.Draw(tile).text((2, 1), text, fill="black")
    return tile


def showcase(pipe: SinGANPipeline, paintings: list[Image.Image], scales: list[int], samples: int = 3,
             seed: int = 0, quantize: bool = True,
             compare: tuple[str, SinGANPipeline] | None = None) -> Image.Image:
    """Rows: reference | random samples | start-scale variations; then per painting the
    painting and outputs at each injection scale; then (optional) the same for a second model,
    e.g. the Sinkhorn variant, on the first painting."""
    h, w = pipe.size
    variation_scale = max(1, pipe.num_scales // 2)
    rows = [[labelled(pipe.reference_image(), "reference", w, h)]
            + [labelled(im, f"random {i}", w, h) for i, im in enumerate(pipe(samples, seed=seed))]
            + [labelled(im, f"variation from scale {variation_scale}", w, h)
               for im in pipe(2, seed=seed, start_scale=variation_scale)]]
    models = [("", pipe)] + ([compare] if compare else [])
    for name, model in models:
        for k, painting in enumerate(paintings if not name else paintings[:1]):
            row = [labelled(model.prepare_painting(painting, quantize), f"{name} painting {k}".strip(), w, h)]
            for scale in scales:
                out = model(2, seed=seed, painting=painting, inject_scale=min(scale, model.num_scales - 1),
                            quantize=quantize)
                row += [labelled(im, f"{name} scale {scale}".strip(), w, h) for im in out]
            rows.append(row)
    return grid(rows)


def paint_latency_ms(pipe: SinGANPipeline, painting: Image.Image, scale: int, repeats: int = 20) -> float:
    pipe(1, seed=0, painting=painting, inject_scale=scale)  # warm-up
    start = time.perf_counter()
    for i in range(repeats):
        pipe(1, seed=i, painting=painting, inject_scale=scale)
    return (time.perf_counter() - start) / repeats * 1000


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="weights folder or model name")
    parser.add_argument("--paintings", nargs="+", type=Path, required=True)
    parser.add_argument("--scales", nargs="+", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", nargs=2, metavar=("LABEL", "MODEL"), help="a second model to show")
    args = parser.parse_args(argv)
    pipe = SinGANPipeline.from_pretrained(args.model)
    paintings = [Image.open(p).convert("RGB") for p in args.paintings]
    compare = (args.compare[0], SinGANPipeline.from_pretrained(args.compare[1])) if args.compare else None
    showcase(pipe, paintings, args.scales, seed=args.seed, compare=compare).save(args.out)
    for scale in args.scales:
        print(f"paint-to-image at scale {scale}: {paint_latency_ms(pipe, paintings[0], scale):.1f} ms per image")


if __name__ == "__main__":
    main()
