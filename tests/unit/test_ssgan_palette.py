"""Issue 19's colour signal: part palettes (measured, painted, banked, set by a colour picker),
palette-conditioned SSGAN/SPADE generators and discriminator condition, the pixel L1 term of the
trainer's G loss, and the pipelines' palette controls. Tiny models use widths >= 8 (a 4-channel
conv in channels_last crashes torch 2.13.0+cpu on this machine)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio.data.maps import paint_fill
from carstudio.data.palette import (
    draw_palettes,
    fill_absent,
    paint,
    palette_bank,
    parse_colour,
    part_palette,
    with_part_colour,
)
from carstudio.data.parts import BACKGROUND, BODY, GLASS, LIGHTS, NUM_PARTS, WHEEL
from carstudio.models.segmenter import PartSegmenter
from carstudio.models.ssgan import MultiscaleDiscriminator, SPADEGenerator, SSGANGenerator, one_hot_masks
from carstudio.pipelines.palettes import choose_palettes
from carstudio.pipelines.sketch import SketchToCarPipeline

TINY = dict(z_dim=8, widths=(16, 8, 8), resolution=16, spade_hidden=8)


def two_part_scene(size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """(image (1, 3, S, S) in [-1, 1], parts (1, S, S)): a red body block on a grey background,
    the body's pixels alternating between two reds so that its mean is known exactly."""
    parts = torch.full((1, size, size), BACKGROUND)
    parts[:, 4:12, 2:14] = BODY
    image = torch.full((1, 3, size, size), -0.2)
    body = parts[0] == BODY
    red_a, red_b = torch.tensor([0.9, -0.8, -0.6]), torch.tensor([0.7, -0.6, -0.8])
    checker = (torch.arange(size)[:, None] + torch.arange(size)[None]) % 2 == 0
    for c in range(3):
        image[0, c][body & checker] = red_a[c]
        image[0, c][body & ~checker] = red_b[c]
    return image, parts


def test_part_palette_is_the_mean_colour_of_each_present_part():
    image, parts = two_part_scene()
    palettes, present = part_palette(image, parts)
    assert palettes.shape == (1, NUM_PARTS, 3) and present.shape == (1, NUM_PARTS)
    assert present[0].tolist() == [c in (BACKGROUND, BODY) for c in range(NUM_PARTS)]
    torch.testing.assert_close(palettes[0, BODY], torch.tensor([0.8, -0.7, -0.7]))
    torch.testing.assert_close(palettes[0, BACKGROUND], torch.full((3,), -0.2))
    assert palettes[0, GLASS].abs().sum() == 0  # absent: zero, flagged by `present`
    with pytest.raises(ValueError, match="differ in size"):
        part_palette(image, parts[:, :8, :8])


def test_palette_painted_through_the_parts_is_the_renders_paint():
    """The same numbers as the render folders' paints/ (maps.paint_fill), up to uint8 rounding."""
    rng = np.random.default_rng(0)
    parts = rng.integers(0, NUM_PARTS, (12, 12))
    image = rng.integers(0, 256, (12, 12, 3)).astype(np.uint8)
    expected = paint_fill(image, parts)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    palettes, _ = part_palette(x, torch.from_numpy(parts)[None])
    painted = paint(one_hot_masks(torch.from_numpy(parts)[None]), palettes)
    ours = ((painted[0].permute(1, 2, 0) + 1) * 127.5).numpy()
    assert np.abs(ours - expected.astype(np.float64)).max() <= 0.51


def test_paint_of_soft_masks_mixes_colours():
    masks = torch.zeros(1, NUM_PARTS, 1, 1)
    masks[0, BODY], masks[0, WHEEL] = 0.25, 0.75
    palettes = torch.zeros(1, NUM_PARTS, 3)
    palettes[0, BODY], palettes[0, WHEEL] = torch.tensor([1.0, 0.0, -1.0]), torch.tensor([-1.0, 0.0, 1.0])
    torch.testing.assert_close(paint(masks, palettes)[0, :, 0, 0], torch.tensor([-0.5, 0.0, 0.5]))


