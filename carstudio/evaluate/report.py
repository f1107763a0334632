"""One harness for every tab: score the shipped models on the fixed held-out render sets with
the evaluation network (the independent yardstick) and write docs/quality.md, its JSON and a
picture grid per tab of the same fixed inputs every time.

    python -m carstudio.evaluate render-sets                 # once: the fixed render sets
    python -m carstudio.evaluate report                      # all tabs -> docs/quality.md
    python -m carstudio.evaluate report --tabs region        # one tab (the others' results are kept)
    python -m carstudio.evaluate report --label before       # freeze a "before" column

Each tab is scored at its own resolution (outputs vs held-out renders of that size) and at the
common resolution 128 px (outputs resized to 128 vs renders made at 128), since users see the
64-px models' cars enlarged. Floors (training renders vs held-out renders of unseen cars) sit
beside every distribution figure. Results are written after each tab, so an interrupted report
resumes with `--tabs` for the missing ones.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from safetensors.numpy import load_file, save_file
from tqdm import tqdm

from carstudio.data.loading import to_float as uint8_to_float, to_uint8
from carstudio.data.palette import measured_palettes
from carstudio.data.parts import NUM_PARTS, colorize
from carstudio.data.roi import ROI_TYPES, sample_rois
from carstudio.data.sketch_augment import hand_drawn
from carstudio.evaluate.heldout import DATA_ROOT, FLOOR_PAIRS, SIZES, load_set
from carstudio.evaluate.registry import distribution_row, paired_row
from carstudio.hub import sha256_of
from carstudio.imaging import grid, tensor_to_pil
from carstudio.metrics.colour import masked_mean_lab
from carstudio.metrics.features import PooledSegmenterFeatures, load_default_segmenter
from carstudio.metrics.frechet import frechet_distance_of_samples
from carstudio.metrics.image import high_frequency_energy, high_frequency_energy_map
from carstudio.metrics.independent import EVALNET, IndependentSpatialFeatures, load_evaluation_network, pooled_features
from carstudio.metrics.sifid import sifid
from carstudio.pipelines.car_placement import to_upload_frame
from carstudio.pipelines.palettes import is_palette_conditioned
from carstudio.metrics.segmentation import confusion_matrix, mean_iou

COMMON = 128
GRID_INPUTS = 8
BATCH = 100


# --- context: the yardstick, the reference sets and their cached features --------------------
@dataclass
class Context:
    count: int = 1000
    data_root: Path = DATA_ROOT
    cache: Path = Path("runs/quality-cache")
    evalnet: str = EVALNET
    say: Callable[[str], None] = print
    models: dict[str, dict[str, str]] = field(default_factory=dict)  # tab -> from_pretrained overrides
    _net: object = None
    _seg: object = None
    _sets: dict = field(default_factory=dict)

    @property
    def net(self):
        if self._net is None:
            self._net = load_evaluation_network(self.evalnet)
        return self._net

    @property
    def seg_features(self) -> PooledSegmenterFeatures:
        if self._seg is None:
            self._seg = PooledSegmenterFeatures(load_default_segmenter())
        return self._seg

    def renders(self, name: str, size: int, count: int | None = None):
        count = count or self.count
        key = (name, size, count)
        if key not in self._sets:
            self._sets[key] = load_set(name, size, count, self.data_root)
        return self._sets[key]

    @functools.cached_property
    def net_tag(self) -> str:
        """The network's weights checksum (hashed once): the key of the feature cache."""
        weights = sorted(Path(self.net.config._name_or_path or ".").glob("*.safetensors"))
        return sha256_of(weights[0])[:12] if weights else "unknown"

    def features(self, images: torch.Tensor) -> np.ndarray:
        return pooled_features(self.net, images, BATCH)

    def seg_features_of(self, images: torch.Tensor) -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, len(images), BATCH):
                x = to_float(images[i:i + BATCH])
                x = F.interpolate(x, size=(COMMON, COMMON), mode="bilinear", align_corners=False,
                                  antialias=x.shape[-1] > COMMON)
                out.append(self.seg_features((x + 1) / 2).double().numpy())  # the module takes [0, 1]
        return np.concatenate(out)

    def reference(self, name: str, size: int) -> dict[str, np.ndarray]:
        """Features (independent and FD-seg) of a render set, cached on disk by network checksum."""
        path = self.cache / f"{name}-{size}-{self.count}-{self.net_tag}.safetensors"
        if path.is_file():
            return load_file(path)
        images = self.renders(name, size).images
        result = {"ind": self.features(images), "seg": self.seg_features_of(images)}
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(result, path)
        return result


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images to [-1, 1]; float images (already in [-1, 1]) unchanged."""
    return uint8_to_float(images) if images.dtype == torch.uint8 else images.float()


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 3, H, W) uint8 or float -> float in [-1, 1] at size x size (bicubic, antialiased down)."""
    x = to_float(images)
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False,
                         antialias=size < x.shape[-1]).clamp(-1, 1)


