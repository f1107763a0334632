"""Entropic optimal transport between two point clouds (Sinkhorn, log domain).

Used by the SinGAN Sinkhorn variant (seed 000, section 2): points are the critic's patch
embeddings, the cost is their cosine distance, optionally plus a pixel-position penalty.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def cosine_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(n, d), (m, d) -> (n, m) matrix of 1 - cos(x_i, y_j), in [0, 2]."""
    return 1.0 - F.normalize(x, dim=1) @ F.normalize(y, dim=1).T


def position_cost(pos_x: torch.Tensor, pos_y: torch.Tensor, extent: tuple[float, float]) -> torch.Tensor:
    """(n, 2), (m, 2) pixel (row, col) positions -> (n, m) penalty 0.5 (|dy|/H + |dx|/W).

    The seed writes the differences without absolute values; signed differences would reward
    transport in one direction, so the magnitude is used: the penalty favours nearby patches.
    """
    height, width = extent
    diff = (pos_x[:, None, :] - pos_y[None, :, :]).abs()
    return 0.5 * (diff[..., 0] / max(height, 1.0) + diff[..., 1] / max(width, 1.0))


def sinkhorn_plan(cost: torch.Tensor, eps: float = 0.1, iterations: int = 20) -> torch.Tensor:
    """Transport plan of the entropic OT problem with uniform marginals.

    Log-domain updates of the dual potentials f, g keep it stable for small eps; the result
    is differentiable through the unrolled iterations.
    """
    n, m = cost.shape
    log_a = torch.full((n,), -math.log(n), device=cost.device, dtype=cost.dtype)
    log_b = torch.full((m,), -math.log(m), device=cost.device, dtype=cost.dtype)
    f = torch.zeros_like(log_a)
    g = torch.zeros_like(log_b)
    for _ in range(iterations):
        f = -eps * torch.logsumexp((g[None, :] - cost) / eps + log_b[None, :], dim=1)
        g = -eps * torch.logsumexp((f[:, None] - cost) / eps + log_a[:, None], dim=0)
    return torch.exp((f[:, None] + g[None, :] - cost) / eps + log_a[:, None] + log_b[None, :])


def sinkhorn_cost(cost: torch.Tensor, eps: float = 0.1, iterations: int = 20) -> torch.Tensor:
    """<P, C> for the entropic plan P: the Sinkhorn loss W_eps of Genevay et al."""
    return (sinkhorn_plan(cost, eps, iterations) * cost).sum()


def sinkhorn_divergence(
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float = 0.1,
    iterations: int = 20,
    cost_fn=cosine_cost,
) -> torch.Tensor:
    """2 W(x, y) - W(x, x) - W(y, y): zero when the clouds match, so the generator minimizes it
    and the critic maximizes it (the seed's D loss -2W(r,f) + W(f,f) + W(r,r))."""
    w = lambda a, b: sinkhorn_cost(cost_fn(a, b), eps, iterations)  # noqa: E731
    return 2.0 * w(x, y) - w(x, x) - w(y, y)
