"""Uploads as a designer sends them (issue 21): the blend tab's reconstruction G(E(x)) with the
default refinement, with and without upload preparation (`carstudio.pipelines.car_placement`),
on outside pictures (made here, not renders: a shaded drawing on white, a held-out render pasted
small and off-centre on a texture, a flat clip-art car) and on held-out side-view renders.

Every reconstruction is compared with the upload in the upload's own frame (`to_upload_frame`
maps the model frame back), at the scale where the car's box is as long as the models draw it
(0.85 R), so with and without preparation are judged on the same pixels:
- car SSIM: the SSIM map (computed over the car's box and a 10% margin) averaged over the car's
  pixels, so the backdrop does not count;
- body ΔE: CIE76 distance between the mean L*a*b* colour of the upload's body pixels and of the
  reconstruction's pixels there (`part_delta_e`);
- for renders also SSIM over the whole frame (the report's figure; the backdrop counts there).
Backdrops compared (the preparation's step 3), with the same window and car mask: the shipped
choice (the upload's own if it is render-like, else the training renders' mean backdrop row by
row), and always each of: the mean backdrop, the renders' median grey, the upload's own.

    python -m carstudio.evaluate.blend_uploads --renders 100 --json docs/blend_uploads.json \\
        --pictures docs/img/blend
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from carstudio.data.parts import BACKGROUND, BODY, colorize
from carstudio.data.region_windows import crop_window, resize_square, whole_window
from carstudio.evaluate.heldout import load_set
from carstudio.imaging import grid, pil_to_tensor
from carstudio.metrics.colour import part_delta_e
from carstudio.metrics.image import ssim
from carstudio.pipelines.blend import FuturisticBlendPipeline, letterbox
from carstudio.pipelines.car_placement import (SIDE_VIEW_FRAMING, TRAINING_BACKDROP, TRAINING_BACKDROP_ROWS,
                                               OWN_BACKDROP_NOTE, PreparedUpload, backdrop_picture, mask_box,
                                               to_upload_frame)

REFINE_STEPS = 20  # the tab's default
MARGIN = 0.10  # of the car box's longer side, around the box, for the car SSIM


@dataclass
class OutsidePicture:
    """An upload with its truth: the car's and the body's pixels."""

    name: str
    image: Image.Image
    car: np.ndarray  # (H, W) bool
    body: np.ndarray  # (H, W) bool


# --- outside pictures ----------------------------------------------------------------------------
def texture(size: tuple[int, int], seed: int = 0, base: tuple[int, int, int] = (120, 110, 90)) -> Image.Image:
    """Gravel-like noise with blotches and diagonal stripes, `size` = (width, height)."""
    width, height = size
    rng = np.random.default_rng(seed)
    blotches = np.asarray(Image.fromarray(rng.integers(0, 255, (height // 16 + 1, width // 16 + 1), dtype=np.uint8))
                          .resize((width, height), Image.Resampling.BICUBIC), np.float32)[..., None]
    stripes = 25 * np.sin(np.arange(width)[None, :, None] / 9.0 + np.arange(height)[:, None, None] / 23.0)
    rgb = (np.array(base, np.float32) + rng.normal(0, 28, (height, width, 1)) + 0.35 * (blotches - 128) + stripes
           + rng.normal(0, 10, (height, width, 3)))
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def shaded_car(size: tuple[int, int] = (900, 560), box: tuple[int, int, int, int] = (120, 170, 780, 420),
               body: tuple[int, int, int] = (30, 70, 170), backdrop: Image.Image | None = None) -> OutsidePicture:
    """A sedan drawn photo-like (shaded body with a highlight, tinted glass, rims, a soft shadow),
    `box` = (left, top, right, bottom), on white unless a `backdrop` picture is given."""
    width, height = size
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    image = backdrop.copy() if backdrop is not None else Image.new("RGB", size, "white")
    shadow = Image.new("L", size, 0)
    ImageDraw.Draw(shadow).ellipse([x0 + 10, y1 - 0.1 * h, x1 - 10, y1 + 0.06 * h], fill=80)
    image = Image.composite(Image.new("RGB", size, (70, 70, 70)), image, shadow.filter(ImageFilter.GaussianBlur(12)))
    lower = [x0, y0 + 0.45 * h, x1, y1 - 0.18 * h]
    cabin = [(x0 + 0.22 * w, y0 + 0.45 * h), (x0 + 0.36 * w, y0), (x0 + 0.70 * w, y0), (x0 + 0.84 * w, y0 + 0.45 * h)]
    silhouette = Image.new("L", size, 0)
    outline = ImageDraw.Draw(silhouette)
    outline.rounded_rectangle(lower, radius=int(0.12 * h), fill=255)
    outline.polygon(cabin, fill=255)
    shade = np.linspace(1.25, 0.65, height)[:, None, None] * np.array(body, np.float32)[None, None]
    highlight = 60 * np.exp(-((np.arange(height) - (y0 + 0.55 * h)) / (0.04 * h)) ** 2)[:, None, None]
    paint = np.repeat(np.clip(shade + highlight, 0, 255), width, 1).astype(np.uint8)
    image.paste(Image.fromarray(paint), (0, 0), silhouette)
    body_mask = np.asarray(silhouette) > 0
    draw = ImageDraw.Draw(image)
    glass = [(x0 + 0.27 * w, y0 + 0.43 * h), (x0 + 0.38 * w, y0 + 0.07 * h), (x0 + 0.68 * w, y0 + 0.07 * h),
             (x0 + 0.79 * w, y0 + 0.43 * h)]
    draw.polygon(glass, fill=(60, 75, 95))
    draw.line([(x0 + 0.53 * w, y0 + 0.07 * h), (x0 + 0.53 * w, y0 + 0.43 * h)], fill=tuple(c // 2 for c in body), width=8)
    draw.rectangle([x1 - 0.03 * w, y0 + 0.5 * h, x1 - 0.005 * w, y0 + 0.58 * h], fill=(250, 240, 200))
    cutouts = Image.new("L", size, 0)
    cut = ImageDraw.Draw(cutouts)
    cut.polygon(glass, fill=255)
    r = 0.2 * h
    for cx in (x0 + 0.2 * w, x0 + 0.8 * w):
        cy = y1 - r
        for radius, colour in ((r, (25, 25, 25)), (0.6 * r, (170, 170, 175)), (0.2 * r, (90, 90, 90))):
            draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
        outline.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        cut.ellipse([cx - 1.1 * r, cy - 1.1 * r, cx + 1.1 * r, cy + 1.1 * r], fill=255)
    car = np.asarray(silhouette) > 0
    body_mask = body_mask & ~(np.asarray(cutouts) > 0)
    return OutsidePicture("shaded drawing on white" if backdrop is None else "shaded drawing on texture",
                          image, car, erode(body_mask, 4))


def clipart_car(size: tuple[int, int] = (800, 600), box: tuple[int, int, int, int] = (60, 220, 600, 430),
                body: tuple[int, int, int] = (250, 200, 20)) -> OutsidePicture:
    """A low sports car in flat colours with thick black outlines, on white."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    shape = [(x0, y1 - 0.3 * h), (x0 + 0.02 * w, y0 + 0.5 * h), (x0 + 0.3 * w, y0 + 0.38 * h),
             (x0 + 0.45 * w, y0 + 0.02 * h), (x0 + 0.72 * w, y0), (x0 + 0.92 * w, y0 + 0.35 * h), (x1, y0 + 0.45 * h),
             (x1, y1 - 0.25 * h), (x1 - 0.05 * w, y1 - 0.18 * h), (x0 + 0.05 * w, y1 - 0.18 * h)]
    glass = [(x0 + 0.42 * w, y0 + 0.38 * h), (x0 + 0.49 * w, y0 + 0.08 * h), (x0 + 0.70 * w, y0 + 0.07 * h),
             (x0 + 0.85 * w, y0 + 0.36 * h)]
    masks = {k: Image.new("L", size, 0) for k in ("car", "not body")}
    draw.polygon(shape, fill=body, outline=(0, 0, 0), width=6)
    draw.polygon(glass, fill=(120, 200, 240), outline=(0, 0, 0), width=5)
    ImageDraw.Draw(masks["car"]).polygon(shape, fill=255)
    ImageDraw.Draw(masks["not body"]).polygon(glass, fill=255)
    r = 0.22 * h
    for cx in (x0 + 0.2 * w, x0 + 0.8 * w):
        cy = y1 - r
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(40, 40, 40), outline=(0, 0, 0), width=5)
        draw.ellipse([cx - r / 2, cy - r / 2, cx + r / 2, cy + r / 2], fill=(200, 200, 200), outline=(0, 0, 0), width=4)
        ImageDraw.Draw(masks["car"]).ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        ImageDraw.Draw(masks["not body"]).ellipse([cx - 1.15 * r, cy - 1.15 * r, cx + 1.15 * r, cy + 1.15 * r], fill=255)
    car = np.asarray(masks["car"]) > 0
    body_mask = erode(car & ~(np.asarray(masks["not body"]) > 0), 8)  # not the black outline
    return OutsidePicture("flat clip art on white", image, car, body_mask)