def pil_batch(images: list[Image.Image]) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(im.convert("RGB")) for im in images])).permute(0, 3, 1, 2)


def distribution_entry(ctx: Context, fake: torch.Tensor, reference: str, size: int) -> dict:
    """Distribution metrics of `fake` (uint8 or float, any size) against a render set at `size`,
    with FD-seg (secondary) and the sharpness against the set at that size."""
    ref = ctx.reference(reference, size)
    fake_ind = ctx.features(fake)
    row = distribution_row(ref["ind"], fake_ind)
    row["fd_seg"] = frechet_distance_of_samples(ref["seg"], ctx.seg_features_of(fake))
    real_images = ctx.renders(reference, size).images
    row["sharpness"] = float(high_frequency_energy(resize(fake, size)).mean()
                             / high_frequency_energy(to_float(real_images)).mean())
    row.update(reference=f"{reference}-{size}", size=size)
    return row


def floors(ctx: Context, reference: str) -> dict[str, dict]:
    """Training renders vs held-out renders of the same views, at every size."""
    out = {}
    for size in SIZES:
        train = FLOOR_PAIRS[reference]
        ctx.say(f"  floor {train} vs {reference} at {size} px")
        row = distribution_row(ctx.reference(reference, size)["ind"], ctx.reference(train, size)["ind"])
        row["fd_seg"] = frechet_distance_of_samples(ctx.reference(reference, size)["seg"],
                                                    ctx.reference(train, size)["seg"])
        row.update(reference=f"{reference}-{size}", fake=f"{train}-{size}", size=size)
        out[str(size)] = row
    return out


def labelled_grid(rows: list[tuple[str, list[Image.Image]]], tile: int = 128) -> Image.Image:
    """Rows of pictures (resized to `tile` px high) with the row's label above it."""
    blocks = []
    for label, images in rows:
        tiles = [im.convert("RGB").resize((round(im.width * tile / im.height), tile), Image.Resampling.NEAREST
                                          if im.height * 2 <= tile else Image.Resampling.BICUBIC) for im in images]
        header = Image.new("RGB", (max(1, sum(t.width for t in tiles)), 16), "white")
        ImageDraw.Draw(header).text((4, 2), label, fill=(0, 0, 0))
        blocks += [[header], tiles]
    return grid(blocks)


# --- tabs ------------------------------------------------------------------------------------
@dataclass
class TabResult:
    model: str
    resolution: int
    rows: dict = field(default_factory=dict)  # row name -> metrics
    notes: list[str] = field(default_factory=list)
    picture: Image.Image | None = None


def _batches(n: int, size: int = BATCH):
    return [(i, min(n, i + size)) for i in range(0, n, size)]


def paired_entries(output: torch.Tensor, ctx: Context, reference: str, own: int, count: int) -> dict:
    """Paired metrics at the model's size and at the common size (outputs resized up/down)."""
    own_set = ctx.renders(reference, own, count)
    common_set = ctx.renders(reference, COMMON, count)
    return {f"own ({own} px)": paired_row(resize(output, own), own_set.float_images(), own_set.parts),
            f"common ({COMMON} px)": paired_row(resize(output, COMMON), common_set.float_images(), common_set.parts)}


