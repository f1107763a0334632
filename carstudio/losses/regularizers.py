"""RoI-GAN's extra terms (seed 002, section 3.7): the RoI-weighted gradient penalty (eq. 3.10),
zero-centring of real scores (eq. 3.13) and total variation inside the region (eq. 2.10).

Readings:
- Eq. 3.10 penalises (||(1 - RoI) * grad_t D(t)||_2 - 1)^2 at t = alpha x_r + (1 - alpha) x_c,
  alpha ~ U(0, 1) per sample. The text says the norm is limited "inside RoI" while the equation
  weights by (1 - RoI), i.e. outside it; the function takes the weight map, and the trainer's
  `--gp-region` chooses (default "outside": the equation, as the issue asks). D has many outputs
  (global + patch scores): the gradient is that of each sample's mean score (the hinge loss also
  averages them).
- Eq. 3.13: (1 / N_out) sum_i D^i(x_r, RoI)^2, averaged over the batch.
- Eq. 2.10 sums |x_c[i, j+1] - x_c[i, j]| + |x_c[i, j] - x_c[i+1, j]| over the pixels (i, j) of
  the RoI (forward differences, so the RoI's border with the kept image counts too). The sum is
  divided by the number of RoI pixels times channels -- a mean, so that the weight 0.5 of
  eq. 3.18 does not depend on the image size or the region's area.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def interpolates(real: torch.Tensor, completed: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """t = alpha x_r + (1 - alpha) x_c, alpha ~ U(0, 1) per sample, requiring grad (eq. 3.10).
    `completed` should be detached by the caller."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator).to(real)
    return (alpha * real + (1.0 - alpha) * completed).detach().requires_grad_(True)


def weighted_gradient_penalty(scores: torch.Tensor, points: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """mean over the batch of (||weight * grad_points mean_i scores_i||_2 - 1)^2, where `scores`
    (N, K) or (N,) were computed from `points` (which require grad). The graph is kept so the
    penalty trains the critic. `weight` broadcasts to `points` (e.g. (N, 1, H, W) 1 - RoI)."""
    per_sample = scores.reshape(scores.shape[0], -1).mean(1)
    (grad,) = torch.autograd.grad(per_sample.sum(), points, create_graph=True)
    return ((weight * grad).flatten(1).norm(dim=1) - 1.0).square().mean()


def masked_gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                            completed: torch.Tensor, weight: torch.Tensor,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Eq. 3.10 in one call: the weighted penalty of `critic` at random interpolates."""
    points = interpolates(real, completed, generator)
    return weighted_gradient_penalty(critic(points), points, weight)


def zero_centering(real_scores: torch.Tensor) -> torch.Tensor:
    """Eq. 3.13: the mean over outputs and batch of D(x_r)^2."""
    return real_scores.square().mean()


def total_variation(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 2.10 over the region: forward differences to the right and down neighbour of every
    pixel whose mask is 1, averaged over (RoI pixels x channels); 0 for an empty mask.
    images (N, C, H, W), mask (N, 1, H, W) in {0, 1} (or soft weights)."""
    mask = mask.to(images)
    right = (images[..., :, 1:] - images[..., :, :-1]).abs() * mask[..., :, :-1]
    down = (images[..., 1:, :] - images[..., :-1, :]).abs() * mask[..., :-1, :]
    count = (mask.sum() * images.shape[1]).clamp_min(1.0)
    return (right.sum() + down.sum()) / count
