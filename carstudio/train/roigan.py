"""Train RoI-GAN (seed 002: region inpainting with InfoGAN control codes) on render folders.

    python -m carstudio.train.roigan --data data/cars64_everyday --out runs/roigan-64 \\
        --export weights/roigan-64
    ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2 --num_machines 1 \\
        --mixed_precision no --dynamo_backend no -m carstudio.train.roigan --data ... --out ...

Every step draws regions from the RoI-block (`carstudio.data.roi`: rectangles, ellipses and
Gaussian-mixture regions, one kind per sample, uniformly from --roi-types), the prior codes
z = (z0 ~ N(0, I), c0 ~ U(-1, 1)^k, c1 ~ uniform categorical), generates x_g = G(z | x, RoI)
and completes x_c = RoI * x_g + (1 - RoI) * x (eq. 3.9). With `--window-crops true` the images are
first random square windows of larger renders (`--source-size`, zoom `--zoom-min`..`--zoom-max` of
the render's side) resized to --resolution, the scales the region tab's crop windows produce; the
regions are drawn in the window, so their size is relative to it as in the thesis. Then (section 3.7):

- D step (eq. 3.19): L_D = hinge(D(x_r), D(x_c)) + 5 L_grad + 1e-4 L_0 -- hinge over all of D's
  outputs (global + patch scores), the gradient penalty weighted by (1 - RoI) at interpolates
  of x_r and x_c (eq. 3.10; `--gp-region inside` weights by RoI, the text's wording), the
  zero-centring of real scores (eq. 3.13).
- G step (eq. 3.18): L_G = hinge_G(D(x_c)) + 0.5 KL + 0.5 (-L_I) + 0.5 TV + 5 L_per + 1 L_FM.
  L_add = -0.5 L_VAE - 0.5 L_I is read with L_VAE the VAE objective's -KL term (maximised), so
  it adds +0.5 KL(N(mu, sigma^2) || N(0, I)) to the minimised loss, and -0.5 L_I maximises the
  mutual-information bound. L_I comes from the Q head on D_main's features of x_c: eq. 3.14
  writes Q(c | x_g), but only x_g's region survives in x_c (eq. 3.9) and x_c is what the tool
  shows, so Q reads x_c and the codes must act inside the region. Q's parameters are trained with
  G's (eq. 3.18 minimises over theta_G and theta_Q); D's parameters get no gradient from L_G.
  L_per = L_per1 (x_g vs x_r) + L_per2 (x_c vs x_r) (eq. 3.12); L_FM sums the L1 distances of
  D_main's LeakyReLU outputs on x_r and x_c over layers (eq. 3.11); TV is the mean total
  variation of x_c over the RoI (eq. 2.10).
- Adam with lr G 3e-4 and D 1e-4 (section 3.8; the thesis's code used 1e-4 / 3e-4 the other way
  round, the text is followed), betas (0.5, 0.999): section 3.8 follows DCGAN's recommendations,
  whose Adam beta1 is 0.5.
- `--info-in-d true` (off by default: eq. 3.19 has no L_I) also trains D_main with the information
  loss, as InfoGAN does with the body D and Q share. On tiny models trained on L_I alone, Q
  recovered the codes far better through a trained D_main than through a frozen one.

Perceptual features (eq. 3.12 uses VGG16): `--vgg-weights FILE` (a torchvision vgg16 state dict;
none ships and this machine downloads nothing) gives VGG16 relu1_2..relu4_3. Without it the
frozen part segmenter named by --perceptual-segmenter (default the shipped segmenter-128) gives
its encoder features -- the only trained image network offline, trained on the same renders;
'' for both falls back to pixel L1. options.json records which.

The run folder holds options.json, checkpoints/step_NNNNNNN/ (accelerator.save_state of G, D, Q
and both optimizers; a restart with the same --out resumes from the latest complete one),
samples/step_NNNNNNN.png (fixed renders, regions and codes; columns: image | RoI | masked input
| completion x_c | raw output x_g) and history.jsonl. At the end G, D and Q are saved to
out/{generator,discriminator,q_head}/ and, with --export, G with a model card.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from carstudio.cards import data_summary, licence_table
from carstudio.checkpoints import name_checkpoint_contents, parse_spec
from carstudio.data.cars import FAL, GPL
from carstudio.data.loading import load_images
from carstudio.data.region_windows import window_crops
from carstudio.data.roi import ROI_TYPES, sample_rois
from carstudio.hub import write_model_card
from carstudio.losses.adversarial import d_hinge, g_hinge
from carstudio.losses.infogan import info_loss, mutual_information_bound
from carstudio.losses.kl import kl_divergence
from carstudio.losses.matching import PerceptualFeatures, feature_matching, perceptual_loss
from carstudio.losses.regularizers import interpolates, total_variation, weighted_gradient_penalty, zero_centering
from carstudio.models.roigan import RoIGANDiscriminator, RoIGANGenerator, RoIGANQHead, complete
from carstudio.train import runs
from carstudio.train.frozen import perceptual_features
from carstudio.train.runs import RunConfig, TrainState

GENERATOR, DISCRIMINATOR, Q_HEAD = "generator", "discriminator", "q_head"
GP_REGIONS = ("outside", "inside")
SCORE_WEIGHTINGS = ("uniform", "roi")


@dataclass
class RoIGANHyperparameters:
    # generator (carstudio.models.roigan.RoIGANGenerator)
    resolution: int = 64
    encoder_widths: tuple[int, ...] = (32, 64, 128, 128)
    decoder_widths: tuple[int, ...] = (96, 64, 32, 16)
    noise_dim: int = 32
    num_codes: int = 4  # continuous control codes (sliders)
    num_categories: int = 8  # categories of the one discrete code (dropdown)
    style_channels: int = 16
    mapping_layers: int = 2
    denorm_hidden: int = 16
    output_norm: bool = True  # instance norm before tanh (section 3.5)
    prefill: bool = False  # region pre-filled with coarse_fill instead of zeros (not the thesis; see the model)
    fill_residual: bool = False  # G's RGB head corrects the pre-fill (needs --prefill true --output-norm false)
    # discriminator and Q head
    d_widths: tuple[int, ...] = (32, 64, 128, 128)
    d_downsamples: int = 2
    q_channels: int = 64
    q_hidden: int = 128
    q_min_log_sigma: float = -0.5
    # data
    roi_types: tuple[str, ...] = ROI_TYPES
    flip_prob: float = 0.5
    # window crops (carstudio.data.region_windows): each step cuts a random square of every render,
    # loaded at source_size px, of side zoom x source_size (zoom log-uniform in [zoom_min, zoom_max];
    # > 1 letterboxes the whole render), resized to `resolution` -- the scales the region tab's crop
    # windows show the model. Off: the renders are loaded at `resolution` and used whole.
    window_crops: bool = False
    source_size: int = 256
    zoom_min: float = 0.5
    zoom_max: float = 1.0
    # objective (eqs. 3.18-3.19)
    lambda_tv: float = 0.5
    lambda_perceptual: float = 5.0
    lambda_fm: float = 1.0
    lambda_kl: float = 0.5
    # pixel L1 between x_g and x_r: the thesis tried it and dropped it for diversity (section 3.7); here
    # the perceptual features (a part segmenter, not VGG) barely see colour, and this term supplies it
    lambda_l1: float = 0.0
    lambda_info: float = 0.5
    lambda_gp: float = 5.0
    lambda_zero: float = 1e-4
    gp_region: str = "outside"  # outside: weight 1 - RoI (eq. 3.10) | inside: weight RoI (the text)
    info_in_d: bool = False  # also train D_main with lambda_info * (-L_I), as InfoGAN shares D's body (not eq. 3.19)
    # uniform: the hinge averages the global and every patch score (the thesis) | roi: patches weighted by
    # their RoI coverage (not the thesis): outside the region x_c = x_r, those patches carry no signal
    score_weighting: str = "uniform"
    vgg_weights: str = ""  # VGG16 state dict file; '' -> the segmenter fallback
    perceptual_segmenter: str = "segmenter-128"  # folder or weights name; '' (and no VGG) -> pixel L1
    # optimisation (section 3.8)
    lr_g: float = 3e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    steps: int = 6000
    batch_size: int = 16  # per process


@dataclass
class RoIGANTrainOptions(runs.BookkeepingOptions, RoIGANHyperparameters):
    """The hyperparameters, then the bookkeeping options (see runs.BookkeepingOptions for the order)."""

    sample_count: int = 6
    checkpoint_every: int = 250
    # RUN@STEP: start G, D and Q from that checkpoint's weights (new optimizers); parameters the
    # options add or drop (e.g. --output-norm) are reported and left fresh. A resume wins over it.
    init_from: str = ""


# --- building blocks -------------------------------------------------------------------------
def check_options(o: RoIGANTrainOptions) -> None:
    unknown = [k for k in o.roi_types if k not in ROI_TYPES]
    if unknown or not o.roi_types:
        raise ValueError(f"--roi-types must name some of {ROI_TYPES}, got {list(o.roi_types)}")
    if o.gp_region not in GP_REGIONS:
        raise ValueError(f"--gp-region must be one of {GP_REGIONS}, got {o.gp_region!r}")
    if o.score_weighting not in SCORE_WEIGHTINGS:
        raise ValueError(f"--score-weighting must be one of {SCORE_WEIGHTINGS}, got {o.score_weighting!r}")
    if o.window_crops and not 0 < o.zoom_min <= o.zoom_max:
        raise ValueError(f"--zoom-min and --zoom-max must satisfy 0 < min <= max, got {o.zoom_min}, {o.zoom_max}")
    if o.window_crops and o.zoom_min * o.source_size < o.resolution:
        raise ValueError(f"--zoom-min {o.zoom_min} of {o.source_size}-px renders gives crops smaller than the "
                         f"{o.resolution}-px model (enlarged, blurry training images): raise --source-size "
                         "(render larger) or --zoom-min")


def build_generator(o: RoIGANTrainOptions) -> RoIGANGenerator:
    return RoIGANGenerator(
        resolution=o.resolution, encoder_widths=tuple(o.encoder_widths), decoder_widths=tuple(o.decoder_widths),
        noise_dim=o.noise_dim, num_codes=o.num_codes, num_categories=o.num_categories,
        style_channels=o.style_channels, mapping_layers=o.mapping_layers, denorm_hidden=o.denorm_hidden,
        output_norm=o.output_norm, prefill=o.prefill, fill_residual=o.fill_residual)


def build_discriminator(o: RoIGANTrainOptions) -> tuple[RoIGANDiscriminator, RoIGANQHead]:
    d = RoIGANDiscriminator(resolution=o.resolution, widths=tuple(o.d_widths), downsamples=o.d_downsamples)
    q = RoIGANQHead(in_channels=o.d_widths[-1], map_size=o.resolution // 2**o.d_downsamples, channels=o.q_channels,
                    hidden=o.q_hidden, num_codes=o.num_codes, num_categories=o.num_categories,
                    min_log_sigma=o.q_min_log_sigma)
    return d, q


def build_perceptual(o: RoIGANTrainOptions) -> PerceptualFeatures:
    return perceptual_features(o.vgg_weights, o.perceptual_segmenter, vgg_arch="vgg16")


def init_from_checkpoint(models: tuple[torch.nn.Module, ...], spec: str, say) -> None:
    """Load G, D, Q from RUN@STEP. Tensors the new model lacks, or has in another shape (e.g. a
    wider --d-widths), stay fresh and are named, so a new D can start against a trained G."""
    checkpoint = parse_spec(spec)
    if checkpoint is None:
        raise ValueError(f"expected RUN@STEP (or a run folder), got {spec!r}")
    folder = checkpoint.folder
    for name, model, entry in zip(("G", "D", "Q"), models, (GENERATOR, DISCRIMINATOR, Q_HEAD)):
        own = model.state_dict()
        saved = checkpoint.state_dict(entry)
        reshaped = sorted(k for k, v in saved.items() if k in own and own[k].shape != v.shape)
        result = model.load_state_dict({k: v for k, v in saved.items() if k not in reshaped}, strict=False)
        fresh = sorted(set(result.missing_keys) | set(reshaped))
        if len(fresh) == len(own):
            say(f"init {name}: nothing in {folder} fits; {name} starts fresh")
        elif fresh or result.unexpected_keys:
            say(f"init {name} from {folder}: fresh {fresh}, dropped {sorted(result.unexpected_keys)}")
    say(f"initialised G, D and Q from {folder} (where shapes match)")


def perceptual_description(o: RoIGANTrainOptions) -> str:
    if o.vgg_weights:
        return "VGG16 relu1_2..relu4_3 features"
    if o.perceptual_segmenter:
        return f"the frozen part segmenter {o.perceptual_segmenter}'s encoder features (no VGG16 weights here)"
    return "pixel L1 (no feature network)"


@dataclass
class Batch:
    real: torch.Tensor  # (N, 3, R, R) in [-1, 1]
    masks: torch.Tensor  # (N, 1, R, R) in {0, 1}
    noise: torch.Tensor
    codes: torch.Tensor  # (N, num_codes) in [-1, 1]
    categories: torch.Tensor  # (N,)


def training_images(images: torch.Tensor, o: RoIGANTrainOptions, rng: torch.Generator) -> torch.Tensor:
    """uint8 renders as loaded -> uint8 (N, 3, R, R): random window crops with --window-crops, else as they are."""
    if not o.window_crops:
        return images
    return window_crops(images, o.resolution, (o.zoom_min, o.zoom_max), rng)


def prepare_batch(images: torch.Tensor, o: RoIGANTrainOptions, generator: RoIGANGenerator,
                  rng: torch.Generator) -> Batch:
    """uint8 renders -> real images (window crops, random flips), regions and prior codes, on the
    images' device."""
    real = training_images(images, o, rng).float() / 127.5 - 1.0
    flip = (torch.rand(real.shape[0], generator=rng) < o.flip_prob).view(-1, 1, 1, 1).to(real.device)
    real = torch.where(flip, real.flip(-1), real)
    masks = sample_rois(real.shape[0], o.resolution, "any", rng, kinds=tuple(o.roi_types)).to(real.device)
    noise, codes, categories = generator.sample_latents(real.shape[0], rng)
    return Batch(real, masks, noise.to(real.device), codes.to(real.device), categories.to(real.device))


