"""KL term of a VAE-style encoder (SPADE's style encoder)."""

from __future__ import annotations

import torch


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over z and averaged over the batch (SPADE's KLDLoss
    sums over everything; per-sample keeps the weight independent of batch size)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1).mean()
