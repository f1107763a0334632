"""Training one SinGAN on one image: the options and presets, the objectives, the trainer with
its per-scale checkpoints, and the two ways to run it on an image: into a run folder
(`train_image`: the trainer CLI `python -m carstudio.train.singan`, SinGAN's Table 1) and into
a weights folder from the app's "train on your car" (`train_to_directory`)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from carstudio.losses.adversarial import d_wasserstein, g_wasserstein, gradient_penalty
from carstudio.losses.sinkhorn import cosine_cost, position_cost, sinkhorn_cost
from carstudio.models.singan import (
    SinGANDiscriminator,
    SinGANGenerator,
    pyramid_sizes,
    resize_image,
    upsample_to,
)


@dataclass
class SinGANTrainOptions:
    """Defaults are the paper's (Shaham et al. 2019; tamarott/SinGAN)."""

    scale_factor: float = 0.75
    min_size: int = 25
    max_size: int = 250
    nfc: int = 32
    max_nfc: int = 128
    nfc_double_every: int = 4
    kernel_size: int = 3
    num_layers: int = 5
    iterations: int = 2000  # per scale
    lr_g: float = 5e-4
    lr_d: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.999)
    g_steps: int = 3
    d_steps: int = 3
    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp_init: float = 0.1
    lr_drop_at: float = 0.8  # fraction of iterations after which lr is divided by 10
    loss: str = "wgan-gp"  # or "sinkhorn"
    # Sinkhorn variant (seed 000 section 2; SinGAN2 defaults)
    sinkhorn_embed_dim: int = 32
    sinkhorn_eps: float = 0.1
    sinkhorn_iterations: int = 20
    sinkhorn_max_patches: int = 512
    sinkhorn_position_weight: float = 0.0
    # Fast mode (ConSinGAN-style): train the top `train_depth` scales together, each lower one
    # at `lr_scale` times the lr of the one above.
    train_depth: int = 1
    lr_scale: float = 0.1
    seed: int = 0
    checkpoint_every: int = 500

    def with_overrides(self, **overrides) -> "SinGANTrainOptions":
        return dataclasses.replace(self, **overrides)


# Overrides for each named preset; "paper" is the dataclass defaults.
PRESETS: dict[str, dict] = {
    "paper": {},
    "fast": dict(
        max_size=128, scale_factor=0.7, nfc=32, nfc_double_every=0, num_layers=4,
        iterations=400, g_steps=2, d_steps=2, train_depth=3, lr_scale=0.1, lr_drop_at=0.8,
    ),
    # A few seconds end to end: for smoke tests of the training paths, not for use.
    "smoke": dict(max_size=48, min_size=20, nfc=8, nfc_double_every=0, num_layers=3, iterations=3,
                  g_steps=1, d_steps=1),
}


def load_training_image(path: str | Path, max_size: int) -> torch.Tensor:
    """An RGB image file -> (1, 3, H, W) in [-1, 1], longest side at most max_size."""
    image = Image.open(path)
    image.load()
    image = image.convert("RGB")
    return image_to_tensor(image, max_size)


def image_to_tensor(image: Image.Image, max_size: int) -> torch.Tensor:
    shrink = min(1.0, max_size / max(image.size))
    if shrink < 1.0:
        image = image.resize((round(image.width * shrink), round(image.height * shrink)), Image.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)[None].contiguous()


class WGANGPObjective:
    """The paper's objective: WGAN critic scores averaged over patches, gradient penalty."""

    out_channels = 1

    def __init__(self, options: SinGANTrainOptions):
        self.gp_weight = options.gp_weight

    def critic_loss(self, critic, real, fake, generator) -> torch.Tensor:
        loss = d_wasserstein(critic(real), critic(fake))
        if self.gp_weight > 0:
            loss = loss + self.gp_weight * gradient_penalty(critic, real, fake, generator)
        return loss

    def generator_loss(self, critic, real, fake, generator) -> torch.Tensor:
        return g_wasserstein(critic(fake))