def tab_sketch(ctx: Context) -> TabResult:
    from carstudio.pipelines.sketch import GENERATOR_WEIGHTS, SketchToCarPipeline

    pipe = SketchToCarPipeline.from_pretrained(**ctx.models.get("sketch", {}))
    res = pipe.resolution
    data = ctx.renders("everyday-test", res)
    sketches = hand_drawn(data.sketches.float() / 127.5 - 1.0, seed=0)  # the SSGAN evaluator's seed
    outputs, predicted = [], []
    for start, stop in tqdm(_batches(len(data)), desc="sketch", leave=False):
        parts = pipe.segment(sketches[start:stop])
        predicted.append(parts)
        images, _ = pipe.generate(parts, num_images=stop - start, seed=start)
        outputs.append(to_uint8(images))
    output, predicted = torch.cat(outputs), torch.cat(predicted)
    names = {"segmenter": "sketchseg-64", "generator": GENERATOR_WEIGHTS, **ctx.models.get("sketch", {})}
    result = TabResult(model=f"{Path(names['segmenter']).name} + {Path(names['generator']).name}", resolution=res)
    result.rows["samples (own)"] = distribution_entry(ctx, output, "everyday-test", res)
    result.rows[f"samples (common {COMMON})"] = distribution_entry(ctx, output, "everyday-test", COMMON)
    result.rows.update({f"paired, random style, {k}": v
                        for k, v in paired_entries(output, ctx, "everyday-test", res, len(data)).items()})
    styled = None
    if is_palette_conditioned(pipe.generator):
        # the "style of the render": each render's own palette, through the tab's predicted
        # mask and through the true part map (which separates the segmenter's errors from G's)
        palettes = render_palettes(pipe.generator, data, 0, len(data))  # the set converted to float once
        for name, maps in (("predicted mask", predicted), ("true part map", data.parts)):
            images = torch.cat([to_uint8(pipe.generate(maps[a:b], num_images=b - a, seed=a, palettes=palettes[a:b])[0])
                                for a, b in tqdm(_batches(len(data)), desc=f"sketch, {name}", leave=False)])
            styled = images if styled is None else styled
            result.rows.update({f"{name}, style of the render, {k}": v
                                for k, v in paired_entries(images, ctx, "everyday-test", res, len(data)).items()})
    result.rows["mask mIoU"] = {"miou": mean_iou(confusion_matrix(predicted, data.parts, NUM_PARTS))}
    result.notes.append("Inputs: the held-out renders' sketches made to look hand drawn (seed 0), through the "
                        "sketch segmenter and SSGAN with style seed = sample index; paired figures compare with "
                        "the render behind each sketch (the style is random, so colour errors are expected).")
    k = GRID_INPUTS
    result.picture = labelled_grid([
        ("hand-drawn sketch (input)", tensor_to_pil(sketches[:k].expand(-1, 3, -1, -1))),
        ("predicted part mask", [Image.fromarray(colorize(p.numpy())) for p in predicted[:k]]),
        ("SSGAN output", tensor_to_pil(to_float(output[:k]))),
        *([("SSGAN, style of the render", tensor_to_pil(to_float(styled[:k])))] if styled is not None else []),
        ("ground-truth render", tensor_to_pil(data.float_images()[:k])),
    ])
    return result


def render_palettes(generator: torch.nn.Module, data, start: int, stop: int) -> torch.Tensor:
    """The palettes (B, C, 3) of renders start:stop, measured through their true part maps; parts a
    render does not show take the generator's bank mean (as `palette_of` does for an example car)."""
    return measured_palettes(data.float_images()[start:stop], data.parts[start:stop], generator.palette.bank.mean(0))


