"""Futuristic blend (issue 5, seed 001): the SN-GANs' distance to held-out renders, the ablations,
the encoder's reconstructions, the novelty of blends, and the showcase picture.

Held-out renders (the test cars of each domain, `carstudio.data.cars`; never seen in training),
side view like the training sets data/sngan64_side (everyday, seed 10) and
data/sngan64_futuristic_side (futuristic, seed 20); 64 px, 1000 each, seeds not used by any
training set:

    python -m carstudio.data render --out data/sngan64_side_test --size 64 --count 1000 \\
        --domain everyday --split test --views side --seed 110
    python -m carstudio.data render --out data/sngan64_futuristic_side_test --size 64 --count 1000 \\
        --domain futuristic --split test --views side --seed 120

A generator trained on side and three-quarter views (runs/sngan-everyday-64: data/sngan64_side
+ data/sngan64_3q) is only comparable with held-out renders of the same mix of views: render
`--views three-quarter --seed 111` into data/sngan64_3q_test as well and pass both folders
(and both training folders for the floor).

The table and the showcase (run names are examples: one run per ablation, same --steps):

    python -m carstudio.evaluate.sngan table \\
        --everyday-test data/sngan64_side_test --futuristic-test data/sngan64_futuristic_side_test \\
        --everyday-train data/sngan64_side --futuristic-train data/sngan64_futuristic_side \\
        --run everyday=runs/sngan-side-64@4000 everyday-plain=runs/sngan-side-64-plain@4000 \\
        --run freezed=runs/sngan-futuristic-64@1000 whole-d=runs/sngan-futuristic-64-whole-d@1000 \\
              futuristic-only=runs/sngan-futuristic-only-64@1000 \\
        --encoder weights/encoder-futuristic-64 --encoder-generator freezed --refine-steps 0 50 \\
        --novelty-bank weights/novelty-blend-64 --json docs/sngan_table.json
    python -m carstudio.evaluate.sngan showcase --generator weights/sngan-futuristic-64 \\
        --everyday weights/sngan-everyday-64 --encoder weights/encoder-futuristic-64 \\
        --everyday-test data/sngan64_side_test --futuristic-test data/sngan64_futuristic_side_test \\
        --out docs/img/blend_showcase.png

Generators (`--run NAME=SPEC`, any number): SPEC is an exported folder or a weights name (the
EMA generator), or RUN@STEP (the EMA generator saved in that checkpoint, read by name with
`carstudio.checkpoints`); RUN@latest or a bare run folder takes the newest complete
checkpoint (for a finished run, the same weights as its models/generator_ema). For run
folders the table states each row's budget (steps, real images through D, minutes) and setup
(DiffAugment policy, LeCam weight, FreezeD blocks, the run it was fine-tuned from), and says
whether all rows share one budget: the ablations (with vs without DiffAugment+LeCam; FreezeD vs
the whole D vs futuristic renders alone) are only comparable at equal steps.

Table (all at the generators' resolution, seeded):
- FD-seg (or FID with --inception-weights) between N samples of each generator (eval mode,
  z ~ N(0, I)) and the held-out renders of each domain given: the everyday G belongs in the
  everyday column, a fine-tuned G in the futuristic one; its everyday column shows what it kept
  of the everyday distribution (the seed's aim: a fused distribution, not a copy of the new one);
- the floor: N training renders of a domain (a seeded random subset of its folders) vs the
  held-out renders of the same domain (the other column is the gap between the domains).
  "FD-seg" is the Fréchet distance in the part segmenter's pooled features
  (`carstudio.metrics.frechet`), not comparable with published FID;
- with --encoder (and --encoder-generator, the G whose codes it predicts: a --run name or a
  SPEC): G(E(x)) for held-out renders x of each domain and for G's own samples (the encoder's
  training distribution), with E(x) refined by `refine_latent` for each --refine-steps value:
  MSE, L1 (mean absolute difference), PSNR (of the MSE pooled over all pixels; data range 2,
  images in [-1, 1]), SSIM, and FD-seg of the reconstructions vs x;
- with --novelty-bank: the distance of images to their nearest training image in the bank's
  feature space (`carstudio.metrics.novelty`), in the bank's units and in units of the usual gap
  between training images (its median nearest-neighbour distance): for the held-out renders
  (unseen real cars: what "new" scores), each generator's samples and, with an encoder, blends
  G(alpha x + (1 - alpha) y) of encoded held-out pairs (everyday render i, futuristic render i;
  codes of the last --refine-steps value) at alpha = 1, 0.75, 0.5, 0.25, 0.

Showcase: one row per pair, everyday car | blends at alpha = 1, 0.75, 0.5, 0.25, 0 | futuristic
car, with alpha as `FuturisticBlendPipeline` defines it (w = alpha x + (1 - alpha) y, x the
everyday car's code) under a header row. The pairs are held-out renders encoded by the encoder
(--everyday-test and --futuristic-test) or, without them, cars sampled by seed as the tab does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from carstudio.checkpoints import Checkpoint, is_run_folder, latest_checkpoint, parse_spec, read_options
from carstudio.data.loading import held_out_images
from carstudio.hub import load_model
from carstudio.imaging import grid, tensor_to_pil
from carstudio.metrics.features import describe, load_default_segmenter
from carstudio.metrics.frechet import frechet
from carstudio.metrics.image import psnr, ssim
from carstudio.metrics.novelty import NoveltyMeter, pooled_features
from carstudio.models.encoder import ResNet18Encoder
from carstudio.models.sngan import SNGANGenerator
from carstudio.pipelines.blend import (EVERYDAY, FUTURISTIC, FuturisticBlendPipeline, mix, refine_latent,
                                       strip_alphas)

BATCH = 100
SEED = 0
ALPHAS = strip_alphas(5)  # 1, 0.75, 0.5, 0.25, 0: from the everyday car to the futuristic one
EMA = "generator_ema"  # the EMA generator's name in SN-GAN checkpoints
FINAL_EMA = Path("models") / EMA  # where a finished SN-GAN run saves it
ENCODER = "encoder"  # where a finished encoder run saves the encoder


# --- loading ---------------------------------------------------------------------------------
def legacy_generator_config(run: Path) -> dict:
    """For checkpoints that recorded no config, the architecture of a run's generator: its saved
    models/ (a finished run), else those of the run it was fine-tuned from (whose G it trains,
    whatever its own options say), else its options."""
    record, o = read_options(run)
    for source in (run, record.get("init_from")):
        if source and (Path(source) / FINAL_EMA / "config.json").is_file():
            return dict(SNGANGenerator.load_config(Path(source) / FINAL_EMA))
    return {"z_dim": o["z_dim"], "resolution": o["resolution"], "widths": tuple(o["g_widths"])}


def training_record(run: Path, checkpoint: Checkpoint | None) -> dict:
    """What a run folder tells about a generator: its budget (at `checkpoint`) and its setup."""
    record, o = read_options(run)
    state = checkpoint.train_state() if checkpoint else {}
    return {"run": str(run), "checkpoint": None if checkpoint is None else checkpoint.folder.name,
            "step": state.get("step", 0), "images_seen": state.get("images_seen", 0),
            "minutes": round(state.get("seconds", 0.0) / 60, 1), "batch_size": o["batch_size"],
            "num_processes": record.get("num_processes"), "d_steps": o["d_steps"], "data": record.get("data"),
            "init_from": record.get("init_from"), "policy": o["policy"], "lecam_weight": o["lecam_weight"],
            "freeze_d": o["freeze_d"]}


def setup_text(info: dict) -> str:
    """A row's training setup in a few words (empty for a bare weights folder)."""
    if "policy" not in info:
        return ""
    parts = [f"DiffAugment {info['policy']}" if info["policy"] else "no DiffAugment",
             f"LeCam {info['lecam_weight']:g}" if info["lecam_weight"] else "no LeCam"]
    if info["init_from"]:
        frozen = f"FreezeD {info['freeze_d']}" if info["freeze_d"] else "whole D"
        parts.append(f"{frozen}, from {Path(info['init_from']).name}")
    parts.append("on " + ", ".join(Path(d).name for d in info["data"] or []))
    return "; ".join(parts)


