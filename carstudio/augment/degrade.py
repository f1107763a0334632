"""Degradations of the upsampler's low-resolution input (conditioning augmentation, as cascaded
diffusion and Real-ESRGAN train their upsamplers): the upsampler learns from (degraded
downsample of a render, the render) pairs, but at inference it enlarges the 64-px SN-GAN's
samples, which are blurrier and noisier than a downsampled render and carry the fine-tuned
generator's coloured checkerboard and speckle. Trained on clean downsamples it would enlarge
those defects faithfully; trained on inputs that carry them it learns to remove them.

Each degradation is a pure function of a batch (B, C, H, W) in [-1, 1] and per-sample strengths;
`degrade` draws the strengths from a seeded CPU `torch.Generator` (the same seed gives the same
batch) and applies, in order:

- area downsampling by the scale: the 64-px renders the SN-GAN learnt from are a 2x-supersampled
  render, which an area average of the 128-px render matches to 37 dB PSNR (SSIM 0.987, 200
  side-view training renders; bilinear: 35.0 dB), so a downsampled render looks like the
  GAN's training images;
- Gaussian blur (sigma up to `blur_sigma_max` low-resolution pixels): the GAN's samples are
  softer than its training renders;
- additive Gaussian noise, per pixel and channel (so coloured): the GAN's fine-grained grain;
- a coloured checkerboard (period 2 px at the low resolution, one random colour per sample) in
  smooth random patches: what nearest-upsampling + conv generators draw on flat body panels
  (the fine-tuned SN-GAN's "coloured checkerboard on the body", issue 21);
- colour speckle: isolated low-resolution pixels pushed towards random colours (each its own),
  most of them on edges (chosen in proportion to the edge strength of the clean downsample): the
  fine-tuned SN-GAN's bright and coloured dots sit along the car's outline and panel lines.

Left out on purpose: colour jitter (on the input only it would teach the upsampler to change
colours towards the render's, which it cannot know: the car's colour is the GAN's design, to be
kept) and JPEG artefacts (the SN-GAN's pictures are never compressed before the upsampler).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from carstudio.data.sketch_augment import smooth_noise


@dataclass
class DegradeOptions:
    """Probabilities (per sample) and strength ranges; a strength is drawn uniformly in
    [0, max]. All probabilities 0: the plain area downsample."""

    blur_prob: float = 0.5
    blur_sigma_max: float = 1.2  # low-resolution pixels
    noise_prob: float = 0.5
    noise_std_max: float = 0.05  # in [-1, 1] units (0.05 ~ 6 / 255 of the 0..255 range)
    checker_prob: float = 0.3
    checker_amplitude_max: float = 0.25  # per channel, in [-1, 1] units
    checker_cells: int = 4  # coarseness of the smooth patches the checkerboard shows in
    speckle_prob: float = 0.3
    speckle_density_max: float = 0.05  # share of pixels (on average; edges get more)
    speckle_strength_max: float = 0.6  # how far towards the random colour (1: replaced by it)


# --- the degradations ------------------------------------------------------------------------
def area_downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """The mean of each factor x factor block."""
    if x.shape[-2] % factor or x.shape[-1] % factor:
        raise ValueError(f"sides {tuple(x.shape[-2:])} are not multiples of the factor {factor}")
    return F.avg_pool2d(x, factor)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, radius: int) -> torch.Tensor:
    """Separable Gaussian blur with a per-sample `sigma` (B,) in pixels (0: unchanged), taps
    -radius..radius, edges replicated."""
    b, c, h, w = x.shape
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    taps = torch.exp(-0.5 * (offsets[None] / sigma.to(x).clamp_min(1e-3)[:, None]) ** 2)
    taps = (taps / taps.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B * C, K): one per channel
    flat = x.reshape(1, b * c, h, w)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), taps[:, None, None, :], groups=b * c)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), taps[:, None, :, None], groups=b * c)
    return flat.reshape(b, c, h, w)


def add_noise(x: torch.Tensor, std: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """x + std (B,) * noise (unit Gaussian, x's shape)."""
    return x + std.to(x).view(-1, 1, 1, 1) * noise.to(x)


def checkerboard(height: int, width: int) -> torch.Tensor:
    """(1, 1, H, W) of +1 and -1 alternating in both directions: the period-2 pattern."""
    rows, cols = torch.arange(height)[:, None], torch.arange(width)[None, :]
    return (1 - 2 * ((rows + cols) % 2)).float()[None, None]


def add_checkerboard(x: torch.Tensor, amplitude: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
    """x + amplitude (B, C) * the checkerboard * patches (B, 1, H, W) in [0, 1]: a coloured
    period-2 pattern where `patches` is high."""
    pattern = checkerboard(*x.shape[-2:]).to(x)
    return x + amplitude.to(x)[:, :, None, None] * pattern * patches.to(x)


def edge_weights(x: torch.Tensor, cap: float = 8.0) -> torch.Tensor:
    """(B, 1, H, W): each pixel's luminance gradient (sum of absolute differences to its right
    and lower neighbours) over the picture's mean, capped at `cap`: where speckle goes."""
    luma = x.mean(1, keepdim=True)
    edges = F.pad((luma[..., :, 1:] - luma[..., :, :-1]).abs(), (0, 1, 0, 0))
    edges = edges + F.pad((luma[..., 1:, :] - luma[..., :-1, :]).abs(), (0, 0, 0, 1))
    return (edges / edges.mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)).clamp(max=cap)


def add_speckle(x: torch.Tensor, chosen: torch.Tensor, colours: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """Pixels where `chosen` (B, 1, H, W) is true move `strength` (B,) of the way towards
    `colours` (B, C, H, W) in [-1, 1]."""
    weight = chosen.to(x) * strength.to(x).view(-1, 1, 1, 1)
    return x + weight * (colours.to(x) - x)


# --- the training-time mix -------------------------------------------------------------------
def _strengths(n: int, probability: float, maximum: float, g: torch.Generator) -> torch.Tensor:
    """(n,) strengths: uniform in [0, maximum] where a draw below `probability` picks the sample,
    0 elsewhere. Both draws are always made, so the generator's state after a call does not
    depend on the outcome."""
    picked = torch.rand(n, generator=g) < probability
    return torch.where(picked, torch.rand(n, generator=g) * maximum, torch.zeros(n))


def degrade(high_res: torch.Tensor, factor: int, o: DegradeOptions, g: torch.Generator) -> torch.Tensor:
    """(B, C, H, W) renders in [-1, 1] -> (B, C, H / factor, W / factor) degraded low-resolution
    inputs in [-1, 1], every random draw from the CPU generator `g` (the same state gives the
    same output; `high_res` may be on any device)."""
    x = area_downsample(high_res, factor)
    n, c, h, w = x.shape
    where_edges = edge_weights(x)
    radius = max(1, math.ceil(3 * o.blur_sigma_max))
    x = gaussian_blur(x, _strengths(n, o.blur_prob, o.blur_sigma_max, g), radius)
    x = add_noise(x, _strengths(n, o.noise_prob, o.noise_std_max, g), torch.randn((n, c, h, w), generator=g))
    amplitude = _strengths(n, o.checker_prob, o.checker_amplitude_max, g)[:, None] * (2 * torch.rand(n, c, generator=g) - 1)
    x = add_checkerboard(x, amplitude, smooth_noise(n, o.checker_cells, (h, w), g).clamp(0, 1))
    density = _strengths(n, o.speckle_prob, o.speckle_density_max, g)
    chosen = torch.rand(n, 1, h, w, generator=g).to(x) < density.to(x).view(-1, 1, 1, 1) * where_edges
    colours = 2 * torch.rand(n, c, h, w, generator=g) - 1  # each speckle its own colour: "rainbow"
    x = add_speckle(x, chosen, colours, torch.rand(n, generator=g) * o.speckle_strength_max)
    return x.clamp(-1, 1)
