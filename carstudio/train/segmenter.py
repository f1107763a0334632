"""Train the part segmenter on render folders (Accelerate: one process, or data parallel).

    python -m carstudio.train.segmenter --data data/seg128-train --val-data data/seg128-test \\
        --out runs/segmenter-128 --export weights/segmenter-128
    accelerate launch -m carstudio.train.segmenter --data ... --out ...
    ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2 --num_machines 1 \\
        --mixed_precision no --dynamo_backend no -m carstudio.train.segmenter --data ... --out ...

The run folder holds options.json, checkpoints/step_NNNNNNN/ (accelerator.save_state every
--checkpoint-every steps; a restart with the same --out resumes from the latest complete one),
best/ (the model with the best validation mIoU) and history.jsonl. When the last step is done
(or --patience evaluations bring no gain) the best model is exported to --export with a model
card. Running the same command again after the end only re-exports.

`--inputs sketches` trains the sketch segmenter of the sketch-to-car tab (seed 004, section 3.2):
a 1-channel U-Net fed the renders' line sketches, most of them made to look hand drawn
(carstudio.data.sketch_augment: wobble, varying width, broken and missing strokes), with the
same geometric augmentation and no photometric one; validation scores plain and hand-drawn
held-out sketches.

Loss: class-weighted cross-entropy plus soft Dice. Background and body cover most pixels while
lights and "other" are a few percent; plain CE under-segments the small parts, and mIoU counts
every class equally. Dice optimises each class's overlap directly; CE (weights ~ frequency^-1/2,
damped so rare classes do not dominate) keeps the per-pixel gradients well-behaved early on.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from carstudio.cards import data_summary, licence_table
from carstudio.checkpoints import name_checkpoint_contents
from carstudio.data.cars import FAL, GPL
from carstudio.data.loading import RenderTensors, hand_drawn_val, load_renders
from carstudio.data.parts import NUM_PARTS, PART_NAMES
from carstudio.data.sketch_augment import hand_drawn
from carstudio.hub import checksum_lines
from carstudio.metrics.segmentation import confusion_matrix, iou_per_class, mean_iou
from carstudio.models.segmenter import PartSegmenter
from carstudio.train import runs
from carstudio.train.runs import RunConfig

BEST = "best"


@dataclass
class SegmenterTrainOptions:
    # model
    widths: tuple[int, ...] = (16, 32, 64, 128)
    feature_level: int = 2
    resolution: int = 128  # renders are loaded (resized if needed) at this square size
    inputs: str = "images"  # images (photos/paints, 3 channels) | sketches (line drawings, 1 channel)
    # optimisation
    steps: int = 6000
    batch_size: int = 16  # per process
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    dice_weight: float = 1.0
    class_weight_power: float = 0.5  # CE weight ~ pixel frequency^-power; 0: unweighted
    # input mix: renders' flat-colour paints (automatic painting) and line sketches
    paint_prob: float = 0.1
    sketch_prob: float = 0.05
    hand_drawn_prob: float = 0.8  # --inputs sketches: share of sketches made to look hand drawn
    # augmentation
    flip_prob: float = 0.5
    zoom_min: float = 0.7  # < 1 zooms out (car smaller, edges replicated)
    zoom_max: float = 1.4  # > 1 zooms in (crops the car)
    shift: float = 0.15  # max translation, fraction of the half-size
    rotate_degrees: float = 6.0
    jitter: float = 0.3  # strength of brightness/contrast/saturation/colour-cast/hue jitter
    blur_prob: float = 0.25
    blur_sigma_max: float = 1.2
    gray_prob: float = 0.1
    noise_prob: float = 0.3
    noise_std_max: float = 0.04
    # bookkeeping
    eval_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    patience: int = 0  # stop after this many evaluations without a better mIoU; 0: never
    log_every: int = 50
    seed: int = 0


# --- data ------------------------------------------------------------------------------------
def class_weights(parts: torch.Tensor, power: float) -> torch.Tensor:
    """CE weights ~ frequency^-power, normalised to a pixel-average of 1, capped at 10x."""
    freq = torch.bincount(parts.flatten().long(), minlength=NUM_PARTS).double()
    freq = (freq / freq.sum()).clamp_min(1e-4)
    weights = freq.pow(-power)
    weights = weights / (weights * freq).sum()
    return weights.clamp(max=10.0).float()


# --- augmentation ----------------------------------------------------------------------------
def _uniform(n: int, low: float, high: float, g: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=g)


def _rgb_to_yiq() -> torch.Tensor:
    return torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


class Augment:
    """Batch augmentation so that renders look like what users upload (photos, paintings, scans):
    the same random flip/zoom/shift/rotation warps image and part map (labels by nearest
    neighbour), then colour jitter, blur, grayscale and noise touch the image only."""

    def __init__(self, o: SegmenterTrainOptions):
        self.o = o

    def __call__(self, images: torch.Tensor, parts: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        images, parts = self.warp(images, parts, g)
        return self.photometric(images, g), parts

    def warp(self, images: torch.Tensor, parts: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        o, n = self.o, images.shape[0]
        zoom = torch.exp(_uniform(n, math.log(o.zoom_min), math.log(o.zoom_max), g))
        angle = torch.deg2rad(_uniform(n, -o.rotate_degrees, o.rotate_degrees, g))
        flip = torch.where(torch.rand(n, generator=g) < o.flip_prob, -1.0, 1.0)
        tx, ty = _uniform(n, -o.shift, o.shift, g), _uniform(n, -o.shift, o.shift, g)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        # theta maps output coordinates to input coordinates; flipping negates the input x
        theta = torch.stack([torch.stack([cos * flip, -sin * flip, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
        parts = F.grid_sample(parts[:, None].float(), grid, mode="nearest", padding_mode="border", align_corners=False)
        return images, parts[:, 0].round().long()

    def photometric(self, images: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        o, n = self.o, images.shape[0]
        j = o.jitter
        rgb = (images + 1.0) / 2.0
        yiq = torch.einsum("ij,bjhw->bihw", _rgb_to_yiq(), rgb)
        # hue rotates and saturation scales the chroma plane (I, Q)
        hue = _uniform(n, -math.pi * j, math.pi * j, g)
        sat = _uniform(n, 1 - j * 1.5, 1 + j, g).clamp_min(0)
        cos, sin = torch.cos(hue) * sat, torch.sin(hue) * sat
        i, q = yiq[:, 1], yiq[:, 2]
        c, s = cos[:, None, None], sin[:, None, None]
        yiq = torch.stack([yiq[:, 0], c * i - s * q, s * i + c * q], 1)
        rgb = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_rgb_to_yiq()), yiq)
        gain = 1 + _uniform(n * 3, -j / 3, j / 3, g).view(n, 3, 1, 1)  # colour cast
        contrast = _uniform(n, 1 - j, 1 + j, g).view(n, 1, 1, 1)
        brightness = _uniform(n, -j / 2, j / 2, g).view(n, 1, 1, 1)
        mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
        rgb = ((rgb * gain - mean) * contrast + mean + brightness).clamp(0, 1)
        gray = torch.rand(n, generator=g) < o.gray_prob
        luma = (rgb * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        rgb = torch.where(gray.view(n, 1, 1, 1), luma.expand_as(rgb), rgb)
        rgb = self.blur(rgb, g)
        noisy = (torch.rand(n, generator=g) < o.noise_prob).float().view(n, 1, 1, 1)
        std = _uniform(n, 0, o.noise_std_max, g).view(n, 1, 1, 1)
        rgb = rgb + noisy * std * torch.randn(rgb.shape, generator=g)
        return (rgb.clamp(0, 1) * 2.0 - 1.0).contiguous()

    def blur(self, rgb: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        chosen = torch.rand(rgb.shape[0], generator=g) < self.o.blur_prob
        sigmas = _uniform(rgb.shape[0], 0.3, self.o.blur_sigma_max, g)
        out = rgb.clone()
        offsets = torch.arange(-3, 4, dtype=rgb.dtype)
        for b in torch.nonzero(chosen).flatten().tolist():
            k = torch.exp(-0.5 * (offsets / sigmas[b]) ** 2)
            k = (k / k.sum()).to(rgb)
            x = F.pad(rgb[b : b + 1], (3, 3, 3, 3), mode="replicate")
            x = F.conv2d(x, k.view(1, 1, 1, 7).expand(3, 1, 1, 7).contiguous(), groups=3)
            out[b : b + 1] = F.conv2d(x, k.view(1, 1, 7, 1).expand(3, 1, 7, 1).contiguous(), groups=3)
        return out


def sketch_inputs(sketches: torch.Tensor, o: SegmenterTrainOptions, g: torch.Generator) -> torch.Tensor:
    """uint8 (B, 1, H, W) render sketches -> float [-1, 1], a `hand_drawn_prob` share hand drawn."""
    x = sketches.float() / 127.5 - 1.0
    drawn = (torch.rand(x.shape[0], generator=g) < o.hand_drawn_prob).view(-1, 1, 1, 1)
    return torch.where(drawn, hand_drawn(x, generator=g), x)


def choose_inputs(
    images: torch.Tensor, paints: torch.Tensor | None, sketches: torch.Tensor | None,
    o: SegmenterTrainOptions, g: torch.Generator,
) -> torch.Tensor:
    """Per sample: the render, or (with paint_prob / sketch_prob) its paint or its sketch; uint8
    in, float [-1, 1] out."""
    u = torch.rand(images.shape[0], generator=g).view(-1, 1, 1, 1)
    x = images
    if sketches is not None and o.sketch_prob > 0:
        x = torch.where(u < o.sketch_prob, sketches.expand_as(images), x)
    if paints is not None and o.paint_prob > 0:
        x = torch.where((u >= o.sketch_prob) & (u < o.sketch_prob + o.paint_prob), paints, x)
    return x.float() / 127.5 - 1.0


# --- loss, schedule, evaluation --------------------------------------------------------------
def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - mean over classes of (2|P∩T| + 1) / (|P| + |T| + 1), with softmax probabilities."""
    probs = logits.softmax(1)
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probs)
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    total = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    return 1.0 - ((2 * inter + 1.0) / (total + 1.0)).mean()


