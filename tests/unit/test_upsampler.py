"""The car upsampler (issue 21's cascade) and the degradations of its training inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from carstudio.augment.degrade import (
    DegradeOptions,
    add_checkerboard,
    add_speckle,
    area_downsample,
    checkerboard,
    degrade,
    edge_weights,
    gaussian_blur,
)
from carstudio.metrics.image import high_frequency_energy
from carstudio.models.upsampler import BASE_CLAMP, CarUpsampler, bilinear_upsample

TINY = {"widths": (8, 16), "up_width": 8, "resolution": 32}
NONE = DegradeOptions(blur_prob=0, noise_prob=0, checker_prob=0, speckle_prob=0)
ALL = DegradeOptions(blur_prob=1, noise_prob=1, checker_prob=1, speckle_prob=1)


def smooth_cars(n: int = 4, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Smooth random pictures in [-0.9, 0.9] (coarse noise upsampled), so a 2x downsample keeps them."""
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=torch.Generator().manual_seed(seed))
    return (F.interpolate(coarse, size=size, mode="bicubic", align_corners=False).clamp(0, 1) * 1.8 - 0.9)


def with_steps(model: CarUpsampler, x: torch.Tensor, target: torch.Tensor, steps: int = 3) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        F.l1_loss(model(x), target).backward()
        optimizer.step()


# --- the model -------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [2, 4])
def test_output_shape_and_range(scale):
    torch.manual_seed(0)
    model = CarUpsampler(scale=scale, **TINY)
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    with_steps(model, x, torch.rand(2, 3, 8 * scale, 8 * scale) * 2 - 1)
    y = model.eval()(torch.rand(2, 3, 16, 8) * 4 - 2)  # out of range on purpose
    assert y.shape == (2, 3, 16 * scale, 8 * scale)
    assert y.min() >= -1 and y.max() <= 1


def test_an_untrained_model_is_the_bilinear_upsample_and_training_moves_it():
    torch.manual_seed(0)
    model = CarUpsampler(**TINY)
    x = smooth_cars(2, 16)  # within +-0.9: the clamp does not touch it
    torch.testing.assert_close(model(x), bilinear_upsample(x, 2), atol=1e-5, rtol=0)
    target = smooth_cars(2, 32, seed=1)
    with_steps(model, x, target)
    moved = model(x)
    assert (moved - bilinear_upsample(x, 2)).abs().max() > 1e-3
    assert F.l1_loss(moved, target) < F.l1_loss(bilinear_upsample(x, 2), target)


def test_untrained_outputs_clamp_only_the_extremes():
    model = CarUpsampler(**TINY)
    x = torch.full((1, 3, 16, 16), 1.0)
    torch.testing.assert_close(model(x), torch.full((1, 3, 32, 32), BASE_CLAMP), atol=1e-5, rtol=0)


def test_upsampling_is_resize_conv_not_transposed():
    model = CarUpsampler(scale=4, **TINY)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in model.modules())
    assert len(model.up) == 2 and model.input_resolution == 8


@pytest.mark.parametrize("scale", [1, 3, 6])
def test_scale_must_be_a_power_of_two(scale):
    with pytest.raises(ValueError, match="power of two"):
        CarUpsampler(scale=scale, **TINY)


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = CarUpsampler(scale=2, **TINY)
    x = smooth_cars(2, 16)
    with_steps(model, x, smooth_cars(2, 32, seed=1))  # BatchNorm statistics and a non-zero head
    model.eval().save_pretrained(tmp_path / "up", safe_serialization=True)
    loaded = CarUpsampler.from_pretrained(tmp_path / "up").eval()
    assert tuple(loaded.config.widths) == (8, 16) and loaded.config.resolution == 32
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


# --- the degradations ------------------------------------------------------------------------
def test_area_downsample_averages_blocks():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.testing.assert_close(area_downsample(x, 2), torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))
    with pytest.raises(ValueError, match="multiples"):
        area_downsample(torch.zeros(1, 3, 5, 4), 2)


