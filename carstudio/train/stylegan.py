"""Train the StyleGAN2 layout generator (issue 7's first stage, seed 003) on the renders' part
maps, or the same networks on the RGB renders (`--target image`, the seed's one-stage baseline).

    python -m carstudio.train.stylegan --data data/cars64_everyday --target parts \\
        --out runs/layout-stylegan-64 --export
    python -m carstudio.train.stylegan --data data/cars64_everyday --target image \\
        --out runs/image-stylegan-64 --export
    python -m carstudio.train.stylegan --out runs/layout-stylegan-64 --export-only
    ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2 --num_machines 1 \\
        --mixed_precision no --dynamo_backend no -m carstudio.train.stylegan --data ... --out ...

Objective (StyleGAN2 / StyleGAN2-ADA): non-saturating logistic loss; lazy R1 on the reals every
--r1-every D steps, weighted gamma / 2 * interval (D's Adam lr and betas scaled by
interval / (interval + 1) as StyleGAN2 does); Adam lr 0.002, betas (0, 0.99); style mixing with
probability 0.9 (the second code from a random layer on); w_avg tracked by the generator in
training mode; EMA of G with a half-life of --ema-kimg thousand images, ramped up over the first
images (half-life <= --ema-rampup * images seen). Path-length regularization is not used (off,
as in StyleGAN2-ADA's low-resolution configs). Horizontal flips of the reals (--flip-prob).

R1 gamma 0.1: StyleGAN2-ADA's heuristic 0.0002 * resolution^2 / batch gives 0.05 at 64 px and
batch 16; layouts are one-hot maps with sharp class edges where D's input gradients are largest,
so we take twice that.

Layouts (--target parts): G outputs NUM_PARTS logits per pixel; D sees part maps as NUM_PARTS
channels, the reals one-hot. D must not win by telling hard one-hot reals from soft softmax
fakes, so with --fake-layout straight_through (default) the fakes are hard one-hot argmax maps
too, with the softmax's gradient passed straight through to G (hard + (p - p.detach())): both sides
look alike and only the layout itself can tell them apart. --fake-layout softmax feeds the
plain softmax (for comparison).

The run folder holds options.json, checkpoints/step_NNNNNNN/ (accelerator.save_state every
--checkpoint-every steps, the last --keep-checkpoints kept, the EMA generator among them as
"generator_ema"; a restart with the same --out resumes from the latest complete one) and
samples/step_NNNNNNN.png (the EMA generator on fixed codes with fixed noise, layouts coloured with
`colorize`). --export (at the end, or on a rerun of a finished run) and --export-only (at once,
also while the run trains) write the latest checkpoint's EMA generator to out/generator/ with
save_pretrained and a model card.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from carstudio.cards import data_summary, licence_table
from carstudio.checkpoints import name_checkpoint_contents, parse_spec
from carstudio.data.cars import FAL, GPL
from carstudio.data.loading import load_images, load_part_maps
from carstudio.data.parts import BACKGROUND, NUM_PARTS, colorize
from carstudio.hub import write_model_card
from carstudio.imaging import tensor_to_pil, tile
from carstudio.losses.adversarial import d_logistic, g_nonsaturating, r1_penalty
from carstudio.models.ssgan import one_hot_masks
from carstudio.models.stylegan import StyleGANDiscriminator, StyleGANGenerator
from carstudio.train import runs
from carstudio.train.ema import ema_update

GENERATOR = "generator"
TARGETS = ("parts", "image")
FAKE_LAYOUTS = ("straight_through", "softmax")


@dataclass
class StyleGANHyperparameters:
    target: str = "parts"  # parts (layout GAN, NUM_PARTS logits) | image (one-stage RGB baseline)
    # model (widths: one per resolution from 4x4 up)
    resolution: int = 64
    z_dim: int = 128
    w_dim: int = 128
    mapping_layers: int = 4
    widths: tuple[int, ...] = (256, 192, 128, 64, 32)
    d_widths: tuple[int, ...] = (256, 192, 128, 64, 32)
    mbstd_group: int = 4
    fake_layout: str = "straight_through"  # what D sees of a generated layout: straight_through | softmax
    # optimisation (StyleGAN2)
    steps: int = 5000
    batch_size: int = 16  # per process; a multiple of mbstd_group
    lr: float = 0.002
    beta1: float = 0.0
    beta2: float = 0.99
    r1_gamma: float = 0.1
    r1_every: int = 16  # lazy R1: every this many D steps
    style_mixing: float = 0.9
    ema_kimg: float = 5.0  # EMA half-life in thousands of images (StyleGAN2-ADA: batch * 10 / 32)
    ema_rampup: float = 0.05  # half-life at most this share of the images seen so far; 0: off
    flip_prob: float = 0.5


@dataclass
class StyleGANTrainOptions(runs.BookkeepingOptions, StyleGANHyperparameters):
    """The hyperparameters, then the bookkeeping options (see runs.BookkeepingOptions for the order)."""


@dataclass
class RunConfig:
    data: list[Path]
    out: Path
    export: bool = False
    threads: int = 1
    command: str = ""


@dataclass
class TrainState(runs.TrainState):
    images_seen: int = 0  # real images through D, all processes
    last: dict = field(default_factory=dict)  # the latest logged losses and scores


# --- data and models -------------------------------------------------------------------------
def check_options(o: StyleGANTrainOptions) -> None:
    if o.target not in TARGETS:
        raise ValueError(f"--target must be one of {TARGETS}, got {o.target!r}")
    if o.fake_layout not in FAKE_LAYOUTS:
        raise ValueError(f"--fake-layout must be one of {FAKE_LAYOUTS}, got {o.fake_layout!r}")
    if o.batch_size % min(o.mbstd_group, o.batch_size):
        raise ValueError(f"--batch-size {o.batch_size} must be a multiple of --mbstd-group {o.mbstd_group}")


def load_training_data(roots: list[Path], o: StyleGANTrainOptions) -> torch.Tensor:
    return load_part_maps(roots, o.resolution) if o.target == "parts" else load_images(roots, o.resolution)


def channels(o: StyleGANTrainOptions) -> int:
    return NUM_PARTS if o.target == "parts" else 3


def build_generator(o: StyleGANTrainOptions) -> StyleGANGenerator:
    return StyleGANGenerator(resolution=o.resolution, z_dim=o.z_dim, w_dim=o.w_dim, mapping_layers=o.mapping_layers,
                             widths=tuple(o.widths), out_channels=channels(o),
                             output="labels" if o.target == "parts" else "image")


def build_models(o: StyleGANTrainOptions) -> tuple[StyleGANGenerator, StyleGANDiscriminator, StyleGANGenerator]:
    """G, D and the EMA copy of G (eval mode, no gradients)."""
    g = build_generator(o)
    d = StyleGANDiscriminator(resolution=o.resolution, widths=tuple(o.d_widths), in_channels=channels(o),
                              mbstd_group_size=o.mbstd_group)
    ema = StyleGANGenerator.from_config(g.config)
    ema.load_state_dict(g.state_dict())
    ema.requires_grad_(False).eval()
    return g, d, ema


def make_optimizers(g: torch.nn.Module, d: torch.nn.Module, o: StyleGANTrainOptions) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for G; for D the lr and betas are scaled by c = interval / (interval + 1), which keeps
    lazy R1's effective optimizer the same as regularizing every step (StyleGAN2, appendix B)."""
    c = o.r1_every / (o.r1_every + 1) if o.r1_gamma > 0 else 1.0
    opt_g = torch.optim.Adam(g.parameters(), lr=o.lr, betas=(o.beta1, o.beta2))
    opt_d = torch.optim.Adam(d.parameters(), lr=o.lr * c, betas=(o.beta1 ** c, o.beta2 ** c))
    return opt_g, opt_d