def gp_weight(masks: torch.Tensor, o: RoIGANTrainOptions) -> torch.Tensor:
    return 1 - masks if o.gp_region == "outside" else masks


def score_weights(masks: torch.Tensor, num_scores: int, o: RoIGANTrainOptions) -> torch.Tensor | None:
    """None (plain mean) or, for --score-weighting roi, (N, 1 + P) weights summing to 1 per sample: the
    global score 1, each of the P patch scores the fraction of its cell inside the RoI."""
    if o.score_weighting == "uniform":
        return None
    side = math.isqrt(num_scores - 1)  # square images: a side x side grid of patch scores
    if side * side != num_scores - 1:
        raise ValueError(f"expected 1 global + a square grid of patch scores, got {num_scores} scores")
    coverage = F.adaptive_avg_pool2d(masks, side).flatten(1)
    weights = torch.cat([coverage.new_ones(coverage.shape[0], 1), coverage], 1)
    return weights / weights.sum(1, keepdim=True)


# --- one iteration ---------------------------------------------------------------------------
def d_step(accelerator, d, q, opt_d, batch: Batch, completed: torch.Tensor, o: RoIGANTrainOptions,
           rng: torch.Generator) -> dict[str, float]:
    """Eq. 3.19 with one D pass over (x_c, x_r, interpolates); with --info-in-d also the
    information loss on the detached x_c, so that D_main learns features Q can read the codes
    from (InfoGAN's shared body; Q's own gradients from it are dropped before G's update)."""
    n, fake = batch.real.shape[0], completed.detach()
    points = interpolates(batch.real, fake, rng)
    scores, features = d(torch.cat([fake, batch.real, points]), batch.masks.repeat(3, 1, 1, 1))
    fake_scores, real_scores, point_scores = scores.split(n)
    hinge = d_hinge(real_scores, fake_scores, score_weights(batch.masks, scores.shape[1], o))
    gp = weighted_gradient_penalty(point_scores, points, gp_weight(batch.masks, o)) if o.lambda_gp else hinge * 0
    zero = zero_centering(real_scores)
    loss = hinge + o.lambda_gp * gp + o.lambda_zero * zero
    if o.info_in_d:
        loss = loss + o.lambda_info * info_loss(batch.codes, batch.categories, *q(features[-1][:n]))
    opt_d.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    opt_d.step()
    return {"d_hinge": hinge.item(), "gp": gp.item(), "zero": zero.item(),
            "d_real": real_scores.mean().item(), "d_fake": fake_scores.mean().item()}


