"""Train the evaluation network: render attributes (car, view, paint colour, background) from
renders of all cars, with held-out renders (other scene seeds) for accuracy per head.

    python -m carstudio.train.evalnet --data data/evalnet128-train --val-data data/evalnet128-val \\
        --out runs/evalnet-128 --export weights/evalnet-128 --threads 2

Its features are the project's yardstick (FD-ind, KID, precision/recall): this trainer imports
nothing from the other trainers, and no other trainer or loss may import the network (a unit
test checks both directions). Resumes from the run folder's latest checkpoint; scales to a GPU
host or several processes through `accelerate launch` with the same options.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from carstudio.data.attributes import ATTRIBUTES, VIEW_BINS, load_attribute_renders
from carstudio.cards import data_summary, licence_table
from carstudio.checkpoints import name_checkpoint_contents
from carstudio.data.cars import FAL, GPL
from carstudio.hub import write_model_card
from carstudio.models.evalnet import CarAttributeNet
from carstudio.train import runs
from carstudio.train.runs import RunConfig


@dataclass
class EvalNetTrainOptions:
    # model
    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks_per_stage: int = 1
    resolution: int = 128
    feature_stages: int = 2
    dropout: float = 0.1
    # optimisation
    steps: int = 800
    batch_size: int = 32  # per process
    lr: float = 2e-3
    weight_decay: float = 5e-4
    warmup_steps: int = 50
    label_smoothing: float = 0.1
    # augmentation: geometry only; colour is a label, and blur must stay visible to the features
    flip_prob: float = 0.5  # mirrors the view label too
    zoom: float = 0.12  # scale drawn from [1 - zoom, 1 + zoom]
    shift: float = 0.08  # fraction of the half-size
    # bookkeeping
    eval_every: int = 200
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    log_every: int = 25
    seed: int = 0


@dataclass
class TrainState(runs.TrainState):
    images_seen: int = 0
    history: list[dict] = field(default_factory=list)


def build_model(o: EvalNetTrainOptions) -> CarAttributeNet:
    return CarAttributeNet(resolution=o.resolution, widths=tuple(o.widths), blocks_per_stage=o.blocks_per_stage,
                           feature_stages=o.feature_stages, dropout=o.dropout)


def learning_rate(step: int, o: EvalNetTrainOptions) -> float:
    if step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    progress = (step - o.warmup_steps) / max(1, o.steps - o.warmup_steps)
    return o.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def mirrored_view(view: torch.Tensor) -> torch.Tensor:
    """The view class of a horizontally flipped render: azimuth a -> 360 - a."""
    return (VIEW_BINS - view) % VIEW_BINS


def augment(images: torch.Tensor, labels: dict[str, torch.Tensor], o: EvalNetTrainOptions,
            g: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """uint8 images -> floats in [-1, 1], randomly flipped (view label mirrored), zoomed and shifted."""
    x = images.float() / 127.5 - 1.0
    n = x.shape[0]
    flip = torch.rand(n, generator=g) < o.flip_prob
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    labels = {**labels, "view": torch.where(flip, mirrored_view(labels["view"]), labels["view"])}
    scale = 1.0 + (torch.rand(n, generator=g) * 2 - 1) * o.zoom
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * o.shift
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False), labels


def attribute_loss(logits: dict[str, torch.Tensor], labels: dict[str, torch.Tensor],
                   label_smoothing: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum over heads of the cross-entropy of each head's logits with its labels."""
    parts = {name: F.cross_entropy(logits[name], labels[name], label_smoothing=label_smoothing) for name in logits}
    return sum(parts.values()), {name: float(v.detach()) for name, v in parts.items()}


@torch.no_grad()
def accuracy(model: CarAttributeNet, images: torch.Tensor, labels: dict[str, torch.Tensor],
             batch_size: int = 128) -> dict[str, float]:
    """Top-1 accuracy per head on uint8 images (no augmentation)."""
    was_training = model.training
    model.eval()
    correct = {name: 0 for name in labels}
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].float() / 127.5 - 1.0
        logits = model(x)
        for name in labels:
            correct[name] += int((logits[name].argmax(1) == labels[name][start:start + batch_size]).sum())
    model.train(was_training)
    return {name: correct[name] / len(images) for name in labels}


def load_folders(roots: list[Path], size: int) -> tuple[torch.Tensor, dict[str, torch.Tensor], list[dict]]:
    parts = [load_attribute_renders(root, size) for root in roots]
    images = torch.cat([p[0] for p in parts])
    labels = {name: torch.cat([p[1][name] for p in parts]) for name in ATTRIBUTES}
    return images, labels, [r for p in parts for r in p[2]]


