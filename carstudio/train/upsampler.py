"""Train the paired car upsampler (issue 21's cascade: the 64-px SN-GAN's sample -> 128 px) on
render folders: each render at --resolution is the target, its area downsample by --scale with
random blur, noise, coloured checkerboard and colour speckle (carstudio.augment.degrade) the
input, the loss pixel L1. Accelerate: one process, or data parallel.

    python -m carstudio.train.upsampler \\
        --data data/eval/side-everyday-train-128 data/eval/side-futuristic-train-128 \\
        --val-data data/eval/side-everyday-test-128 data/eval/side-futuristic-test-128 \\
        --out runs/upsampler-side-128 --steps 440 --export weights/upsampler-side-128
    ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2 --num_machines 1 \\
        --mixed_precision no --dynamo_backend no -m carstudio.train.upsampler --data ... --out ...

On a GPU host the same command trains 128 -> 256 with `--resolution 256` on 256-px renders
(scale 2), or 64 -> 256 with `--scale 4`. The budget is --steps; every step each process sees
--batch-size renders (the log and the card count images seen over all processes).

The run folder holds options.json, checkpoints/step_NNNNNNN/ (a restart with the same --out
resumes from the latest complete one), samples/step_NNNNNNN.png every --sample-every steps
(rows: fixed held-out renders; columns: degraded input enlarged by nearest neighbour | bilinear
upsample | model | render), history.jsonl (L1, PSNR and SSIM of the model and of the bilinear
upsample on --val-count fixed held-out pairs) and, at the end, upsampler/. --export writes it
with a model card. No adversarial term: pixel L1 alone made clean shaded 128-px cars within
~7,000 images in the paired trial (../shared/notes/quality.md), where a naive PatchGAN added
plaid.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from carstudio.augment.degrade import DegradeOptions, degrade
from carstudio.cards import data_summary, licence_table
from carstudio.checkpoints import name_checkpoint_contents
from carstudio.data.cars import FAL, GPL
from carstudio.data.loading import load_images, to_float
from carstudio.hub import write_model_card
from carstudio.imaging import grid, tensor_to_pil
from carstudio.metrics.image import psnr, ssim
from carstudio.models.upsampler import CarUpsampler, bilinear_upsample
from carstudio.train import runs
from carstudio.train.runs import RunConfig

UPSAMPLER = "upsampler"
HISTORY = "history.jsonl"


@dataclass
class UpsamplerHyperparameters:
    # model
    resolution: int = 128  # output side: renders are loaded (resized if needed) at this size
    scale: int = 2
    widths: tuple[int, ...] = (16, 32, 64, 128)
    up_width: int = 16
    # optimisation
    steps: int = 440  # x batch 16 = 7,040 images: the paired trial's budget
    batch_size: int = 16  # per process
    lr: float = 5e-4
    beta1: float = 0.9
    beta2: float = 0.99
    flip_prob: float = 0.5
    val_count: int = 64  # fixed held-out pairs scored at every sample grid


@dataclass
class UpsamplerTrainOptions(runs.BookkeepingOptions, UpsamplerHyperparameters, DegradeOptions):
    """The degradations, the hyperparameters, then the bookkeeping (see runs.BookkeepingOptions)."""

    sample_every: int = 100
    sample_count: int = 8  # rows of the sample grid (spread over the val_count pairs)
    checkpoint_every: int = 100


@dataclass
class TrainState(runs.TrainState):
    images_seen: int = 0  # renders through the model, all processes
    last: dict = field(default_factory=dict)  # the latest scores on the held-out pairs
    held_out_pairs: int = 0  # how many pairs they were scored on


# --- data ------------------------------------------------------------------------------------
def training_pairs(images: torch.Tensor, o: UpsamplerTrainOptions, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 renders -> (degraded low-resolution inputs, targets in [-1, 1]), flipped at random."""
    target = to_float(images)
    flip = torch.rand(target.shape[0], generator=g) < o.flip_prob
    target = torch.where(flip.to(target.device)[:, None, None, None], target.flip(-1), target)
    return degrade(target, o.scale, o, g), target


def spread(count: int, total: int) -> torch.Tensor:
    """`count` indices spread evenly over range(total) (all of them when count >= total), so that
    every one of several folders loaded one after the other has its share."""
    return torch.linspace(0, total - 1, min(count, total)).round().long().unique()