def load_generator(spec: str) -> tuple[SNGANGenerator, dict]:
    """SPEC -> (EMA generator in eval mode, what is known of its training). SPEC: `RUN@STEP`,
    `RUN@latest` or a run folder (a checkpoint's EMA generator), a saved generator folder or a
    weights name."""
    checkpoint = parse_spec(spec)
    if checkpoint is not None:
        generator = checkpoint.load(SNGANGenerator, EMA, legacy_generator_config(checkpoint.run))
        return generator, {"spec": spec, **training_record(checkpoint.run, checkpoint)}
    path = Path(spec)
    generator = load_model(SNGANGenerator, path if path.is_dir() else spec).eval()
    run = path.parent.parent  # a finished run's models/generator_ema: its run folder tells its budget
    if path.name == EMA and is_run_folder(run):
        folder = latest_checkpoint(run)
        return generator, {"spec": spec, **training_record(run, folder and Checkpoint(run, folder))}
    return generator, {"spec": spec}


def load_encoder(spec: str) -> ResNet18Encoder:
    """An encoder run folder (its final encoder/), a saved encoder folder or a weights name."""
    path = Path(spec)
    if is_run_folder(path):
        path = path / ENCODER
    return load_model(ResNet18Encoder, path if path.is_dir() else spec).eval()