def tab_layout(ctx: Context) -> TabResult:
    from carstudio.pipelines.layout import LAYOUT_WEIGHTS, RENDERER_WEIGHTS, LayoutToCarPipeline

    pipe = LayoutToCarPipeline.from_pretrained(**ctx.models.get("layout", {}))
    res = pipe.resolution
    samples, layouts = [], []
    for start, stop in tqdm(_batches(ctx.count), desc="layout samples", leave=False):
        parts = pipe.sample_layouts(stop - start, seed=start)
        layouts.append(parts)
        samples.append(pil_batch(pipe.render(parts, style_seed=start)))
    sample_images, layouts = torch.cat(samples), torch.cat(layouts)
    result = TabResult(model=f"{LAYOUT_WEIGHTS} + {RENDERER_WEIGHTS}", resolution=res)
    result.rows["samples (own)"] = distribution_entry(ctx, sample_images, "everyday-test", res)
    result.rows[f"samples (common {COMMON})"] = distribution_entry(ctx, sample_images, "everyday-test", COMMON)
    data = ctx.renders("everyday-test", res)
    rendered, styled = [], []
    palettes = render_palettes(pipe.renderer, data, 0, len(data)) if is_palette_conditioned(pipe.renderer) else None
    for start, stop in tqdm(_batches(len(data)), desc="layout paired", leave=False):
        parts = data.parts[start:stop]
        rendered.append(pil_batch(pipe.render(parts, style_seed=start)))
        if palettes is not None:
            styled.append(pil_batch(pipe.render(parts, style_seed=start, palettes=palettes[start:stop])))
        elif pipe.style_encoder is not None:
            with torch.inference_mode():
                style = pipe.style_encoder(data.float_images()[start:stop])[0]
            styled.append(pil_batch(pipe.render(parts, style=style)))
    rendered = torch.cat(rendered)
    result.rows.update({f"true layouts, random style, {k}": v
                        for k, v in paired_entries(rendered, ctx, "everyday-test", res, len(data)).items()})
    if styled:
        styled = torch.cat(styled)
        result.rows.update({f"true layouts, style of the render, {k}": v
                            for k, v in paired_entries(styled, ctx, "everyday-test", res, len(data)).items()})
    result.notes.append("Samples: layout seed = style seed = sample index, psi 1. Paired: the held-out renders' own "
                        "part maps rendered with a random style and with the style of the render (a palette "
                        "renderer: the render's palette through its part map; otherwise the style encoder's code).")
    k = GRID_INPUTS
    result.picture = labelled_grid([
        ("sampled layout", [Image.fromarray(colorize(p.numpy())) for p in layouts[:k]]),
        ("rendered car", tensor_to_pil(to_float(sample_images[:k]))),
        ("held-out part map (input)", [Image.fromarray(colorize(p.numpy())) for p in data.parts[:k]]),
        ("rendered, style of the render", tensor_to_pil(to_float((styled if len(styled) else rendered)[:k]))),
        ("ground-truth render", tensor_to_pil(data.float_images()[:k])),
    ])
    return result


