"""Train SSGAN (seed 004) or the plain SPADE/GauGAN baseline on render folders (Accelerate).

    python -m carstudio.train.ssgan --data data/seg64-train --out runs/ssgan-64 --model ssgan \\
        --sketch-segmenter weights/sketchseg-64 --export weights/ssgan-64
    accelerate launch -m carstudio.train.ssgan --data ... --out runs/spade-64 --model spade ...

Each step: the render's sketch is made to look hand drawn (carstudio.data.sketch_augment), the
frozen sketch segmenter (a PartSegmenter, 1- or 3-channel input) turns it into the semantic mask
M0 (`--mask-source gt` uses the true part map instead), the generator maps (M0, z) to an image,
and the multiscale discriminator judges (image, M0). Losses (seed eqs. 6-7, section 4.1.3):
D hinge; G hinge + lambda_fm * feature matching + lambda_perceptual * perceptual, both 10; Adam
lr 2e-4, betas (0, 0.999), for G and D. For the layout tab's SPADE renderer (issue 7) SPADE's own
options: `--ttur true` (G lr / 2, D lr * 2, with `--beta2 0.9`) and `--style-encoder true` (the
VAE: z is encoded from the real image, plus lambda_kl * KL, 0.05 as in SPADE). The perceptual features are VGG19 when
--vgg-weights FILE is given, else the frozen part segmenter named by --perceptual-segmenter
(default the shipped segmenter-128), else pixel L1 ('' for both); options.json records which.

Colour (issue 19): `--palette-bank K` (K > 0) makes the generator palette-conditioned: each
training pair's palette (the mean colour of each part of the render, measured through its true
part map) is painted through M0 and given to every SPADE layer and to D beside the masks, and K
training palettes are stored in the generator for style seeds to draw from; `--lambda-l1` adds
pixel L1 to G's loss (pix2pix), `--ema-decay` keeps an EMA of G (samples and export use it), and
`--val-data` takes the sample grids' fixed inputs from held-out render folders. The defaults
(0, 0, 0, none) are the seed's objective and today's 64-px models.

The run folder holds options.json, checkpoints/step_NNNNNNN/ (accelerator.save_state; a
restart with the same --out resumes from the latest complete one), samples/step_NNNNNNN.png
(sketch | mask | [paint |] generated | render rows) and history.jsonl; at the end the generator is saved
to out/generator and, with --export, to that folder with a model card.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from carstudio.cards import data_summary, licence_table
from carstudio.checkpoints import name_checkpoint_contents
from carstudio.data.cars import FAL, GPL
from carstudio.data.loading import load_renders
from carstudio.data.palette import fill_absent, paint, palette_bank, part_palette
from carstudio.data.parts import NUM_PARTS, colorize
from carstudio.data.sketch_augment import hand_drawn
from carstudio.hub import write_model_card
from carstudio.losses.adversarial import d_hinge, g_hinge
from carstudio.losses.kl import kl_divergence
from carstudio.losses.masks import intermediate_mask_bce
from carstudio.losses.matching import PerceptualFeatures, feature_matching, perceptual_loss
from carstudio.models.segmenter import PartSegmenter
from carstudio.models.ssgan import (
    MultiscaleDiscriminator,
    SPADEGenerator,
    SSGANGenerator,
    StyleEncoder,
    one_hot_masks,
    reparameterize,
)
from carstudio.train import runs
from carstudio.train.ema import ema_update
from carstudio.train.frozen import load_segmenter, perceptual_features
from carstudio.train.runs import RunConfig, TrainState

GENERATOR = "generator"
GENERATOR_EMA = "generator_ema"
STYLE_ENCODER = "style_encoder"
MODELS = ("ssgan", "spade")
MASK_SOURCES = ("predicted", "gt")
TITLES = {"ssgan": "SSGAN (seed 004, SPADE layers + Semantic Fusion Module)",
          "spade": "SPADE (GauGAN: the sketch tab's baseline; with its style encoder, the layout tab's renderer)"}


@dataclass
class SSGANHyperparameters:
    model: str = "ssgan"  # ssgan | spade (the GauGAN baseline)
    # generator / discriminator
    resolution: int = 64
    z_dim: int = 64
    widths: tuple[int, ...] = (256, 128, 64, 32)
    sfm_channels: int = 32
    spade_hidden: int = 64
    d_widths: tuple[int, ...] = (64, 128, 256)
    d_scales: int = 2
    d_blur: bool = False  # binomial blur before D's strided convs (against G's plaid texture)
    # inputs
    mask_source: str = "predicted"  # predicted (sketch segmenter on the sketch) | gt (true part map)
    sketch_segmenter: str = ""  # folder or weights name of a PartSegmenter; needed for predicted
    hand_drawn_prob: float = 0.8  # share of sketches made to look hand drawn before segmentation
    flip_prob: float = 0.5
    # objective and optimisation (seed 004, 4.1.3)
    lambda_fm: float = 10.0
    lambda_perceptual: float = 10.0
    vgg_weights: str = ""  # VGG19 state dict file; '' -> the segmenter fallback
    perceptual_segmenter: str = "segmenter-128"  # folder or weights name; '' (and no VGG) -> pixel L1
    lr: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.999
    ttur: bool = False  # SPADE's two time-scale update rule: G lr / 2, D lr * 2
    style_encoder: bool = False  # SPADE's VAE: z encoded from the real image during training
    encoder_widths: tuple[int, ...] = (32, 64, 128, 128)
    lambda_kl: float = 0.05
    # colour (issue 19); the defaults keep the seed's objective
    palette_bank: int = 0  # > 0: palette-conditioned G and D; this many training palettes stored for style seeds
    paint_residual: bool = False  # palette models: G's RGB head corrects the flat paint instead of drawing from nothing
    lambda_l1: float = 0.0  # pixel L1 (pix2pix) in G's loss
    lambda_mask: float = 0.0  # SSGAN: BCE of the SFM's ToMask outputs m_i against the true part masks
    ema_decay: float = 0.0  # > 0: EMA of G (samples and export use it)
    ema_start: int = 1000  # the EMA is a plain copy before this step
    steps: int = 20000
    batch_size: int = 8  # per process


@dataclass
class SSGANTrainOptions(runs.BookkeepingOptions, SSGANHyperparameters):
    """The hyperparameters, then the bookkeeping options (see runs.BookkeepingOptions for the order)."""

    sample_count: int = 4


# --- building blocks -------------------------------------------------------------------------
def check_options(o: SSGANTrainOptions) -> None:
    if o.model not in MODELS:
        raise ValueError(f"--model must be one of {MODELS}, got {o.model!r}")
    if o.mask_source not in MASK_SOURCES:
        raise ValueError(f"--mask-source must be one of {MASK_SOURCES}, got {o.mask_source!r}")
    if o.mask_source == "predicted" and not o.sketch_segmenter:
        raise ValueError("--mask-source predicted needs --sketch-segmenter (or use --mask-source gt)")
    if o.palette_bank < 0 or o.lambda_l1 < 0 or o.lambda_mask < 0 or not 0 <= o.ema_decay < 1:
        raise ValueError("--palette-bank, --lambda-l1 and --lambda-mask must be >= 0 and --ema-decay in [0, 1)")


def build_generator(o: SSGANTrainOptions) -> SSGANGenerator | SPADEGenerator:
    common = dict(z_dim=o.z_dim, widths=tuple(o.widths), resolution=o.resolution, spade_hidden=o.spade_hidden,
                  palette_bank=o.palette_bank, paint_residual=o.paint_residual)
    if o.model == "ssgan":
        return SSGANGenerator(sfm_channels=o.sfm_channels, **common)
    return SPADEGenerator(**common)


def build_discriminator(o: SSGANTrainOptions) -> MultiscaleDiscriminator:
    """Palette models' D sees the paint beside the masks (3 more condition channels), so it can
    tell a car of the wrong colour for its palette."""
    extra = 3 if o.palette_bank else 0
    return MultiscaleDiscriminator(num_classes=NUM_PARTS + extra, widths=tuple(o.d_widths), num_scales=o.d_scales,
                                   blur_downsample=o.d_blur)


def build_style_encoder(o: SSGANTrainOptions) -> StyleEncoder | None:
    if not o.style_encoder:
        return None
    return StyleEncoder(z_dim=o.z_dim, widths=tuple(o.encoder_widths), resolution=o.resolution)


def learning_rates(o: SSGANTrainOptions) -> tuple[float, float]:
    """(G lr, D lr): SPADE's TTUR halves G's and doubles D's."""
    return (o.lr / 2, o.lr * 2) if o.ttur else (o.lr, o.lr)