def train(run: RunConfig, o: EvalNetTrainOptions, log=print) -> TrainState:
    model = build_model(o).to(memory_format=torch.channels_last)
    accelerator, say = runs.start_run(run, o, log)
    images, labels, _ = load_folders(run.data, o.resolution)
    val = load_folders(run.val_data, o.resolution) if run.val_data else None
    say(f"{len(images)} training renders, {len(val[0]) if val else 0} validation renders")
    names = list(ATTRIBUTES)
    loader = DataLoader(TensorDataset(images, *(labels[k] for k in names)), batch_size=o.batch_size, shuffle=True,
                        drop_last=True, generator=torch.Generator().manual_seed(o.seed))
    optimizer = torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    name_checkpoint_contents(accelerator, {"evalnet": model})
    if len(loader) == 0:
        raise ValueError(f"fewer samples per process than one batch ({o.batch_size})")
    state = runs.resume(accelerator, run.out, TrainState(), say)

    model.train()
    while state.step < o.steps:
        batches = runs.batches_from(accelerator, loader, state.step)
        tick = time.perf_counter()
        for batch in batches:
            g = torch.Generator().manual_seed(o.seed * 1_000_003 + state.step * 101 + accelerator.process_index)
            x, target = augment(batch[0], dict(zip(names, batch[1:])), o, g)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(state.step, o)
            loss, per_head = attribute_loss(model(x.contiguous(memory_format=torch.channels_last)), target,
                                            o.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            optimizer.step()
            state.step += 1
            state.images_seen += len(x) * accelerator.num_processes
            now = time.perf_counter()
            state.seconds += now - tick
            tick = now
            if state.step % o.log_every == 0:
                say(f"step {state.step}/{o.steps} loss {loss.item():.3f} "
                    + " ".join(f"{k} {v:.3f}" for k, v in per_head.items())
                    + f" | {state.images_seen} images, {state.images_seen / max(state.seconds, 1e-9):.1f} img/s")
            if val is not None and runs.due(state.step, o.eval_every, o.steps) and accelerator.is_main_process:
                result = {"step": state.step, "images_seen": state.images_seen,
                          **accuracy(accelerator.unwrap_model(model), val[0], val[1])}
                state.history.append(result)
                say("val " + json.dumps(result))
                tick = time.perf_counter()
            if runs.due(state.step, o.checkpoint_every, o.steps):
                runs.save_checkpoint(accelerator, run.out, state, o.keep_checkpoints)
                tick = time.perf_counter()
            if state.step >= o.steps:
                break

    final = run.out / "final"
    runs.finish_run(accelerator, run, {final: model}, lambda: export(run, o, state, val, say))
    return state


def export(run: RunConfig, o: EvalNetTrainOptions, state: TrainState, val, say=print) -> Path:
    """The final model (fp32 safetensors, ~5 MB) with its accuracy per head and a model card."""
    model = CarAttributeNet.from_pretrained(run.out / "final")
    target = Path(run.export)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target, safe_serialization=True)
    metrics = {"held_out_accuracy": accuracy(model, val[0], val[1]) if val is not None else None,
               "images_seen": state.images_seen, "minutes": round(state.seconds / 60, 1),
               "history": state.history}
    (target / "metrics.json").write_text(json.dumps(metrics, indent=1))
    write_model_card(target, model_card(run, o, state, metrics, model, val))
    say(f"exported {run.out / 'final'} -> {target}")
    return target


def model_card(run: RunConfig, o: EvalNetTrainOptions, state: TrainState, metrics: dict,
               model: CarAttributeNet, val) -> str:
    params = sum(p.numel() for p in model.parameters())
    acc = metrics["held_out_accuracy"] or {}
    train_lines, train_cars = data_summary(run.data)
    val_lines, val_cars = data_summary(run.val_data)
    chance = {name: max(torch.bincount(val[1][name]).tolist()) / len(val[0]) for name in ATTRIBUTES} if val else {}
    lines = [
        f"# {Path(run.export).name}: the evaluation network (independent yardstick)",
        "",
        f"A ResNet classifier (widths {list(o.widths)}, {o.blocks_per_stage} residual block(s) per stage, "
        f"{params / 1e6:.2f} M parameters, inputs scaled to {o.resolution} px on the longer side) with one head per "
        "render attribute: car (26 catalogue cars), view (8 azimuth sectors), paint (black, grey, white or one of 8 "
        "hue sectors of the body's median colour), background (plain, gradient, ground). Its pooled features "
        f"(global means of the last {o.feature_stages} stages, {model.feature_dim} dimensions) define FD-ind, KID, "
        "precision/recall and density/coverage (`carstudio.metrics.independent`).",
        "",
        "No training loss, trainer or training-time module may use this network (a unit test enforces it): a "
        "generator scored in the space its loss optimises learns to fool that space.",
        "",
        "## Training data and licences",
        "Renders made with `python -m carstudio.data render` from the TORCS and Trigger Rally car models (Debian "
        f"packages torcs-data and trigger-rally-data); derived works under the cars' licences ({FAL} or {GPL}, "
        "per car below). All 26 cars are in the training renders (the car head needs them); the validation "
        "renders are other scenes (another seed) of the same cars, and the generators' held-out sets use other "
        "seeds again.",
        "",
        "Training renders:",
        *train_lines,
        "",
        "Validation renders:",
        *(val_lines or ["- none"]),
        "",
        *licence_table(train_cars, val_cars),
        "",
        "## Training",
        "```",
        run.command or "python -m carstudio.train.evalnet ...",
        "```",
        f"{state.step} steps of batch {o.batch_size} per process ({state.images_seen} images seen), AdamW lr {o.lr} "
        f"(warm-up {o.warmup_steps}, cosine decay), cross-entropy per head with label smoothing {o.label_smoothing}; "
        f"augmentation: flips (view label mirrored), zoom ±{o.zoom:.0%}, shift ±{o.shift:.0%}; no colour or blur "
        f"augmentation (colour is a label; blur must move the features). {state.seconds / 60:.0f} min on this "
        f"2-core CPU ({run.threads} thread(s)).",
        "",
        "## Accuracy per head on held-out scenes (the validation renders: other scenes of the same cars)",
        "| head | classes | accuracy | majority class |",
        "| --- | --- | --- | --- |",
        *(f"| {name} | {len(ATTRIBUTES[name])} | {acc.get(name, float('nan')):.3f} | {chance.get(name, float('nan')):.3f} |"
          for name in ATTRIBUTES),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> tuple[RunConfig, EvalNetTrainOptions]:
    return runs.parse_render_run(__doc__, "carstudio.train.evalnet", EvalNetTrainOptions, argv, val_help="render folders for accuracy per head")


def main(argv: list[str] | None = None) -> None:
    train(*parse_args(argv), log=runs.print_now)


if __name__ == "__main__":
    main()
