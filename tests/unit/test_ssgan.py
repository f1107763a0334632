"""SSGAN pieces: SPADE, the Semantic Fusion Module (eqs. 4-5), ToMask, generators, the multiscale
discriminator, matching losses, hand-drawn sketch augmentation, save/load."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from carstudio.data.parts import BACKGROUND, NUM_PARTS
from carstudio.data.sketch_augment import hand_drawn
from carstudio.losses.matching import PerceptualFeatures, VGG19Features, feature_matching, perceptual_loss
from carstudio.models.layers import SPADE, SPADEResBlock
from carstudio.models.segmenter import PartSegmenter
from carstudio.models.ssgan import (
    MultiscaleDiscriminator,
    SemanticFusionModule,
    SPADEGenerator,
    SSGANGenerator,
    ToMask,
    foreground,
    one_hot_masks,
)

TINY = dict(z_dim=8, widths=(16, 8, 8), resolution=16, spade_hidden=8)


def masks(batch: int = 2, size: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return one_hot_masks(torch.randint(0, NUM_PARTS, (batch, size, size), generator=g))


def zero_(conv: nn.Conv2d) -> None:
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_spade_normalizes_then_modulates(norm):
    torch.manual_seed(0)
    spade = SPADE(4, NUM_PARTS, hidden=8, norm=norm).train()
    x = torch.randn(3, 4, 8, 8) * 5 + 2
    seg = masks(3, 4)
    zero_(spade.gamma), zero_(spade.beta)
    reference = nn.BatchNorm2d(4, affine=False) if norm == "batch" else nn.InstanceNorm2d(4, affine=False)
    normalized = reference(x)
    torch.testing.assert_close(spade(x, seg), normalized)
    with torch.no_grad():
        spade.beta.bias.fill_(0.7)
    out = spade(x, seg)
    torch.testing.assert_close(out - normalized, torch.full_like(out, 0.7))
    assert out.mean().item() == pytest.approx(normalized.mean().item() + 0.7, abs=1e-5)


def test_spade_resblock_shortcut():
    seg = masks(2, 8)
    assert not SPADEResBlock(8, 8, NUM_PARTS).learned_shortcut
    block = SPADEResBlock(8, 4, NUM_PARTS, spectral=True, hidden=8)
    assert block.learned_shortcut and block(torch.randn(2, 8, 8, 8), seg).shape == (2, 4, 8, 8)


def test_foreground_zeroes_background_only():
    m = masks()
    f = foreground(m)
    assert f.shape == m.shape and f[:, BACKGROUND].abs().sum() == 0
    keep = [c for c in range(NUM_PARTS) if c != BACKGROUND]
    torch.testing.assert_close(f[:, keep], m[:, keep])


def test_sfm_shapes_and_residual_form_of_eq5():
    torch.manual_seed(0)
    sfm = SemanticFusionModule(NUM_PARTS, 5)
    m0, m = masks(2, 16), torch.rand(2, NUM_PARTS, 8, 8)
    f0, f = sfm.fuse(m, m0), sfm(m, m0)
    assert f0.shape == f.shape == (2, 5, 8, 8)
    torch.testing.assert_close(f, f0 + sfm.f2(f0))  # eq. 5: f = f0 ⊕ F2(f0)
    m0_small = F.interpolate(m0, size=(8, 8), mode="nearest")  # eq. 4 with a shared F1 and mean pooling
    torch.testing.assert_close(f0, sfm.f1(foreground(m0_small)) + (sfm.f1(m0_small) + sfm.f1(m)) / 2)
    # F2 zeroed: the module passes f0 through
    zero_(sfm.f2[-1])
    torch.testing.assert_close(sfm(m, m0), f0)


def test_to_mask_range():
    out = ToMask(8, NUM_PARTS)(torch.randn(2, 8, 4, 4) * 100)
    assert out.shape == (2, NUM_PARTS, 4, 4) and out.min() >= 0 and out.max() <= 1


def test_generators_and_discriminator_shapes():
    torch.manual_seed(0)
    m = masks()
    image, intermediate = SSGANGenerator(sfm_channels=4, **TINY)(m, generator=torch.Generator().manual_seed(0))
    assert image.shape == (2, 3, 16, 16) and image.abs().max() <= 1
    assert [tuple(x.shape) for x in intermediate] == [(2, NUM_PARTS, 4, 4), (2, NUM_PARTS, 8, 8)]
    assert all(x.min() >= 0 and x.max() <= 1 for x in intermediate)
    image, none = SPADEGenerator(**TINY)(m)
    assert image.shape == (2, 3, 16, 16) and none == []
    with pytest.raises(ValueError, match="divisible"):
        SSGANGenerator(widths=(8, 8, 8), resolution=18)
    d = MultiscaleDiscriminator(widths=(8, 16), num_scales=3)
    features = d(image, m)
    assert len(features) == 3 and all(len(scale) == 3 for scale in features)
    assert [scale[-1].shape[1] for scale in features] == [1, 1, 1]
    assert features[0][-1].shape[-1] > features[1][-1].shape[-1] > features[2][-1].shape[-1]


def test_style_latent_changes_the_image():
    torch.manual_seed(0)
    g = SSGANGenerator(sfm_channels=4, **TINY).eval()
    m = masks(1)
    a, _ = g(m, z=torch.zeros(1, 8))
    b, _ = g(m, z=torch.ones(1, 8))
    assert (a - b).abs().max() > 1e-4


def test_feature_matching_and_perceptual_losses():
    real = [[torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 3, 3)], [torch.zeros(1, 2, 2, 2), torch.zeros(1, 1, 2, 2)]]
    fake = [[torch.ones(1, 2, 4, 4), torch.full((1, 1, 3, 3), 9.0)],
            [torch.full((1, 2, 2, 2), 3.0), torch.zeros(1, 1, 2, 2)]]
    assert feature_matching(real, fake).item() == pytest.approx(2.0)  # scores ignored; (1 + 3) / 2
    x, y = torch.zeros(1, 3, 8, 8), torch.full((1, 3, 8, 8), 0.5)
    assert perceptual_loss(x, y, PerceptualFeatures.build()).item() == pytest.approx(0.5)
    seg = PartSegmenter(widths=(4, 8), feature_level=1)
    loss = PerceptualFeatures.build(segmenter=seg)
    assert loss.kind == "segmenter" and perceptual_loss(x, x, loss).item() == 0
    fake_img = y.clone().requires_grad_(True)
    perceptual_loss(fake_img, x, loss).backward()
    assert fake_img.grad is not None and not any(p.grad is not None for p in seg.parameters())


def test_vgg_features_load_from_a_file(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    vgg = VGG19Features()
    save_file({"features." + k: v for k, v in vgg.features.state_dict().items()}, tmp_path / "vgg19.safetensors")
    loss = PerceptualFeatures.build(vgg_weights=tmp_path / "vgg19.safetensors")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    taps = loss(x)
    assert loss.kind == "vgg" and [t.shape[1] for t, _ in taps] == [64, 128, 256, 512, 512]
    torch.testing.assert_close(taps[0][0], vgg(((x + 1) / 2 - loss.mean) / loss.std)[0])


def line_sketch(size: int = 64) -> torch.Tensor:
    x = torch.ones(1, size, size)
    x[0, 20, 8:56] = -1
    x[0, 8:56, 30] = -1
    x[0, 44, 12:52] = -1
    return x


def test_hand_drawn_is_deterministic_and_keeps_ink_near_the_lines():
    x = line_sketch()
    a, b, c = hand_drawn(x, seed=3), hand_drawn(x, seed=3), hand_drawn(x, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c) and a.shape == x.shape
    assert a.min() >= -1 and a.max() <= 1
    ink, original = (a < 0).float(), (x < 0).float()
    near = F.max_pool2d(original[None], 7, stride=1, padding=3)[0]
    assert ink.sum() > 0.3 * original.sum()  # most strokes survive
    assert ink.sum() < 2.0 * original.sum()  # thicker in places, but no filled blobs
    assert (ink * near).sum() / ink.sum() > 0.95  # and stay within 3 px of where they were
    assert not torch.equal(ink, original)
    batch = hand_drawn(torch.stack([x, x]), generator=torch.Generator().manual_seed(0))
    assert batch.shape == (2, 1, 64, 64) and not torch.equal(batch[0], batch[1])
    with pytest.raises(ValueError):
        hand_drawn(x)


@pytest.mark.parametrize("cls, extra", [(SSGANGenerator, {"sfm_channels": 4}), (SPADEGenerator, {})])
def test_generator_save_load_round_trip(tmp_path, cls, extra):
    torch.manual_seed(0)
    model = cls(**TINY, **extra).eval()
    m = masks(1)
    z = torch.randn(1, 8, generator=torch.Generator().manual_seed(1))
    expected = model(m, z=z)[0]
    model.save_pretrained(tmp_path)
    assert list(tmp_path.glob("*.safetensors"))
    loaded = cls.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(loaded(m, z=z)[0][0, :, :4, :4], expected[0, :, :4, :4])  # a seeded slice
    torch.testing.assert_close(loaded(m, z=z)[0], expected)


def test_discriminator_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    d = MultiscaleDiscriminator(widths=(8, 16)).eval()
    x, m = torch.rand(1, 3, 16, 16) * 2 - 1, masks(1)
    expected = d(x, m)[0][-1]
    d.save_pretrained(tmp_path)
    torch.testing.assert_close(MultiscaleDiscriminator.from_pretrained(tmp_path).eval()(x, m)[0][-1], expected)


def test_part_segmenter_serves_as_sketch_segmenter():
    seg = PartSegmenter(in_channels=1, widths=(4, 8), feature_level=1)
    assert seg(line_sketch()[None]).shape == (1, NUM_PARTS, 64, 64)


def test_style_encoder_shapes_and_seeded_reparameterization():
    from carstudio.models.ssgan import StyleEncoder, reparameterize

    torch.manual_seed(0)
    encoder = StyleEncoder(z_dim=6, widths=(4, 8, 8), resolution=32)
    mu, logvar = encoder(torch.randn(2, 3, 32, 32))
    assert mu.shape == logvar.shape == (2, 6)
    a = reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    b = reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, mu)
    with pytest.raises(ValueError, match="4x4"):
        StyleEncoder(widths=(4, 8), resolution=64)


def test_binomial_blur_keeps_flat_maps_and_removes_the_stride_two_checkerboard():
    from carstudio.models.layers import binomial_blur

    flat = torch.full((1, 2, 6, 6), 0.7)
    torch.testing.assert_close(binomial_blur(flat), flat)
    checker = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2 * 2.0 - 1.0  # +-1 alternating
    blurred = binomial_blur(checker[None, None])
    assert blurred.shape == (1, 1, 8, 8) and blurred.abs().max() < 1e-6  # the Nyquist pattern is cancelled


def test_blurred_discriminator_loads_the_same_weights_and_differs_only_in_blurring():
    torch.manual_seed(0)
    plain = MultiscaleDiscriminator(widths=(8, 16)).eval()
    blurred = MultiscaleDiscriminator(widths=(8, 16), blur_downsample=True).eval()
    blurred.load_state_dict(plain.state_dict())  # no new parameters: runs resume either way
    images, masks = torch.randn(2, 3, 32, 32), torch.rand(2, NUM_PARTS, 32, 32)
    a, b = plain(images, masks), blurred(images, masks)
    assert [x[-1].shape for x in a] == [x[-1].shape for x in b]
    assert not torch.allclose(a[0][-1], b[0][-1])
    flat_images, flat_masks = torch.full_like(images, 0.3), torch.full_like(masks, 0.5)
    # on flat inputs the blur changes nothing away from the borders' zero padding of the convs
    fa, fb = plain(flat_images, flat_masks)[0][0], blurred(flat_images, flat_masks)[0][0]
    torch.testing.assert_close(fa, fb)