class SinkhornObjective:
    """Seed 000 section 2: the critic embeds each patch; the loss is the Sinkhorn divergence
    between real and fake patch embeddings (cosine cost, optional pixel-position penalty)."""

    def __init__(self, options: SinGANTrainOptions):
        self.out_channels = options.sinkhorn_embed_dim
        self.eps = options.sinkhorn_eps
        self.iterations = options.sinkhorn_iterations
        self.max_patches = options.sinkhorn_max_patches
        self.position_weight = options.sinkhorn_position_weight

    def _patches(self, embedding: torch.Tensor, generator) -> tuple[torch.Tensor, torch.Tensor]:
        b, c, h, w = embedding.shape
        points = embedding.permute(0, 2, 3, 1).reshape(-1, c)
        rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        positions = torch.stack([rows, cols], -1).reshape(-1, 2).repeat(b, 1).to(points)
        if points.shape[0] > self.max_patches:
            keep = torch.randperm(points.shape[0], generator=generator)[: self.max_patches]
            points, positions = points[keep.to(points.device)], positions[keep.to(points.device)]
        return points, positions

    def _w(self, a, b, extent) -> torch.Tensor:
        cost = cosine_cost(a[0], b[0])
        if self.position_weight > 0:
            cost = cost + self.position_weight * position_cost(a[1], b[1], extent)
        return sinkhorn_cost(cost, self.eps, self.iterations)

    def divergence(self, critic, real, fake, generator) -> torch.Tensor:
        real_emb, fake_emb = critic(real), critic(fake)
        extent = tuple(float(s) for s in real_emb.shape[-2:])
        r, f = self._patches(real_emb, generator), self._patches(fake_emb, generator)
        return 2.0 * self._w(r, f, extent) - self._w(f, f, extent) - self._w(r, r, extent)

    def critic_loss(self, critic, real, fake, generator) -> torch.Tensor:
        return -self.divergence(critic, real, fake, generator)

    def generator_loss(self, critic, real, fake, generator) -> torch.Tensor:
        return self.divergence(critic, real, fake, generator)


OBJECTIVES = {"wgan-gp": WGANGPObjective, "sinkhorn": SinkhornObjective}


@dataclass
class ScaleStats:
    scale: int
    size: tuple[int, int]
    iterations: int
    seconds: float
    d_loss: float
    g_loss: float
    rec_loss: float
    noise_amp: float


@dataclass
class TrainProgress:
    """What a progress callback sees: overall fraction done and the current scale."""

    scale: int
    num_scales: int
    iteration: int
    iterations: int
    fraction: float
    stats: list[ScaleStats] = field(default_factory=list)


class TrainingCancelled(Exception):
    pass


