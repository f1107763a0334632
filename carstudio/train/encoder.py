"""Train a ResNet-18 encoder that maps a generator's images back to their latent codes.

Pairs (G(z), z) come from frozen SN-GAN generators, fresh every step (no dataset); the loss is
the latent MSE ||E(G(z)) - z||^2 plus, optionally (--image-weight), the image reconstruction
MSE ||G(E(G(z))) - G(z)||^2. `refine_latent` then improves one image's code by a few steps of
gradient descent on its reconstruction error.

Several --generator folders share one latent space when they are a GAN and its fine-tuned copies
(FreezeD keeps z's meaning): each batch is split evenly between them, so the encoder sees every
domain's images and maps a car of either domain to the z that drew it. The blend tab's encoder
learns from the everyday and the futuristic generator:

    python -m carstudio.train.encoder --generator weights/sngan-futuristic-64 weights/sngan-everyday-64 \\
        --out runs/encoder-64 --width 24 --export weights/encoder-futuristic-64
    ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes 2 --num_machines 1 \\
        --mixed_precision no --dynamo_backend no -m carstudio.train.encoder --generator ... --out ...

The run folder holds options.json, checkpoints/step_NNNNNNN/ (resumable like the other
trainers) and, at the end, encoder/.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from carstudio.checkpoints import name_checkpoint_contents
from carstudio.hub import write_model_card
from carstudio.models.encoder import ResNet18Encoder
from carstudio.models.sngan import SNGANGenerator
from carstudio.train import runs
from carstudio.pipelines.blend import refine_latent  # noqa: F401  (re-exported: refinement after training)

ENCODER = "encoder"


@dataclass
class EncoderTrainOptions:
    width: int = 64  # ResNet-18 base width (64 is the original network)
    steps: int = 5000
    batch_size: int = 64  # per process
    lr: float = 1e-3
    weight_decay: float = 1e-5
    image_weight: float = 0.0  # weight of the image reconstruction MSE; 0: latent MSE only
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 50
    seed: int = 0


@dataclass
class RunConfig:
    generators: list[Path]
    out: Path
    export: Path | None = None
    threads: int = 1
    command: str = ""


@dataclass
class TrainState(runs.TrainState):
    last: dict = dataclasses.field(default_factory=dict)


def build_encoder(generator: SNGANGenerator, o: EncoderTrainOptions) -> ResNet18Encoder:
    return ResNet18Encoder(z_dim=generator.config.z_dim, resolution=generator.config.resolution, width=o.width)


def freeze(generator: torch.nn.Module) -> torch.nn.Module:
    """Eval mode (BatchNorm running statistics) and no parameter gradients."""
    return generator.requires_grad_(False).eval()


def encoder_loss(encoder, generators: list[SNGANGenerator], z: torch.Tensor, image_weight: float
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """`generators` share z; the batch z is split evenly between them."""
    chunks = z.chunk(len(generators))
    with torch.no_grad():
        images = torch.cat([g(c) for g, c in zip(generators, chunks)])
    z_hat = encoder(images)
    latent = F.mse_loss(z_hat, z)
    loss, parts = latent, {"latent_mse": latent.item()}
    if image_weight > 0:
        redrawn = torch.cat([g(c) for g, c in zip(generators, z_hat.split([len(c) for c in chunks]))])
        image = F.mse_loss(redrawn, images)
        loss = loss + image_weight * image
        parts["image_mse"] = image.item()
    return loss, parts


def train_step(encoder, generators: list[SNGANGenerator], optimizer, o: EncoderTrainOptions, rng: torch.Generator,
               backward=None) -> dict[str, float]:
    """One optimizer step on a fresh batch of (G(z), z) from generators sharing z; `backward`
    defaults to loss.backward."""
    param = next(encoder.parameters())
    z = torch.randn(o.batch_size, generators[0].config.z_dim, generator=rng).to(param)
    loss, parts = encoder_loss(encoder, generators, z, o.image_weight)
    optimizer.zero_grad(set_to_none=True)
    (backward or torch.Tensor.backward)(loss)
    optimizer.step()
    return parts


# --- run -------------------------------------------------------------------------------------
def train(run: RunConfig, o: EncoderTrainOptions, log=print) -> TrainState:
    accelerator, say = runs.start_run(run, o, log, seedable_sampler=False)
    generators = [freeze(SNGANGenerator.from_pretrained(p)).to(accelerator.device) for p in run.generators]
    shapes = {(g.config.z_dim, g.config.resolution) for g in generators}
    if len(shapes) > 1:
        raise ValueError(f"the generators must share z_dim and resolution, got {sorted(shapes)}")
    if o.batch_size < len(generators):
        raise ValueError(f"--batch-size {o.batch_size} cannot be split between {len(generators)} generators")
    torch.manual_seed(o.seed)
    encoder = build_encoder(generators[0], o).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    encoder, optimizer = accelerator.prepare(encoder, optimizer)
    name_checkpoint_contents(accelerator, {ENCODER: encoder})
    state = runs.resume(accelerator, run.out, TrainState(), say)
    encoder.train()
    while state.step < o.steps:
        tick = time.perf_counter()
        rng = runs.step_generator(o.seed, state.step, accelerator.process_index)
        state.last = train_step(encoder, generators, optimizer, o, rng, accelerator.backward)
        state.step += 1
        state.seconds += time.perf_counter() - tick
        if state.step % o.log_every == 0:
            say(f"step {state.step}/{o.steps} " + " ".join(f"{k} {v:.4f}" for k, v in state.last.items())
                + f" {state.seconds / 60:.1f} min")
        if runs.due(state.step, o.checkpoint_every, o.steps):
            runs.save_checkpoint(accelerator, run.out, state, o.keep_checkpoints)
    runs.finish_run(accelerator, run, {run.out / ENCODER: encoder}, lambda: export(run, o, state, say))
    return state


def export(run: RunConfig, o: EncoderTrainOptions, state: TrainState, say=print) -> Path:
    encoder = runs.export_weights(ResNet18Encoder, run.out / ENCODER, run.export)
    params = sum(p.numel() for p in encoder.parameters())
    write_model_card(run.export, "\n".join([
        f"# {run.export.name}: ResNet-18 encoder for "
        + " and ".join(f"`{p.as_posix()}`" for p in run.generators),
        "",
        f"ResNet-18 (width {o.width}, {params / 1e6:.2f} M parameters): image in [-1, 1] -> latent code "
        f"(z {encoder.config.z_dim}) of the generator" + ("s above (one latent space)." if len(run.generators) > 1
                                                         else " above."),
        "",
        "## Training data and licences",
        "No renders: every training image is drawn by the generator(s) above, so the data and licences are "
        "theirs (see their model cards).",
        "",
        "## Training",
        "```",
        run.command or "python -m carstudio.train.encoder ...",
        "```",
        f"{state.step} steps of batch {o.batch_size} per process on fresh (G(z), z) pairs"
        + (f", the batch split evenly between the {len(run.generators)} generators" if len(run.generators) > 1 else "")
        + "; latent MSE"
        + (f" + {o.image_weight} x image MSE" if o.image_weight > 0 else "")
        + f"; AdamW lr {o.lr}. Last losses: {state.last}. Time on this machine: {state.seconds / 60:.0f} min.",
    ]))
    say(f"exported {run.out / ENCODER} -> {run.export}")
    return run.export


# --- command line ----------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> tuple[RunConfig, EncoderTrainOptions]:
    parser = runs.trainer_parser(__doc__)
    parser.add_argument("--generator", type=Path, nargs="+", required=True,
                        help="saved SNGANGenerator folders sharing one latent space (kept frozen)")
    runs.add_out_argument(parser)
    parser.add_argument("--export", type=Path, help="write the encoder and its card here at the end")
    args, options = runs.parse_trainer_args(parser, argv, EncoderTrainOptions)
    command = runs.command_line("carstudio.train.encoder", argv)
    return RunConfig(args.generator, args.out, args.export, args.threads, command), options


def main(argv: list[str] | None = None) -> None:
    train(*parse_args(argv), log=runs.print_now)


if __name__ == "__main__":
    main()