def render_picture(render: Image.Image, parts: np.ndarray, name: str = "render") -> OutsidePicture:
    """A render as an OutsidePicture (its part map gives the truth)."""
    return OutsidePicture(name, render.convert("RGB"), parts != BACKGROUND, erode(parts == BODY, 1))


def paste(picture: OutsidePicture, backdrop: Image.Image, corner: tuple[int, int], width: int, name: str
          ) -> OutsidePicture:
    """`picture`'s car (cut out by its car mask) scaled to `width` pixels (its proportions kept)
    and pasted with its box's top-left at `corner` = (x, y) of `backdrop`."""
    top, left, bottom, right = mask_box(picture.car)
    x0, y0 = corner
    size = (width, max(1, round(width * (bottom - top) / (right - left))))

    def moved(mask: np.ndarray) -> np.ndarray:
        full = np.zeros((backdrop.height, backdrop.width), bool)
        full[y0:y0 + size[1], x0:x0 + size[0]] = cv2.resize(mask[top:bottom, left:right].astype(np.uint8), size,
                                                            interpolation=cv2.INTER_NEAREST) > 0
        return full

    car = moved(picture.car)
    image = backdrop.convert("RGB").copy()
    image.paste(picture.image.crop((left, top, right, bottom)).resize(size, Image.Resampling.LANCZOS), (x0, y0),
                Image.fromarray(car[y0:y0 + size[1], x0:x0 + size[0]].astype(np.uint8) * 255))
    return OutsidePicture(name, image, car, moved(picture.body))


