"""Exponential moving averages of a generator's weights (SN-GAN, StyleGAN)."""

from __future__ import annotations

import torch


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, step: int, start: int, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model from step `start` on, a copy before; buffers
    (BatchNorm statistics) are always copied."""
    beta = decay if step >= start else 0.0
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1.0 - beta)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)