def test_bank_fills_absent_parts_with_their_mean_where_present_and_draws_are_seeded():
    image, parts = two_part_scene()
    other_image = torch.full_like(image, 0.5)
    other_parts = torch.full_like(parts, LIGHTS)
    other_parts[:, :4] = BACKGROUND
    images, maps = torch.cat([image, other_image]), torch.cat([parts, other_parts])
    bank = palette_bank(images, maps, size=2, seed=0)
    assert bank.shape == (2, NUM_PARTS, 3)
    # body is shown by the first render only: the second's body entry is the first's body colour
    torch.testing.assert_close(bank[:, BODY], torch.tensor([[0.8, -0.7, -0.7]] * 2))
    torch.testing.assert_close(bank[:, LIGHTS], torch.full((2, 3), 0.5))
    # a part no render shows gets zeros (grey), never NaN
    assert torch.isfinite(bank).all() and bank[:, GLASS].abs().sum() == 0
    as_uint8 = ((images + 1) * 127.5).round().to(torch.uint8)
    torch.testing.assert_close(palette_bank(as_uint8, maps, size=2, seed=0), bank, atol=0.005, rtol=0)
    big = palette_bank(images, maps, size=5, seed=1)  # more than there are renders: with replacement
    assert big.shape == (5, NUM_PARTS, 3)
    a = draw_palettes(big, 3, torch.Generator().manual_seed(4))
    b = draw_palettes(big, 3, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="empty"):
        draw_palettes(torch.zeros(0, NUM_PARTS, 3), 1)
    filled = fill_absent(torch.zeros(1, NUM_PARTS, 3), torch.zeros(1, NUM_PARTS, dtype=torch.bool),
                         torch.ones(NUM_PARTS, 3))
    assert torch.equal(filled, torch.ones(1, NUM_PARTS, 3))


def test_colour_picker_sets_the_body_only_and_parses_strictly():
    palettes = torch.zeros(2, NUM_PARTS, 3)
    out = with_part_colour(palettes, (255, 0, 127.5))
    torch.testing.assert_close(out[:, BODY], torch.tensor([[1.0, -1.0, 0.0]] * 2))
    assert out[:, [c for c in range(NUM_PARTS) if c != BODY]].abs().sum() == 0 and palettes.abs().sum() == 0
    assert parse_colour("#FF8000") == (255, 128, 0) == parse_colour("ff8000")
    assert parse_colour("rgba(10, 20.4, 30, 0.5)") == (10, 20, 30)
    for bad in ("nan", "#12345", "rgb(300, 0, 0)", "rgb(nan, 0, 0)", "red", "", "rgb(-1, 0, 0)"):
        with pytest.raises(ValueError, match="not a colour"):
            parse_colour(bad)


@pytest.mark.parametrize("cls, extra", [(SSGANGenerator, {"sfm_channels": 8}), (SPADEGenerator, {})])
def test_palette_generator_follows_its_palette_and_round_trips(tmp_path, cls, extra):
    torch.manual_seed(0)
    model = cls(**TINY, **extra, palette_bank=4).eval()
    with torch.no_grad():
        model.palette.bank.copy_(torch.rand(4, NUM_PARTS, 3) * 2 - 1)
    masks = one_hot_masks(torch.randint(0, NUM_PARTS, (2, 16, 16), generator=torch.Generator().manual_seed(1)))
    z = torch.zeros(2, 8)
    red, blue = torch.zeros(2, NUM_PARTS, 3), torch.zeros(2, NUM_PARTS, 3)
    red[..., 0], blue[..., 2] = 1.0, 1.0
    a, b = model(masks, z=z, palettes=red)[0], model(masks, z=z, palettes=blue)[0]
    assert a.shape == (2, 3, 16, 16) and (a - b).abs().max() > 1e-3  # the palette reaches the image
    # without palettes the generator draws them from its bank with the given generator
    drawn = model(masks, z=z, generator=torch.Generator().manual_seed(3))[0]
    palettes = draw_palettes(model.palette.bank, 2, torch.Generator().manual_seed(3))
    torch.testing.assert_close(drawn, model(masks, z=z, palettes=palettes)[0])
    with pytest.raises(ValueError, match="palettes must be"):
        model(masks, z=z, palettes=torch.zeros(2, 3, 3))
    model.save_pretrained(tmp_path)
    loaded = cls.from_pretrained(tmp_path).eval()
    assert loaded.config.palette_bank == 4 and torch.equal(loaded.palette.bank, model.palette.bank)
    torch.testing.assert_close(loaded(masks, z=z, palettes=red)[0], a)