def test_blur_keeps_flat_pictures_and_sigma_zero_and_smooths_the_rest():
    flat = torch.full((2, 3, 8, 8), 0.3)
    torch.testing.assert_close(gaussian_blur(flat, torch.tensor([0.0, 1.0]), 3), flat)
    x = smooth_cars(2, 16) + 0.2 * checkerboard(16, 16)
    blurred = gaussian_blur(x, torch.tensor([0.0, 1.0]), 3)
    torch.testing.assert_close(blurred[0], x[0])
    assert high_frequency_energy(blurred[1:]) < 0.5 * high_frequency_energy(x[1:])


def test_checkerboard_and_speckle():
    pattern = checkerboard(4, 4)[0, 0]
    assert pattern[0, 0] == 1 and pattern[0, 1] == -1 and pattern[1, 0] == -1 and pattern[1, 1] == 1
    x = torch.zeros(1, 3, 4, 4)
    out = add_checkerboard(x, torch.tensor([[0.1, 0.0, -0.2]]), torch.ones(1, 1, 4, 4))
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.1, 0.0, -0.2]))
    torch.testing.assert_close(out[0, :, 0, 1], torch.tensor([-0.1, 0.0, 0.2]))
    chosen = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    chosen[0, 0, 1, 2] = True
    out = add_speckle(x, chosen, torch.ones(1, 3, 4, 4), torch.tensor([0.5]))
    assert out[0, :, 1, 2].tolist() == [0.5, 0.5, 0.5] and out.abs().sum() == 1.5


def test_edge_weights_are_high_on_edges():
    x = torch.zeros(1, 3, 8, 8)
    x[..., :, 4:] = 1.0  # one vertical edge between columns 3 and 4
    weights = edge_weights(x)
    assert weights[0, 0, :, 3].min() > 1 and weights[0, 0, :, :3].max() == 0 and weights[0, 0, :, 5:].max() == 0


def test_degrade_is_deterministic_from_the_seed():
    x = smooth_cars(4, 32)
    first = degrade(x, 2, ALL, torch.Generator().manual_seed(3))
    again = degrade(x, 2, ALL, torch.Generator().manual_seed(3))
    other = degrade(x, 2, ALL, torch.Generator().manual_seed(4))
    assert first.shape == (4, 3, 16, 16)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.min() >= -1 and first.max() <= 1


def test_degrade_without_degradations_is_the_area_downsample():
    x = smooth_cars(4, 32)
    torch.testing.assert_close(degrade(x, 2, NONE, torch.Generator().manual_seed(0)), area_downsample(x, 2))


@pytest.mark.parametrize("name", ["noise", "checker", "speckle"])
def test_each_degradation_adds_high_frequencies(name):
    """Noise, checkerboard and speckle alone (probability 1) each add detail the clean downsample
    does not have: on most samples (strengths are drawn from [0, max], so some get little or no
    speckle), and clearly on average."""
    x = smooth_cars(16, 32)
    only = DegradeOptions(**{**vars(NONE), f"{name}_prob": 1.0})
    clean = area_downsample(x, 2)
    ratio = high_frequency_energy(degrade(x, 2, only, torch.Generator().manual_seed(0))) / high_frequency_energy(clean)
    assert (ratio >= 1.0).all() and (ratio > 1.0).float().mean() >= 0.75 and ratio.mean() > 1.5, ratio


def test_blur_degradation_removes_high_frequencies():
    # detail at the low resolution: a 32-px checkerboard drawn in 2x2 blocks survives the area average
    x = smooth_cars(4, 64) + 0.2 * F.interpolate(checkerboard(32, 32), scale_factor=2, mode="nearest")
    only = DegradeOptions(**{**vars(NONE), "blur_prob": 1.0, "blur_sigma_max": 1.2})
    clean = area_downsample(x, 2)
    out = degrade(x, 2, only, torch.Generator().manual_seed(0))
    assert high_frequency_energy(out).sum() < 0.8 * high_frequency_energy(clean).sum()