def parse_runs(items: list[str]) -> dict[str, str]:
    """["NAME=SPEC", ...] -> {NAME: SPEC}, names unique."""
    named = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name or not spec:
            raise ValueError(f"--run takes NAME=SPEC, got {item!r}")
        if name in named:
            raise ValueError(f"--run name {name!r} given twice")
        named[name] = spec
    return named


# --- images ----------------------------------------------------------------------------------
def renders(roots: list[Path], resolution: int, n: int | None = None) -> torch.Tensor:
    """Render folders' images in [-1, 1], in a seeded random order, the first n of it: a subset
    draws from every folder (e.g. side and three-quarter views), not from the first one only."""
    images = held_out_images(roots, resolution, None)
    return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(SEED))[:n]]


@torch.no_grad()  # not inference_mode: the encoder's refinement differentiates through these images
def sample_images(generator: SNGANGenerator, n: int) -> torch.Tensor:
    """n samples in [-1, 1], z seeded per batch (SEED + offset)."""
    return torch.cat([generator(generator.sample_latents(min(BATCH, n - i), torch.Generator().manual_seed(SEED + i)))
                      for i in range(0, n, BATCH)])


def encode(generator: SNGANGenerator, encoder: ResNet18Encoder, images: torch.Tensor, steps: int) -> torch.Tensor:
    """Codes of `images` in G: E(x), refined by `steps` Adam steps on ||G(z) - x||^2 (per batch)."""
    return torch.cat([refine_latent(generator, encoder, images[i:i + BATCH], steps)
                      for i in range(0, len(images), BATCH)])


@torch.inference_mode()
def decode(generator: SNGANGenerator, codes: torch.Tensor) -> torch.Tensor:
    return torch.cat([generator(codes[i:i + BATCH]) for i in range(0, len(codes), BATCH)])


def reconstruction_scores(reconstructions: torch.Tensor, images: torch.Tensor) -> dict[str, float]:
    """MSE, L1, PSNR (pooled MSE, data range 2) and SSIM of reconstructions vs the originals."""
    diff = reconstructions.float() - images.float()
    return {"mse": float(diff.square().mean()), "l1": float(diff.abs().mean()),
            "psnr": psnr(reconstructions, images), "ssim": ssim(reconstructions, images)}


# --- novelty ---------------------------------------------------------------------------------
@torch.inference_mode()
def nearest_training_distances(meter: NoveltyMeter, images: torch.Tensor) -> torch.Tensor:
    """(N, 3, R, R) in [-1, 1] -> (N,) distances to the nearest training image of the bank (the
    images resized to the bank's resolution first, as the meter does for pictures)."""
    side = meter.bank.resolution
    if images.shape[-1] != side:
        images = torch.nn.functional.interpolate(images, size=(side, side), mode="bicubic", align_corners=False)
    return torch.cat([meter.bank.nearest_to(pooled_features(meter.extractor, images[i:i + BATCH].clamp(-1, 1)))[0]
                      for i in range(0, len(images), BATCH)])


def novelty_stats(meter: NoveltyMeter, images: torch.Tensor) -> dict[str, float]:
    """Distances to the nearest training image: mean, median, 10th/90th percentiles (the bank's
    units), the median over the usual gap, and the share of images nearer than the usual gap."""
    d = nearest_training_distances(meter, images).double()
    gap = meter.bank.usual_gap
    return {"count": len(d), "mean": float(d.mean()), "median": float(d.median()),
            "p10": float(d.quantile(0.1)), "p90": float(d.quantile(0.9)),
            "median_over_usual_gap": meter.bank.relative(float(d.median())),
            "share_nearer_than_usual_gap": float((d < gap).double().mean())}