def test_seed_models_are_unchanged_and_refuse_palettes():
    torch.manual_seed(0)
    model = SSGANGenerator(**TINY, sfm_channels=8).eval()
    assert model.palette is None and model.config.palette_bank == 0
    assert model.trunk.blocks[0].norm_0.shared[0].in_channels == NUM_PARTS  # M0 only, as before
    masks = one_hot_masks(torch.zeros(1, 16, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="not palette-conditioned"):
        model(masks, palettes=torch.zeros(1, NUM_PARTS, 3))


def test_discriminator_takes_masks_and_paint_as_its_condition():
    d = MultiscaleDiscriminator(num_classes=NUM_PARTS + 3, widths=(8, 16))
    condition = torch.cat([one_hot_masks(torch.zeros(2, 16, 16, dtype=torch.long)), torch.zeros(2, 3, 16, 16)], 1)
    assert d(torch.zeros(2, 3, 16, 16), condition)[0][-1].shape[:2] == (2, 1)


def test_g_loss_adds_pixel_l1_with_its_weight():
    from carstudio.losses.matching import PerceptualFeatures
    from carstudio.train.ssgan import SSGANTrainOptions, g_loss

    torch.manual_seed(0)
    d = MultiscaleDiscriminator(widths=(8, 16)).eval()  # eval: spectral norm's power iteration stands still
    masks = one_hot_masks(torch.zeros(1, 16, 16, dtype=torch.long))
    fake, real = torch.zeros(1, 3, 16, 16), torch.full((1, 3, 16, 16), 0.25)
    base = SSGANTrainOptions(lambda_perceptual=0.0)
    without, parts = g_loss(d, fake, real, masks, PerceptualFeatures.build(), base)
    with_l1, parts_l1 = g_loss(d, fake, real, masks, PerceptualFeatures.build(),
                               SSGANTrainOptions(lambda_perceptual=0.0, lambda_l1=20.0))
    assert "l1" not in parts and parts_l1["l1"] == pytest.approx(0.25)
    assert (with_l1 - without).item() == pytest.approx(20.0 * 0.25, rel=1e-5)


def tiny_palette_pipeline() -> SketchToCarPipeline:
    torch.manual_seed(0)
    segmenter = PartSegmenter(in_channels=1, widths=(8, 8), feature_level=1, resolution=16)
    generator = SSGANGenerator(**TINY, sfm_channels=8, palette_bank=8)
    with torch.no_grad():
        generator.palette.bank.copy_(torch.rand(8, NUM_PARTS, 3) * 2 - 1)
    return SketchToCarPipeline(segmenter, generator)


def test_sketch_pipeline_palette_controls():
    pipe = tiny_palette_pipeline()
    parts = torch.randint(0, NUM_PARTS, (16, 16), generator=torch.Generator().manual_seed(0))
    a, _ = pipe.generate(parts, 2, seed=0)
    again, _ = pipe.generate(parts, 2, seed=0)
    other, _ = pipe.generate(parts, 2, seed=5)
    assert torch.equal(a, again) and not torch.equal(a, other)
    green, _ = pipe.generate(parts, 2, seed=0, body_colour="#00ff00")
    assert not torch.equal(a, green)
    # the body colour is what the generator was given
    g = torch.Generator().manual_seed(0)
    torch.randn(2, 8, generator=g)
    chosen = choose_palettes(pipe.generator, 2, g, body_colour=(0, 255, 0))
    torch.testing.assert_close(chosen[:, BODY], torch.tensor([[-1.0, 1.0, -1.0]] * 2))
    for bad in ("#zzzzzz", "rgb(nan, 1, 1)", (0, 300, 0), (float("nan"), 0, 0)):
        with pytest.raises(ValueError):
            pipe.generate(parts, 1, seed=0, body_colour=bad)
    with pytest.raises(ValueError, match="finite"):
        pipe.generate(parts, 1, palettes=torch.full((1, NUM_PARTS, 3), float("nan")))


def test_palette_of_an_example_car_through_its_part_map():
    pipe = tiny_palette_pipeline()
    image, parts = two_part_scene()
    picture = Image.fromarray(((image[0].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy())
    palette = pipe.palette_of(picture, parts[0].numpy())
    assert palette.shape == (1, NUM_PARTS, 3)
    torch.testing.assert_close(palette[0, BODY], torch.tensor([0.8, -0.7, -0.7]), atol=0.01, rtol=0)
    torch.testing.assert_close(palette[0, GLASS], pipe.generator.palette.bank.mean(0)[GLASS])  # absent: bank mean
    out = pipe.generate(parts[0], 1, seed=0, palettes=palette)[0]
    assert out.shape == (1, 3, 16, 16)


def test_seed_pipeline_refuses_palette_controls():
    torch.manual_seed(0)
    pipe = SketchToCarPipeline(PartSegmenter(in_channels=1, widths=(8, 8), feature_level=1, resolution=16),
                               SSGANGenerator(**TINY, sfm_channels=8))
    parts = torch.zeros(16, 16, dtype=torch.long)
    pipe.generate(parts, 1, seed=0)
    with pytest.raises(ValueError, match="not palette-conditioned"):
        pipe.generate(parts, 1, seed=0, body_colour="#ff0000")


def test_intermediate_mask_bce_on_known_inputs():
    import math

    from carstudio.losses.masks import intermediate_mask_bce

    target = one_hot_masks(torch.zeros(1, 4, 4, dtype=torch.long))  # all background
    perfect = [target[:, :, :2, :2].clone()]
    assert intermediate_mask_bce(perfect, target).item() == pytest.approx(0.0, abs=1e-6)
    half = [torch.full((1, NUM_PARTS, 2, 2), 0.5), torch.full((1, NUM_PARTS, 1, 1), 0.5)]
    assert intermediate_mask_bce(half, target).item() == pytest.approx(math.log(2), rel=1e-5)
    # targets are area-averaged: a 4x4 map half body, half background gives 0.5 targets at 1x1
    split = torch.zeros(1, 4, 4, dtype=torch.long)
    split[:, :, 2:] = BODY
    m = torch.full((1, NUM_PARTS, 1, 1), 1e-3)
    m[:, [BACKGROUND, BODY]] = 0.5
    expected = (2 * math.log(2) + (NUM_PARTS - 2) * -math.log(1 - 1e-3)) / NUM_PARTS
    assert intermediate_mask_bce([m], one_hot_masks(split)).item() == pytest.approx(expected, rel=1e-4)
    assert intermediate_mask_bce([], target).item() == 0


@pytest.mark.parametrize("family", [SSGANGenerator, SPADEGenerator])
def test_paint_residual_generator_starts_at_the_paint_and_learns_from_there(family):
    torch.manual_seed(0)
    extra = dict(sfm_channels=8) if family is SSGANGenerator else {}
    model = family(**TINY, **extra, palette_bank=4, paint_residual=True).eval()
    masks = one_hot_masks(torch.randint(0, NUM_PARTS, (2, 16, 16), generator=torch.Generator().manual_seed(1)))
    palettes = torch.rand(2, NUM_PARTS, 3, generator=torch.Generator().manual_seed(2)) * 1.6 - 0.8
    image, _ = model(masks, generator=torch.Generator().manual_seed(0), palettes=palettes)
    torch.testing.assert_close(image, paint(masks, palettes), atol=1e-5, rtol=0)
    # a non-zero head moves the output away from the paint: the residual is trained, not fixed
    torch.nn.init.normal_(model.trunk.to_rgb.weight, std=0.1)
    moved, _ = model(masks, generator=torch.Generator().manual_seed(0), palettes=palettes)
    assert (moved - image).abs().mean() > 1e-3 and moved.abs().max() < 1


def test_paint_residual_needs_a_palette_model():
    with pytest.raises(ValueError, match="paint_residual"):
        SPADEGenerator(**TINY, paint_residual=True)