def erode(mask: np.ndarray, pixels: int) -> np.ndarray:
    """A bool mask shrunk by `pixels` (its edge pixels mix colours)."""
    return cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=pixels) > 0


def outside_pictures(render_set: str = "side-everyday-test", index: int = 3) -> list[OutsidePicture]:
    """The three outside pictures of the progress page."""
    pasted = paste(held_out_render(render_set, index), texture((1024, 768), seed=0), (652, 560), 232,
                   "held-out render pasted small, off-centre, on texture")
    return [shaded_car(), pasted, clipart_car()]


def held_out_render(render_set: str, index: int, size: int = 256) -> OutsidePicture:
    renders = load_set(render_set, size, index + 1)
    return render_picture(Image.fromarray(renders.images[index].permute(1, 2, 0).numpy()),
                          renders.parts[index].numpy(), f"{render_set} {index}")


def varied_outside_pictures() -> list[OutsidePicture]:
    """15 more outside pictures for choosing the backdrop: the shaded sedan in four colours on
    white and on texture, the clip art in three colours, four held-out renders pasted small and
    off-centre (three on texture, one on white)."""
    pictures = []
    for k, colour in enumerate([(30, 70, 170), (180, 30, 30), (40, 140, 60), (170, 170, 175)]):
        pictures.append(shaded_car(body=colour))
        pictures.append(shaded_car(body=colour, backdrop=texture((900, 560), seed=10 + k, base=(90 + 20 * k, 110, 100))))
    pictures += [clipart_car(body=colour) for colour in [(250, 200, 20), (220, 40, 40), (40, 90, 200)]]
    places = [((130, 180), 220), ((620, 560), 280), ((320, 600), 200), ((80, 170), 280)]
    for k, (index, (corner, width)) in enumerate(zip((10, 20, 30, 39), places)):
        backdrop = Image.new("RGB", (1024, 768), "white") if k == 3 else texture((1024, 768), seed=20 + k)
        pictures.append(paste(held_out_render("side-everyday-test", index), backdrop, corner, width,
                              f"render {index} pasted"))
    for k, picture in enumerate(pictures):
        picture.name = f"{k:02d} {picture.name}"
    return pictures


# --- scoring -------------------------------------------------------------------------------------
def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return pil_to_tensor(Image.fromarray(rgb))