# --- the table -------------------------------------------------------------------------------
def encoder_rows(generator: SNGANGenerator, encoder: ResNet18Encoder, sources: dict[str, torch.Tensor],
                 refine_steps: tuple[int, ...], distance, label: str, log=print
                 ) -> tuple[list[dict], dict[str, torch.Tensor]]:
    """G(E(x)) vs x for each source and refinement -> (rows, each source's codes at the last
    refinement); `distance(images, reference)` is the table's FD."""
    rows, codes = [], {}
    for source, images in sources.items():
        for k in refine_steps:
            codes[source] = encode(generator, encoder, images, k)
            reconstructions = decode(generator, codes[source])
            row = {"source": source, "count": len(images), "refine_steps": k,
                   **reconstruction_scores(reconstructions, images), "fd": distance(reconstructions, images)}
            rows.append(row)
            log(f"G(E(x)) {source:<20} refine {k:>3}: MSE {row['mse']:.4f} L1 {row['l1']:.4f} "
                f"PSNR {row['psnr']:.2f} SSIM {row['ssim']:.3f} {label} {row['fd']:.4g}")
    return rows, codes


def novelty_rows(meter: NoveltyMeter, image_sets: dict[str, torch.Tensor], log=print) -> list[dict]:
    rows = []
    for what, images in image_sets.items():
        rows.append({"what": what, **novelty_stats(meter, images)})
        log(f"novelty {what:<40} median {rows[-1]['median']:.4g} "
            f"({rows[-1]['median_over_usual_gap']:.2f}x the usual gap)")
    return rows


def score_table(tests: dict[str, list[Path]], trains: dict[str, list[Path]], generators: dict[str, str],
                samples: int, limit: int | None, inception_weights: str | None, encoder_spec: str | None = None,
                encoder_generator: str | None = None, refine_steps: tuple[int, ...] = (0, 50),
                recon_limit: int = 500, novelty_bank: str | None = None, log=print) -> dict:
    """`tests` / `trains`: held-out / training render folders per domain (everyday, futuristic);
    `generators`: NAME -> SPEC (see load_generator)."""
    tests = {d: roots for d, roots in tests.items() if roots}
    if not tests:
        raise ValueError("give held-out renders of at least one domain (--everyday-test, --futuristic-test)")
    if encoder_spec and not encoder_generator:
        raise ValueError("--encoder needs --encoder-generator (the G whose codes it predicts)")
    segmenter = load_default_segmenter()
    features = None if inception_weights else segmenter
    label = "FID" if inception_weights else "FD-seg"

    def distance(images: torch.Tensor, reference: torch.Tensor) -> float:
        # never negative (torchmetrics can return -1e-10 for identical sets, from rounding)
        return max(0.0, frechet(images, reference, features, inception_weights)[1])

    loaded = {name: load_generator(spec) for name, spec in generators.items()}
    resolutions = {g.config.resolution for g, _ in loaded.values()}
    if len(resolutions) > 1:
        raise ValueError(f"all generators must have one resolution, got {sorted(resolutions)}")
    resolution = resolutions.pop() if resolutions else 64
    real = {d: renders(roots, resolution, limit) for d, roots in tests.items()}
    result = {"metric": label, "feature_space": "Inception-v3 pool3" if inception_weights else describe(segmenter),
              "samples": samples, "resolution": resolution, "seed": SEED,
              "held_out": {d: {"folders": [str(p) for p in tests[d]], "count": len(real[d])} for d in real},
              "rows": []}

    def fd_row(name: str, kind: str, images: torch.Tensor, info: dict) -> None:
        row = {"name": name, "kind": kind, **info, "setup": setup_text(info),
               "fd": {domain: distance(images, reference) for domain, reference in real.items()}}
        result["rows"].append(row)
        log(f"{name}: " + ", ".join(f"{label} vs {d} {v:.4g}" for d, v in row["fd"].items())
            + (f" [{row['setup']}]" if row["setup"] else ""))

    for domain, roots in trains.items():
        if roots:
            fd_row(f"floor: training renders ({domain})", "floor", renders(roots, resolution, samples),
                   {"spec": " ".join(str(p) for p in roots), "domain": domain})
    generated = {}
    for name, (generator, info) in loaded.items():
        generated[name] = sample_images(generator, samples)
        fd_row(name, "generator", generated[name], info)
    steps = sorted({r["step"] for r in result["rows"] if r["kind"] == "generator" and "step" in r})
    result["shared_budget_steps"] = steps[0] if len(steps) == 1 else None
    if len(steps) > 1:
        log(f"note: the generators' budgets differ (steps {steps}): compare rows of equal steps only")

    codes = {}
    if encoder_spec:
        generator = (loaded.get(encoder_generator) or load_generator(encoder_generator))[0]
        sources = {f"held-out {d}": real[d][:recon_limit] for d in real}
        sources["G's own samples"] = sample_images(generator, min(samples, recon_limit))
        rows, codes = encoder_rows(generator, load_encoder(encoder_spec), sources, refine_steps, distance, label, log)
        result["encoder"] = {"spec": encoder_spec, "generator": encoder_generator, "rows": rows}
    if novelty_bank:
        meter = NoveltyMeter.from_pretrained(novelty_bank)
        image_sets = {f"held-out renders ({d})": images for d, images in real.items()}
        image_sets |= {f"samples of {name}": images for name, images in generated.items()}
        x, y = codes.get(f"held-out {EVERYDAY}"), codes.get(f"held-out {FUTURISTIC}")
        if x is not None and y is not None:
            n = min(len(x), len(y))
            image_sets |= {f"blends alpha={a:g} ({n} held-out pairs)": decode(generator, a * x[:n] + (1 - a) * y[:n])
                           for a in ALPHAS}
        result["novelty"] = {"bank": novelty_bank, "training_images": len(meter.bank.files),
                             "usual_gap": meter.bank.usual_gap, "feature_space": meter.bank.feature_space,
                             "rows": novelty_rows(meter, image_sets, log)}
    return result