def segmentation_loss(
    logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, dice_weight: float
) -> tuple[torch.Tensor, dict[str, float]]:
    ce = F.cross_entropy(logits, target, weight=weights.to(logits))
    dice = soft_dice_loss(logits, target) if dice_weight > 0 else torch.zeros((), device=logits.device)
    return ce + dice_weight * dice, {"ce": ce.item(), "dice": dice.item()}


def learning_rate(step: int, o: SegmenterTrainOptions) -> float:
    """Linear warm-up, then cosine decay to 1% of lr at the last step."""
    if step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    progress = min(1.0, (step - o.warmup_steps) / max(1, o.steps - o.warmup_steps))
    return o.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def confusion_on(model: PartSegmenter, inputs: torch.Tensor, parts: torch.Tensor, batch_size: int = 64) -> np.ndarray:
    """Confusion matrix of `model` (eval mode) on uint8 inputs (N, C, H, W), 1-channel expanded."""
    was_training = model.training
    model.eval()
    param = next(model.parameters())
    conf = np.zeros((NUM_PARTS, NUM_PARTS), dtype=np.int64)
    for start in range(0, len(inputs), batch_size):
        x = inputs[start : start + batch_size].float() / 127.5 - 1.0
        x = x.expand(-1, model.config.in_channels, -1, -1).to(param).contiguous(memory_format=torch.channels_last)
        pred = model(x).argmax(1).cpu()
        conf += confusion_matrix(pred, parts[start : start + batch_size], NUM_PARTS)
    model.train(was_training)
    return conf