def scores(reconstruction: np.ndarray, target: np.ndarray, car: np.ndarray, body: np.ndarray) -> dict[str, float]:
    """car SSIM (the SSIM map averaged over the car's pixels) and body ΔE of a reconstruction
    already in the target's frame, within the car's box and a margin."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    top, left, bottom, right = mask_box(car)
    margin = round(MARGIN * max(bottom - top, right - left))
    top, left = max(0, top - margin), max(0, left - margin)
    bottom, right = min(target.shape[0], bottom + margin), min(target.shape[1], right + margin)
    out, tgt = to_tensor(reconstruction[top:bottom, left:right]), to_tensor(target[top:bottom, left:right])
    _, ssim_map = structural_similarity_index_measure(out, tgt, data_range=2.0, reduction="none",
                                                      return_full_image=True)
    inside = torch.from_numpy(car[top:bottom, left:right])
    parts = torch.from_numpy(np.where(body[top:bottom, left:right], BODY, BACKGROUND))[None]
    errors = part_delta_e(out, tgt, parts)["body"]
    return {"car_ssim": float(ssim_map[0].mean(0)[inside].mean()), "body_delta_e": errors[0] if errors else float("nan")}


def judged(prepared: PreparedUpload, reconstruction: Image.Image, upload: np.ndarray, car: np.ndarray,
           body: np.ndarray, resolution: int) -> dict[str, float]:
    """Scores of a reconstruction of `prepared`, in the upload's frame at the car's model scale."""
    box = mask_box(car)
    scale = SIDE_VIEW_FRAMING.fill * resolution / max(box[2] - box[0], box[3] - box[1])
    size = (max(1, round(upload.shape[1] * scale)), max(1, round(upload.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    target = cv2.resize(upload, size, interpolation=interpolation)
    body_small = cv2.resize(body.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    car_small = cv2.resize(car.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    back = to_upload_frame(np.asarray(reconstruction), prepared.window, size, scale)
    return scores(back, target, car_small, body_small)


def unprepared(image: Image.Image, resolution: int) -> PreparedUpload:
    """Before issue 21: the whole picture letterboxed."""
    return PreparedUpload(letterbox(image, resolution), whole_window((image.height, image.width)), None, None)


def with_backdrop(prepared: PreparedUpload, upload: np.ndarray, backdrop: np.ndarray | None) -> PreparedUpload:
    """The same preparation (window and car mask) over another (R, R, 3) backdrop, or with the
    upload's own (None)."""
    if prepared.mask is None:
        return prepared
    side = prepared.mask.shape[0]
    own = resize_square(crop_window(upload, prepared.window), side).astype(np.float32)
    alpha = prepared.mask[..., None]
    rgb = own if backdrop is None else own * alpha + backdrop * (1 - alpha)
    return PreparedUpload(Image.fromarray(np.clip(np.round(rgb), 0, 255).astype(np.uint8)), prepared.window,
                          prepared.car_box, prepared.mask, prepared.note)


SHIPPED = "prepared (shipped: own backdrop if render-like, else the mean render backdrop)"
BEFORE = "before (letterboxed whole)"


def variants(pipe: FuturisticBlendPipeline, image: Image.Image) -> dict[str, PreparedUpload]:
    """The upload prepared each way compared."""
    resolution, upload = pipe.resolution, np.asarray(image.convert("RGB"))
    prepared = pipe.prepare(image)
    return {BEFORE: unprepared(image, resolution), SHIPPED: prepared,
            "prepared, always the mean render backdrop": with_backdrop(
                prepared, upload, backdrop_picture(TRAINING_BACKDROP_ROWS, resolution)),
            "prepared, always the training grey": with_backdrop(
                prepared, upload, backdrop_picture([TRAINING_BACKDROP], resolution)),
            "prepared, always the own backdrop": with_backdrop(prepared, upload, None)}


def reconstruct(pipe: FuturisticBlendPipeline, prepared: PreparedUpload) -> Image.Image:
    return pipe.encode_view(pil_to_tensor(prepared.image), REFINE_STEPS)[0]


def evaluate_outside(pipe, pictures_in: list[OutsidePicture], say=print
                     ) -> tuple[dict, list[list[Image.Image]]]:
    rows, pictures = {}, []
    for picture in pictures_in:
        upload = np.asarray(picture.image)
        row = [thumbnail(picture.image, 128)]
        for name, prepared in variants(pipe, picture.image).items():
            reconstruction = reconstruct(pipe, prepared)
            rows.setdefault(name, {})[picture.name] = judged(prepared, reconstruction, upload, picture.car,
                                                             picture.body, pipe.resolution)
            say(picture.name, name, rows[name][picture.name])
            if name in (BEFORE, SHIPPED):
                row += [enlarged(prepared.image), enlarged(reconstruction)]
        pictures.append(row)
    return rows, pictures


