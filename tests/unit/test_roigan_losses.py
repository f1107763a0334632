"""RoI-GAN's loss terms on known inputs: the InfoGAN terms (eqs. 3.15-3.17), the RoI-weighted
gradient penalty (eq. 3.10), zero-centring (eq. 3.13), total variation in the RoI (eq. 2.10),
and VGG16 perceptual features (eq. 3.12)."""

import math

import pytest
import torch
import torch.nn.functional as F

from carstudio.losses.adversarial import gradient_penalty
from carstudio.losses.infogan import (
    categorical_info_loss,
    code_entropy,
    continuous_info_loss,
    gaussian_log_likelihood,
    info_loss,
    mutual_information_bound,
)
from carstudio.losses.matching import VGG16_TAPS, PerceptualFeatures, VGG16Features, perceptual_loss
from carstudio.losses.regularizers import (
    interpolates,
    masked_gradient_penalty,
    total_variation,
    weighted_gradient_penalty,
    zero_centering,
)


def test_gaussian_log_likelihood_matches_the_normal_density():
    codes = torch.tensor([[0.5, -1.0], [0.0, 0.25]])
    mu = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
    log_sigma = torch.tensor([[0.0, math.log(0.5)], [math.log(2.0), 0.0]])
    expected = torch.distributions.Normal(mu, log_sigma.exp()).log_prob(codes).sum(1)
    torch.testing.assert_close(gaussian_log_likelihood(codes, mu, log_sigma), expected)
    # by hand, first sample: -(0.5^2)/2 - 0.5 log 2pi  +  (0 + log 2 - 0.5 log 2pi)
    first = -0.125 - 0.5 * math.log(2 * math.pi) + math.log(2) - 0.5 * math.log(2 * math.pi)
    assert gaussian_log_likelihood(codes, mu, log_sigma)[0].item() == pytest.approx(first)
    assert continuous_info_loss(codes, mu, log_sigma).item() == pytest.approx(-expected.mean().item())


def test_categorical_and_total_info_loss():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    categories = torch.tensor([0, 2])
    # -log softmax: log(e^2 + 2) - 2 and log 3
    expected = ((math.log(math.e**2 + 2) - 2) + math.log(3)) / 2
    assert categorical_info_loss(logits, categories).item() == pytest.approx(expected)
    codes, mu, log_sigma = torch.zeros(2, 1), torch.zeros(2, 1), torch.zeros(2, 1)
    total = info_loss(codes, categories, mu, log_sigma, logits).item()
    assert total == pytest.approx(expected + 0.5 * math.log(2 * math.pi))


def test_code_entropy_and_mutual_information_bound():
    assert code_entropy(2, 4) == pytest.approx(2 * math.log(2) + math.log(4))
    # a perfect categorical guess and the prior's entropy: the bound is H(c) minus the NLL
    assert mutual_information_bound(1.0, 2, 4) == pytest.approx(code_entropy(2, 4) - 1.0)
    # uninformed Q for a categorical code alone: -L_I = log K, bound 0
    assert mutual_information_bound(torch.tensor(math.log(4)), 0, 4) == pytest.approx(0.0, abs=1e-6)


def test_weighted_gradient_penalty_of_a_linear_critic():
    # critic(x) = sum(w * x) per sample has gradient w: penalty = (||weight * w|| - 1)^2
    w = torch.full((1, 1, 2, 2), 0.5)
    points = torch.randn(3, 1, 2, 2, requires_grad=True)
    weight = torch.tensor([[1.0, 0.0], [1.0, 1.0]]).view(1, 1, 2, 2)
    scores = (points * w).flatten(1).sum(1)
    expected = (math.sqrt(3 * 0.25) - 1) ** 2
    assert weighted_gradient_penalty(scores, points, weight).item() == pytest.approx(expected)
    # many outputs: the gradient is that of the per-sample mean score
    many = torch.stack([(points * w).flatten(1).sum(1)] * 5, 1)
    assert weighted_gradient_penalty(many, points, weight).item() == pytest.approx(expected)
    assert weighted_gradient_penalty(many * 5, points, torch.ones(1)).item() == pytest.approx((5 * 1.0 - 1) ** 2)


def test_masked_gradient_penalty_with_weight_one_is_wgan_gp():
    torch.manual_seed(0)
    w = torch.randn(1, 3, 4, 4)
    critic = lambda x: (x * w).flatten(1).sum(1) ** 2  # noqa: E731  (non-linear: depends on the point)
    real, completed = torch.randn(4, 3, 4, 4), torch.randn(4, 3, 4, 4)
    ours = masked_gradient_penalty(critic, real, completed, torch.ones(1), torch.Generator().manual_seed(3))
    plain = gradient_penalty(critic, real, completed, torch.Generator().manual_seed(3))
    assert ours.item() == pytest.approx(plain.item(), rel=1e-5)
    points = interpolates(real, completed, torch.Generator().manual_seed(3))
    assert points.requires_grad and points.shape == real.shape
    # one alpha per sample in [0, 1]: each point lies on the segment between real and completed
    # (alpha read where real and completed differ most, so the division is well conditioned)
    gap = (real - completed).flatten(1)
    widest = gap.abs().argmax(1, keepdim=True)
    alpha = (points.detach() - completed).flatten(1).gather(1, widest) / gap.gather(1, widest)
    assert ((alpha >= 0) & (alpha <= 1)).all()
    torch.testing.assert_close(points.detach(), completed + alpha.view(-1, 1, 1, 1) * (real - completed))