def g_losses(raw_d, q_head, batch: Batch, fake, completed, mu, logvar, perceptual: PerceptualFeatures,
             o: RoIGANTrainOptions) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. 3.18's terms, weighted and summed; D runs unwrapped (its parameters are not trained here)."""
    n = fake.shape[0]
    scores, features = raw_d(torch.cat([completed, batch.real]), batch.masks.repeat(2, 1, 1, 1))
    fake_features, real_features = [f[:n] for f in features], [f[n:] for f in features]
    adversarial = g_hinge(scores[:n], score_weights(batch.masks, scores.shape[1], o))
    # feature_matching averages over all but the last entry (the scores): times M sums eq. 3.11's layers
    fm = feature_matching([real_features + [scores[n:]]], [fake_features + [scores[:n]]]) * len(features)
    q_mu, q_log_sigma, q_logits = q_head(fake_features[-1])
    info = info_loss(batch.codes, batch.categories, q_mu, q_log_sigma, q_logits)
    # one pass over (x_g, x_c): the batch mean is (L_per1 + L_per2) / 2
    per = (2 * perceptual_loss(torch.cat([fake, completed]), batch.real.repeat(2, 1, 1, 1), perceptual)
           if o.lambda_perceptual else fake.new_zeros(()))
    tv = total_variation(completed, batch.masks)
    kl = kl_divergence(mu, logvar)
    l1 = (fake - batch.real).abs().mean() if o.lambda_l1 else fake.new_zeros(())
    total = (adversarial + o.lambda_kl * kl + o.lambda_info * info + o.lambda_tv * tv
             + o.lambda_perceptual * per + o.lambda_fm * fm + o.lambda_l1 * l1)
    logs = {"g_hinge": adversarial.item(), "fm": fm.item(), "perceptual": per.item(), "tv": tv.item(), "l1": l1.item(),
            "kl": kl.item(), "info": info.item(),
            "mi_bound": mutual_information_bound(info.item(), o.num_codes, o.num_categories),
            "q_acc": (q_logits.argmax(1) == batch.categories).float().mean().item(),
            "q_mse": (q_mu - batch.codes).square().mean().item()}
    return total, logs


