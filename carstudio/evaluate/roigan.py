"""RoI-GAN on held-out renders: seed 002's Table 4.2 (per RoI type, RoI-GAN vs Telea), a
controllability check and the showcase picture.

    python -m carstudio.evaluate.roigan table --test data/cars64_test --generator weights/roigan-64 \\
        --train-reference data/cars64_everyday --json docs/roigan_table.json
    python -m carstudio.evaluate.roigan showcase --test data/cars64_test --generator weights/roigan-64 \\
        --out docs/img/roigan_showcase.png
    python -m carstudio.evaluate.roigan windows --test data/eval/everyday-test-256 \\
        --generator weights/roigan-64 runs/roigan128-win-v1@latest --window crop whole --per-type 1000 \\
        --json docs/roigan_windows.json

Table, for each RoI type (rectangle, ellipse, mixture; the masks are drawn by the RoI-block with a
fixed seed per type, the same for both methods) on the held-out renders at the model's
resolution:
- L1, PSNR and SSIM *inside the RoI* between the completed image and the ground truth: L1 is the
  mean absolute difference over RoI pixels and channels (images in [-1, 1]); PSNR comes from the
  mean squared error pooled over all RoI pixels of all images (data range 2); SSIM is the mean of
  the SSIM map (Gaussian window 11, sigma 1.5) over RoI pixels;
- FD-seg (or FID with --inception-weights) between the completed images and the held-out renders,
  as the thesis compares generated and real test images (its Table 4.2 is FID only). FD-seg is
  the project's feature space (the part segmenter, carstudio.metrics.frechet), not comparable
  with published FID numbers.
RoI-GAN draws its codes from the training prior (seeded); Telea is `cv2.inpaint(...,
cv2.INPAINT_TELEA)` with radius 3 on the same uint8 images.

Controllability (section 4.3: the codes are sliders that change the region and, the thesis says,
little else): on held-out renders with elliptic RoIs, each continuous code is swept over
-1 .. 1 in 7 steps with the noise, the category and the other codes fixed (seeded). "per unit" is
the mean absolute change of the generator's raw output x_g along the sweep divided by the
slider's travel (2), inside the RoI and outside it; the composited result x_c (what the app
shows) is also measured outside, where eq. 3.9 makes it exactly 0. For scale, the same
numbers for the categorical code (mean over pairs of categories) and for a fresh noise z0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torchmetrics.functional.image import structural_similarity_index_measure

from carstudio.checkpoints import config_from_options, parse_spec
from carstudio.data.loading import held_out_images, load_images, to_float
from carstudio.data.roi import ROI_TYPES, coverage, sample_rois
from carstudio.evaluate.registry import distribution_row
from carstudio.metrics.colour import masked_mean_lab
from carstudio.metrics.features import load_default_segmenter
from carstudio.metrics.frechet import frechet
from carstudio.metrics.image import DATA_RANGE, masked_l1
from carstudio.metrics.independent import EVALNET, load_evaluation_network, pooled_features
from carstudio.models.evalnet import CarAttributeNet
from carstudio.models.roigan import RoIGANGenerator, complete
from carstudio.pipelines.roigan import TELEA_RADIUS, WINDOW_MODES, RegionEditPipeline, telea

BATCH = 100
SEED = 0
MASK_SEED = 2024
SWEEP = torch.linspace(-1.0, 1.0, 7)


# --- loading ---------------------------------------------------------------------------------
def load_generator(spec: str) -> RoIGANGenerator:
    """`PATH` (exported folder or weights name) or `RUN@STEP` / `RUN` (a training checkpoint)."""
    checkpoint = parse_spec(spec)
    if checkpoint is None:
        return RegionEditPipeline.from_pretrained(spec).generator
    return checkpoint.load(RoIGANGenerator, "generator", config_from_options(RoIGANGenerator, checkpoint.options()))


# --- scores inside the region ----------------------------------------------------------------
def masked_psnr(a: torch.Tensor, b: torch.Tensor, masks: torch.Tensor, data_range: float = DATA_RANGE) -> float:
    """PSNR of the squared error pooled over the masked pixels (and channels) of the batch."""
    weight = masks.expand_as(a)
    mse = float(((a - b).square() * weight).sum() / weight.sum())
    return float("inf") if mse == 0 else 10 * float(np.log10(data_range**2 / mse))


def masked_ssim(a: torch.Tensor, b: torch.Tensor, masks: torch.Tensor, data_range: float = DATA_RANGE) -> float:
    """Mean of the SSIM map over the masked pixels (and channels)."""
    _, full = structural_similarity_index_measure(a.float(), b.float(), data_range=data_range, return_full_image=True)
    weight = masks.expand_as(full)
    return float((full * weight).sum() / weight.sum())


def region_scores(completed: torch.Tensor, real: torch.Tensor, masks: torch.Tensor) -> dict[str, float]:
    return {"l1": masked_l1(completed, real, masks), "psnr": masked_psnr(completed, real, masks),
            "ssim": masked_ssim(completed, real, masks)}


# --- the two methods -------------------------------------------------------------------------
def roi_masks(kind: str, n: int, resolution: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(MASK_SEED + ROI_TYPES.index(kind))
    return torch.cat([sample_rois(min(BATCH, n - i), resolution, kind, g) for i in range(0, n, BATCH)])


@torch.inference_mode()
def roigan_completions(generator: RoIGANGenerator, real: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """x_c with prior codes, seeded per batch."""
    out = []
    for i in range(0, len(real), BATCH):
        x, m = real[i:i + BATCH], masks[i:i + BATCH]
        z = generator.latent(*generator.sample_latents(len(x), torch.Generator().manual_seed(SEED + i)))
        out.append(complete(generator(x, m, z)[0].clamp(-1, 1), x, m))
    return torch.cat(out)


def telea_completions(real: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Telea on the uint8 images, the region's pixels replaced by its fill (eq. 3.9 with Telea)."""
    uint8 = ((real + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    fills = np.stack([cv2.inpaint(np.ascontiguousarray(x), m[0].numpy().astype(np.uint8), TELEA_RADIUS,
                                  cv2.INPAINT_TELEA) for x, m in zip(uint8, masks)])
    filled = torch.from_numpy(fills).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return complete(filled, real, masks)


# --- controllability -------------------------------------------------------------------------
def _change(a: torch.Tensor, b: torch.Tensor, masks: torch.Tensor) -> tuple[float, float]:
    """Mean absolute difference inside and outside the masks."""
    diff = (a - b).abs().mean(1, keepdim=True)
    return float((diff * masks).sum() / masks.sum()), float((diff * (1 - masks)).sum() / (1 - masks).sum())


@torch.inference_mode()
def controllability(generator: RoIGANGenerator, real: torch.Tensor, kind: str = "ellipse") -> dict:
    """Per continuous code: raw-output change per unit of slider inside / outside the RoI, and the
    composited output's change outside (0 by construction); the category and z0 for scale."""
    n, res = len(real), generator.config.resolution
    masks = roi_masks(kind, n, res)
    noise, codes, categories = generator.sample_latents(n, torch.Generator().manual_seed(SEED + 7))

    def run(noise_=noise, codes_=codes, categories_=categories) -> torch.Tensor:
        return torch.cat([generator(real[i:i + BATCH], masks[i:i + BATCH], generator.latent(
            noise_[i:i + BATCH], codes_[i:i + BATCH], categories_[i:i + BATCH]))[0] for i in range(0, n, BATCH)])

    result = {"roi": kind, "samples": n, "sweep": SWEEP.tolist(), "codes": []}
    for k in range(generator.config.num_codes):
        frames = []
        for v in SWEEP:
            swept = codes.clone()
            swept[:, k] = v
            frames.append(run(codes_=swept))
        inside = outside = composited = 0.0
        for a, b in zip(frames, frames[1:]):
            i, o = _change(b, a, masks)
            inside, outside = inside + i, outside + o
            composited += _change(complete(b, real, masks), complete(a, real, masks), masks)[1]
        travel = float(SWEEP[-1] - SWEEP[0])
        result["codes"].append({"code": k, "inside_per_unit": inside / travel, "outside_per_unit": outside / travel,
                                "composited_outside_per_unit": composited / travel,
                                "inside_to_outside": inside / max(outside, 1e-12)})
    pairs = list(itertools.combinations(range(generator.config.num_categories), 2))[:10]
    by_category = {c: run(categories_=torch.full_like(categories, c)) for c in {c for p in pairs for c in p}}
    changes = [_change(by_category[a], by_category[b], masks) for a, b in pairs]
    result["category"] = {"inside": float(np.mean([c[0] for c in changes])),
                          "outside": float(np.mean([c[1] for c in changes])), "pairs": len(pairs)}
    fresh = torch.randn(noise.shape, generator=torch.Generator().manual_seed(SEED + 8))
    inside, outside = _change(run(noise_=fresh), run(), masks)
    result["noise"] = {"inside": inside, "outside": outside}
    return result


# --- the table -------------------------------------------------------------------------------
def score_table(test: list[Path], generator_spec: str, limit: int | None, train_reference: list[Path],
                inception_weights: str | None, log=print) -> dict:
    generator = load_generator(generator_spec)
    res = generator.config.resolution
    real = held_out_images(test, res, limit)
    features = None if inception_weights else load_default_segmenter()
    result = {"held_out": [str(p) for p in test], "samples": len(real), "resolution": res,
              "generator": generator_spec, "mask_seed": MASK_SEED, "rows": []}
    if train_reference:
        reference = held_out_images(train_reference, res, len(real))
        label, value = frechet(reference, real, features, inception_weights)
        result["floor"] = {"metric": label, "fd": value, "what": f"training renders {train_reference} vs held-out"}
        log(f"{label} floor (training renders vs held-out renders): {value:.4g}")
    for kind in ROI_TYPES:
        masks = roi_masks(kind, len(real), res)
        for method, completed in (("RoI-GAN", roigan_completions(generator, real, masks)),
                                  ("Telea", telea_completions(real, masks))):
            label, value = frechet(completed, real, features, inception_weights)
            row = {"roi": kind, "method": method, "coverage": float(coverage(masks).mean()),
                   **region_scores(completed, real, masks), "metric": label, "fd": value}
            result["rows"].append(row)
            log(f"{kind:>9} | {method:<7} | L1 {row['l1']:.4f} | PSNR {row['psnr']:.2f} | SSIM {row['ssim']:.3f} | "
                f"{label} {value:.4g}")
    result["controllability"] = controllability(generator, real[:min(len(real), 200)])
    for c in result["controllability"]["codes"]:
        log(f"code {c['code']}: inside {c['inside_per_unit']:.4f} / unit, outside {c['outside_per_unit']:.4f} / unit "
            f"(raw), composited outside {c['composited_outside_per_unit']:.4f}")
    return result


def markdown_table(result: dict) -> str:
    label = result["rows"][0]["metric"]
    lines = [f"| RoI | method | coverage | L1 in RoI ↓ | PSNR in RoI ↑ | SSIM in RoI ↑ | {label} ↓ |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['roi']} | {r['method']} | {r['coverage']:.2f} | {r['l1']:.4f} | {r['psnr']:.2f} | "
              f"{r['ssim']:.3f} | {r['fd']:.4g} |" for r in result["rows"]]
    if "floor" in result:
        lines.append(f"| - | training renders (floor) | - | - | - | - | {result['floor']['fd']:.4g} |")
    control = result["controllability"]
    lines += ["", f"| control ({control['roi']} RoIs, {control['samples']} renders) | change inside / unit ↑ | "
              "outside / unit (raw x_g) | outside / unit (composited) |", "| --- | --- | --- | --- |"]
    lines += [f"| code {c['code']} | {c['inside_per_unit']:.4f} | {c['outside_per_unit']:.4f} | "
              f"{c['composited_outside_per_unit']:.4f} |" for c in control["codes"]]
    lines.append(f"| category (mean over pairs) | {control['category']['inside']:.4f} | "
                 f"{control['category']['outside']:.4f} | 0 |")
    lines.append(f"| noise z0 (a fresh draw) | {control['noise']['inside']:.4f} | {control['noise']['outside']:.4f} | 0 |")
    return "\n".join(lines)


# --- windows: the region edit at the pictures' resolution (issue 20) --------------------------
RING_WIDTH = 4
MIN_DISTRIBUTION_SAMPLES = 6  # density/coverage's k = 5 needs more than 5 in each set

RegionEdit = Callable[[Image.Image, np.ndarray, int], Image.Image]  # (picture, mask, seed) -> picture


def telea_edit(image: Image.Image, mask: np.ndarray, seed: int) -> Image.Image:
    return telea(image, mask)


def roigan_edit(pipe: RegionEditPipeline) -> RegionEdit:
    """The tab's defaults: sliders at 0, category 0, the given seed."""
    return lambda image, mask, seed: pipe.inpaint(image, mask, seed=seed)


def ring_around(mask: np.ndarray, width: int = RING_WIDTH) -> np.ndarray:
    """(H, W) bool: the pixels outside `mask` within `width` px of it (a disc-shaped dilation)."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return cv2.dilate(mask.astype(np.uint8), disc).astype(bool) & ~mask


def fill_colour(output: torch.Tensor, truth: torch.Tensor, mask: np.ndarray, ring: np.ndarray) -> dict[str, float]:
    """Mean-colour figures (CIE76 ΔE) of one fill: output and truth (1, 3, H, W) in [-1, 1]; the
    ring's mean comes from the truth (outside the region both are the same pixels)."""
    inside, around = torch.from_numpy(mask), torch.from_numpy(ring)
    fill, truth_fill, ring_mean = masked_mean_lab(torch.cat([output, truth, truth]),
                                                  torch.stack([inside, inside, around]))
    fill_to_ring, truth_to_ring = float((fill - ring_mean).norm()), float((truth_fill - ring_mean).norm())
    return {"delta_e_fill": float((fill - truth_fill).norm()), "fill_to_ring": fill_to_ring,
            "truth_to_ring": truth_to_ring, "ring_gap": abs(fill_to_ring - truth_to_ring)}


def edit_scores(output: np.ndarray, truth: np.ndarray, mask: np.ndarray, ring_width: int = RING_WIDTH) -> dict:
    """Figures of one edit: uint8 (H, W, 3) output and truth, (H, W) bool region."""
    a, b = (to_float(torch.from_numpy(x).permute(2, 0, 1)[None]) for x in (output, truth))
    m = torch.from_numpy(mask)[None, None].float()
    return {"l1": masked_l1(a, b, m), "psnr": masked_psnr(a, b, m), "ssim": masked_ssim(a, b, m),
            **fill_colour(a, b, mask, ring_around(mask, ring_width)),
            "outside_changed": int(np.count_nonzero((output != truth).any(-1) & ~mask))}


def timed_edit(edit: RegionEdit, image: Image.Image, mask: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = np.array(edit(image, mask, seed))  # a writable copy (torch warns about PIL's read-only arrays)
    return out, 1000 * (time.perf_counter() - start)


def _region_means(scores: list[dict]) -> dict:
    """Per-region figures -> their means over the regions (NaN-skipping: a region filling the whole
    picture has no ring); the changed outside pixels are summed."""
    means = {key: float(np.nanmean([s[key] for s in scores])) for key in scores[0] if key != "outside_changed"}
    return {**means, "outside_changed": sum(s["outside_changed"] for s in scores)}


def meets_targets(row: dict, baseline: dict) -> dict[str, bool]:
    """Issue 20's targets for one RoI-GAN row against Telea's row of the same RoI type."""
    def ahead(key: str) -> bool:  # rectangles: within 5% of Telea is enough
        return row[key] >= 0.95 * baseline[key] if row["roi"] == "rectangle" else row[key] > baseline[key]

    targets = {"psnr": ahead("psnr"), "ssim": ahead("ssim"), "colour": row["ring_gap"] <= baseline["ring_gap"]}
    if "fd_ind" in row and "fd_ind" in baseline:
        targets["fd_ind"] = row["fd_ind"] < baseline["fd_ind"]
    return targets


def score_region_edits(pictures: torch.Tensor, methods: dict[str, RegionEdit], per_type: int,
                       net: CarAttributeNet | None = None, seed: int = SEED, ring_width: int = RING_WIDTH,
                       train_pictures: torch.Tensor | None = None, baseline: str = "Telea", log=print) -> dict:
    """Every method on the same `per_type` regions of each RoI type, drawn at the pictures' size
    (uint8 (P, 3, S, S)), region i on picture i mod P and edited with seed `seed` + i. Methods run
    in turn on each region (so timings share the machine's load). With `net`: the yardstick of the
    completed pictures against the unedited pictures used (and `train_pictures` as the floor)."""
    count, size = len(pictures), pictures.shape[-1]
    if pictures.shape[-2] != size:
        raise ValueError(f"the RoI-block draws square masks; the pictures are {tuple(pictures.shape[-2:])}")
    used = pictures[:min(per_type, count)]
    result = {"size": size, "pictures": len(used), "per_type": per_type, "mask_seed": MASK_SEED, "seed": seed,
              "ring_width": ring_width, "methods": list(methods), "rows": []}
    real = None
    if net is not None and min(per_type, len(used)) >= MIN_DISTRIBUTION_SAMPLES:
        real = pooled_features(net, used, BATCH)
        result["reference"] = f"the {len(used)} held-out pictures the regions were drawn on, unedited"
        if train_pictures is not None:
            result["floor"] = distribution_row(real, pooled_features(net, train_pictures[:len(used)], BATCH))
            log(f"floor (training renders vs held-out): FD-ind {result['floor']['fd_ind']:.2f}")
    for kind in ROI_TYPES:
        masks = roi_masks(kind, per_type, size)
        scores: dict[str, list[dict]] = {name: [] for name in methods}
        times: dict[str, list[float]] = {name: [] for name in methods}
        # completed pictures go to the network a batch at a time (1,000 at 256 px are 200 MB a method)
        pending: dict[str, list[torch.Tensor]] = {name: [] for name in methods}
        features: dict[str, list[np.ndarray]] = {name: [] for name in methods}
        for i in range(per_type):
            truth = pictures[i % count].permute(1, 2, 0).numpy()
            mask = masks[i, 0].numpy() > 0.5
            image = Image.fromarray(truth)
            for name, edit in methods.items():
                out, ms = timed_edit(edit, image, mask, seed + i)
                scores[name].append(edit_scores(out, truth, mask, ring_width))
                times[name].append(ms)
                if real is not None:
                    pending[name].append(torch.from_numpy(out).permute(2, 0, 1))
                    if len(pending[name]) == BATCH or i == per_type - 1:
                        features[name].append(pooled_features(net, torch.stack(pending[name]), BATCH))
                        pending[name].clear()
        for name in methods:
            row = {"roi": kind, "method": name, "regions": per_type,
                   "region_area": float(coverage(masks).mean()),  # "coverage" is density/coverage's
                   **_region_means(scores[name]), "ms_median": float(np.median(times[name]))}
            if real is not None:
                row.update(distribution_row(real, np.concatenate(features[name])))
            result["rows"].append(row)
            log(f"{kind:>9} | {name:<28} | L1 {row['l1']:.4f} | PSNR {row['psnr']:.2f} | SSIM {row['ssim']:.3f} | "
                f"dE {row['delta_e_fill']:.1f} | ring gap {row['ring_gap']:.1f} | "
                f"FD-ind {row.get('fd_ind', float('nan')):.2f} | {row['ms_median']:.0f} ms")
    by_key = {(r["roi"], r["method"]): r for r in result["rows"]}
    result["targets"] = {name: {kind: meets_targets(by_key[kind, name], by_key[kind, baseline])
                                for kind in ROI_TYPES} for name in methods if name != baseline and baseline in methods}
    return result


def windows_table(test: list[Path], generators: list[str], windows: list[str], per_type: int, size: int | None,
                  evalnet: str | None, train_reference: list[Path], seed: int, ring_width: int, log=print) -> dict:
    """The command: Telea and RegionEditPipeline(generator, window) for every generator x window."""
    methods: dict[str, RegionEdit] = {"Telea": telea_edit}
    described = {"Telea": {"what": f"cv2.inpaint TELEA, radius {TELEA_RADIUS}, at the picture's size"}}
    for item in generators:
        name, _, spec = item.rpartition("=")
        generator, checkpoint = load_generator(spec), parse_spec(spec)
        step = {} if checkpoint is None else {"step": checkpoint.step}  # what RUN@latest was when scored
        for window in windows:
            label = f"RoI-GAN {name or spec} ({window})"
            methods[label] = roigan_edit(RegionEditPipeline(generator, window=window))
            described[label] = {"generator": spec, **step, "window": window,
                                "resolution": generator.config.resolution}
            log(f"{label}: {described[label]}")
    pictures = load_images(test, size)
    train = load_images(train_reference, pictures.shape[-1]) if train_reference else None
    net = load_evaluation_network(evalnet) if evalnet else None
    start = time.perf_counter()
    result = score_region_edits(pictures, methods, per_type, net, seed, ring_width, train, log=log)
    return {"held_out": [str(p) for p in test], "evalnet": evalnet,
            "train_reference": [str(p) for p in train_reference], "method_specs": described, **result,
            "elapsed_s": time.perf_counter() - start}


def _number(row: dict, key: str, fmt: str, scale: float = 1.0) -> str:
    return format(row[key] * scale, fmt) if key in row else "-"


def windows_markdown(result: dict) -> str:
    lines = [f"Held-out pictures at {result['size']} px; {result['per_type']} regions per RoI type; ring "
             f"{result['ring_width']} px. ΔE: CIE76 of mean L*a*b* colours.", "",
             "| RoI | method | region area | L1 in region ↓ | PSNR in region ↑ | SSIM in region ↑ | "
             "fill ΔE vs truth ↓ | fill–ring ΔE (truth's) | ring gap ↓ | FD-ind ↓ | KID×10³ ↓ | precision ↑ | "
             "recall ↑ | ms / edit |",
             "| --- " * 14 + "|"]
    for r in result["rows"]:
        lines.append(f"| {r['roi']} | {r['method']} | {r['region_area']:.2f} | {r['l1']:.4f} | {r['psnr']:.2f} | "
                     f"{r['ssim']:.3f} | {r['delta_e_fill']:.2f} | {r['fill_to_ring']:.2f} "
                     f"({r['truth_to_ring']:.2f}) | {r['ring_gap']:.2f} | {_number(r, 'fd_ind', '.2f')} | "
                     f"{_number(r, 'kid', '.1f', 1000)} | "
                     f"{_number(r, 'precision', '.3f')} | {_number(r, 'recall', '.3f')} | {r['ms_median']:.0f} |")
    if "floor" in result:
        f = result["floor"]
        lines.append(f"| - | training renders (floor) | - | - | - | - | - | - | - | {f['fd_ind']:.2f} | "
                     f"{f['kid'] * 1000:.1f} | {f['precision']:.3f} | {f['recall']:.3f} | - |")
    if result["targets"]:
        names = sorted({k for kinds in result["targets"].values() for t in kinds.values() for k in t})
        lines += ["", "Issue 20's targets against Telea (✓ met, ✗ not):", "",
                  "| method | RoI | " + " | ".join(names) + " |", "| --- | --- |" + " --- |" * len(names)]
        for method, kinds in result["targets"].items():
            for kind, targets in kinds.items():
                marks = " | ".join("✓" if targets[k] else "✗" for k in names if k in targets)
                lines.append(f"| {method} | {kind} | {marks} |")
    return "\n".join(lines)


# --- showcase --------------------------------------------------------------------------------
def _row(images: list[Image.Image], cell: int, columns: int) -> np.ndarray:
    cells = [np.asarray(i.convert("RGB").resize((cell, cell), Image.Resampling.BICUBIC)) for i in images]
    cells += [np.full((cell, cell, 3), 255, np.uint8)] * (columns - len(cells))
    return np.concatenate(cells, 1)


def showcase(test: list[Path], generator_spec: str, out: Path, count: int = 3, cell: int = 128, seed: int = 1) -> Path:
    """Per held-out render (one per RoI type in turn), at `cell` px as if uploaded at that size:
    image | mask | masked | Telea | RoI-GAN (sliders at 0); then one row per continuous code swept
    -1 .. 1 (7 frames); then one row with the categorical code's values (up to 8)."""
    pipe = RegionEditPipeline(load_generator(generator_spec))
    real = held_out_images(test, pipe.resolution, count)
    columns = max(7, min(8, pipe.num_categories))
    rows = []
    for i, x in enumerate(real):
        kind = ROI_TYPES[i % len(ROI_TYPES)]
        small = Image.fromarray(((x.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8))
        image = small.resize((cell, cell), Image.Resampling.BICUBIC)
        roi = sample_rois(1, pipe.resolution, kind, torch.Generator().manual_seed(MASK_SEED + i))[0, 0].numpy()
        mask = np.asarray(Image.fromarray((roi * 255).astype(np.uint8)).resize((cell, cell), Image.NEAREST)) > 0
        masked = np.asarray(image).copy()
        masked[mask] = 127
        edit = pipe(image, mask, seed=seed)
        rows.append(_row([image, Image.fromarray(mask), Image.fromarray(masked), edit.telea, edit.roigan], cell, columns))
        for k in range(pipe.num_codes):
            rows.append(_row(pipe.sweep(image, mask, k, seed=seed), cell, columns))
        rows.append(_row(pipe.category_sweep(image, mask, seed=seed)[:columns], cell, columns))
        rows.append(np.full((cell // 8, columns * cell, 3), 255, np.uint8))
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows[:-1], 0)).save(out)
    return out


# --- command line ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    table = sub.add_parser("table", help="L1/PSNR/SSIM in the RoI and FD-seg/FID per RoI type, RoI-GAN vs Telea; "
                                         "controllability")
    table.add_argument("--test", nargs="+", type=Path, required=True, help="held-out render folders")
    table.add_argument("--generator", required=True, help="PATH (folder or weights name) or RUN@STEP")
    table.add_argument("--limit", type=int, help="score only the first N held-out renders")
    table.add_argument("--train-reference", nargs="*", type=Path, default=[],
                       help="training render folders: their distance to the held-out renders is the floor")
    table.add_argument("--inception-weights", help="torch-fidelity Inception weights file: FID instead of FD-seg")
    table.add_argument("--json", type=Path, help="write the results here")
    show = sub.add_parser("showcase", help="image, mask, Telea, RoI-GAN and one row per control code")
    show.add_argument("--test", nargs="+", type=Path, required=True)
    show.add_argument("--generator", required=True)
    show.add_argument("--count", type=int, default=3, help="held-out renders to show")
    show.add_argument("--out", type=Path, required=True)
    win = sub.add_parser("windows", help="issue 20's table: the tab's region edit on pictures at their own size "
                                         "(RoI-GAN per generator x window vs Telea), the independent yardstick")
    win.add_argument("--test", nargs="+", type=Path, required=True, help="held-out render folders (e.g. 256 px)")
    win.add_argument("--generator", nargs="+", required=True, help="[name=]PATH or RUN@STEP / RUN@latest")
    win.add_argument("--window", nargs="+", choices=WINDOW_MODES, default=["crop"],
                     help="the pipeline's window modes to score (each generator in each)")
    win.add_argument("--per-type", type=int, default=1000, help="regions per RoI type")
    win.add_argument("--size", type=int, help="load the pictures at this size (default: their own)")
    win.add_argument("--evalnet", default=EVALNET, help="the evaluation network (weights name or folder); "
                                                        "'none' skips the distribution figures")
    win.add_argument("--train-reference", nargs="*", type=Path, default=[],
                     help="training render folders: the floor of the distribution figures")
    win.add_argument("--seed", type=int, default=SEED, help="RoI-GAN's noise for region i is seed + i")
    win.add_argument("--ring-width", type=int, default=RING_WIDTH, help="the ring around a region, px")
    win.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    if args.command == "windows":
        result = windows_table(args.test, args.generator, args.window, args.per_type, args.size,
                               None if args.evalnet == "none" else args.evalnet, args.train_reference, args.seed,
                               args.ring_width)
        print(windows_markdown(result))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1))
    elif args.command == "table":
        result = score_table(args.test, args.generator, args.limit, args.train_reference, args.inception_weights)
        print(markdown_table(result))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1))
    else:
        print(showcase(args.test, args.generator, args.out, args.count))


if __name__ == "__main__":
    main()