def region_scores(output: torch.Tensor, truth: torch.Tensor, masks: torch.Tensor, chunk: int = 50) -> dict[str, float]:
    """Figures inside the region, averaged over images: L1, PSNR, SSIM (the SSIM map averaged
    over the region), the fill's colour error (ΔE of the mean L*a*b* inside the region) and its
    sharpness (Laplacian energy inside the region relative to the truth's). uint8 (B, 3, H, W)
    images, (B, 1, H, W) masks in {0, 1}; in chunks, so 1,000 pictures at 256 px fit in memory."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    per_image: dict[str, list[torch.Tensor]] = {k: [] for k in ("l1", "psnr", "ssim", "delta_e")}
    energy_out = energy_truth = 0.0
    for start in range(0, len(output), chunk):
        out, tgt = to_float(output[start:start + chunk]), to_float(truth[start:start + chunk])
        mask = masks[start:start + chunk]
        _, ssim_map = structural_similarity_index_measure(out, tgt, data_range=2.0, reduction="none",
                                                          return_full_image=True)
        weights = mask.expand_as(out)
        count = weights.sum(dim=(1, 2, 3)).clamp_min(1)
        mse = ((out - tgt) ** 2 * weights).sum(dim=(1, 2, 3)) / count
        per_image["l1"].append(((out - tgt).abs() * weights).sum(dim=(1, 2, 3)) / count)
        per_image["psnr"].append(10 * torch.log10(4.0 / mse.clamp_min(1e-10)))
        per_image["ssim"].append((ssim_map * weights).sum(dim=(1, 2, 3)) / count)
        inside = mask[:, 0] > 0.5
        per_image["delta_e"].append((masked_mean_lab(out, inside) - masked_mean_lab(tgt, inside)).norm(dim=1))
        inner = mask[:, :, 1:-1, 1:-1]  # the Laplacian's valid area
        energy_out += float((high_frequency_energy_map(out) * inner).sum())
        energy_truth += float((high_frequency_energy_map(tgt) * inner).sum())
    values = {k: torch.cat(v) for k, v in per_image.items()}
    return {"l1_region": float(values["l1"].mean()), "psnr_region": float(values["psnr"].mean()),
            "ssim_region": float(values["ssim"].mean()), "delta_e_fill": float(values["delta_e"].nanmean()),
            "sharpness_region": energy_out / max(energy_truth, 1e-12)}


def tab_region(ctx: Context, size: int = 256) -> TabResult:
    from carstudio.pipelines.roigan import GENERATOR_WEIGHTS, RegionEditPipeline

    pipe = RegionEditPipeline.from_pretrained(**ctx.models.get("region", {}))
    data = ctx.renders("everyday-test", size)
    result = TabResult(model=GENERATOR_WEIGHTS, resolution=size)
    grid_rows: list[tuple[str, list[Image.Image]]] = []
    for k_index, kind in enumerate(ROI_TYPES):
        masks = sample_rois(len(data), size, kind, torch.Generator().manual_seed(1000 + k_index))
        filled = {"RoI-GAN": [], "Telea": []}
        for i in tqdm(range(len(data)), desc=f"region {kind}", leave=False):
            image = Image.fromarray(data.images[i].permute(1, 2, 0).numpy())
            mask = masks[i, 0].numpy() > 0.5
            filled["RoI-GAN"].append(np.asarray(pipe.inpaint(image, mask, seed=i)))
            filled["Telea"].append(np.asarray(pipe.telea(image, mask)))
        for method, arrays in filled.items():
            output = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
            row = distribution_entry(ctx, output, "everyday-test", size)
            row.update(region_scores(output, data.images, masks))
            result.rows[f"{kind}: {method}"] = row
        k = 3
        shown = [Image.fromarray(np.where(masks[i, 0, ..., None].numpy() > 0.5, 255,
                                          data.images[i].permute(1, 2, 0).numpy()).astype(np.uint8))
                 for i in range(k)]
        grid_rows += [(f"{kind}: region (white) | RoI-GAN | Telea | truth",
                       [im for i in range(k) for im in (shown[i], Image.fromarray(filled["RoI-GAN"][i]),
                                                        Image.fromarray(filled["Telea"][i]),
                                                        Image.fromarray(data.images[i].permute(1, 2, 0).numpy()))])]
    result.notes.append(f"Held-out renders at {size} px, one region per render of each kind (seeds 1000-1002); the "
                        "tab's pipeline (letterboxed to the model, composited through the exact mask) and OpenCV "
                        "Telea. Region figures are inside the region; FD-ind on the whole completed pictures.")
    result.picture = labelled_grid(grid_rows, tile=128)
    return result


def tab_blend(ctx: Context, encode_count: int = 200, refine_steps: int = 20) -> TabResult:
    from carstudio.pipelines.blend import EVERYDAY_WEIGHTS, FUTURISTIC_WEIGHTS, FuturisticBlendPipeline

    pipe = FuturisticBlendPipeline.from_pretrained(**ctx.models.get("blend", {}))
    res = pipe.resolution
    result = TabResult(model=f"{EVERYDAY_WEIGHTS}, {FUTURISTIC_WEIGHTS}, encoder", resolution=res)
    samples = {}
    for domain, generator, reference in (("everyday", pipe.everyday_generator, "side-everyday-test"),
                                         ("futuristic", pipe.generator, "side-futuristic-test")):
        g = torch.Generator().manual_seed(0)
        images = []
        with torch.inference_mode():
            for start, stop in _batches(ctx.count):
                images.append(to_uint8(generator(generator.sample_latents(stop - start, g))))
        samples[domain] = torch.cat(images)
        result.rows[f"{domain} samples (own)"] = distribution_entry(ctx, samples[domain], reference, res)
        result.rows[f"{domain} samples (common {COMMON})"] = distribution_entry(ctx, samples[domain], reference, COMMON)
    recon = {}
    for domain, reference in (("everyday", "side-everyday-test"), ("futuristic", "side-futuristic-test")):
        data = ctx.renders(reference, res, encode_count)
        outs = []
        for i in tqdm(range(len(data)), desc=f"encode {domain}", leave=False):
            car = pipe.car_from_image(Image.fromarray(data.images[i].permute(1, 2, 0).numpy()), refine_steps)
            out = np.asarray(car.reconstruction)
            if car.prepared is not None:  # the upload was re-framed: compare in the render's own frame
                out = to_upload_frame(out, car.prepared.window, (res, res))
            outs.append(out)
        recon[domain] = torch.from_numpy(np.stack(outs)).permute(0, 3, 1, 2)
        result.rows.update({f"{domain} G(E(x)), {refine_steps} refinement steps, {k}": v
                            for k, v in paired_entries(recon[domain], ctx, reference, res, len(data)).items()})
    result.notes.append(f"Samples: z drawn with seed 0, {ctx.count} per generator, against side views of held-out "
                        f"cars. Reconstructions: the first {encode_count} held-out renders encoded and refined "
                        f"{refine_steps} steps (the tab's default), drawn by the fine-tuned generator.")
    k = GRID_INPUTS
    every = ctx.renders("side-everyday-test", res, encode_count)
    futur = ctx.renders("side-futuristic-test", res, encode_count)
    with torch.inference_mode():
        z_e = torch.cat([pipe.encoder(every.float_images()[i:i + 1]) for i in range(k)])
        z_f = torch.cat([pipe.encoder(futur.float_images()[i:i + 1]) for i in range(k)])
        blends = pipe.generator(0.5 * z_e + 0.5 * z_f)
    result.picture = labelled_grid([
        ("everyday samples", tensor_to_pil(to_float(samples["everyday"][:k]))),
        ("futuristic samples", tensor_to_pil(to_float(samples["futuristic"][:k]))),
        ("held-out everyday render", tensor_to_pil(every.float_images()[:k])),
        (f"G(E(x)) + {refine_steps} refinement steps", tensor_to_pil(to_float(recon["everyday"][:k]))),
        ("held-out futuristic render", tensor_to_pil(futur.float_images()[:k])),
        (f"G(E(x)) + {refine_steps} refinement steps", tensor_to_pil(to_float(recon["futuristic"][:k]))),
        ("blend alpha 0.5 of the encoded pair (no refinement)", tensor_to_pil(blends)),
    ])
    return result


def tab_singan(ctx: Context, samples: int = 16, paintings: int = 16) -> TabResult:
    from carstudio.pipelines.segmenter import SegmenterPipeline
    from carstudio.pipelines.singan import AutomaticPainter, NoCarFound, SinGANPipeline
    from carstudio.imaging import pil_to_tensor

    painter = AutomaticPainter(SegmenterPipeline.from_pretrained())
    extractor = IndependentSpatialFeatures(ctx.net)
    models = {"singan-car1-trb1-side": "side-everyday-test", "singan-p406-three-quarter": "everyday-test"}
    result = TabResult(model=", ".join(models), resolution=0)
    grid_rows = []
    for name, photos_set in models.items():
        pipe = SinGANPipeline.from_pretrained(name)
        reference = pipe.reference_image()
        ref_t = pil_to_tensor(reference)
        result.resolution = max(result.resolution, max(reference.size))
        photos = ctx.renders(photos_set, 256, 200)
        if photos_set == "everyday-test":  # the three-quarter model: three-quarter photos
            keep = [i for i, r in enumerate(photos.records) if int(r["camera"]["azimuth"] // 45) % 2 == 0
                    and r["camera"]["azimuth"] % 90 > 25 and r["camera"]["azimuth"] % 90 < 65]
        else:
            keep = list(range(len(photos)))
        outputs: dict[str, list[Image.Image]] = {}
        for start in (0, min(1, pipe.num_scales - 1)):
            outputs[f"random samples, start scale {start}"] = pipe(samples, seed=0, start_scale=start)
        painted, made = [], []
        for i in keep:
            if len(made) >= paintings:
                break
            try:
                painting = painter(pipe, Image.fromarray(photos.images[i].permute(1, 2, 0).numpy()))
            except NoCarFound:
                continue
            painted.append(painting)
            made.append(pipe(1, seed=len(made), painting=painting, inject_scale=2, quantize=True)[0])
        outputs["paint from a held-out photo, injection scale 2"] = made
        for label, images in outputs.items():
            batch = torch.cat([pil_to_tensor(im) for im in images])
            values = [sifid(batch[j:j + 1], ref_t, extractor).value for j in range(len(batch))]
            result.rows[f"{name}: {label}"] = {
                "sifid_ind": float(np.mean(values)), "n": len(images),
                "sharpness": float(high_frequency_energy(batch).mean() / high_frequency_energy(ref_t).mean())}
        grid_rows += [(f"{name}: reference | random samples at start scale 1 (the tab's default)",
                       [reference] + outputs["random samples, start scale 1"][:5]),
                      ("random samples at start scale 0 (from noise: texture, not cars)",
                       outputs["random samples, start scale 0"][:6]),
                      (f"{name}: automatic paintings of held-out photos", painted[:6]),
                      ("... and the cars made from them", made[:6])]
    result.notes.append("SIFID-ind: single-image Fréchet distance in the evaluation network's second-stage patch "
                        "features, output vs the model's reference image (lower = closer patch statistics); "
                        "sharpness relative to the reference.")
    result.picture = labelled_grid(grid_rows)
    return result


TABS: dict[str, Callable[[Context], TabResult]] = {
    "sketch": tab_sketch,
    "layout": tab_layout,
    "region": tab_region,
    "blend": tab_blend,
    "singan": tab_singan,
}
TAB_TITLES = {
    "sketch": "Sketch to car (SSGAN)",
    "layout": "Layout to car (StyleGAN + SPADE)",
    "region": "Region edit (RoI-GAN vs Telea)",
    "blend": "Futuristic blend (SN-GAN + encoder)",
    "singan": "SinGAN paint-to-car",
}
TAB_FLOORS = {"sketch": ["everyday-test"], "layout": ["everyday-test"], "region": ["everyday-test"],
              "blend": ["side-everyday-test", "side-futuristic-test"], "singan": []}


def run_report(ctx: Context, tabs: list[str], json_path: Path, grid_dir: Path) -> dict:
    """Score `tabs` and merge them into the JSON at `json_path` (other tabs' results kept)."""
    report = json.loads(json_path.read_text()) if json_path.is_file() else {"tabs": {}, "floors": {}}
    report["evaluation_network"] = ctx.evalnet
    report["count"] = ctx.count
    grid_dir.mkdir(parents=True, exist_ok=True)
    for name in tabs:
        ctx.say(f"{name}: scoring")
        tick = time.perf_counter()
        result = TABS[name](ctx)
        if ctx.models.get(name):
            result.model += " with " + ", ".join(f"{k}={v}" for k, v in ctx.models[name].items())
        for reference in TAB_FLOORS[name]:
            if reference not in report["floors"]:
                report["floors"][reference] = floors(ctx, reference)
        picture = grid_dir / f"{name}.png"
        if result.picture is not None:
            result.picture.save(picture, optimize=True)
        report["tabs"][name] = {"model": result.model, "resolution": result.resolution, "rows": result.rows,
                                "notes": result.notes, "picture": picture.as_posix(),
                                "seconds": round(time.perf_counter() - tick, 1)}
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=1, default=float))
        ctx.say(f"{name}: done in {report['tabs'][name]['seconds']} s")
    return report