def scores(conf: np.ndarray) -> dict:
    iou = iou_per_class(conf)
    return {"miou": mean_iou(conf), "iou": {name: (None if np.isnan(v) else float(v)) for name, v in zip(PART_NAMES, iou)}}


# --- run state -------------------------------------------------------------------------------
@dataclass
class TrainState(runs.TrainState):
    best_miou: float = -1.0
    best_step: int = 0
    evals_without_gain: int = 0
    stopped_early: bool = False
    history: list[dict] = field(default_factory=list)


# --- training --------------------------------------------------------------------------------
INPUT_KINDS = ("images", "sketches")


def build_model(o: SegmenterTrainOptions) -> PartSegmenter:
    if o.inputs not in INPUT_KINDS:
        raise ValueError(f"--inputs must be one of {INPUT_KINDS}, got {o.inputs!r}")
    return PartSegmenter(in_channels=1 if o.inputs == "sketches" else 3, widths=tuple(o.widths),
                         feature_level=o.feature_level, resolution=o.resolution)


def validation_inputs(val: RenderTensors, o: SegmenterTrainOptions) -> dict[str, torch.Tensor]:
    """The held-out inputs scored at validation and export, by name; the first one picks the best model."""
    if o.inputs == "sketches":
        return {"hand-drawn sketch": val.hand_drawn, "sketch": val.sketches}
    return {"image": val.images, "paint": val.paints, "sketch": val.sketches}


