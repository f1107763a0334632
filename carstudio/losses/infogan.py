"""InfoGAN's mutual-information terms as RoI-GAN writes them (seed 002, eqs. 3.14-3.17).

L_I = E log Q(c | x) + H(c) is a lower bound of I(c; x) (eq. 2.2). With continuous codes c0
(prior U(-1, 1) each) and one categorical code c1 (uniform over K), and Q predicting an
independent Gaussian N(mu_i, sigma_i^2) per continuous code and logits for c1:
- L_con (eq. 3.15) = E sum_i log N(c0_i; mu_i, sigma_i^2)
               = E sum_i [-(c0_i - mu_i)^2 / (2 sigma_i^2) - log sigma_i - log(2 pi) / 2].
  The printed eq. 3.15 has (c0 - mu) / sigma^2 - log 2 pi sigma inside a -1/2; that is read as
  this Gaussian log-likelihood (the squared, halved form with log sigma + log(2 pi) / 2), which is
  what "Q predicts mu and sigma of a Gaussian density" makes of log Q(c0 | x).
- L_dis (eq. 3.16) = (1 / L_d) sum_j E_{x ~ G(z0, c1 = j)} log p_j: with c1 drawn uniformly per
  sample this is the batch mean of log softmax(logits)[c1], i.e. minus the cross-entropy.
- L_I = L_con + L_dis (eq. 3.17), maximised by G and Q; H(c) does not depend on any parameter and
  is left out of the loss (`code_entropy` gives it, to report the bound L_I + H(c)).
The functions return the quantities to *minimise*: -L_con, -L_dis, -L_I (all means over the batch).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def gaussian_log_likelihood(codes: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """(N, k) codes, means, log standard deviations -> (N,) sum over the k codes of log N(c; mu, sigma^2)."""
    z = (codes - mu) * torch.exp(-log_sigma)
    return (-0.5 * z.square() - log_sigma - 0.5 * LOG_2PI).sum(1)


def continuous_info_loss(codes: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """-L_con (eq. 3.15): the Gaussian negative log-likelihood of the codes, batch mean."""
    return -gaussian_log_likelihood(codes, mu, log_sigma).mean()


def categorical_info_loss(logits: torch.Tensor, categories: torch.Tensor) -> torch.Tensor:
    """-L_dis (eq. 3.16): cross-entropy of the categorical code, batch mean."""
    return F.cross_entropy(logits, categories.long())


def info_loss(codes: torch.Tensor, categories: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor,
              logits: torch.Tensor) -> torch.Tensor:
    """-L_I = -(L_con + L_dis) (eq. 3.17): what G and Q minimise (times lambda_info)."""
    return continuous_info_loss(codes, mu, log_sigma) + categorical_info_loss(logits, categories)


def code_entropy(num_codes: int, num_categories: int, low: float = -1.0, high: float = 1.0) -> float:
    """H(c) of the prior: num_codes uniform codes on [low, high] (differential entropy
    log(high - low) each) and a uniform categorical code (log K)."""
    return num_codes * math.log(high - low) + math.log(num_categories)


def mutual_information_bound(info: torch.Tensor | float, num_codes: int, num_categories: int) -> float:
    """L_I + H(c), the lower bound of I(c; G(z, c)) (eq. 3.14), from the minimised -L_I."""
    return -float(info) + code_entropy(num_codes, num_categories)