def train_step(accelerator, models, optimizers, perceptual, batch: Batch, o: RoIGANTrainOptions,
               rng: torch.Generator) -> dict[str, float]:
    """Generate once; one D update on the detached completion, then one update of G and Q."""
    g, d, q = models
    opt_g, opt_d = optimizers
    raw_g = accelerator.unwrap_model(g)
    fake, mu, logvar = g(batch.real, batch.masks, raw_g.latent(batch.noise, batch.codes, batch.categories))
    completed = complete(fake, batch.real, batch.masks)
    logs = d_step(accelerator, d, q, opt_d, batch, completed, o, rng)
    loss, g_logs = g_losses(accelerator.unwrap_model(d), q, batch, fake, completed, mu, logvar, perceptual, o)
    params = [p for p in list(g.parameters()) + list(q.parameters()) if p.requires_grad]
    opt_g.zero_grad(set_to_none=True)
    accelerator.backward(loss, inputs=params)
    opt_g.step()
    return {"g": loss.item(), **logs, **g_logs}


# --- samples and export ----------------------------------------------------------------------
def _rgb(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] (C = 1 or 3) -> HxWx3 uint8."""
    x = x.detach().float().cpu().clamp(-1, 1).expand(3, -1, -1)
    return ((x + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()


def fixed_batch(images: torch.Tensor, o: RoIGANTrainOptions, generator: RoIGANGenerator) -> Batch:
    """The sample grid's renders, regions (the kinds in turn) and codes: the same every time."""
    n = min(o.sample_count, len(images))
    rng = torch.Generator().manual_seed(o.seed + 4242)
    # the crops from their own generator: the same regions and codes with and without --window-crops
    real = training_images(images[:n], o, torch.Generator().manual_seed(o.seed + 4243)).float() / 127.5 - 1.0
    kinds = [o.roi_types[i % len(o.roi_types)] for i in range(n)]
    masks = torch.cat([sample_rois(1, o.resolution, kind, rng) for kind in kinds])
    noise, codes, categories = generator.sample_latents(n, rng)
    return Batch(real, masks, noise, codes, categories)