class SinGANTrainer:
    """Trains the pyramid scale by scale on one image tensor (1, 3, H, W) in [-1, 1]."""

    def __init__(self, image: torch.Tensor, options: SinGANTrainOptions, device: torch.device | str = "cpu"):
        self.options = options
        self.device = torch.device(device)
        o = options
        height, width = image.shape[-2:]
        sizes = pyramid_sizes(height, width, o.scale_factor, o.min_size, o.max_size)
        self.reals = [resize_image(image, size).to(self.device) for size in sizes]
        self.objective = OBJECTIVES[o.loss](o)
        torch.manual_seed(o.seed)  # weight init
        self.generator = SinGANGenerator(
            scale_sizes=[list(s) for s in sizes], nfc=o.nfc, max_nfc=o.max_nfc,
            nfc_double_every=o.nfc_double_every, kernel_size=o.kernel_size, num_layers=o.num_layers,
        ).to(self.device)
        self.discriminator = SinGANDiscriminator(
            num_scales=len(sizes), nfc=o.nfc, max_nfc=o.max_nfc, nfc_double_every=o.nfc_double_every,
            kernel_size=o.kernel_size, num_layers=o.num_layers, out_channels=self.objective.out_channels,
        ).to(self.device)
        # z_rec from its own stream, so that sampling with seed == training seed does not
        # reproduce the reconstruction by coincidence
        z_rec_rng = torch.Generator().manual_seed(o.seed + 7919)
        self.generator.z_rec.copy_(torch.randn(1, 3, *sizes[0], generator=z_rec_rng))
        self.rng = torch.Generator().manual_seed(o.seed)
        self.generator.reference.copy_(self.reals[-1])
        self.stats: list[ScaleStats] = []
        self.done_scales = 0
        self._run: _ScaleRun | None = None
        self._resume: dict | None = None

    @property
    def num_scales(self) -> int:
        return self.generator.num_scales

    def _noise(self, size) -> torch.Tensor:
        return torch.randn(1, 3, *size, generator=self.rng).to(self.device)

    # --- one scale -------------------------------------------------------------------------
    def _init_scale(self, n: int) -> None:
        """Start scale n from scale n-1's weights when the widths match (as the paper does),
        and set its noise amplitude from the reconstruction error of the scales below."""
        g, d = self.generator.generators, self.discriminator.critics
        if n > 0 and sum(p.numel() for p in g[n].parameters()) == sum(p.numel() for p in g[n - 1].parameters()):
            g[n].load_state_dict(g[n - 1].state_dict())
            d[n].load_state_dict(d[n - 1].state_dict())
        if n == 0:
            self.generator.noise_amps[0] = 1.0
        else:
            with torch.no_grad():
                prev = upsample_to(self.generator.reconstruct(n - 1)[-1], self.generator.sizes[n])
                rmse = torch.sqrt(F.mse_loss(prev, self.reals[n]))
            self.generator.noise_amps[n] = self.options.noise_amp_init * rmse

    def _trainable_scales(self, n: int) -> list[int]:
        return list(range(max(0, n - self.options.train_depth + 1), n + 1))

    def _forward_from(self, n: int, first: int, noise: bool) -> torch.Tensor:
        """Output of scale n, with grads only through scales >= first. noise=False gives the
        reconstruction path (fixed z_rec at scale 0, zero noise above)."""
        gen = self.generator
        with torch.no_grad():
            x = torch.zeros_like(gen.z_rec)
            for k in range(first):
                prev = upsample_to(x, gen.sizes[k]) if k else x
                z = self._noise(gen.sizes[k]) if noise else (gen.z_rec if k == 0 else None)
                x = gen.scale_step(k, prev, z)
        for k in range(first, n + 1):
            prev = upsample_to(x, gen.sizes[k]) if k else x
            z = self._noise(gen.sizes[k]) if noise else (gen.z_rec if k == 0 else None)
            x = gen.scale_step(k, prev, z)
        return x

    def train_scale(self, n: int, progress: Callable[[TrainProgress], None] | None = None,
                    should_stop: Callable[[], bool] | None = None,
                    on_checkpoint: Callable[["SinGANTrainer"], None] | None = None) -> ScaleStats:
        o = self.options
        resume = self._resume if self._resume is not None and self._resume["scale"] == n else None
        self._resume = None
        if resume is None:
            self._init_scale(n)
        scales = self._trainable_scales(n)
        first = scales[0]
        gens, critic = self.generator.generators, self.discriminator.critics[n]
        for k, g in enumerate(gens):
            g.requires_grad_(k in scales)
        groups = [{"params": gens[k].parameters(), "lr": o.lr_g * o.lr_scale ** (n - k)} for k in scales]
        opt_g = torch.optim.Adam(groups, betas=o.betas)
        opt_d = torch.optim.Adam(critic.parameters(), lr=o.lr_d, betas=o.betas)
        drop = max(1, int(o.lr_drop_at * o.iterations))
        sched_g = torch.optim.lr_scheduler.MultiStepLR(opt_g, [drop], 0.1)
        sched_d = torch.optim.lr_scheduler.MultiStepLR(opt_d, [drop], 0.1)
        run = _ScaleRun(n, 0, 0.0, opt_g, opt_d, sched_g, sched_d)
        if resume is not None:
            run.load_state(resume)
        self._run = run
        for k in scales:
            gens[k].train()
        critic.train()
        real = self.reals[n]
        start = time.perf_counter() - run.seconds
        d_loss = g_loss = rec_loss = torch.zeros(())
        for it in range(run.iteration, o.iterations):
            if should_stop is not None and should_stop():
                raise TrainingCancelled(f"cancelled at scale {n}, iteration {it}")
            for _ in range(o.d_steps):
                with torch.no_grad():
                    fake = self._forward_from(n, first, noise=True)
                opt_d.zero_grad(set_to_none=True)
                d_loss = self.objective.critic_loss(critic, real, fake, self.rng)
                d_loss.backward()
                opt_d.step()
            critic.requires_grad_(False)
            for _ in range(o.g_steps):
                opt_g.zero_grad(set_to_none=True)
                fake = self._forward_from(n, first, noise=True)
                g_loss = self.objective.generator_loss(critic, real, fake, self.rng)
                rec_loss = F.mse_loss(self._forward_from(n, first, noise=False), real)
                (g_loss + o.rec_weight * rec_loss).backward()
                opt_g.step()
            critic.requires_grad_(True)
            sched_g.step()
            sched_d.step()
            run.iteration, run.seconds = it + 1, time.perf_counter() - start
            if progress is not None and (it % 10 == 0 or it == o.iterations - 1):
                progress(self._progress(n, it + 1))
            if on_checkpoint is not None and run.iteration % o.checkpoint_every == 0 and run.iteration < o.iterations:
                on_checkpoint(self)
        self._run = None
        for g in gens:
            g.requires_grad_(False)
            g.eval()
        stats = ScaleStats(
            scale=n, size=self.generator.sizes[n], iterations=o.iterations,
            seconds=time.perf_counter() - start, d_loss=d_loss.item(), g_loss=g_loss.item(),
            rec_loss=rec_loss.item(), noise_amp=self.generator.noise_amps[n].item(),
        )
        self.stats.append(stats)
        self.done_scales = n + 1
        return stats

    def _progress(self, n: int, it: int) -> TrainProgress:
        # weight each scale by its pixel count: finer scales take longer
        pixels = [h * w for h, w in self.generator.sizes]
        done = sum(pixels[:n]) + pixels[n] * it / self.options.iterations
        return TrainProgress(n, self.num_scales, it, self.options.iterations, done / sum(pixels), list(self.stats))

    def train(self, progress=None, should_stop=None, on_scale_done=None, on_checkpoint=None) -> SinGANGenerator:
        for n in range(self.done_scales, self.num_scales):
            stats = self.train_scale(n, progress, should_stop, on_checkpoint)
            if on_scale_done is not None:
                on_scale_done(self, stats)
        self.generator.eval()
        return self.generator

    # --- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self, directory: Path) -> None:
        """Everything needed to resume: finished scales, and the scale in training (if any) with
        its optimizer state. Weights as safetensors; optimizer state is loaded weights_only."""
        directory.mkdir(parents=True, exist_ok=True)
        self.generator.save_pretrained(directory / "generator")
        self.discriminator.save_pretrained(directory / "discriminator")
        partial = None
        if self._run is not None:
            partial = {"scale": self._run.scale, "iteration": self._run.iteration, "seconds": self._run.seconds}
            torch.save(self._run.optimizer_state(), directory / "optimizers.pt")
        state = {"done_scales": self.done_scales, "stats": [dataclasses.asdict(s) for s in self.stats],
                 "rng_state": self.rng.get_state().tolist(), "partial": partial}
        (directory / "state.json").write_text(json.dumps(state, indent=1))

    def load_checkpoint(self, directory: Path) -> None:
        self.generator.load_state_dict(SinGANGenerator.from_pretrained(directory / "generator").state_dict())
        self.discriminator.load_state_dict(
            SinGANDiscriminator.from_pretrained(directory / "discriminator").state_dict())
        state = json.loads((directory / "state.json").read_text())
        self.done_scales = state["done_scales"]
        self.stats = [ScaleStats(**{**s, "size": tuple(s["size"])}) for s in state["stats"]]
        self.rng.set_state(torch.tensor(state["rng_state"], dtype=torch.uint8))
        if state.get("partial"):
            optim = torch.load(directory / "optimizers.pt", weights_only=True)
            self._resume = {**state["partial"], **optim}
        for g in self.generator.generators:
            g.requires_grad_(False)

    @property
    def resume_point(self) -> str:
        if self._resume is not None:
            return f"scale {self._resume['scale']} iteration {self._resume['iteration']}"
        return f"scale {self.done_scales} (start)"


