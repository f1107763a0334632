"""Train SN-GAN on render folders: hinge loss, DiffAugment on real and fake before D, LeCam,
EMA of G (StudioGAN's SNGAN-DiffAug-LeCam recipe); FreezeD fine-tuning from a finished run.

    python -m carstudio.train.sngan --data data/everyday-64 --out runs/sngan-everyday-64 \\
        --export weights/sngan-everyday-64
    python -m carstudio.train.sngan --data data/futuristic-64 --out runs/sngan-futuristic-64 \\
        --init-from runs/sngan-everyday-64 --freeze-d 2 --ema-start 0 --export weights/sngan-futuristic-64
    ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2 --num_machines 1 \\
        --mixed_precision no --dynamo_backend no -m carstudio.train.sngan --data ... --out ...

The run folder holds options.json, checkpoints/step_NNNNNNN/ (accelerator.save_state every
--checkpoint-every steps, the EMA generator included; a restart with the same --out resumes from
the latest complete one), samples/step_NNNNNNN.png (EMA generator on fixed codes every
--sample-every steps) and, at the end, models/{generator,generator_ema,discriminator}/ — the
folder that --init-from reads. --export writes the EMA generator with a model card.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from carstudio.augment import diff_augment, parse_policy
from carstudio.cards import data_summary, licence_table
from carstudio.checkpoints import name_checkpoint_contents
from carstudio.data.cars import FAL, GPL
from carstudio.data.loading import load_images
from carstudio.hub import write_model_card
from carstudio.imaging import tensor_to_pil, tile
from carstudio.losses.adversarial import LeCamEMA, d_hinge, g_hinge, lecam_reg
from carstudio.models.sngan import SNGANDiscriminator, SNGANGenerator, freeze_lowest_blocks
from carstudio.train import runs
from carstudio.train.ema import ema_update

MODELS = "models"


@dataclass
class SNGANHyperparameters:
    # model
    resolution: int = 64
    z_dim: int = 128
    g_widths: tuple[int, ...] = (256, 128, 64, 32, 16)
    d_widths: tuple[int, ...] = (16, 16, 32, 64, 128)
    # optimisation (StudioGAN defaults from the anchors)
    steps: int = 20000
    batch_size: int = 64  # per process
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1  # D updates per G update
    # regularisation
    policy: str = "color,translation,cutout"  # DiffAugment; "" turns it off
    lecam_weight: float = 0.3  # 0 turns LeCam off
    lecam_decay: float = 0.99
    ema_start: int = 1000  # EMA of G: a plain copy before this step
    ema_decay: float = 0.99
    freeze_d: int = 0  # FreezeD: lowest D blocks kept frozen (with --init-from)


@dataclass
class SNGANTrainOptions(runs.BookkeepingOptions, SNGANHyperparameters):
    """The hyperparameters, then the bookkeeping options (see runs.BookkeepingOptions for the order)."""


@dataclass
class RunConfig:
    data: list[Path]
    out: Path
    init_from: Path | None = None
    export: Path | None = None
    threads: int = 1
    command: str = ""


@dataclass
class TrainState(runs.TrainState):
    images_seen: int = 0  # real images through D, all processes
    lecam: dict = field(default_factory=lambda: {"decay": 0.99, "real": 0.0, "fake": 0.0})
    last: dict = field(default_factory=dict)  # the latest logged losses and scores


# --- data and models -------------------------------------------------------------------------
def build_models(o: SNGANTrainOptions, init_from: Path | None) -> tuple[SNGANGenerator, SNGANDiscriminator, SNGANGenerator]:
    """G, D and the EMA copy of G: fresh from the options, or a finished run's models/ folder."""
    if init_from is None:
        g = SNGANGenerator(z_dim=o.z_dim, resolution=o.resolution, widths=tuple(o.g_widths))
        d = SNGANDiscriminator(resolution=o.resolution, widths=tuple(o.d_widths))
        ema = SNGANGenerator.from_config(g.config)
        ema.load_state_dict(g.state_dict())
    else:
        g = SNGANGenerator.from_pretrained(init_from / MODELS / "generator")
        d = SNGANDiscriminator.from_pretrained(init_from / MODELS / "discriminator")
        ema = SNGANGenerator.from_pretrained(init_from / MODELS / "generator_ema")
    freeze_lowest_blocks(d, o.freeze_d)
    ema.requires_grad_(False).eval()
    return g, d, ema