# --- markdown --------------------------------------------------------------------------------
DISTRIBUTION_COLUMNS = (("fd_ind", "FD-ind ↓", "{:.3f}"), ("kid", "KID×10³ ↓", "{:.2f}"),
                        ("precision", "precision ↑", "{:.3f}"), ("recall", "recall ↑", "{:.3f}"),
                        ("density", "density", "{:.3f}"), ("coverage", "coverage ↑", "{:.3f}"),
                        ("sharpness", "sharpness (1 = renders)", "{:.2f}"), ("fd_seg", "FD-seg (secondary)", "{:.4f}"))
PAIRED_COLUMNS = (("l1", "L1 ↓", "{:.3f}"), ("psnr", "PSNR ↑", "{:.2f}"), ("ssim", "SSIM ↑", "{:.3f}"),
                  ("delta_e_body", "ΔE body ↓", "{:.1f}"), ("delta_e_glass", "ΔE glass ↓", "{:.1f}"),
                  ("delta_e_wheel", "ΔE wheels ↓", "{:.1f}"), ("sharpness", "sharpness (1 = truth)", "{:.2f}"))
REGION_COLUMNS = (("fd_ind", "FD-ind ↓", "{:.3f}"), ("kid", "KID×10³ ↓", "{:.2f}"),
                  ("l1_region", "L1 in region ↓", "{:.3f}"), ("psnr_region", "PSNR in region ↑", "{:.2f}"),
                  ("ssim_region", "SSIM in region ↑", "{:.3f}"), ("delta_e_fill", "fill ΔE ↓", "{:.1f}"),
                  ("sharpness_region", "sharpness in region", "{:.2f}"), ("fd_seg", "FD-seg (secondary)", "{:.4f}"))