def markdown_table(result: dict) -> str:
    label, domains = result["metric"], list(result["held_out"])
    counts = ", ".join(f"{v['count']} held-out {d} renders" for d, v in result["held_out"].items())
    lines = [f"{label}: {result['feature_space']}; {result['samples']} samples per row, {counts}.", "",
             "| row | setup | steps | real images seen | " + " | ".join(f"{label} vs {d} ↓" for d in domains) + " |",
             "| --- | --- | --- | --- | " + " | ".join("---" for _ in domains) + " |"]
    for r in result["rows"]:
        what = r["name"] if r["kind"] == "floor" else f"{r['name']} (`{r['spec']}`)"
        lines.append(f"| {what} | {r['setup'] or '-'} | {r.get('step', '-')} | {r.get('images_seen', '-')} | "
                     + " | ".join(f"{r['fd'][d]:.4g}" for d in domains) + " |")
    steps = result["shared_budget_steps"]
    if steps is not None:
        lines.append(f"\nBudget: every generator from a run folder stopped at step {steps} (exported weights: "
                     "see their model cards).")
    elif any("step" in r for r in result["rows"]):
        lines.append("\nBudget: the runs stopped at different steps; compare rows of equal steps only.")
    if "encoder" in result:
        lines += ["", f"Encoder `{result['encoder']['spec']}` with G `{result['encoder']['generator']}`: G(E(x)) vs x",
                  "", f"| x | count | refine steps | MSE ↓ | L1 ↓ | PSNR ↑ | SSIM ↑ | {label} ↓ |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {r['source']} | {r['count']} | {r['refine_steps']} | {r['mse']:.4f} | {r['l1']:.4f} | "
                  f"{r['psnr']:.2f} | {r['ssim']:.3f} | {r['fd']:.4g} |" for r in result["encoder"]["rows"]]
    if "novelty" in result:
        nov = result["novelty"]
        lines += ["", f"Novelty: distance to the nearest of {nov['training_images']} training images "
                      f"(usual gap {nov['usual_gap']:.4g})", "",
                  "| images | count | median | p10 | p90 | median / usual gap | nearer than the usual gap |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {r['what']} | {r['count']} | {r['median']:.4g} | {r['p10']:.4g} | {r['p90']:.4g} | "
                  f"{r['median_over_usual_gap']:.2f}x | {r['share_nearer_than_usual_gap']:.0%} |" for r in nov["rows"]]
    return "\n".join(lines)


# --- showcase --------------------------------------------------------------------------------
HEADER = 20  # px


def header_tile(text: str, width: int) -> Image.Image:
    tile = Image.new("RGB", (width, HEADER), "white")
    ImageDraw.Draw(tile).text((4, 4), text, fill="black")
    return tile