def evaluate_renders(pipe, count: int, first: int = 0, say=print) -> tuple[dict, list[list[Image.Image]]]:
    """Held-out everyday side views `first` .. `first + count - 1`: per variant, the mean scores
    and the per-render ones ("each")."""
    renders = load_set("side-everyday-test", pipe.resolution, first + count)
    per: dict[str, list[dict]] = {}
    pictures = []
    for i in range(first, len(renders)):
        rgb = renders.images[i].permute(1, 2, 0).numpy()
        parts = renders.parts[i].numpy()
        image = Image.fromarray(rgb)
        row = [enlarged(image)]
        for name, prepared in variants(pipe, image).items():
            reconstruction = reconstruct(pipe, prepared)
            back = to_upload_frame(np.asarray(reconstruction), prepared.window, rgb.shape[1::-1])
            entry = scores(back, rgb, parts != BACKGROUND, parts == BODY)
            entry["ssim"] = ssim(to_tensor(back), to_tensor(rgb))
            entry["car_found"] = float(prepared.car_box is not None)
            entry["own_backdrop_kept"] = float(prepared.note == OWN_BACKDROP_NOTE)
            per.setdefault(name, []).append(entry)
            if i < first + 6 and name in (BEFORE, SHIPPED):
                row += [enlarged(prepared.image), enlarged(reconstruction)]
        if i < first + 6:
            pictures.append(row)
    rows = {name: {k: float(np.nanmean([e[k] for e in entries])) for k in entries[0]} for name, entries in per.items()}
    for name, row in rows.items():
        say(f"renders {first}-{len(renders) - 1} {name}: {row}")
        row["each"] = per[name]
    return rows, pictures


def segmenter_views(pipe: FuturisticBlendPipeline, pictures: list[OutsidePicture]) -> list[list[Image.Image]]:
    """Per picture: the upload, the part segmenter's map of the whole upload (what "the car = its
    largest non-background component" would take), the prepared picture and the segmenter's map
    of it (colours of carstudio.data.parts)."""
    segmenter = pipe.placer.segmenter
    rows = []
    for picture in pictures:
        prepared = pipe.prepare(picture.image)
        whole = Image.fromarray(colorize(segmenter(picture.image)))
        rows.append([thumbnail(picture.image, 128), thumbnail(whole, 128), enlarged(prepared.image),
                     enlarged(Image.fromarray(colorize(segmenter(prepared.image))))])
    return rows


def thumbnail(image: Image.Image, side: int) -> Image.Image:
    framed = Image.new("RGB", (side, side), "white")
    small = image.copy()
    small.thumbnail((side, side))
    framed.paste(small, ((side - small.width) // 2, (side - small.height) // 2))
    return framed


def enlarged(image: Image.Image, side: int = 128) -> Image.Image:
    return image.resize((side, side), Image.Resampling.NEAREST)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=100, help="held-out side-view renders (0: none)")
    parser.add_argument("--first", type=int, default=0, help="the first held-out render's index")
    parser.add_argument("--no-outside", action="store_true", help="skip the three outside pictures")
    parser.add_argument("--varied", action="store_true", help="also 15 varied outside pictures (choosing the backdrop)")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    parser.add_argument("--pictures", type=Path, help="write before/after pictures into this folder")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    pipe = FuturisticBlendPipeline.from_pretrained()
    result = {"resolution": pipe.resolution, "refine_steps": REFINE_STEPS}
    if args.varied:
        result["varied"], varied_grid = evaluate_outside(pipe, varied_outside_pictures())
        result["varied_mean"] = {name: {k: float(np.nanmean([r[k] for r in rows.values()])) for k in ("car_ssim", "body_delta_e")}
                                 for name, rows in result["varied"].items()}
        print(json.dumps(result["varied_mean"], indent=1))
        if args.pictures:
            args.pictures.mkdir(parents=True, exist_ok=True)
            grid(varied_grid).save(args.pictures / "uploads_varied.png")
    if not args.no_outside:
        result["outside"], outside_grid = evaluate_outside(pipe, outside_pictures())
        if args.pictures:
            args.pictures.mkdir(parents=True, exist_ok=True)
            grid(outside_grid).save(args.pictures / "uploads_outside.png")
            tiny = paste(clipart_car(), Image.new("RGB", (1600, 1200), "white"), (1300, 150), 120, "tiny car on white")
            grid(segmenter_views(pipe, [*outside_pictures(), tiny])).save(args.pictures / "segmenter_views.png")
    if args.renders:
        result["renders"], render_grid = evaluate_renders(pipe, args.renders, args.first)
        result["renders_range"] = [args.first, args.first + args.renders]
        if args.pictures:
            args.pictures.mkdir(parents=True, exist_ok=True)
            grid(render_grid).save(args.pictures / "uploads_renders.png")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
