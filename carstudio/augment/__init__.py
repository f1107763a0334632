"""Differentiable augmentation for GAN training (DiffAugment, Zhao et al., 2020).

The same random transform family is applied to real and generated images before the
discriminator, and every transform is differentiable so the generator is trained through it:

    from carstudio.augment import diff_augment
    scores = D(diff_augment(torch.cat([real, fake]), "color,translation,cutout"))
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .color import brightness, color, contrast, saturation
from .cutout import cutout
from .translation import translation

AUGMENTATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}


def parse_policy(policy: str) -> list[str]:
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown}; choose from {list(AUGMENTATIONS)}")
    return names


def diff_augment(x: torch.Tensor, policy: str = "color,translation,cutout",
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the comma-separated `policy` in order to a batch (N, C, H, W); "" is the identity.
    With a seeded CPU `generator` the draws are reproducible."""
    for name in parse_policy(policy):
        x = AUGMENTATIONS[name](x, generator=generator)
    return x


__all__ = ["AUGMENTATIONS", "brightness", "color", "contrast", "cutout", "diff_augment", "parse_policy",
           "saturation", "translation"]