def train(run: RunConfig, o: SegmenterTrainOptions, log=print) -> TrainState:
    """Train (or resume) into run.out; export at the end when run.export is set."""
    model = build_model(o).to(memory_format=torch.channels_last)  # bad configs fail before loading data
    accelerator, say = runs.start_run(run, o, log)
    on_sketches = o.inputs == "sketches"
    data = load_renders(run.data, o.resolution, paints=o.paint_prob > 0 and not on_sketches,
                        sketches=o.sketch_prob > 0 or on_sketches)
    val = load_renders(run.val_data, o.resolution, paints=True, sketches=True) if run.val_data else None
    if val is not None:
        val.hand_drawn = hand_drawn_val(val.sketches, o.seed)
    weights = class_weights(data.parts, o.class_weight_power)
    say(f"{len(data)} training samples, {len(val) if val else 0} validation samples; "
        f"CE weights {[round(w, 2) for w in weights.tolist()]}")
    columns = [data.images, data.parts] + [c for c in (data.paints, data.sketches) if c is not None]
    loader = DataLoader(TensorDataset(*columns), batch_size=o.batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(o.seed))

    optimizer = torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    name_checkpoint_contents(accelerator, {"segmenter": model})
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise ValueError(f"fewer samples per process than one batch ({o.batch_size})")

    state = runs.resume(accelerator, run.out, TrainState(), say)

    augment = Augment(o)
    model.train()
    while state.step < o.steps and not state.stopped_early:
        epoch, offset = divmod(state.step, steps_per_epoch)
        loader.set_epoch(epoch)
        batches = accelerator.skip_first_batches(loader, offset) if offset else loader
        tick = time.perf_counter()
        for batch in batches:
            g = runs.step_generator(o.seed, state.step, accelerator.process_index)
            images, parts = batch[0], batch[1]
            paints = batch[2] if data.paints is not None else None
            sketches = batch[-1] if data.sketches is not None else None
            if on_sketches:
                x, target = augment.warp(sketch_inputs(sketches, o, g), parts.long(), g)
            else:
                x, target = augment(choose_inputs(images, paints, sketches, o, g), parts.long(), g)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(state.step, o)
            logits = model(x.contiguous(memory_format=torch.channels_last))
            loss, parts_of_loss = segmentation_loss(logits, target, weights, o.dice_weight)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            optimizer.step()
            state.step += 1
            now = time.perf_counter()
            state.seconds += now - tick
            tick = now
            if state.step % o.log_every == 0:
                say(f"step {state.step}/{o.steps} loss {loss.item():.4f} ce {parts_of_loss['ce']:.4f} "
                    f"dice {parts_of_loss['dice']:.4f} lr {learning_rate(state.step - 1, o):.2e} "
                    f"{state.seconds / 60:.1f} min")
            if val is not None and runs.due(state.step, o.eval_every, o.steps):
                validate(accelerator, model, val, run.out, state, o, say)
                tick = time.perf_counter()
            if runs.due(state.step, o.checkpoint_every, o.steps) or state.stopped_early:
                runs.save_checkpoint(accelerator, run.out, state, o.keep_checkpoints)
                tick = time.perf_counter()
            if state.step >= o.steps or state.stopped_early:
                break

    # without validation data (no best/ yet) the last weights are the result
    models = {} if (run.out / BEST).is_dir() else {run.out / BEST: model}
    runs.finish_run(accelerator, run, models, lambda: export(run, o, state, val, say))
    return state