def held_out_pairs(run: RunConfig, o: UpsamplerTrainOptions) -> tuple[torch.Tensor, torch.Tensor]:
    """`val_count` renders spread over --val-data (over --data without it), degraded once with a
    fixed seed: the same inputs at every evaluation and in every grid."""
    images = load_images(run.val_data or run.data, o.resolution)
    target = to_float(images[spread(o.val_count, len(images))])
    return degrade(target, o.scale, o, torch.Generator().manual_seed(o.seed + 12345)), target


# --- evaluation and samples ------------------------------------------------------------------
@torch.no_grad()
def upsample(model: CarUpsampler, inputs: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """The model's outputs (eval mode, then back to training mode) for low-resolution inputs."""
    was_training = model.training
    model.eval()
    outputs = [model(inputs[i : i + batch_size].to(model.device)).cpu() for i in range(0, len(inputs), batch_size)]
    model.train(was_training)
    return torch.cat(outputs)


def scores(output: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    return {"l1": float((output - target).abs().mean()), "psnr": psnr(output, target), "ssim": ssim(output, target)}


def evaluate(model: CarUpsampler, inputs: torch.Tensor, target: torch.Tensor, scale: int) -> dict[str, dict[str, float]]:
    """Scores of the model and of the bilinear upsample against the renders."""
    return {"model": scores(upsample(model, inputs), target), "bilinear": scores(bilinear_upsample(inputs, scale), target)}


def sample_grid(model: CarUpsampler, inputs: torch.Tensor, target: torch.Tensor, scale: int) -> Image.Image:
    """One row per pair: degraded input (nearest-neighbour enlarged, to show its pixels) |
    bilinear upsample | model | render."""
    columns = [F.interpolate(inputs, scale_factor=scale, mode="nearest"), bilinear_upsample(inputs, scale),
               upsample(model, inputs), target]
    pictures = [tensor_to_pil(c) for c in columns]
    return grid([list(row) for row in zip(*pictures)])


def after_evaluation(run: RunConfig, o: UpsamplerTrainOptions, state: TrainState, model: CarUpsampler,
                     pairs: tuple[torch.Tensor, torch.Tensor], say) -> None:
    """Main process: scores into the state, history.jsonl and the log; the sample grid."""
    inputs, target = pairs
    result = evaluate(model, inputs, target, o.scale)
    state.last, state.held_out_pairs = result, len(target)
    with open(run.out / HISTORY, "a") as f:
        f.write(json.dumps({"step": state.step, "images_seen": state.images_seen, **result}) + "\n")
    say(f"held-out step {state.step}: " + " | ".join(
        f"{name} L1 {s['l1']:.4f} PSNR {s['psnr']:.2f} SSIM {s['ssim']:.4f}" for name, s in result.items()))
    path = run.out / runs.SAMPLES / f"step_{state.step:07d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = spread(o.sample_count, len(target))
    sample_grid(model, inputs[rows], target[rows], o.scale).save(path)


# --- training --------------------------------------------------------------------------------
def build_model(o: UpsamplerTrainOptions) -> CarUpsampler:
    return CarUpsampler(scale=o.scale, widths=tuple(o.widths), up_width=o.up_width, resolution=o.resolution)


def train(run: RunConfig, o: UpsamplerTrainOptions, log=print) -> TrainState:
    """Train (or resume) into run.out; export at the end when run.export is set."""
    accelerator, say = runs.start_run(run, o, log)
    model = build_model(o).to(memory_format=torch.channels_last)  # seeded by start_run; bad configs fail here
    images = load_images(run.data, o.resolution)
    pairs = held_out_pairs(run, o) if accelerator.is_main_process else None
    say(f"{len(images)} training renders at {o.resolution} px, inputs at {o.resolution // o.scale} px")
    loader = DataLoader(TensorDataset(images), batch_size=o.batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(o.seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=o.lr, betas=(o.beta1, o.beta2))
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    name_checkpoint_contents(accelerator, {UPSAMPLER: model})
    if len(loader) == 0:
        raise ValueError(f"fewer renders per process than one batch ({o.batch_size})")
    state = runs.resume(accelerator, run.out, TrainState(), say)

    model.train()
    while state.step < o.steps:
        tick = time.perf_counter()
        for (batch,) in runs.batches_from(accelerator, loader, state.step):
            g = runs.step_generator(o.seed, state.step, accelerator.process_index)
            inputs, target = training_pairs(batch, o, g)
            output = model(inputs.contiguous(memory_format=torch.channels_last))
            loss = F.l1_loss(output, target)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            optimizer.step()
            state.step += 1
            state.images_seen += o.batch_size * accelerator.num_processes
            now = time.perf_counter()
            state.seconds += now - tick
            if state.step % o.log_every == 0:
                say(f"step {state.step}/{o.steps} l1 {loss.item():.4f} "
                    f"{state.images_seen / max(state.seconds, 1e-9):.1f} img/s {state.seconds / 60:.1f} min")
            if runs.due(state.step, o.sample_every, o.steps):
                if accelerator.is_main_process:
                    after_evaluation(run, o, state, accelerator.unwrap_model(model), pairs, say)
                accelerator.wait_for_everyone()
            if runs.due(state.step, o.checkpoint_every, o.steps):
                runs.save_checkpoint(accelerator, run.out, state, o.keep_checkpoints)
            tick = time.perf_counter()
            if state.step >= o.steps:
                break

    runs.finish_run(accelerator, run, {run.out / UPSAMPLER: model}, lambda: export(run, o, state, say))
    return state


# --- export ----------------------------------------------------------------------------------
def export(run: RunConfig, o: UpsamplerTrainOptions, state: TrainState, say=print) -> Path:
    """The trained upsampler (fp32 safetensors, ~2 MB) with a model card."""
    model = runs.export_weights(CarUpsampler, run.out / UPSAMPLER, run.export)
    params = sum(p.numel() for p in model.parameters())
    train_lines, train_cars = data_summary(run.data)
    val_lines, val_cars = data_summary(run.val_data)
    low = o.resolution // o.scale
    table = ["| upsampling | L1 ↓ | PSNR ↑ | SSIM ↑ |", "| --- | --- | --- | --- |"] + [
        f"| {name} | {s['l1']:.4f} | {s['psnr']:.2f} | {s['ssim']:.4f} |" for name, s in state.last.items()]
    write_model_card(run.export, "\n".join([
        f"# {run.export.name}: car upsampler ({low} -> {o.resolution} px)",
        "",
        f"`CarUpsampler` (U-Net widths {list(o.widths)} at {low} px, {int(o.scale).bit_length() - 1} resize-conv "
        f"stage(s) of width {o.up_width}, {params / 1e6:.2f} M parameters): a {low}-px car in [-1, 1] -> the same "
        f"car at {o.resolution} px, the bilinear upsample plus a learnt correction. Trained to enlarge the 64-px "
        "SN-GAN's samples: its inputs carry blur, noise, coloured checkerboard and colour speckle.",
        "",
        "## Training data and licences",
        "Renders made with `python -m carstudio.data render` from TORCS and Trigger Rally car models (Debian "
        "packages torcs-data and trigger-rally-data); the model is a derived work under the cars' licences "
        f"({FAL} or {GPL}):",
        *train_lines,
        "",
        "Held-out renders (scores below):",
        *(val_lines or ["- none: the scores below are on training renders"]),
        "",
        *licence_table(train_cars, val_cars),
        "",
        "## Training",
        "```",
        run.command or "python -m carstudio.train.upsampler ...",
        "```",
        f"{state.step} steps of batch {o.batch_size} per process ({state.images_seen} images seen); pixel L1, "
        f"Adam lr {o.lr} betas ({o.beta1}, {o.beta2}); inputs: area downsample, blur (p {o.blur_prob}, sigma <= "
        f"{o.blur_sigma_max}), noise (p {o.noise_prob}, std <= {o.noise_std_max}), checkerboard (p {o.checker_prob}, "
        f"amplitude <= {o.checker_amplitude_max}), speckle (p {o.speckle_prob}, density <= {o.speckle_density_max}). "
        f"Time on this machine ({run.threads} torch thread(s) per process): {state.seconds / 60:.0f} min.",
        "",
        f"## Scores on {state.held_out_pairs} fixed pairs (degraded inputs, seed {o.seed + 12345}) at step {state.step}",
        *(table if state.last else ["No evaluation was run."]),
    ]))
    say(f"exported {run.out / UPSAMPLER} -> {run.export}")
    return run.export


# --- command line ----------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> tuple[RunConfig, UpsamplerTrainOptions]:
    return runs.parse_render_run(__doc__, "carstudio.train.upsampler", UpsamplerTrainOptions, argv,
                                 val_help="held-out render folders (the fixed pairs of the grids and scores)")


def main(argv: list[str] | None = None) -> None:
    train(*parse_args(argv), log=runs.print_now)


if __name__ == "__main__":
    main()
