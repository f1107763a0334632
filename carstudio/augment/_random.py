"""Random draws for the augmentations: from an optional seeded CPU generator, moved to the data."""

from __future__ import annotations

import torch


def uniform(shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """U[0, 1) of `shape` on `like`'s device and dtype (drawn on the CPU when a generator is given)."""
    if generator is None:
        return torch.rand(shape, device=like.device, dtype=like.dtype)
    return torch.rand(shape, generator=generator).to(device=like.device, dtype=like.dtype)


def integers(low: int, high: int, shape: tuple[int, ...], like: torch.Tensor,
             generator: torch.Generator | None) -> torch.Tensor:
    """Integers in [low, high) of `shape` on `like`'s device (int64)."""
    if generator is None:
        return torch.randint(low, high, shape, device=like.device)
    return torch.randint(low, high, shape, generator=generator).to(like.device)