@torch.no_grad()
def sample_grid(generator: RoIGANGenerator, batch: Batch) -> Image.Image:
    """Rows: image | RoI | masked input | completion x_c | raw output x_g."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    real, masks = batch.real.to(device), batch.masks.to(device)
    fake, _, _ = generator(real, masks, generator.latent(batch.noise, batch.codes, batch.categories).to(device))
    generator.train(was_training)
    completed = complete(fake, real, masks)
    rows = [np.concatenate([_rgb(r), _rgb(m * 2 - 1), _rgb(r * (1 - m)), _rgb(c), _rgb(f)], 1)
            for r, m, c, f in zip(real, masks, completed, fake)]
    return Image.fromarray(np.concatenate(rows, 0))


def training_data_description(o: RoIGANTrainOptions) -> str:
    if not o.window_crops:
        return f"the renders whole at {o.resolution} px"
    return (f"random square windows of the renders loaded at {o.source_size} px, side {o.zoom_min:g}-{o.zoom_max:g} x "
            f"the render's (log-uniform), resized to {o.resolution} px (area averaging; "
            "carstudio.data.region_windows.window_crops, as the region tab's crop windows)")


def model_card(run: RunConfig, o: RoIGANTrainOptions, state: TrainState, model: RoIGANGenerator) -> str:
    data_lines, cars = data_summary(run.data)
    params = sum(p.numel() for p in model.parameters())
    return "\n".join([
        f"# {run.export.name}: RoI-GAN generator ({o.resolution} px)", "",
        "Region inpainting with control (seed 002, RoI-GAN): `RoIGANGenerator(image, RoI, z)` fills the region "
        f"of a {o.resolution}x{o.resolution} car image; z = noise ({o.noise_dim}) + {o.num_codes} continuous control "
        f"codes in [-1, 1] (sliders) + one categorical code with {o.num_categories} values (dropdown). "
        f"U-Net with gated-conv encoder widths {list(o.encoder_widths)}, two-branch upsample blocks "
        f"{list(o.decoder_widths)} with controlled denormalization layers"
        f"{'; the region is pre-filled with masked means of its surroundings (coarse_fill; not in the thesis)' if o.prefill else ''}"
        f"{', and the output is a learnt correction of that pre-fill (fill_residual; not in the thesis)' if o.fill_residual else ''}"
        f"; {params / 1e6:.2f} M parameters "
        f"({params * 4 / 2**20:.1f} MiB as float32). Use it through "
        "`carstudio.pipelines.roigan.RegionEditPipeline`, which composites the result back into the "
        "user's image inside the brushed region only.",
        "", "## Training data and licences",
        "Renders made with `python -m carstudio.data render` from TORCS and Trigger Rally car models "
        f"(Debian packages torcs-data and trigger-rally-data); the model is a derived work under the cars' "
        f"licences ({FAL} or {GPL}):", *data_lines, "", *licence_table(cars, []),
        "", "## Training", "```", run.command, "```",
        *([f"Started from the weights of `{o.init_from}` (G, D and Q; new optimizers)."] if o.init_from else []),
        f"{state.step} steps of batch {o.batch_size} per process; {training_data_description(o)}; regions "
        f"{', '.join(o.roi_types)} (one kind per sample, sizes relative to the training image). D: hinge ({'patch scores weighted by RoI coverage' if o.score_weighting == 'roi' else 'mean of the global and patch scores'}) + {o.lambda_gp} x gradient penalty ({o.gp_region} the RoI) + {o.lambda_zero} x "
        f"zero-centring{' + InfoGAN (D_main trained on it too)' if o.info_in_d else ''}; G: hinge + {o.lambda_kl} x KL + "
        f"{o.lambda_info} x InfoGAN + {o.lambda_tv} x TV + "
        f"{o.lambda_perceptual} x perceptual ({perceptual_description(o)}) + {o.lambda_fm} x feature matching"
        f"{f' + {o.lambda_l1} x pixel L1 (x_g vs x_r; not in the thesis)' if o.lambda_l1 else ''}. "
        f"Adam lr G {o.lr_g} / D {o.lr_d}, betas ({o.beta1}, {o.beta2}); equalized learning rate. "
        f"{state.seconds / 60:.0f} min on this machine (2-core CPU, {run.threads} torch thread(s)).",
        "", "Evaluation on held-out cars (`python -m carstudio.evaluate.roigan table`): see docs.",
    ])


def export(run: RunConfig, o: RoIGANTrainOptions, state: TrainState) -> Path:
    model = runs.export_weights(RoIGANGenerator, run.out / GENERATOR, run.export)
    write_model_card(run.export, model_card(run, o, state, model))
    return run.export


# --- training --------------------------------------------------------------------------------
def after_step(accelerator, run: RunConfig, o: RoIGANTrainOptions, state: TrainState, losses: dict[str, float],
               generator, fixed: Batch, say) -> None:
    """Logging, sample grids and checkpoints."""
    if state.step % o.log_every == 0:
        say(f"step {state.step}/{o.steps} " + " ".join(f"{k} {v:.4f}" for k, v in losses.items())
            + f" {state.seconds / 60:.1f} min")
        if accelerator.is_main_process:
            record = {"step": state.step, "minutes": round(state.seconds / 60, 2),
                      **{k: round(v, 5) for k, v in losses.items()}}
            with open(run.out / "history.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
    if accelerator.is_main_process and runs.due(state.step, o.sample_every, o.steps):
        (run.out / "samples").mkdir(exist_ok=True)
        sample_grid(accelerator.unwrap_model(generator), fixed).save(run.out / "samples" / f"step_{state.step:07d}.png")
    if runs.due(state.step, o.checkpoint_every, o.steps):
        runs.save_checkpoint(accelerator, run.out, state, o.keep_checkpoints)


def run_loop(accelerator, run, o, state, models, optimizers, perceptual, loader, fixed, say) -> None:
    raw_g = accelerator.unwrap_model(models[0])
    for model in models:
        model.train()
    perceptual.train()
    while state.step < o.steps:
        tick = time.perf_counter()
        for (images,) in runs.batches_from(accelerator, loader, state.step):
            rng = runs.step_generator(o.seed, state.step, accelerator.process_index)
            batch = prepare_batch(images, o, raw_g, rng)
            losses = train_step(accelerator, models, optimizers, perceptual, batch, o, rng)
            state.step += 1
            now = time.perf_counter()
            state.seconds, tick = state.seconds + now - tick, now
            after_step(accelerator, run, o, state, losses, models[0], fixed, say)
            tick = time.perf_counter()
            if state.step >= o.steps:
                break


def train(run: RunConfig, o: RoIGANTrainOptions, log=print) -> TrainState:
    """Train (or resume) into run.out; export at the end when run.export is set."""
    check_options(o)
    accelerator, say = runs.start_run(run, o, log)
    g, (d, q) = build_generator(o), build_discriminator(o)
    if o.init_from and runs.latest_checkpoint(run.out) is None:  # a resume replaces these weights anyway
        init_from_checkpoint((g, d, q), o.init_from, say)
    perceptual = build_perceptual(o).to(accelerator.device)
    images = load_images(run.data, o.source_size if o.window_crops else o.resolution)
    counts = {name: sum(p.numel() for p in m.parameters()) / 1e6 for name, m in (("G", g), ("D", d), ("Q", q))}
    say(f"{len(images)} renders; perceptual features '{perceptual.kind}'; "
        + ", ".join(f"{k} {v:.2f} M" for k, v in counts.items()) + " parameters")
    loader = DataLoader(TensorDataset(images), batch_size=o.batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(o.seed))
    opt_g = torch.optim.Adam(list(g.parameters()) + list(q.parameters()), lr=o.lr_g, betas=(o.beta1, o.beta2))
    opt_d = torch.optim.Adam(d.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2))
    g, d, q, opt_g, opt_d, loader = accelerator.prepare(g, d, q, opt_g, opt_d, loader)
    name_checkpoint_contents(accelerator, {GENERATOR: g, DISCRIMINATOR: d, Q_HEAD: q})
    if len(loader) == 0:
        raise ValueError(f"fewer samples per process than one batch ({o.batch_size})")
    state = runs.resume(accelerator, run.out, TrainState(), say)
    fixed = fixed_batch(images, o, accelerator.unwrap_model(g))
    run_loop(accelerator, run, o, state, (g, d, q), (opt_g, opt_d), perceptual, loader, fixed, say)
    models = {run.out / GENERATOR: g, run.out / DISCRIMINATOR: d, run.out / Q_HEAD: q}
    runs.finish_run(accelerator, run, models, lambda: say(f"exported -> {export(run, o, state)}"))
    return state


# --- command line ----------------------------------------------------------------------------
TUPLE_OPTIONS = ("encoder_widths", "decoder_widths", "d_widths", "roi_types")


def parse_args(argv: list[str] | None = None) -> tuple[RunConfig, RoIGANTrainOptions]:
    parser = runs.trainer_parser(__doc__)
    runs.add_data_argument(parser)
    runs.add_out_argument(parser)
    parser.add_argument("--export", type=Path, help="write the generator and its card here at the end")
    args, options = runs.parse_trainer_args(parser, argv, RoIGANTrainOptions, TUPLE_OPTIONS,
                                            text_tuples=("roi_types",))
    command = runs.command_line("carstudio.train.roigan", argv)
    return RunConfig(args.data, args.out, [], args.export, args.threads, command), options


def main(argv: list[str] | None = None) -> None:
    train(*parse_args(argv), log=runs.print_now)


if __name__ == "__main__":
    main()
