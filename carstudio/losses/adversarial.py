"""Adversarial objectives and critic regularizers (scores are raw critic outputs)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def d_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss: make real scores high and fake scores low."""
    return fake_scores.mean() - real_scores.mean()


def g_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


def score_mean(values: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over every score, or (weights: (N, S), each row summing to 1) the weighted mean of each
    sample's S scores averaged over the batch."""
    return values.mean() if weights is None else (values * weights).sum(1).mean()


def d_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    return score_mean(torch.relu(1.0 - real_scores), weights) + score_mean(torch.relu(1.0 + fake_scores), weights)


def g_hinge(fake_scores: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    return -score_mean(fake_scores, weights)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al.): mean of (||grad critic(x_hat)|| - 1)^2 on random
    interpolates of real and fake. `fake` should be detached by the caller."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator, device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def lecam_reg(
    real_scores: torch.Tensor, fake_scores: torch.Tensor, ema_real: float | torch.Tensor, ema_fake: float | torch.Tensor
) -> torch.Tensor:
    """LeCam regularizer (Tseng et al., 2021): R_LC = mean(relu(D(real) - ema_fake)^2)
    + mean(relu(ema_real - D(fake))^2), with exponential moving averages of past D outputs."""
    return torch.relu(real_scores - ema_fake).pow(2).mean() + torch.relu(ema_real - fake_scores).pow(2).mean()


class LeCamEMA:
    """Moving averages of the mean real and fake critic scores for `lecam_reg` (start at 0)."""

    def __init__(self, decay: float = 0.99, real: float = 0.0, fake: float = 0.0):
        self.decay, self.real, self.fake = decay, real, fake

    def update(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> None:
        self.real = self.decay * self.real + (1.0 - self.decay) * float(real_scores.detach().mean())
        self.fake = self.decay * self.fake + (1.0 - self.decay) * float(fake_scores.detach().mean())

    def state_dict(self) -> dict[str, float]:
        return {"decay": self.decay, "real": self.real, "fake": self.fake}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.decay, self.real, self.fake = float(state["decay"]), float(state["real"]), float(state["fake"])


def d_logistic(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """StyleGAN's logistic discriminator loss: softplus(-D(real)) + softplus(D(fake)), i.e. the
    original GAN cross-entropy with logits."""
    return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()


def g_nonsaturating(fake_scores: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss (Goodfellow et al.): softplus(-D(fake)) = -log sigmoid(D(fake))."""
    return F.softplus(-fake_scores).mean()


def r1_penalty(real_scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al., 2018): mean over the batch of ||grad_x D(x)||^2 at the real samples.
    `real` must require grad and `real_scores` come from it; the graph is kept so the penalty
    trains D. StyleGAN2 adds gamma / 2 * R1 (times the interval when applied lazily)."""
    (grad,) = torch.autograd.grad(real_scores.sum(), real, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()