SINGAN_COLUMNS = (("sifid_ind", "SIFID-ind ↓", "{:.3f}"), ("sharpness", "sharpness (1 = reference)", "{:.2f}"),
                  ("n", "outputs", "{:d}"))


def _cell(value, fmt: str, key: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return fmt.format(value * 1000 if key == "kid" else value)


def _columns_for(tab: str, row: dict):
    if tab == "region":
        return REGION_COLUMNS
    if tab == "singan":
        return SINGAN_COLUMNS
    if "fd_ind" in row:
        return DISTRIBUTION_COLUMNS
    if "ssim" in row:
        return PAIRED_COLUMNS
    return tuple((k, k, "{:.3f}") for k in row if isinstance(row[k], float))


def _same(a, b) -> bool:
    nan = lambda v: isinstance(v, float) and np.isnan(v)  # noqa: E731
    return a == b or (nan(a) and nan(b))


def _table(tab: str, rows: dict, before: dict | None) -> list[str]:
    """Rows sharing one column set form one table; a "before" value is shown under the row when
    it exists and differs."""
    lines, current = [], None
    for name, row in rows.items():
        columns = _columns_for(tab, row)
        if columns != current:
            if current is not None:
                lines.append("")
            lines += ["| | " + " | ".join(c[1] for c in columns) + " |", "| --- |" + " --- |" * len(columns)]
            current = columns
        lines.append(f"| {name} | " + " | ".join(_cell(row.get(k), f, k) for k, _, f in columns) + " |")
        old = (before or {}).get(name)
        if old is not None and any(not _same(old.get(k), row.get(k)) for k, _, _ in columns):
            lines.append("| *before* | " + " | ".join(_cell(old.get(k), f, k) for k, _, f in columns) + " |")
    return lines


def markdown(report: dict, before: dict | None, before_path: str | None) -> str:
    lines = [
        "# Quality of every tab, in the independent yardstick",
        "",
        "Written by `python -m carstudio.evaluate report` (do not edit by hand; the numbers are in "
        "`docs/quality/current.json`" + (f", the frozen \"before\" column in `{before_path}`" if before_path else "")
        + "). Distribution figures are in the feature space of the evaluation network "
        f"(`weights/{report['evaluation_network']}`, a render-attribute classifier no loss uses): FD-ind (Fréchet "
        "distance, not FID), KID (unbiased, ×10³), precision/recall (k = 3) and density/coverage (k = 5), "
        f"{report['count']} outputs against {report['count']} held-out renders of cars no generator saw. "
        "FD-seg (the part segmenter's space, which some losses use) is a secondary column only. "
        "Sharpness is the high-frequency (Laplacian) energy relative to the renders or the ground truth: "
        "below 1 is blurrier, above 1 noisier.",
        "",
        "Each model is scored at its own resolution (outputs vs renders of that size) and at the common "
        f"{COMMON} px (outputs resized to {COMMON} vs renders made at {COMMON}): a 64-px model's cars are shown "
        "enlarged in the app. Pictures: the same fixed held-out inputs every time (`docs/img/quality/`).",
        "",
        "## Floors: training renders vs held-out renders",
        "What two render sets of one distribution score (cars differ: held-out cars were never seen in training). "
        "A model cannot be expected below its floor.",
        "",
    ]
    for reference, by_size in report.get("floors", {}).items():
        lines += [f"**{reference}** (held-out) vs its training-car counterpart:", ""]
        lines += _table("floor", {f"{size} px": row for size, row in by_size.items()}, None)
        lines.append("")
    for tab, title in TAB_TITLES.items():
        entry = report["tabs"].get(tab)
        if entry is None:
            continue
        old = ((before or {}).get("tabs", {}).get(tab) or {}).get("rows")
        lines += [f"## {title}", "", f"Model: `{entry['model']}` ({entry['resolution']} px). "
                  + " ".join(entry["notes"]), ""]
        lines += _table(tab, entry["rows"], old)
        picture = Path(entry["picture"])
        lines += ["", f"![{title}: fixed held-out inputs]({Path('img/quality') / picture.name})", ""]
    return "\n".join(lines) + "\n"