def build_perceptual(o: SSGANTrainOptions) -> PerceptualFeatures:
    if o.lambda_perceptual == 0:
        return PerceptualFeatures.build()  # unused: no network to load
    return perceptual_features(o.vgg_weights, o.perceptual_segmenter)


@torch.no_grad()
def predict_masks(segmenter: PartSegmenter, sketches: torch.Tensor) -> torch.Tensor:
    """Sketches (B, 1, H, W) in [-1, 1] -> one-hot predicted part masks (B, C, H, W)."""
    x = sketches.expand(-1, segmenter.config.in_channels, -1, -1)
    return one_hot_masks(segmenter(x.to(next(segmenter.parameters()))).argmax(1), segmenter.config.num_classes)


@dataclass
class Batch:
    real: torch.Tensor  # (B, 3, R, R) in [-1, 1]
    masks: torch.Tensor  # M0 (B, C, R, R)
    true_masks: torch.Tensor  # the render's own part map, one-hot (B, C, R, R)
    sketches: torch.Tensor  # (B, 1, R, R) as the segmenter saw them
    palettes: torch.Tensor | None = None  # (B, C, 3), palette models only

    def condition(self) -> torch.Tensor:
        """What D sees beside the image: the masks, and the paint for palette models."""
        return self.masks if self.palettes is None else torch.cat([self.masks, paint(self.masks, self.palettes)], 1)