def ema_beta(o: StyleGANTrainOptions, images_seen: int, batch: int) -> float:
    """EMA decay per step for a half-life of ema_kimg thousand images (ramped up: at most
    ema_rampup * images seen); 0 (a plain copy) at the start."""
    half_life = o.ema_kimg * 1000
    if o.ema_rampup > 0:
        half_life = min(half_life, images_seen * o.ema_rampup)
    return 0.5 ** (batch / half_life) if half_life > 0 else 0.0


# --- what D sees ------------------------------------------------------------------------------
def real_inputs(batch: torch.Tensor, o: StyleGANTrainOptions, rng: torch.Generator) -> torch.Tensor:
    """uint8 part ids (N, H, W) -> one-hot maps, or uint8 images -> [-1, 1]; random horizontal flips."""
    x = one_hot_masks(batch) if o.target == "parts" else batch.float() / 127.5 - 1.0
    flip = (torch.rand(x.shape[0], generator=rng) < o.flip_prob).view(-1, 1, 1, 1).to(x.device)
    return torch.where(flip, x.flip(-1), x)


def fake_inputs(output: torch.Tensor, o: StyleGANTrainOptions) -> torch.Tensor:
    """Generator output as D sees it: images as they are; layouts as the softmax over the logits,
    or (straight_through) its hard one-hot argmax in the forward pass with the softmax's gradient
    in the backward pass, so that D cannot score soft fakes against one-hot reals."""
    if o.target == "image":
        return output
    probs = output.softmax(1)
    if o.fake_layout == "softmax":
        return probs
    return one_hot_masks(probs.argmax(1), probs.shape[1]).to(probs) + (probs - probs.detach())


