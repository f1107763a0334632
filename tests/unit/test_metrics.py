import math

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio.metrics.features import PooledSegmenterFeatures, SpatialSegmenterFeatures
from carstudio.metrics.frechet import (
    FD_SEG,
    InceptionUnavailable,
    distribution_metric,
    fd_seg_metric,
    frechet_distance,
    frechet_distance_of_samples,
    gaussian_stats,
    inception_fid_metric,
)
from carstudio.metrics.image import masked_l1, psnr, ssim
from carstudio.metrics.segmentation import confusion_matrix, iou_per_class, mean_iou, pixel_accuracy
from carstudio.metrics.sifid import sifid
from carstudio.metrics.singan_metric import score_paint_to_image, singan_metric
from carstudio.models.segmenter import PartSegmenter


def random_spd(dim: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(dim, dim))
    return a @ a.T + 0.1 * np.eye(dim)


@pytest.fixture(scope="module")
def segmenter() -> PartSegmenter:
    torch.manual_seed(0)
    return PartSegmenter(widths=(4, 8, 16), feature_level=2, resolution=64).eval()


def car_like_image(seed: int, size: int = 64) -> Image.Image:
    """Smooth random blobs: a stand-in image with varied local statistics."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(8, 8, 3)).astype(np.uint8)
    return Image.fromarray(coarse).resize((size, size), Image.BICUBIC)


# --- Fréchet distance -------------------------------------------------------------------------
def test_identical_gaussians_have_zero_distance():
    mu, sigma = np.arange(8.0), random_spd(8, 0)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)


def test_one_dimensional_closed_form():
    # N(m1, s1^2) vs N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [-2.0], [[0.25]]) == pytest.approx(9.0 + 1.5**2)


def test_matches_bures_wasserstein_oracle():
    ot_gaussian = pytest.importorskip("ot.gaussian")
    mu1, mu2 = np.zeros(6), np.linspace(-1, 1, 6)
    s1, s2 = random_spd(6, 1), random_spd(6, 2)
    expected = float(ot_gaussian.bures_wasserstein_distance(mu1, mu2, s1, s2)) ** 2
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)


def test_singular_covariances_stay_finite_and_non_negative():
    sigma = np.zeros((5, 5))
    sigma[0, 0] = 1.0  # rank 1
    value = frechet_distance(np.zeros(5), sigma, np.ones(5), np.eye(5) * 1e-12)
    assert math.isfinite(value) and value >= 0
    assert value == pytest.approx(5.0 + 1.0, abs=1e-3)


def test_sample_distance_approaches_population_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, size=(20000, 2))
    b = rng.normal(1.0, 2.0, size=(20000, 2))
    assert frechet_distance_of_samples(a, b) == pytest.approx(2 * 1.0 + 2 * 1.0, rel=0.05)
    with pytest.raises(ValueError):
        gaussian_stats(np.zeros((1, 3)))


# --- FD-seg through torchmetrics -----------------------------------------------------------
def test_fd_seg_agrees_with_direct_computation(segmenter):
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8, generator=g)
    fake = (real.float() * 0.5).to(torch.uint8)
    metric = fd_seg_metric(segmenter)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    pooled = PooledSegmenterFeatures(segmenter)
    expected = frechet_distance_of_samples(pooled(real), pooled(fake))
    assert float(metric.compute()) == pytest.approx(expected, rel=1e-3, abs=1e-6)
    assert expected > 0
    same = fd_seg_metric(segmenter)
    same.update(real, real=True)
    same.update(real, real=False)
    assert float(same.compute()) == pytest.approx(0.0, abs=1e-3)


def test_metric_label_and_missing_inception_weights(segmenter, tmp_path):
    label, _ = distribution_metric(segmenter)
    assert label == FD_SEG == "FD-seg"
    with pytest.raises(InceptionUnavailable, match="cannot be downloaded"):
        inception_fid_metric(None)
    with pytest.raises(InceptionUnavailable, match="not found"):
        inception_fid_metric(tmp_path / "absent.pth")
    with pytest.raises(ValueError):
        distribution_metric(None)


# --- SIFID and M -----------------------------------------------------------------------------
def test_sifid_is_zero_for_the_same_image_and_positive_for_another(segmenter):
    extractor = SpatialSegmenterFeatures(segmenter)
    a, b = car_like_image(0), car_like_image(1)
    same = sifid(a, a, extractor)
    other = sifid(a, b, extractor)
    # compare with the features' own spread: an untrained net's features are tiny
    spread = float(extractor(a)[0].flatten(1).var(dim=1).sum())
    assert same.value < 1e-6 * spread
    assert other.value > 0.01 * spread
    assert "part segmenter" in other.features and "SIFID" in str(other)
    # symmetric, and images of different sizes are allowed
    assert sifid(b, a, extractor).value == pytest.approx(other.value, rel=1e-6)
    assert sifid(a, b.resize((48, 80)), extractor).value > 0


def test_singan_metric_mechanics():
    assert singan_metric(1.0, 3.0) == 6.0 == 2 * max(1.0, 3.0)
    assert singan_metric(2.0, 2.0) == 4.0
    assert singan_metric(0.5, 4.0) > singan_metric(2.0, 2.0)  # lopsided is worse at equal sum
    with pytest.raises(ValueError):
        singan_metric(-1.0, 1.0)


def test_score_paint_to_image_uses_one_extractor(segmenter):
    extractor = SpatialSegmenterFeatures(segmenter)
    output, train, paint = car_like_image(0), car_like_image(1), car_like_image(2)
    score = score_paint_to_image(output, train, paint, extractor)
    assert score.s_train == pytest.approx(sifid(output, train, extractor).value)
    assert score.s_paint == pytest.approx(sifid(output, paint, extractor).value)
    assert score.m == pytest.approx(singan_metric(score.s_paint, score.s_train))
    assert score.features == extractor.description
    perfect = score_paint_to_image(output, output, output, extractor)
    assert perfect.m == pytest.approx(0.0, abs=1e-5)


# --- segmentation ------------------------------------------------------------------------------
def test_miou_on_hand_made_maps():
    target = np.array([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [2, 2, 2, 2]])
    pred = np.array([[0, 1, 1, 1],
                     [0, 0, 1, 1],
                     [2, 2, 4, 4]])
    conf = confusion_matrix(pred, target, num_classes=6)
    assert conf.sum() == 12 and conf[0, 1] == 1 and conf[2, 4] == 2
    iou = iou_per_class(conf)
    # class 0: 3 / 4; class 1: 4 / 5; class 2: 2 / 4; class 4 predicted only: 0; 3 and 5 absent
    np.testing.assert_allclose(iou[[0, 1, 2, 4]], [0.75, 0.8, 0.5, 0.0])
    assert np.isnan(iou[3]) and np.isnan(iou[5])
    assert mean_iou(conf) == pytest.approx((0.75 + 0.8 + 0.5 + 0.0) / 4)
    assert pixel_accuracy(conf) == pytest.approx(9 / 12)
    assert mean_iou(confusion_matrix(target, target, 6)) == 1.0


def test_confusion_matrix_ignores_and_validates():
    target = torch.tensor([[0, 255], [1, 1]])
    pred = torch.tensor([[0, 3], [1, 0]])
    conf = confusion_matrix(pred, target, num_classes=4, ignore_index=255)
    assert conf.sum() == 3 and conf[1, 0] == 1
    with pytest.raises(ValueError):
        confusion_matrix(pred, torch.tensor([[0, 7], [1, 1]]), num_classes=4)
    with pytest.raises(ValueError):
        confusion_matrix(np.zeros(3), np.zeros(4))
    assert math.isnan(mean_iou(np.zeros((3, 3))))


# --- paired image scores ---------------------------------------------------------------------
def test_psnr_ssim_and_masked_l1():
    a = torch.zeros(1, 3, 16, 16)
    b = torch.full_like(a, 0.2)
    assert psnr(a, b) == pytest.approx(10 * math.log10(2.0**2 / 0.04), rel=1e-4)  # 20 dB
    assert psnr(a, a) == math.inf
    assert ssim(b, b) == pytest.approx(1.0, abs=1e-5)
    assert ssim(a, torch.rand(1, 3, 16, 16) * 2 - 1) < 0.5
    mask = torch.zeros(16, 16, dtype=torch.bool)
    mask[:4] = True
    c = a.clone()
    c[..., 8:, :] = 1.0  # differs only outside the mask
    assert masked_l1(a, c, mask) == 0.0
    c[:, 0, :4] = 0.6  # one channel of three inside the mask
    assert masked_l1(a, c, mask) == pytest.approx(0.2)
    assert masked_l1(a, c, mask[None, None]) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        masked_l1(a, c, torch.zeros(16, 16))
    with pytest.raises(ValueError):
        psnr(a, a[..., :8])
