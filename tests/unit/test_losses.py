import math

import numpy as np
import ot
import pytest
import torch

from carstudio.losses.adversarial import (
    d_hinge,
    d_logistic,
    d_wasserstein,
    g_hinge,
    g_nonsaturating,
    g_wasserstein,
    gradient_penalty,
    r1_penalty,
)
from carstudio.losses.sinkhorn import (
    cosine_cost,
    position_cost,
    sinkhorn_cost,
    sinkhorn_divergence,
    sinkhorn_plan,
)


def test_wasserstein_and_hinge_on_known_scores():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.5])
    assert d_wasserstein(real, fake).item() == pytest.approx(-0.25 - 2.0)
    assert g_wasserstein(fake).item() == pytest.approx(0.25)
    # relu(1 - [1, 3]) = [0, 0]; relu(1 + [-1, .5]) = [0, 1.5]
    assert d_hinge(real, fake).item() == pytest.approx(0.75)
    assert g_hinge(fake).item() == pytest.approx(0.25)


def test_weighted_hinge_counts_only_weighted_scores():
    # two samples x two scores; the second score of each sample has weight 0
    real, fake = torch.tensor([[0.5, -9.0], [2.0, -9.0]]), torch.tensor([[0.0, 9.0], [-3.0, 9.0]])
    weights = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    # real: relu(1 - [.5, 2]) = [.5, 0] -> .25; fake: relu(1 + [0, -3]) = [1, 0] -> .5
    assert d_hinge(real, fake, weights).item() == pytest.approx(0.75)
    assert g_hinge(fake, weights).item() == pytest.approx(1.5)
    halves = torch.full((2, 2), 0.5)
    assert d_hinge(real, fake, halves).item() == pytest.approx(d_hinge(real, fake).item())


def test_gradient_penalty_of_a_linear_critic():
    # critic(x) = sum(w * x) has gradient w everywhere: penalty = (||w|| - 1)^2
    w = torch.full((1, 2, 2, 2), 0.5)
    critic = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.randn(3, 2, 2, 2), torch.randn(3, 2, 2, 2)
    expected = (w.norm().item() - 1.0) ** 2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected, rel=1e-5)


def test_logistic_and_nonsaturating_on_known_scores():
    # softplus(0) = log 2
    zero = torch.zeros(3)
    assert d_logistic(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert g_nonsaturating(zero).item() == pytest.approx(math.log(2))
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5])
    expected = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(1.0))) / 2 + math.log1p(math.exp(0.5))
    assert d_logistic(real, fake).item() == pytest.approx(expected)
    assert g_nonsaturating(fake).item() == pytest.approx(math.log1p(math.exp(-0.5)))
    # large scores stay finite (softplus, not log(sigmoid))
    assert math.isfinite(g_nonsaturating(torch.tensor([-200.0])).item())


def test_r1_penalty_of_known_critics():
    # critic(x) = sum(w * x): gradient w for every sample, so R1 = ||w||^2
    w = torch.full((1, 2, 2, 2), 0.5)
    real = torch.randn(3, 2, 2, 2, requires_grad=True)
    assert r1_penalty((real * w).flatten(1).sum(1), real).item() == pytest.approx(w.square().sum().item())
    # critic(x) = sum(x^2) / 2: gradient x, so R1 = mean over samples of ||x||^2, and it trains the critic
    scale = torch.tensor(2.0, requires_grad=True)
    real = torch.tensor([[1.0, 2.0], [0.0, 3.0]], requires_grad=True)
    penalty = r1_penalty(scale * real.square().sum(1) / 2, real)  # gradient scale * x
    assert penalty.item() == pytest.approx(4.0 * (5.0 + 9.0) / 2)
    penalty.backward()
    assert scale.grad.item() == pytest.approx(2 * 2.0 * (5.0 + 9.0) / 2)


@pytest.mark.parametrize("n,m,eps", [(5, 7, 0.1), (20, 12, 0.05), (30, 30, 0.5)])
def test_sinkhorn_matches_pot(n, m, eps):
    gen = torch.Generator().manual_seed(n)
    x, y = torch.randn(n, 4, generator=gen, dtype=torch.float64), torch.randn(m, 4, generator=gen, dtype=torch.float64)
    cost = cosine_cost(x, y)
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    plan_pot = ot.sinkhorn(a, b, cost.numpy(), reg=eps, method="sinkhorn_log", numItermax=5000, stopThr=1e-12)
    plan = sinkhorn_plan(cost, eps=eps, iterations=2000)
    np.testing.assert_allclose(plan.numpy(), plan_pot, atol=1e-8)
    assert sinkhorn_cost(cost, eps, 2000).item() == pytest.approx(float((plan_pot * cost.numpy()).sum()), abs=1e-8)


def test_sinkhorn_plan_has_uniform_marginals_and_gradients():
    x = torch.randn(6, 3, requires_grad=True)
    y = torch.randn(9, 3)
    plan = sinkhorn_plan(cosine_cost(x, y), eps=0.1, iterations=200)
    torch.testing.assert_close(plan.sum(1), torch.full((6,), 1 / 6), atol=1e-4, rtol=0)
    torch.testing.assert_close(plan.sum(0), torch.full((9,), 1 / 9), atol=1e-6, rtol=0)
    sinkhorn_cost(cosine_cost(x, y)).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_divergence_is_zero_for_identical_clouds_and_positive_otherwise():
    x = torch.randn(16, 8)
    assert sinkhorn_divergence(x, x.clone()).item() == pytest.approx(0.0, abs=1e-5)
    assert sinkhorn_divergence(x, -x).item() > 0.1


def test_cosine_and_position_costs():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(cosine_cost(x, x).numpy(), [[0, 1], [1, 0]], atol=1e-6)
    pos = torch.tensor([[0.0, 0.0], [10.0, 20.0]])
    cost = position_cost(pos, pos, extent=(10.0, 20.0))
    assert cost[0, 1].item() == pytest.approx(0.5 * (1.0 + 1.0))
    assert cost[1, 0].item() == cost[0, 1].item()
    assert math.isclose(cost[0, 0].item(), 0.0)


def test_kl_divergence_known_values():
    from carstudio.losses.kl import kl_divergence

    zeros = torch.zeros(3, 4)
    assert kl_divergence(zeros, zeros).item() == 0.0  # N(0, I) against itself
    mu, logvar = torch.full((2, 4), 2.0), torch.zeros(2, 4)
    assert kl_divergence(mu, logvar).item() == pytest.approx(0.5 * 4 * 4.0)  # 0.5 * sum(mu^2)
    logvar = torch.full((1, 1), math.log(4.0))
    assert kl_divergence(torch.zeros(1, 1), logvar).item() == pytest.approx(-0.5 * (1 + math.log(4.0) - 4.0))