def training_latents(n: int, o: StyleGANTrainOptions, num_ws: int, rng: torch.Generator,
                     device: torch.device) -> dict:
    """Codes for one batch; with probability style_mixing a second code takes over from a random
    layer in 1..num_ws-1 (the whole batch shares the layer, as in StyleGAN2-ADA)."""
    latents = {"z": torch.randn(n, o.z_dim, generator=rng).to(device)}
    if torch.rand((), generator=rng).item() < o.style_mixing:
        latents["mix_z"] = torch.randn(n, o.z_dim, generator=rng).to(device)
        latents["mix_layer"] = int(torch.randint(1, num_ws, (), generator=rng))
    return latents


def foreground_share(maps: torch.Tensor) -> float:
    """Share of non-background pixels of (N, K, H, W) part maps: a collapse to empty layouts shows here."""
    return (maps.detach().argmax(1) != BACKGROUND).float().mean().item()


# --- one iteration ---------------------------------------------------------------------------
def d_step(g, d, opt_d, real: torch.Tensor, o: StyleGANTrainOptions, step: int, accelerator,
           rng: torch.Generator, num_ws: int) -> dict[str, float]:
    """Logistic loss on reals and fakes (scored separately: minibatch stddev groups must not mix
    them), plus gamma / 2 * R1 * interval on every r1_every-th step."""
    with torch.no_grad():
        fake = fake_inputs(g(**training_latents(real.shape[0], o, num_ws, rng, real.device),
                             noise_generator=rng), o)
    regularize = o.r1_gamma > 0 and step % o.r1_every == 0
    real = real.detach().requires_grad_(regularize)
    real_scores, fake_scores = d(real), d(fake)
    loss = d_logistic(real_scores, fake_scores)
    total = loss
    logs = {"d_loss": loss.item(), "d_real": real_scores.mean().item(), "d_fake": fake_scores.mean().item()}
    if regularize:
        r1 = r1_penalty(real_scores, real)
        total = loss + r1 * (o.r1_gamma / 2 * o.r1_every)
        logs["r1"] = r1.item()
    opt_d.zero_grad(set_to_none=True)
    accelerator.backward(total)
    opt_d.step()
    if o.target == "parts":
        logs |= {"fg_real": foreground_share(real), "fg_fake": foreground_share(fake)}
    return logs