def validate(accelerator, model, val: RenderTensors, run_dir: Path, state: TrainState,
             o: SegmenterTrainOptions, say) -> None:
    """Every process scores its share of the held-out set; confusion matrices are summed."""
    net = accelerator.unwrap_model(model)
    rank, world = accelerator.process_index, accelerator.num_processes
    inputs = next(iter(validation_inputs(val, o).values()))
    conf = confusion_on(net, inputs[rank::world], val.parts[rank::world])
    conf = accelerator.reduce(torch.from_numpy(conf), reduction="sum").numpy()
    result = {"step": state.step, "minutes": round(state.seconds / 60, 2), **scores(conf)}
    state.history.append(result)
    improved = result["miou"] > state.best_miou
    if improved:
        state.best_miou, state.best_step, state.evals_without_gain = result["miou"], state.step, 0
    else:
        state.evals_without_gain += 1
        state.stopped_early = o.patience > 0 and state.evals_without_gain >= o.patience
    if accelerator.is_main_process:
        if improved:
            net.save_pretrained(run_dir / BEST)
        with open(run_dir / "history.jsonl", "a") as f:
            f.write(json.dumps(result) + "\n")
        per_class = " ".join(f"{k} {v:.3f}" for k, v in result["iou"].items() if v is not None)
        say(f"val step {state.step}: mIoU {result['miou']:.4f} ({per_class})"
            + (" best" if improved else "") + (" - stopping, no gain" if state.stopped_early else ""))
    accelerator.wait_for_everyone()


# --- export ----------------------------------------------------------------------------------
def export(run: RunConfig, o: SegmenterTrainOptions, state: TrainState, val: RenderTensors | None, say=print) -> Path:
    """Copy the best model to run.export (fp32 safetensors, ~2 MB) with a model card."""
    model = PartSegmenter.from_pretrained(run.out / BEST)
    target = run.export
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target, safe_serialization=True)
    evaluation = None
    if val is not None:
        evaluation = {name: scores(confusion_on(model, inputs, val.parts))
                      for name, inputs in validation_inputs(val, o).items()}
        (target / "metrics.json").write_text(json.dumps(evaluation, indent=1))
    (target / "README.md").write_text(model_card(run, o, state, evaluation, target))
    say(f"exported {run.out / BEST} -> {target}")
    return target


def _iou_table(evaluation: dict) -> list[str]:
    kinds = list(evaluation)
    lines = ["| class | " + " | ".join(f"IoU ({k} input)" for k in kinds) + " |",
             "| --- |" + " --- |" * len(kinds)]
    for name in PART_NAMES:
        cells = [evaluation[k]["iou"][name] for k in kinds]
        lines.append(f"| {name} | " + " | ".join("-" if v is None else f"{v:.3f}" for v in cells) + " |")
    lines.append("| **mIoU** | " + " | ".join(f"**{evaluation[k]['miou']:.3f}**" for k in kinds) + " |")
    return lines