def showcase(generator_spec: str, everyday_spec: str, encoder_spec: str, out: Path, rows: int = 4, seed: int = 1,
             tests: dict[str, list[Path]] | None = None, refine_steps: int = 0, cell: int = 96) -> Path:
    """Header row, then one row per pair: everyday car | blends at ALPHAS | futuristic car."""
    pipe = FuturisticBlendPipeline(load_generator(generator_spec)[0], load_generator(everyday_spec)[0],
                                   load_encoder(encoder_spec))
    if tests and all(tests.get(d) for d in (EVERYDAY, FUTURISTIC)):
        pictures = {d: tensor_to_pil(held_out_images(tests[d], pipe.resolution, rows)) for d in (EVERYDAY, FUTURISTIC)}
        pairs = [(pipe.car_from_image(e, refine_steps), pipe.car_from_image(f, refine_steps))
                 for e, f in zip(pictures[EVERYDAY], pictures[FUTURISTIC])]
    else:
        pairs = [(pipe.car_from_seed(EVERYDAY, seed + i, refine_steps), pipe.car_from_seed(FUTURISTIC, seed + i))
                 for i in range(rows)]
    texts = [EVERYDAY] + [f"alpha {a:g}" for a in ALPHAS] + [FUTURISTIC]
    table = [[header_tile(t, cell) for t in texts]]
    for everyday, futuristic in pairs:
        blends = pipe.decode(mix(everyday.code, futuristic.code, ALPHAS))
        table.append([im.convert("RGB").resize((cell, cell), Image.Resampling.BICUBIC)
                      for im in (everyday.image, *blends, futuristic.image)])
    out.parent.mkdir(parents=True, exist_ok=True)
    grid(table).save(out)
    return out


# --- command line ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    table = sub.add_parser("table", help="FD-seg/FID per generator and domain, floors, encoder, novelty")
    show = sub.add_parser("showcase", help="rows of everyday -> futuristic blends at alpha 1 .. 0")
    for p in (table, show):
        p.add_argument("--everyday-test", nargs="*", type=Path, default=[], help="held-out everyday render folders")
        p.add_argument("--futuristic-test", nargs="*", type=Path, default=[],
                       help="held-out futuristic render folders")
        p.add_argument("--encoder", help="encoder: run folder, saved folder or weights name")
    table.add_argument("--everyday-train", nargs="*", type=Path, default=[], help="everyday training renders (floor)")
    table.add_argument("--futuristic-train", nargs="*", type=Path, default=[],
                       help="futuristic training renders (floor)")
    table.add_argument("--run", nargs="+", action="extend", default=[], metavar="NAME=SPEC",
                       help="generators: SPEC is RUN@STEP, RUN@latest, a run folder, a saved folder or a weights name")
    table.add_argument("--samples", type=int, default=1000, help="generated samples (and training renders) per row")
    table.add_argument("--limit", type=int, help="use N held-out renders of each domain (a seeded random subset)")
    table.add_argument("--inception-weights", help="torch-fidelity Inception weights file: FID instead of FD-seg")
    table.add_argument("--encoder-generator", help="the G the encoder belongs to: a --run NAME or a SPEC")
    table.add_argument("--refine-steps", nargs="+", type=int, default=[0, 50])
    table.add_argument("--recon-limit", type=int, default=500, help="held-out renders per domain to reconstruct")
    table.add_argument("--novelty-bank", help="novelty bank folder or weights name")
    table.add_argument("--json", type=Path, help="write the results here")
    show.add_argument("--generator", required=True, help="the fine-tuned (futuristic) G: SPEC as for --run")
    show.add_argument("--everyday", required=True, help="the everyday G: SPEC as for --run")
    show.add_argument("--rows", type=int, default=4)
    show.add_argument("--seed", type=int, default=1, help="first seed (pairs sampled by seed)")
    show.add_argument("--refine-steps", type=int, default=0)
    show.add_argument("--cell", type=int, default=96, help="tile size in pixels")
    show.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    tests = {EVERYDAY: args.everyday_test, FUTURISTIC: args.futuristic_test}
    if args.command == "table":
        result = score_table(tests, {EVERYDAY: args.everyday_train, FUTURISTIC: args.futuristic_train},
                             parse_runs(args.run), args.samples, args.limit, args.inception_weights, args.encoder,
                             args.encoder_generator, tuple(args.refine_steps), args.recon_limit, args.novelty_bank)
        print(markdown_table(result))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1))
    else:
        if not args.encoder:
            parser.error("showcase needs --encoder")
        print(showcase(args.generator, args.everyday, args.encoder, args.out, args.rows, args.seed, tests,
                       args.refine_steps, args.cell))


if __name__ == "__main__":
    main()