def g_step(g, raw_d, opt_g, batch_size: int, o: StyleGANTrainOptions, accelerator, rng: torch.Generator,
           num_ws: int) -> dict[str, float]:
    """Non-saturating loss. D runs unwrapped (no DDP gradient sync) and gradients go to G's
    parameters only, which also spares D's weight gradients."""
    params = list(g.parameters())
    fake = fake_inputs(g(**training_latents(batch_size, o, num_ws, rng, params[0].device), noise_generator=rng), o)
    loss = g_nonsaturating(raw_d(fake))
    opt_g.zero_grad(set_to_none=True)
    accelerator.backward(loss, inputs=params)
    opt_g.step()
    return {"g_loss": loss.item()}


# --- samples, checkpoints, export ------------------------------------------------------------
@torch.no_grad()
def preview(generator: StyleGANGenerator, z: torch.Tensor, psi: float = 1.0) -> list[Image.Image]:
    """Outputs of `z` in eval mode with the fixed noise: coloured layouts or images."""
    was_training = generator.training
    generator.eval()
    out = generator(z.to(generator.device), psi=psi, noise_mode="const")
    generator.train(was_training)
    if generator.config.output == "image":
        return tensor_to_pil(out)
    return [Image.fromarray(colorize(ids.cpu().numpy())) for ids in generator.label_maps(out)]


