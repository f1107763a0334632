"""Make render sketches look hand drawn (SSGAN's sketch segmenter must cope with freehand input).

Render sketches are clean one-pixel part/silhouette edges. `hand_drawn` applies, per sample:
- wobble: a smooth random displacement field (coarse noise upsampled bicubically) warps the
  lines, so straight edges waver and drift a little;
- varying width: the ink is blurred and re-thresholded at a level that varies smoothly over the
  image, giving strokes thicker in places and thinner in others (never filled blobs);
- broken strokes: fine smooth noise cuts short gaps into the lines;
- missing strokes: coarse smooth noise removes whole stretches of line.
Deterministic: the same seed (or a generator in the same state) gives the same output.
Sketches are (1, H, W) or (B, 1, H, W) in [-1, 1] with lines at -1 (RenderDataset's "sketch").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class SketchAugmentOptions:
    wobble: float = 0.02  # max displacement, fraction of the image side
    wobble_cells: int = 4  # coarse grid of the displacement field (smoothness)
    width_min: float = 0.6  # stroke width range, as a factor of the original width
    width_max: float = 1.6
    break_prob: float = 0.12  # fraction of line length cut into short gaps
    break_cells: int = 16
    missing_prob: float = 0.1  # fraction of line length removed in long stretches
    missing_cells: int = 5


def smooth_noise(n: int, cells: int, size: tuple[int, int], g: torch.Generator) -> torch.Tensor:
    """(n, 1, H, W) noise, uniform on a cells x cells grid, bicubically upsampled (roughly in [0, 1])."""
    coarse = torch.rand(n, 1, cells + 1, cells + 1, generator=g)
    return F.interpolate(coarse, size=size, mode="bicubic", align_corners=True)


def _quantile_mask(noise: torch.Tensor, drop: float) -> torch.Tensor:
    """1 where the noise is above its per-sample `drop` quantile: removes a `drop` fraction."""
    if drop <= 0:
        return torch.ones_like(noise)
    level = torch.quantile(noise.flatten(1), drop, dim=1).view(-1, 1, 1, 1)
    return (noise > level).to(noise)


def _blur(x: torch.Tensor, sigma: float = 0.8) -> torch.Tensor:
    offsets = torch.arange(-2, 3, dtype=x.dtype)
    k = torch.exp(-0.5 * (offsets / sigma) ** 2)
    k = k / k.sum()
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), k.view(1, 1, 1, 5))
    return F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), k.view(1, 1, 5, 1))


def wobble(ink: torch.Tensor, o: SketchAugmentOptions, g: torch.Generator) -> torch.Tensor:
    n, _, h, w = ink.shape
    shift = (smooth_noise(n, o.wobble_cells, (h, w), g) - 0.5) * 4 * o.wobble  # grid units span 2
    shift = torch.cat([shift, (smooth_noise(n, o.wobble_cells, (h, w), g) - 0.5) * 4 * o.wobble], 1)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    grid = torch.stack([xs, ys], -1).expand(n, h, w, 2) + shift.permute(0, 2, 3, 1)
    return F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def vary_width(ink: torch.Tensor, o: SketchAugmentOptions, g: torch.Generator) -> torch.Tensor:
    """Blur the ink, then keep it above a smoothly varying level: a low level thickens a stroke,
    a high one thins it. A blurred one-pixel line peaks at ~0.5, so level 0.25 / width gives a
    stroke of about `width` times its original width, never a blob: earlier versions dilated
    thick places first, which at 64 px turned parallel lines into filled regions."""
    n, _, h, w = ink.shape
    width = o.width_min + (o.width_max - o.width_min) * smooth_noise(n, 3, (h, w), g).clamp(0, 1)
    soft = _blur(ink)
    level = 0.25 / width.clamp_min(0.1)
    return torch.clamp((soft - level) / 0.1 + 0.5, 0, 1) * (soft > 0.02)


def hand_drawn(sketch: torch.Tensor, seed: int | None = None, generator: torch.Generator | None = None,
               options: SketchAugmentOptions | None = None) -> torch.Tensor:
    """Sketch(es) in [-1, 1], lines at -1 -> augmented copies, same shape. Give `seed` or a
    CPU `generator` (one of them)."""
    if (seed is None) == (generator is None):
        raise ValueError("give exactly one of seed and generator")
    o = options or SketchAugmentOptions()
    g = generator if generator is not None else torch.Generator().manual_seed(seed)
    single = sketch.dim() == 3
    x = sketch[None] if single else sketch
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"expected (1, H, W) or (B, 1, H, W), got {tuple(sketch.shape)}")
    device, dtype = x.device, x.dtype
    ink = ((1 - x.detach().float().cpu()) / 2).clamp(0, 1)
    n, _, h, w = ink.shape
    ink = wobble(ink, o, g)
    ink = vary_width(ink, o, g)
    ink = ink * _quantile_mask(smooth_noise(n, o.break_cells, (h, w), g), o.break_prob)
    ink = ink * _quantile_mask(smooth_noise(n, o.missing_cells, (h, w), g), o.missing_prob)
    out = (1 - 2 * ink).to(device=device, dtype=dtype)
    return out[0] if single else out