def make_optimizers(g: torch.nn.Module, d: torch.nn.Module, o: SNGANTrainOptions) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for G and for D's trainable parameters (FreezeD's frozen blocks are left out)."""
    betas = (o.beta1, o.beta2)
    opt_g = torch.optim.Adam([p for p in g.parameters() if p.requires_grad], lr=o.g_lr, betas=betas)
    opt_d = torch.optim.Adam([p for p in d.parameters() if p.requires_grad], lr=o.d_lr, betas=betas)
    return opt_g, opt_d


# --- one iteration ---------------------------------------------------------------------------
def d_step(g, d, opt_d, real: torch.Tensor, o: SNGANTrainOptions, lecam: LeCamEMA, accelerator,
           rng: torch.Generator) -> dict[str, float]:
    """Hinge loss on augmented real and fake (one D pass over both) plus LeCam."""
    with torch.no_grad():
        fake = g(torch.randn(real.shape[0], o.z_dim, generator=rng).to(real))
    both = diff_augment(torch.cat([real, fake]).contiguous(memory_format=torch.channels_last), o.policy, rng)
    real_scores, fake_scores = d(both).chunk(2)
    loss = d_hinge(real_scores, fake_scores)
    reg = torch.zeros((), device=real.device)
    if o.lecam_weight > 0:
        # averaged over processes, so that every process (and a resumed run) holds the same EMA
        means = accelerator.reduce(torch.stack([real_scores.mean(), fake_scores.mean()]).detach(), "mean")
        lecam.update(means[0], means[1])
        reg = lecam_reg(real_scores, fake_scores, lecam.real, lecam.fake)
    opt_d.zero_grad(set_to_none=True)
    accelerator.backward(loss + o.lecam_weight * reg)
    opt_d.step()
    return {"d_loss": loss.item(), "lecam": reg.item(), "d_real": real_scores.mean().item(),
            "d_fake": fake_scores.mean().item()}


def g_step(g, d, opt_g, batch_size: int, o: SNGANTrainOptions, accelerator, rng: torch.Generator) -> dict[str, float]:
    """Hinge generator loss through the same DiffAugment (D's gradients are discarded)."""
    param = next(p for p in g.parameters())
    fake = g(torch.randn(batch_size, o.z_dim, generator=rng).to(param))
    loss = g_hinge(d(diff_augment(fake, o.policy, rng)))
    opt_g.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    opt_g.step()
    return {"g_loss": loss.item()}


# --- samples, checkpoints, export ------------------------------------------------------------
@torch.no_grad()
def save_sample_grid(generator: SNGANGenerator, z: torch.Tensor, path: Path) -> Path:
    """Images of `z` (eval mode) tiled into a square-ish grid PNG."""
    was_training = generator.training
    generator.eval()
    tiles = tensor_to_pil(generator(z.to(generator.device)))
    generator.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    tile(tiles).save(path)
    return path


def pretraining_data(init_from: Path | None) -> list[Path]:
    """The render folders the run `init_from` trained on (its options.json), for the card."""
    if init_from is None or not (init_from / "options.json").is_file():
        return []
    return [Path(p) for p in runs.read_run(init_from, SNGANTrainOptions)[0]["data"]]


def export(run: RunConfig, o: SNGANTrainOptions, state: TrainState, say=print) -> Path:
    """The EMA generator (safetensors) with a model card, ready for `load_pretrained`."""
    ema = runs.export_weights(SNGANGenerator, run.out / MODELS / "generator_ema", run.export)
    params = sum(p.numel() for p in ema.parameters())
    data_lines, cars = data_summary(list(run.data) + pretraining_data(run.init_from))
    body = "\n".join([
        f"# {run.export.name}: SN-GAN generator ({o.resolution} px)",
        "",
        f"EMA weights of a ResNet SN-GAN generator (z {o.z_dim}, widths {list(o.g_widths)}, {params / 1e6:.2f} M "
        "parameters): z ~ N(0, I) -> car image in [-1, 1].",
        "",
        "## Training data and licences",
        "Renders made with `python -m carstudio.data render` from TORCS and Trigger Rally car models (Debian "
        "packages torcs-data and trigger-rally-data); the model is a derived work under the cars' licences "
        f"({FAL} or {GPL}):",
        *data_lines,
        "" if run.init_from is None else f"\nFine-tuned from `{run.init_from.as_posix()}` (trained on the folders "
        "after the first) " + (f"with FreezeD (lowest {o.freeze_d} discriminator blocks frozen)." if o.freeze_d
                               else "with every discriminator block trained (no FreezeD)."),
        "",
        *licence_table(cars, []),
        "",
        "## Training",
        "```",
        run.command or "python -m carstudio.train.sngan ...",
        "```",
        f"{state.step} steps of batch {o.batch_size} per process; hinge loss, DiffAugment `{o.policy or 'off'}`, "
        f"LeCam {o.lecam_weight}, Adam G {o.g_lr} / D {o.d_lr} betas ({o.beta1}, {o.beta2}), EMA decay "
        f"{o.ema_decay} from step {o.ema_start}. Time on this machine ({run.threads} torch thread(s) per process): "
        f"{state.seconds / 60:.0f} min.",
    ])
    write_model_card(run.export, body)
    say(f"exported {run.out / MODELS / 'generator_ema'} -> {run.export}")
    return run.export


# --- training loop ---------------------------------------------------------------------------
def train(run: RunConfig, o: SNGANTrainOptions, log=print) -> TrainState:
    """Train (or resume) into run.out; export the EMA generator at the end when run.export is set."""
    parse_policy(o.policy)
    accelerator, say = runs.start_run(run, o, log)
    g, d, ema = build_models(o, run.init_from)
    g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    images = load_images(run.data, o.resolution)
    say(f"{len(images)} training images; D blocks frozen: {o.freeze_d}")
    loader = DataLoader(TensorDataset(images), batch_size=o.batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(o.seed))
    opt_g, opt_d = make_optimizers(g, d, o)
    g, d, opt_g, opt_d, loader = accelerator.prepare(g, d, opt_g, opt_d, loader)
    ema = ema.to(accelerator.device)
    name_checkpoint_contents(accelerator, {"generator": g, "discriminator": d}, custom={"generator_ema": ema})
    if len(loader) == 0:
        raise ValueError(f"fewer images per process than one batch ({o.batch_size})")

    fresh = TrainState(lecam={"decay": o.lecam_decay, "real": 0.0, "fake": 0.0})
    state = runs.resume(accelerator, run.out, fresh, say)
    run_loop(accelerator, run, o, state, g, d, ema, opt_g, opt_d, loader, say)

    models = {run.out / MODELS / "generator": g, run.out / MODELS / "discriminator": d,
              run.out / MODELS / "generator_ema": ema}
    runs.finish_run(accelerator, run, models, lambda: export(run, o, state, say))
    return state


def run_loop(accelerator, run, o, state, g, d, ema, opt_g, opt_d, loader, say) -> None:
    lecam = LeCamEMA()
    lecam.load_state_dict(state.lecam)
    z_fixed = runs.fixed_latents(o)
    raw_g = accelerator.unwrap_model(g)
    g.train(), d.train()
    batches_per_step = o.d_steps
    while state.step < o.steps:
        batches = iter(runs.batches_from(accelerator, loader, state.step * batches_per_step))
        tick = time.perf_counter()
        while state.step < o.steps:
            reals = [next(batches, None) for _ in range(batches_per_step)]
            if reals[-1] is None:
                break  # epoch ended inside a step: the next epoch starts it again
            rng = runs.step_generator(o.seed, state.step, accelerator.process_index)
            for (real,) in reals:
                real = real.float() / 127.5 - 1.0
                state.last = d_step(g, d, opt_d, real, o, lecam, accelerator, rng)
            state.last |= g_step(g, d, opt_g, o.batch_size, o, accelerator, rng)
            ema_update(ema, raw_g, state.step, o.ema_start, o.ema_decay)
            state.step += 1
            state.images_seen += o.batch_size * batches_per_step * accelerator.num_processes
            state.lecam = lecam.state_dict()
            now = time.perf_counter()
            state.seconds += now - tick
            runs.after_gan_step(accelerator, run, o, state, ema, z_fixed, say, save_grid=save_sample_grid)
            tick = time.perf_counter()


# --- command line ----------------------------------------------------------------------------
TUPLE_OPTIONS = ("g_widths", "d_widths")


def parse_args(argv: list[str] | None = None) -> tuple[RunConfig, SNGANTrainOptions]:
    parser = runs.trainer_parser(__doc__)
    runs.add_data_argument(parser)
    runs.add_out_argument(parser)
    parser.add_argument("--init-from", type=Path, help="a finished run folder to fine-tune (its models/)")
    parser.add_argument("--export", type=Path, help="write the EMA generator and its card here at the end")
    args, options = runs.parse_trainer_args(parser, argv, SNGANTrainOptions, TUPLE_OPTIONS)
    if options.freeze_d and args.init_from is None:
        parser.error("--freeze-d needs --init-from (FreezeD fine-tunes a trained discriminator)")
    command = runs.command_line("carstudio.train.sngan", argv)
    return RunConfig(args.data, args.out, args.init_from, args.export, args.threads, command), options


def main(argv: list[str] | None = None) -> None:
    train(*parse_args(argv), log=runs.print_now)


if __name__ == "__main__":
    main()
