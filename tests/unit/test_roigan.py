"""RoI-GAN pieces (seed 002): the RoI-block's regions, gated convolution, the denormalization layer
with control, generator / discriminator / Q head shapes, save/load, and the Q head recovering
the codes of a tiny model trained on the information loss alone."""

import math

import pytest
import torch
from torch import nn

from carstudio.data.roi import (
    ROI_TYPES,
    coverage,
    ellipse_masks,
    mixture_masks,
    rectangle_masks,
    sample_rois,
)
from carstudio.losses.infogan import info_loss
from carstudio.models.layers import HE_GAIN, ControlledDenorm, EqualizedConv2d, EqualizedLinear, GatedConv2d
from carstudio.models.roigan import RoIGANDiscriminator, RoIGANGenerator, RoIGANQHead, coarse_fill, complete

R = 32
TINY_G = dict(resolution=R, encoder_widths=(8, 8, 8), decoder_widths=(8, 8, 8), noise_dim=4, num_codes=2,
              num_categories=3, style_channels=4, denorm_hidden=4)
TINY_D = dict(resolution=R, widths=(8, 8, 8), downsamples=2)
TINY_Q = dict(in_channels=8, map_size=R // 4, channels=8, hidden=16, num_codes=2, num_categories=3)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- RoI-block -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [*ROI_TYPES, "any"])
def test_roi_shapes_values_and_seeding(kind):
    masks = sample_rois(5, (24, 40), kind, seeded(3))
    assert masks.shape == (5, 1, 24, 40) and masks.dtype == torch.float32
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    assert (coverage(masks) > 0).all()
    torch.testing.assert_close(sample_rois(5, (24, 40), kind, seeded(3)), masks)
    assert not torch.equal(sample_rois(5, (24, 40), kind, seeded(4)), masks)


@pytest.mark.parametrize("kind, mean_range, low, high", [
    ("rectangle", (0.08, 0.15), 0.0, 1.0),  # E[|x1 - x2|] = W / 3 per axis: mean area 1/9
    ("ellipse", (0.22, 0.31), 0.04, 0.5),
    ("mixture", (0.23, 0.33), 0.05, 0.75),
])
def test_roi_coverage_ranges(kind, mean_range, low, high):
    """The ranges written in carstudio/data/roi.py, on 600 masks at 64 px."""
    values = coverage(sample_rois(600, 64, kind, seeded(0)))
    assert mean_range[0] < values.mean().item() < mean_range[1]
    assert values.min().item() > low and values.max().item() <= high


def test_rectangles_are_axis_aligned_boxes():
    masks = rectangle_masks(50, 20, 30, seeded(1))[:, 0].bool()
    rows, cols = masks.any(2), masks.any(1)
    assert torch.equal(masks, rows[:, :, None] & cols[:, None, :])
    for r, c in zip(rows, cols):  # one contiguous run of rows and of columns
        assert r.nonzero().flatten().diff().eq(1).all() and c.nonzero().flatten().diff().eq(1).all()


def test_ellipses_are_half_maximum_level_sets_of_their_gaussian():
    """An ellipse's area is pi * 2 ln 2 * sigma_x sigma_y sqrt(1 - rho^2) when it lies inside the
    frame: its coverage stays within the bounds that sigma in [W/5, W/3] and |rho| <= 0.8 give."""
    values = coverage(ellipse_masks(300, 64, 64, seeded(2)))
    smallest = math.pi * 2 * math.log(2) * (1 / 5) ** 2 * math.sqrt(1 - 0.8**2)
    largest = math.pi * 2 * math.log(2) * (1 / 3) ** 2
    assert values.max().item() <= largest + 0.01
    assert torch.quantile(values, 0.05).item() > smallest * 0.7  # frame edges only cut some


def test_mixture_regions_differ_from_single_ellipses_and_any_mixes_kinds():
    masks = mixture_masks(20, 64, 64, seeded(5))
    assert masks.shape == (20, 1, 64, 64) and (coverage(masks) > 0).all()
    kinds = sample_rois(200, 32, "any", seeded(6), kinds=("rectangle", "ellipse"))
    cov = coverage(kinds)
    assert (cov < 0.03).any() and (cov > 0.1).any()
    with pytest.raises(ValueError, match="RoI kind"):
        sample_rois(1, 8, "circle")
    with pytest.raises(ValueError, match="subset"):
        sample_rois(1, 8, "any", kinds=("blob",))


# --- layers ----------------------------------------------------------------------------------
def test_equalized_gain_and_stride():
    conv = EqualizedConv2d(4, 6, 3, stride=2, gain=HE_GAIN)
    assert conv.weight_gain == pytest.approx(math.sqrt(2 / (4 * 9)))  # eq. 3.20
    assert conv(torch.randn(2, 4, 16, 16)).shape == (2, 6, 8, 8)
    assert EqualizedLinear(8, 3, gain=HE_GAIN).weight_gain == pytest.approx(math.sqrt(2 / 8))
    assert EqualizedConv2d(4, 6, 3).weight_gain == pytest.approx(1 / 6)  # default unchanged


def test_gated_conv_shapes_and_gate():
    gated = GatedConv2d(4, 6, 3, stride=2)
    x = torch.randn(2, 4, 16, 16)
    assert gated(x).shape == (2, 6, 8, 8)
    with torch.no_grad():
        gated.conv.bias[6:] = -1e4  # gate closed: sigmoid -> 0
    assert gated(x).abs().max().item() == 0.0
    with torch.no_grad():
        gated.conv.bias[6:] = 1e4  # gate open: the plain feature conv
    features = nn.functional.conv2d(x, gated.conv.weight[:6] * gated.conv.weight_gain, gated.conv.bias[:6],
                                    stride=2, padding=1)
    torch.testing.assert_close(gated(x), features)


def test_controlled_denorm_shapes_identity_start_and_control():
    torch.manual_seed(0)
    layer = ControlledDenorm(5, 4, z_dim=6)
    x, roi = torch.randn(3, 5, 8, 8) * 3 + 1, (torch.rand(3, 1, 32, 32) > 0.5).float()
    z = torch.randn(3, 6)
    assert layer(x, roi, z).shape == (3, 5, 8, 8)
    with pytest.raises(ValueError, match="pass z"):
        layer(x, roi)
    assert not torch.allclose(layer(x, roi, z), layer(x, roi, torch.randn(3, 6)))
    for conv in (layer.gamma, layer.beta):
        nn.init.zeros_(conv.weight)
    # K_gamma's bias starts at 1 and K_beta's at 0: gamma = 1, beta = 0, out = instance_norm(x)
    torch.testing.assert_close(layer(x, roi, z), nn.functional.instance_norm(x))
    plain = ControlledDenorm(5, 4)
    assert plain.affine is None and plain(x, 1 - roi).shape == (3, 5, 8, 8)


# --- networks --------------------------------------------------------------------------------
def tiny_models(seed: int = 0):
    torch.manual_seed(seed)
    return RoIGANGenerator(**TINY_G), RoIGANDiscriminator(**TINY_D), RoIGANQHead(**TINY_Q)


def test_generator_shapes_latents_and_erased_region():
    g, _, _ = tiny_models()
    noise, codes, categories = g.sample_latents(4, seeded(1))
    assert noise.shape == (4, 4) and codes.shape == (4, 2) and categories.shape == (4,)
    assert codes.abs().max() <= 1 and categories.max() < 3
    z = g.latent(noise, codes, categories)
    assert z.shape == (4, g.latent_dim) and g.latent_dim == 4 + 2 + 3
    images = torch.rand(4, 3, R, R) * 2 - 1
    masks = sample_rois(4, R, "ellipse", seeded(2))
    out, mu, logvar = g(images, masks, z)
    assert out.shape == (4, 3, R, R) and out.abs().max() <= 1
    assert mu.shape == logvar.shape == (4, g.w_dim) and g.w_dim == 4 * (R // 8) ** 2
    # G sees the image with the region erased: what was inside cannot leak into the result
    other = torch.where(masks.bool(), torch.rand_like(images), images)
    torch.testing.assert_close(g(other, masks, z)[0], out)
    completed = complete(out, images, masks)
    assert torch.equal(completed[~masks.expand(-1, 3, -1, -1).bool()], images[~masks.expand(-1, 3, -1, -1).bool()])
    with pytest.raises(ValueError, match="decoder width"):
        RoIGANGenerator(**{**TINY_G, "decoder_widths": (8, 8)})


def test_coarse_fill_takes_the_colours_around_the_region():
    images = torch.rand(3, 3, R, R) * 2 - 1
    masks = sample_rois(3, R, "any", seeded(4))
    filled = coarse_fill(images, masks)
    outside = ~masks.expand(-1, 3, -1, -1).bool()
    assert torch.equal(filled[outside], images[outside])
    assert filled.min() >= images.min() and filled.max() <= images.max()  # means of known pixels
    # a car colour left of the region, a background colour right of it: each side of the fill
    # takes the nearer colour (the means are local, not the image's)
    two = torch.cat([torch.full((1, 3, R, R // 2), -0.5), torch.full((1, 3, R, R // 2), 0.75)], 3)
    box = torch.zeros(1, 1, R, R)
    box[..., 8:24, 12:20] = 1
    fill = coarse_fill(two, box)
    torch.testing.assert_close(fill[0, :, 16, 12], torch.full((3,), -0.5))
    torch.testing.assert_close(fill[0, :, 16, 19], torch.full((3,), 0.75))
    assert torch.equal(coarse_fill(images, torch.ones(3, 1, R, R)), torch.zeros_like(images))  # nothing known


def test_prefilled_generator_still_ignores_what_was_under_the_region():
    torch.manual_seed(0)
    g = RoIGANGenerator(**TINY_G, prefill=True)
    images, masks = torch.rand(2, 3, R, R) * 2 - 1, sample_rois(2, R, "ellipse", seeded(5))
    z = g.latent(*g.sample_latents(2, seeded(1)))
    out = g(images, masks, z)[0]
    other = torch.where(masks.bool(), torch.rand_like(images), images)
    torch.testing.assert_close(g(other, masks, z)[0], out)
    erased = RoIGANGenerator.from_config({**g.config, "prefill": False})
    erased.load_state_dict(g.state_dict())  # same weights: prefill adds no parameters
    assert not torch.allclose(erased(images, masks, z)[0], out)


def test_discriminator_scores_features_and_q_head():
    _, d, q = tiny_models()
    scores, features = d(torch.randn(2, 3, R, R), torch.ones(2, 1, R, R))
    assert scores.shape == (2, d.num_scores) and d.num_scores == 1 + (R // 4) ** 2  # global + patches
    assert [f.shape[1:] for f in features] == [(8, 16, 16), (8, 8, 8), (8, 8, 8)]
    mu, log_sigma, logits = q(features[-1])
    assert mu.shape == log_sigma.shape == (2, 2) and logits.shape == (2, 3)
    assert log_sigma.min() >= -4 and log_sigma.max() <= 2


def test_save_and_load_round_trip(tmp_path):
    g, d, q = tiny_models()
    for name, model in (("g", g), ("d", d), ("q", q)):
        model.save_pretrained(tmp_path / name)
    g2, d2, q2 = (RoIGANGenerator.from_pretrained(tmp_path / "g"), RoIGANDiscriminator.from_pretrained(tmp_path / "d"),
                  RoIGANQHead.from_pretrained(tmp_path / "q"))
    assert g2.config.decoder_widths == [8, 8, 8] and g2.config.num_categories == 3
    images, masks = torch.rand(2, 3, R, R), sample_rois(2, R, "mixture", seeded(0))
    z = g.latent(*g.sample_latents(2, seeded(1)))
    torch.testing.assert_close(g2(images, masks, z)[0], g(images, masks, z)[0], rtol=0, atol=0)
    scores, features = d(images, masks)
    scores2, features2 = d2(images, masks)
    torch.testing.assert_close(scores2, scores, rtol=0, atol=0)
    torch.testing.assert_close(q2(features2[-1])[2], q(features[-1])[2], rtol=0, atol=0)


def test_q_head_recovers_codes_of_a_tiny_trained_model():
    """G, D_main and Q trained on -L_I alone (eq. 3.17) for 300 steps at 16 px: on fresh samples
    Q beats chance for the category and for every slider. D_main is trained here as Q's trunk:
    a random frozen D_main (instance norms) is too lossy a reader for InfoGAN to bootstrap in a
    few hundred steps; in the trainer D_main learns from the adversarial loss instead. No noise
    dims, so the codes are all there is to recover (the noise only slows learning down)."""
    torch.manual_seed(0)
    size, width = 16, 16
    g = RoIGANGenerator(resolution=size, encoder_widths=(width,) * 2, decoder_widths=(width,) * 2, noise_dim=0,
                        num_codes=2, num_categories=3, style_channels=width // 2, denorm_hidden=width // 2)
    d = RoIGANDiscriminator(resolution=size, widths=(width,) * 3)
    q = RoIGANQHead(in_channels=width, map_size=size // 4, channels=width, hidden=2 * width, num_codes=2,
                    num_categories=3)
    opt = torch.optim.Adam([*g.parameters(), *d.parameters(), *q.parameters()], lr=3e-2, betas=(0.5, 0.999))
    images = torch.rand(16, 3, size, size) * 2 - 1
    rng = seeded(0)

    def batch(n: int):
        noise, codes, categories = g.sample_latents(n, rng)
        real = images[torch.randint(len(images), (n,), generator=rng)]
        masks = sample_rois(n, size, "ellipse", rng)
        fake, _, _ = g(real, masks, g.latent(noise, codes, categories))
        return q(d(complete(fake, real, masks), masks)[1][-1]), codes, categories

    for _ in range(300):
        (mu, log_sigma, logits), codes, categories = batch(16)
        loss = info_loss(codes, categories, mu, log_sigma, logits)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        (mu, _, logits), codes, categories = batch(300)
    accuracy = (logits.argmax(1) == categories).float().mean().item()
    mse = (mu - codes).square().mean(0)
    assert accuracy > 0.6, accuracy  # chance: 1/3
    # predicting the prior mean 0 gives Var U(-1, 1) = 1/3 per code
    assert mse.max().item() < 1 / 3 and mse.mean().item() < 0.28, mse


def test_fill_residual_generator_starts_at_the_prefill_and_learns_from_there():
    torch.manual_seed(0)
    g = RoIGANGenerator(**TINY_G, prefill=True, output_norm=False, fill_residual=True)
    images, masks = torch.rand(2, 3, R, R) * 1.6 - 0.8, sample_rois(2, R, "ellipse", seeded(5))
    z = g.latent(*g.sample_latents(2, seeded(1)))
    out = g(images, masks, z)[0]
    torch.testing.assert_close(out, coarse_fill(images, masks), atol=1e-5, rtol=0)
    torch.nn.init.normal_(g.to_rgb.weight)  # a trained head moves the fill, and z then matters
    moved = g(images, masks, z)[0]
    assert (moved - out).abs().mean() > 1e-3
    assert not torch.allclose(moved, g(images, masks, g.latent(*g.sample_latents(2, seeded(2))))[0])
    for bad in (dict(prefill=False, output_norm=False), dict(prefill=True, output_norm=True)):
        with pytest.raises(ValueError, match="fill_residual"):
            RoIGANGenerator(**TINY_G, fill_residual=True, **bad)