def model_card(run: RunConfig, o: SegmenterTrainOptions, state: TrainState, evaluation: dict | None,
               directory: Path) -> str:
    params = sum(p.numel() for p in PartSegmenter.from_pretrained(directory).parameters())
    sketch_model = o.inputs == "sketches"
    train_lines, train_cars = data_summary(run.data)
    val_lines, val_cars = data_summary(run.val_data)
    lines = [
        f"# {directory.name}: car part segmenter",
        "",
        f"A {len(o.widths)}-level U-Net (widths {list(o.widths)}, {params / 1e6:.2f} M parameters) that maps a car "
        + ("line sketch (1 channel, lines dark on white) in [-1, 1]" if sketch_model else "image in [-1, 1]")
        + f" to per-pixel logits over the parts {', '.join(PART_NAMES)} "
        "(ids from `carstudio/data/parts.py`). Load with "
        + ("`carstudio.pipelines.sketch.SketchToCarPipeline` (its sketch segmenter)." if sketch_model else
           f"`carstudio.pipelines.segmenter.SegmenterPipeline.from_pretrained(\"{directory.name}\")`."),
        f"`PartSegmenter.features(x)` (encoder level {o.feature_level}) is the feature space of the project's "
        "offline Fréchet distance (\"FD-seg\", not comparable to FID) and of SIFID.",
        "",
        "## Training data and licences",
        "Renders made with `python -m carstudio.data render` from TORCS and Trigger Rally car models "
        "(Debian packages torcs-data and trigger-rally-data). The renders are derived works of the "
        f"models and follow their licences: {FAL} or {GPL}, per car below. The held-out "
        "cars were never seen in training.",
        "",
        "Training renders:",
        *train_lines,
        "",
        "Held-out renders:",
        *(val_lines or ["- none"]),
        "",
        *licence_table(train_cars, val_cars),
        "",
        "## Training",
        "```",
        run.command or "python -m carstudio.train.segmenter ...",
        "```",
        f"{state.step} steps of batch {o.batch_size} per process, AdamW lr {o.lr} (warm-up {o.warmup_steps}, "
        f"cosine decay), class-weighted cross-entropy + soft Dice, "
        + (f"render sketches, {o.hand_drawn_prob:.0%} of them made to look hand drawn (wobble, varying width, "
           "broken and missing strokes), flips/zoom/shift/rotation. " if sketch_model else
           f"flips/zoom/shift/rotation/colour jitter/blur/grayscale/noise, {o.paint_prob:.0%} paint and "
           f"{o.sketch_prob:.0%} sketch inputs. ")
        + 
        f"Time on this machine (2-core CPU, {run.threads} torch thread(s)): {state.seconds / 60:.0f} min. "
        f"Best validation mIoU at step {state.best_step}.",
        "",
        "## Evaluation on held-out cars",
    ]
    if evaluation:
        lines += _iou_table(evaluation)
        lines += ["", "IoU per class on the held-out render set; mIoU averages the classes present. "
                  + ("\"hand-drawn sketch\" feeds the held-out sketches through the same hand-drawn augmentation "
                     "(fixed seed); \"sketch\" the clean render sketches." if sketch_model else
                     "\"paint\" and \"sketch\" feed the renders' flat-colour paintings and line sketches instead "
                     "of the images.")]
    else:
        lines.append("No held-out set was given.")
    lines += ["", "## Files", checksum_lines(directory), ""]
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> tuple[RunConfig, SegmenterTrainOptions]:
    return runs.parse_render_run(__doc__, "carstudio.train.segmenter", SegmenterTrainOptions, argv, val_help="held-out render folders (mIoU)")


def main(argv: list[str] | None = None) -> None:
    train(*parse_args(argv), log=runs.print_now)


if __name__ == "__main__":
    main()