@dataclass
class _ScaleRun:
    """The scale being trained: where it is and its optimizers, for mid-scale checkpoints."""

    scale: int
    iteration: int
    seconds: float
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LRScheduler
    sched_d: torch.optim.lr_scheduler.LRScheduler

    def optimizer_state(self) -> dict:
        return {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict()}

    def load_state(self, state: dict) -> None:
        self.iteration, self.seconds = state["iteration"], state["seconds"]
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])


def train_image(image_path: Path, out_dir: Path, options: SinGANTrainOptions, device, log=print) -> SinGANGenerator:
    """Train (or resume) one image's model under out_dir/<image stem>/ and export it."""
    run_dir = out_dir / image_path.stem
    image = load_training_image(image_path, options.max_size)
    trainer = SinGANTrainer(image, options, device)
    checkpoint = run_dir / "checkpoint"
    if (checkpoint / "state.json").exists():
        trainer.load_checkpoint(checkpoint)
        log(f"[{image_path.name}] resuming at {trainer.resume_point} of {trainer.num_scales} scales")
    log(f"[{image_path.name}] pyramid {trainer.generator.sizes}")

    def on_scale_done(t: SinGANTrainer, s: ScaleStats) -> None:
        t.save_checkpoint(checkpoint)
        log(f"[{image_path.name}] scale {s.scale} {s.size}: {s.seconds:.0f}s "
            f"({s.seconds / s.iterations:.3f} s/it) D {s.d_loss:.3f} G {s.g_loss:.3f} "
            f"rec {s.rec_loss:.4f} amp {s.noise_amp:.4f}")

    generator = trainer.train(on_scale_done=on_scale_done, on_checkpoint=lambda t: t.save_checkpoint(checkpoint))
    generator.save_pretrained(run_dir / "model")
    summary = {"image": str(image_path), "seconds": sum(s.seconds for s in trainer.stats),
               "scales": [dataclasses.asdict(s) for s in trainer.stats]}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    log(f"[{image_path.name}] done in {summary['seconds']:.0f}s -> {run_dir / 'model'}")
    return generator


def train_to_directory(image: np.ndarray, preset: str, out_dir: str, threads: int, report) -> None:
    """Child-process entry for the app's "train on your car": train `image` (HxWx3 uint8) with a
    preset and save the generator (safetensors) to out_dir; `report(fraction, message)`."""
    torch.set_num_threads(threads)
    options = SinGANTrainOptions().with_overrides(**PRESETS[preset])
    trainer = SinGANTrainer(image_to_tensor(Image.fromarray(image), options.max_size), options)

    def progress(p: TrainProgress) -> None:
        report(p.fraction, f"scale {p.scale + 1}/{p.num_scales}, iteration {p.iteration}/{p.iterations}")

    trainer.train(progress=progress).save_pretrained(out_dir)