def save_sample_grid(generator: StyleGANGenerator, z: torch.Tensor, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tile(preview(generator, z)).save(path)
    return path


def export(run_dir: Path, say=print) -> Path:
    """The EMA generator of the latest complete checkpoint -> run_dir/generator/ (safetensors)
    with a model card; safe to call while the run is still training."""
    checkpoint = parse_spec(f"{run_dir}@latest")  # FileNotFoundError without a complete one
    record, o = runs.read_run(run_dir, StyleGANTrainOptions)
    state = runs.read_train_state(checkpoint.folder, TrainState)
    generator = build_generator(o)
    generator.load_state_dict(checkpoint.state_dict("generator_ema"))
    target = run_dir / GENERATOR
    generator.save_pretrained(target, safe_serialization=True)
    write_model_card(target, model_card(record, o, state, generator, target.name))
    say(f"exported the EMA generator of {checkpoint.folder} -> {target}")
    return target


def model_card(record: dict, o: StyleGANTrainOptions, state: TrainState, g: StyleGANGenerator, name: str) -> str:
    params = sum(p.numel() for p in g.parameters())
    data_lines, cars = data_summary([Path(p) for p in record["data"]])
    what = (f"car part layouts: {NUM_PARTS} logits per pixel; `g.label_maps(g(z))` gives part ids "
            "(`carstudio.data.parts`), `colorize` shows them" if o.target == "parts" else
            "car images in about [-1, 1] (the one-stage baseline of seed 003)")
    layouts = f" D sees fake layouts as `{o.fake_layout}`." if o.target == "parts" else ""
    return "\n".join([
        f"# {name}: StyleGAN2 generator, {o.resolution} px, target `{o.target}`", "",
        f"EMA weights; z ({o.z_dim}) -> mapping ({o.mapping_layers} layers) -> w ({o.w_dim}) -> {what}. "
        f"Widths {list(o.widths)} (4 px up), {params / 1e6:.2f} M parameters. Truncation: `g(z, psi=0.7)`.",
        "", "## Training data and licences",
        "Renders made with `python -m carstudio.data render` from TORCS and Trigger Rally car models; the "
        f"model is a derived work under the cars' licences ({FAL} or {GPL}):", *data_lines, "",
        *licence_table(cars, []),
        "", "## Training", "```", record.get("command") or "python -m carstudio.train.stylegan ...", "```",
        f"{state.step} steps of batch {o.batch_size} x {record.get('num_processes', 1)} process(es) "
        f"({state.images_seen} images); non-saturating logistic loss, lazy R1 gamma {o.r1_gamma} every "
        f"{o.r1_every} steps, style mixing {o.style_mixing}, Adam lr {o.lr} betas ({o.beta1}, {o.beta2}), "
        f"EMA half-life {o.ema_kimg} kimg.{layouts} {state.seconds / 60:.0f} min on this machine "
        f"({record.get('threads', '?')} torch thread(s) per process).",
    ])


# --- training loop ---------------------------------------------------------------------------
def train(run: RunConfig, o: StyleGANTrainOptions, log=print) -> TrainState:
    """Train (or resume) into run.out; with run.export, export the EMA generator at the end."""
    check_options(o)
    accelerator, say = runs.start_run(run, o, log)
    g, d, ema = build_models(o)
    g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    data = load_training_data(run.data, o)
    params = sum(p.numel() for p in g.parameters())
    say(f"{len(data)} training {o.target}; G {params / 1e6:.2f} M parameters, {g.num_ws} styles")
    loader = DataLoader(TensorDataset(data), batch_size=o.batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(o.seed))
    opt_g, opt_d = make_optimizers(g, d, o)
    g, d, opt_g, opt_d, loader = accelerator.prepare(g, d, opt_g, opt_d, loader)
    ema = ema.to(accelerator.device)
    name_checkpoint_contents(accelerator, {"generator": g, "discriminator": d}, custom={"generator_ema": ema})
    if len(loader) == 0:
        raise ValueError(f"fewer samples per process than one batch ({o.batch_size})")

    state = runs.resume(accelerator, run.out, TrainState(), say)
    run_loop(accelerator, run, o, state, g, d, ema, opt_g, opt_d, loader, say)
    accelerator.wait_for_everyone()
    # the models are exported from the last checkpoint (its EMA generator), not saved here
    runs.finish_run(accelerator, run, {}, lambda: export(run.out, say))
    return state


def run_loop(accelerator, run, o, state, g, d, ema, opt_g, opt_d, loader, say) -> None:
    z_fixed = runs.fixed_latents(o)
    raw_g, raw_d = accelerator.unwrap_model(g), accelerator.unwrap_model(d)
    num_ws, global_batch = raw_g.num_ws, o.batch_size * accelerator.num_processes
    g.train(), d.train()
    while state.step < o.steps:
        batches = iter(runs.batches_from(accelerator, loader, state.step))
        tick = time.perf_counter()
        for (batch,) in batches:
            rng = runs.step_generator(o.seed, state.step, accelerator.process_index)
            real = real_inputs(batch, o, rng)
            state.last |= d_step(g, d, opt_d, real, o, state.step, accelerator, rng, num_ws)
            state.last |= g_step(g, raw_d, opt_g, o.batch_size, o, accelerator, rng, num_ws)
            state.images_seen += global_batch
            ema_update(ema, raw_g, state.step, 0, ema_beta(o, state.images_seen, global_batch))
            state.step += 1
            now = time.perf_counter()
            state.seconds += now - tick
            runs.after_gan_step(accelerator, run, o, state, ema, z_fixed, say, save_grid=save_sample_grid)
            tick = time.perf_counter()
            if state.step >= o.steps:
                break


# --- command line ----------------------------------------------------------------------------
TUPLE_OPTIONS = ("widths", "d_widths")


def parse_args(argv: list[str] | None = None) -> tuple[RunConfig, StyleGANTrainOptions, bool]:
    """-> (run, options, export_only)."""
    parser = runs.trainer_parser(__doc__)
    runs.add_data_argument(parser, required=False)
    runs.add_out_argument(parser)
    parser.add_argument("--export", action="store_true", help="write the EMA generator to OUT/generator at the end")
    parser.add_argument("--export-only", action="store_true",
                        help="export the latest checkpoint's EMA generator to OUT/generator now and stop")
    args, options = runs.parse_trainer_args(parser, argv, StyleGANTrainOptions, TUPLE_OPTIONS)
    if not args.data and not args.export_only:
        parser.error("--data is required (except with --export-only)")
    command = runs.command_line("carstudio.train.stylegan", argv)
    return RunConfig(args.data, args.out, args.export, args.threads, command), options, args.export_only


def main(argv: list[str] | None = None) -> None:
    run, options, export_only = parse_args(argv)
    if export_only:
        export(run.out, runs.print_now)
    else:
        train(run, options, log=runs.print_now)


if __name__ == "__main__":
    main()
