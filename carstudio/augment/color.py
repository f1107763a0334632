"""DiffAugment colour transforms (Zhao et al., 2020): per-sample random brightness, saturation
and contrast, each a differentiable affine map of the pixels."""

from __future__ import annotations

import torch

from ._random import uniform


def brightness(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add a per-sample offset in [-0.5, 0.5)."""
    return x + (uniform((x.shape[0], 1, 1, 1), x, generator) - 0.5)


def saturation(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale each pixel's distance from its channel mean by a factor in [0, 2)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (uniform((x.shape[0], 1, 1, 1), x, generator) * 2.0) + mean


def contrast(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale the distance from the image mean by a factor in [0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (uniform((x.shape[0], 1, 1, 1), x, generator) + 0.5) + mean


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    return contrast(saturation(brightness(x, generator), generator), generator)