def batch_palettes(images: torch.Tensor, parts: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """Each render's palette through its true part map; a part it does not show takes the
    bank's mean colour, so a predicted mask that has that part still gets a plausible colour."""
    palettes, present = part_palette(images, parts)
    return fill_absent(palettes, present, fallback)


def prepare_batch(batch: list[torch.Tensor], o: SSGANTrainOptions, segmenter: PartSegmenter | None,
                  g: torch.Generator, fallback: torch.Tensor | None = None) -> Batch:
    """uint8 (images, parts, sketches) -> Batch (real images, masks M0, sketches as seen, and the
    palettes when `fallback`, the bank's mean palette, is given)."""
    images, parts, sketches = batch[0].float() / 127.5 - 1.0, batch[1].long(), batch[2].float() / 127.5 - 1.0
    flip = (torch.rand(images.shape[0], generator=g) < o.flip_prob).view(-1, 1, 1, 1)
    images, sketches = torch.where(flip, images.flip(-1), images), torch.where(flip, sketches.flip(-1), sketches)
    parts = torch.where(flip[:, 0], parts.flip(-1), parts)
    drawn = (torch.rand(images.shape[0], generator=g) < o.hand_drawn_prob).view(-1, 1, 1, 1)
    sketches = torch.where(drawn, hand_drawn(sketches, generator=g), sketches)
    true_masks = one_hot_masks(parts)
    masks = true_masks if o.mask_source == "gt" else predict_masks(segmenter, sketches).cpu()
    palettes = None if fallback is None else batch_palettes(images, parts, fallback)
    return Batch(images, masks, true_masks, sketches, palettes)


def discriminate(d, fake: torch.Tensor, real: torch.Tensor, masks: torch.Tensor):
    """One D pass on fake and real together -> (fake features, real features) per scale."""
    outputs = d(torch.cat([fake, real]), torch.cat([masks, masks]))
    n = fake.shape[0]
    fake_out = [[f[:n] for f in scale] for scale in outputs]
    real_out = [[f[n:] for f in scale] for scale in outputs]
    return fake_out, real_out


def d_loss(d, fake: torch.Tensor, real: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """`masks`: D's condition (the masks, with the paint for palette models)."""
    fake_out, real_out = discriminate(d, fake.detach(), real, masks)
    return sum(d_hinge(r[-1], f[-1]) for r, f in zip(real_out, fake_out)) / len(fake_out)


def g_loss(d, fake: torch.Tensor, real: torch.Tensor, masks: torch.Tensor, perceptual: PerceptualFeatures,
           o: SSGANTrainOptions) -> tuple[torch.Tensor, dict[str, float]]:
    fake_out, real_out = discriminate(d, fake, real, masks)
    adversarial = sum(g_hinge(f[-1]) for f in fake_out) / len(fake_out)
    fm = feature_matching(real_out, fake_out)
    percep = perceptual_loss(fake, real, perceptual) if o.lambda_perceptual > 0 else fake.new_zeros(())
    total = adversarial + o.lambda_fm * fm + o.lambda_perceptual * percep
    parts = {"g_adv": adversarial.item(), "fm": fm.item(), "perceptual": percep.item()}
    if o.lambda_l1 > 0:
        l1 = F.l1_loss(fake, real)
        total = total + o.lambda_l1 * l1
        parts["l1"] = l1.item()
    return total, parts


# --- samples and export ----------------------------------------------------------------------
def _rgb(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] (C = 1 or 3) -> HxWx3 uint8."""
    x = x.detach().float().cpu().clamp(-1, 1).expand(3, -1, -1)
    return ((x + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()


@torch.no_grad()
def sample_grid(generator, batch: Batch, seed: int) -> Image.Image:
    """Rows: sketch | mask | generated | render with a fixed z; palette models show the paint
    (the render's own palette through the mask) after the mask."""
    was_training = generator.training
    generator.eval()
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(batch.masks.shape[0], generator.config.z_dim, generator=g)
    extra = {} if batch.palettes is None else {"palettes": batch.palettes}
    fake, _ = generator(batch.masks, z=z, **extra)
    generator.train(was_training)
    paints = [None] * len(fake) if batch.palettes is None else paint(batch.masks, batch.palettes)
    rows = [np.concatenate([_rgb(s), colorize(m.argmax(0).cpu().numpy())] + ([] if p is None else [_rgb(p)])
                           + [_rgb(f), _rgb(r)], 1)
            for s, m, p, f, r in zip(batch.sketches, batch.masks, paints, fake, batch.real)]
    return Image.fromarray(np.concatenate(rows, 0))


def export(run: RunConfig, o: SSGANTrainOptions, state: TrainState) -> Path:
    generator_class = SSGANGenerator if o.model == "ssgan" else SPADEGenerator
    model = runs.export_weights(generator_class, run.out / (GENERATOR_EMA if o.ema_decay else GENERATOR), run.export)
    if o.style_encoder:
        StyleEncoder.from_pretrained(run.out / STYLE_ENCODER).save_pretrained(run.export / STYLE_ENCODER)
    data_lines, cars = data_summary(run.data)
    params = sum(p.numel() for p in model.parameters())
    masks = ("the sketch segmenter " + o.sketch_segmenter if o.mask_source == "predicted"
             else "the renders' true part maps")
    g_lr, d_lr = learning_rates(o)
    style = (f" A style encoder (SPADE's VAE, KL weight {o.lambda_kl}, widths {list(o.encoder_widths)}) is in "
             f"`{STYLE_ENCODER}/`: it maps a car image to the mean and log-variance of its z." if o.style_encoder else "")
    perceptual = ("VGG19 features" if o.vgg_weights else
                  f"the frozen part segmenter {o.perceptual_segmenter}'s encoder features (no VGG weights here)"
                  if o.perceptual_segmenter else "pixel L1")
    body = "\n".join([
        f"# {run.export.name}", "",
        f"{TITLES[o.model]} generator: part masks ({model.config.num_classes} classes) + z ({o.z_dim}-d) -> "
        f"{o.resolution}x{o.resolution} car images; widths {list(o.widths)}, {params / 1e6:.2f} M parameters. "
        f"Trained on masks from {masks}.{style} Used by the pipelines in `carstudio.pipelines` (sketch "
        "and layout tabs).",
        "", "## Training data and licences",
        "Renders made with `python -m carstudio.data render` from TORCS and Trigger Rally car models "
        f"(Debian packages torcs-data and trigger-rally-data); the model is a derived work under the cars' "
        f"licences ({FAL} or {GPL}):", *data_lines, "", *licence_table(cars, []),
        "", "## Training", "```", run.command, "```",
        f"{state.step} steps of batch {o.batch_size} per process; hinge loss, feature matching x{o.lambda_fm}, "
        f"perceptual x{o.lambda_perceptual} with {perceptual}; Adam lr G {g_lr} / D {d_lr}"
        f"{' (TTUR)' if o.ttur else ''}, betas ({o.beta1}, {o.beta2}); "
        f"multiscale discriminator widths {list(o.d_widths)} x {o.d_scales} scales. "
        + (f"Palette-conditioned (issue 19): each part's mean colour painted through the mask conditions every "
           f"SPADE layer and D; {o.palette_bank} training palettes are stored for style seeds. " if o.palette_bank else "")
        + (f"Pixel L1 x{o.lambda_l1}. " if o.lambda_l1 else "")
        + (f"The SFM's masks m_i are supervised with the true part maps (BCE x{o.lambda_mask}). "
           if o.lambda_mask and o.model == "ssgan" else "")
        + (f"Weights are the EMA of G (decay {o.ema_decay} from step {o.ema_start}). " if o.ema_decay else "") +
        f"{state.seconds / 60:.0f} min on this machine (2-core CPU, {run.threads} torch thread(s)).",
        "", "Evaluation on held-out cars: docs/ssgan.md (sketch tab, seed 004 Table 1) and docs/layout.md "
        "(layout tab, seed 003's table).",
    ])
    write_model_card(run.export, body)
    return run.export


# --- training --------------------------------------------------------------------------------
def train(run: RunConfig, o: SSGANTrainOptions, log=print) -> TrainState:
    """Train (or resume) into run.out; export at the end when run.export is set."""
    check_options(o)
    accelerator, say = runs.start_run(run, o, log)
    generator, discriminator, encoder = build_generator(o), build_discriminator(o), build_style_encoder(o)
    perceptual = build_perceptual(o)
    segmenter = load_segmenter(o.sketch_segmenter) if o.mask_source == "predicted" else None
    say(f"{o.model}: perceptual features '{perceptual.kind}', masks from {o.mask_source}")
    data = load_renders(run.data, o.resolution, sketches=True)
    fallback = fill_palette_bank(generator, data, o)
    loader = DataLoader(TensorDataset(data.images, data.parts, data.sketches), batch_size=o.batch_size,
                        shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(o.seed))
    g_lr, d_lr = learning_rates(o)
    g_params = list(generator.parameters()) + (list(encoder.parameters()) if encoder is not None else [])
    opt_g = torch.optim.Adam(g_params, lr=g_lr, betas=(o.beta1, o.beta2))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=d_lr, betas=(o.beta1, o.beta2))
    generator, discriminator, opt_g, opt_d, loader = accelerator.prepare(generator, discriminator, opt_g, opt_d, loader)
    if encoder is not None:
        encoder = accelerator.prepare(encoder)
    ema = build_ema(accelerator.unwrap_model(generator), o)
    name_checkpoint_contents(accelerator, {GENERATOR: generator, "discriminator": discriminator}
                             | ({STYLE_ENCODER: encoder} if encoder is not None else {}),
                             custom={GENERATOR_EMA: ema} if ema is not None else None)
    if len(loader) == 0:
        raise ValueError(f"fewer samples per process than one batch ({o.batch_size})")

    state = runs.resume(accelerator, run.out, TrainState(), say)
    shown = load_renders(run.val_data, o.resolution, sketches=True) if run.val_data else data
    fixed = prepare_batch([shown.images[: o.sample_count], shown.parts[: o.sample_count],
                           shown.sketches[: o.sample_count]], dataclasses.replace(o, flip_prob=0.0, hand_drawn_prob=0.0),
                          segmenter, torch.Generator().manual_seed(o.seed), fallback)

    generator.train(), discriminator.train(), perceptual.train()
    if encoder is not None:
        encoder.train()
    while state.step < o.steps:
        tick = time.perf_counter()
        for batch in runs.batches_from(accelerator, loader, state.step):
            g = runs.step_generator(o.seed, state.step, accelerator.process_index)
            losses = train_step(accelerator, (generator, encoder), discriminator, opt_g, opt_d, perceptual,
                                prepare_batch(batch, o, segmenter, g, fallback), g, o)
            state.step += 1
            if ema is not None:
                ema_update(ema, accelerator.unwrap_model(generator), state.step, o.ema_start, o.ema_decay)
            now = time.perf_counter()
            state.seconds, tick = state.seconds + now - tick, now
            losses["img_s"] = state.step * o.batch_size * accelerator.num_processes / max(state.seconds, 1e-9)
            after_step(accelerator, run, o, state, losses, generator if ema is None else ema, fixed, say)
            tick = time.perf_counter()
            if state.step >= o.steps:
                break

    models = {run.out / GENERATOR: generator}
    if ema is not None:
        models[run.out / GENERATOR_EMA] = ema
    if encoder is not None:
        models[run.out / STYLE_ENCODER] = encoder
    runs.finish_run(accelerator, run, models, lambda: say(f"exported -> {export(run, o, state)}"))
    return state


def fill_palette_bank(generator, data, o: SSGANTrainOptions) -> torch.Tensor | None:
    """Palette models: store `o.palette_bank` training palettes in G (the same on every process:
    seeded) -> their mean palette, the colour of a part a render does not show; None otherwise."""
    if not o.palette_bank:
        return None
    bank = palette_bank(data.images, data.parts, o.palette_bank, seed=o.seed)
    with torch.no_grad():
        generator.palette.bank.copy_(bank)
    return bank.mean(0)


def build_ema(generator, o: SSGANTrainOptions):
    """A frozen copy of G for the EMA (None when --ema-decay is 0)."""
    if not o.ema_decay:
        return None
    ema = type(generator).from_config(generator.config)
    ema.load_state_dict(generator.state_dict())
    return ema.requires_grad_(False).eval().to(next(generator.parameters()).device)


def train_step(accelerator, generators, discriminator, opt_g, opt_d, perceptual, batch: Batch, g, o) -> dict[str, float]:
    """One D update on the detached fake, then one G update (D's grads from it are discarded).
    `generators` is (generator, style encoder or None); with the encoder z is encoded from the
    real image (reparameterized) and the KL term joins G's loss."""
    generator, encoder = generators
    real, masks = batch.real, batch.condition()
    if encoder is None:
        z, kl = torch.randn(real.shape[0], o.z_dim, generator=g), None
    else:
        mu, logvar = encoder(real)
        z, kl = reparameterize(mu, logvar, g), kl_divergence(mu, logvar)
    fake, intermediate = generator(batch.masks, z=z, **({} if batch.palettes is None else {"palettes": batch.palettes}))
    loss_d = d_loss(discriminator, fake, real, masks)
    opt_d.zero_grad(set_to_none=True)
    accelerator.backward(loss_d)
    opt_d.step()
    loss_g, parts = g_loss(discriminator, fake, real, masks, perceptual, o)
    if kl is not None:
        loss_g = loss_g + o.lambda_kl * kl
        parts["kl"] = kl.item()
    if o.lambda_mask > 0 and intermediate:
        mask_loss = intermediate_mask_bce(intermediate, batch.true_masks)
        loss_g = loss_g + o.lambda_mask * mask_loss
        parts["mask"] = mask_loss.item()
    opt_g.zero_grad(set_to_none=True)
    accelerator.backward(loss_g)
    opt_g.step()
    opt_d.zero_grad(set_to_none=True)
    return {"d": loss_d.item(), "g": loss_g.item(), **parts}


def after_step(accelerator, run: RunConfig, o: SSGANTrainOptions, state: TrainState, losses: dict[str, float],
               generator, fixed, say) -> None:
    """Logging, sample grids and checkpoints."""
    if state.step % o.log_every == 0:
        record = {"step": state.step, "minutes": round(state.seconds / 60, 2),
                  **{k: round(v, 5) for k, v in losses.items()}}
        say(f"step {state.step}/{o.steps} " + " ".join(f"{k} {v:.4f}" for k, v in losses.items()))
        if accelerator.is_main_process:
            with open(run.out / "history.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
    if accelerator.is_main_process and runs.due(state.step, o.sample_every, o.steps):
        (run.out / "samples").mkdir(exist_ok=True)
        grid = sample_grid(accelerator.unwrap_model(generator), fixed, o.seed)
        grid.save(run.out / "samples" / f"step_{state.step:07d}.png")
    if runs.due(state.step, o.checkpoint_every, o.steps):
        runs.save_checkpoint(accelerator, run.out, state, o.keep_checkpoints)


# --- command line ----------------------------------------------------------------------------
TUPLE_OPTIONS = ("widths", "d_widths", "encoder_widths")


def parse_args(argv: list[str] | None = None) -> tuple[RunConfig, SSGANTrainOptions]:
    parser = runs.trainer_parser(__doc__)
    runs.add_data_argument(parser)
    runs.add_out_argument(parser)
    parser.add_argument("--val-data", nargs="+", type=Path, default=[],
                        help="held-out render folders: the sample grids' fixed inputs (default: the training data)")
    parser.add_argument("--export", type=Path, help="write the generator and its card here at the end")
    args, options = runs.parse_trainer_args(parser, argv, SSGANTrainOptions, TUPLE_OPTIONS)
    command = runs.command_line("carstudio.train.ssgan", argv)
    return RunConfig(args.data, args.out, args.val_data, args.export, args.threads, command), options


def main(argv: list[str] | None = None) -> None:
    train(*parse_args(argv), log=runs.print_now)


if __name__ == "__main__":
    main()