def test_gradient_penalty_ignores_the_masked_out_pixels():
    """Weight 1 - RoI: a critic whose gradient is all inside the RoI has norm 0 there -> penalty 1."""
    masks = torch.zeros(2, 1, 4, 4)
    masks[:, :, 1:3, 1:3] = 1
    critic = lambda x: (x * masks).flatten(1).sum(1) * 10  # noqa: E731
    real, completed = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    assert masked_gradient_penalty(critic, real, completed, 1 - masks).item() == pytest.approx(1.0)
    inside = masked_gradient_penalty(critic, real, completed, masks).item()
    assert inside == pytest.approx((10 * math.sqrt(3 * 4) - 1) ** 2, rel=1e-5)


def test_zero_centering():
    assert zero_centering(torch.tensor([[1.0, -2.0], [0.0, 3.0]])).item() == pytest.approx((1 + 4 + 0 + 9) / 4)


def test_total_variation_inside_the_region():
    image = torch.tensor([[0.0, 1.0, 3.0], [0.0, 0.0, 0.0], [2.0, 2.0, 2.0]]).view(1, 1, 3, 3)
    mask = torch.zeros(1, 1, 3, 3)
    mask[0, 0, 0, 0] = mask[0, 0, 1, 1] = 1
    # (0, 0): right |1 - 0| + down |0 - 0|;  (1, 1): right |0 - 0| + down |2 - 0|;  2 RoI pixels
    assert total_variation(image, mask).item() == pytest.approx((1 + 0 + 0 + 2) / 2)
    assert total_variation(torch.full((2, 3, 5, 5), 0.7), torch.ones(2, 1, 5, 5)).item() == 0.0
    assert total_variation(torch.randn(1, 3, 5, 5), torch.zeros(1, 1, 5, 5)).item() == 0.0
    rgb = image.expand(1, 3, 3, 3)
    assert total_variation(rgb, mask).item() == pytest.approx(1.5)  # a mean over channels too


def test_vgg16_perceptual_features_from_a_weights_file(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    vgg = VGG16Features()
    convs = [m for m in vgg.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13  # VGG16
    state = {f"features.{k}": v.contiguous() for k, v in vgg.features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(1)  # torchvision files carry the classifier: ignored
    save_file(state, tmp_path / "vgg16.safetensors")
    extractor = PerceptualFeatures.build(vgg_weights=tmp_path / "vgg16.safetensors", vgg_arch="vgg16")
    x, y = torch.rand(1, 3, 16, 16) * 2 - 1, torch.rand(1, 3, 16, 16) * 2 - 1
    features = extractor(x)
    assert extractor.kind == "vgg" and len(features) == len(VGG16_TAPS) == 4
    assert [f.shape[1] for f, _ in features] == [64, 128, 256, 512] and all(w == 1.0 for _, w in features)
    assert perceptual_loss(x, x, extractor).item() == 0.0 and perceptual_loss(x, y, extractor).item() > 0
    relu1_2 = F.relu(convs[1](F.relu(convs[0](((x + 1) / 2 - extractor.mean) / extractor.std))))
    torch.testing.assert_close(features[0][0], relu1_2)
    with pytest.raises(ValueError, match="vgg_arch"):
        PerceptualFeatures.build(vgg_weights=tmp_path / "vgg16.safetensors", vgg_arch="vgg11")


def test_score_weights_follow_the_roi_coverage_of_each_patch():
    from carstudio.train.roigan import RoIGANTrainOptions, score_weights

    masks = torch.zeros(2, 1, 8, 8)
    masks[0, :, :4, :4] = 1  # 4 of the 16 patches of a 4x4 grid (2x2 pixels each), fully
    masks[1, :, :2, :2] = 1  # one patch fully
    assert score_weights(masks, 17, RoIGANTrainOptions()) is None  # the thesis's plain mean
    weights = score_weights(masks, 17, RoIGANTrainOptions(score_weighting="roi"))
    torch.testing.assert_close(weights.sum(1), torch.ones(2))
    # sample 0: global 1 + four patches of 1 -> each 1/5; sample 1: global 1 + one patch -> 1/2
    assert weights[0, 0].item() == pytest.approx(0.2) and weights[0, 1:].view(4, 4)[:2, :2].eq(0.2).all()
    assert weights[0, 1:].sum().item() == pytest.approx(0.8)
    assert weights[1, 0].item() == pytest.approx(0.5) and weights[1, 1].item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="square grid"):
        score_weights(masks, 12, RoIGANTrainOptions(score_weighting="roi"))
