"""StyleGAN2 pieces: equalized-lr and modulated layers, mapping, truncation, style mixing, noise,
label maps, minibatch stddev, what D sees of a layout, save/load, a seeded output slice."""

import numpy as np
import pytest
import torch

from carstudio.data.parts import NUM_PARTS, PART_COLORS
from carstudio.models.layers import EqualizedConv2d, EqualizedLinear, ModulatedConv2d, minibatch_stddev
from carstudio.models.stylegan import MappingNetwork, StyleGANDiscriminator, StyleGANGenerator, pixel_norm
from carstudio.train.stylegan import (
    StyleGANTrainOptions,
    build_models,
    ema_beta,
    fake_inputs,
    make_optimizers,
    training_latents,
)

TINY_G = dict(resolution=16, z_dim=8, w_dim=8, mapping_layers=2, widths=(16, 8, 8))
TINY_D = dict(resolution=16, widths=(16, 8, 8))


def tiny_generator(seed: int = 0, **overrides) -> StyleGANGenerator:
    torch.manual_seed(seed)
    return StyleGANGenerator(**(TINY_G | overrides)).eval()


def latents(n: int, seed: int, dim: int = 8) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_equalized_layers_scale_weights_at_run_time():
    torch.manual_seed(0)
    linear = EqualizedLinear(64, 4, bias_init=1.0, lr_mul=0.01)
    assert linear.weight.std().item() == pytest.approx(100, rel=0.1)  # stored / lr_mul
    torch.testing.assert_close(linear(torch.zeros(2, 64)), torch.ones(2, 4))  # bias init 1 after lr_mul
    conv = EqualizedConv2d(4, 6, 3, activation="lrelu", down=True)
    assert conv(torch.randn(2, 4, 8, 8)).shape == (2, 6, 4, 4)
    with pytest.raises(ValueError):
        EqualizedLinear(2, 2, activation="relu")


def test_modulated_conv_shapes():
    conv = ModulatedConv2d(8, 16, 3, w_dim=12, up=True)
    assert conv(torch.randn(3, 8, 4, 4), torch.randn(3, 12)).shape == (3, 16, 8, 8)
    to_out = ModulatedConv2d(8, NUM_PARTS, 1, w_dim=12, demodulate=False)
    assert to_out(torch.randn(3, 8, 4, 4), torch.randn(3, 12)).shape == (3, NUM_PARTS, 4, 4)


def test_demodulation_gives_unit_variance_outputs_for_any_style():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 32, 3, w_dim=16)
    x = torch.randn(4, 64, 32, 32)
    w = torch.randn(4, 16) * torch.tensor([0.1, 1.0, 5.0, 20.0])[:, None]  # very different style scales
    with torch.no_grad():
        y = conv(x, w)[:, :, 1:-1, 1:-1]  # away from the zero padding
    std = y.std(dim=(1, 2, 3))
    torch.testing.assert_close(std, torch.ones(4), atol=0.08, rtol=0)
    # without demodulation the output scale follows the style
    plain = ModulatedConv2d(64, 32, 3, w_dim=16, demodulate=False)
    plain.load_state_dict(conv.state_dict())
    with torch.no_grad():
        assert plain(x, w).std(dim=(1, 2, 3))[3] > 3 * plain(x, w).std(dim=(1, 2, 3))[0]


def test_mapping_shapes_and_pixel_norm():
    z = latents(5, 0, 8)
    torch.testing.assert_close(pixel_norm(z).square().mean(1), torch.ones(5))
    torch.testing.assert_close(pixel_norm(3 * z), pixel_norm(z))
    mapping = MappingNetwork(8, 12, 3)
    assert mapping(z).shape == (5, 12) and len(mapping.net) == 3
    assert mapping.net[0].lr_mul == 0.01


@pytest.mark.parametrize("resolution,widths,out", [(16, (16, 8, 8), NUM_PARTS), (32, (8, 8, 8, 4), 3)])
def test_generator_and_discriminator_shapes(resolution, widths, out):
    output = "labels" if out == NUM_PARTS else "image"
    g = StyleGANGenerator(resolution=resolution, z_dim=8, w_dim=8, mapping_layers=2, widths=widths,
                          out_channels=out, output=output)
    d = StyleGANDiscriminator(resolution=resolution, widths=widths, in_channels=out)
    x = g(torch.randn(4, 8))
    assert x.shape == (4, out, resolution, resolution)
    assert g.num_ws == 2 * len(widths) and len(g.synthesis.to_out) == len(widths)
    assert d(x).shape == (4,)
    with pytest.raises(ValueError, match="widths"):
        StyleGANGenerator(resolution=64, widths=(8, 8))
    with pytest.raises(ValueError, match="out_channels"):
        StyleGANGenerator(output="image", out_channels=NUM_PARTS)


def test_default_64px_generator_is_small():
    g = StyleGANGenerator()
    params = sum(p.numel() for p in g.parameters()) + sum(b.numel() for b in g.buffers())
    assert g.config.resolution == 64 and g.num_ws == 10
    assert params * 4 < 10e6  # fp32 safetensors under 10 MB


def test_truncation_psi_zero_gives_the_mean_layout_for_every_z():
    g = tiny_generator()
    with torch.no_grad():
        g.w_avg.copy_(torch.randn(8))
        out = g(latents(4, 1), psi=0.0, noise_mode="const")
        mean = g.synthesis(g.w_avg[None, None].repeat(1, g.num_ws, 1), g.make_noise(1, "const"))
    for i in range(4):
        torch.testing.assert_close(out[i], mean[0])
        assert torch.equal(g.label_maps(out)[i], g.label_maps(mean)[0])
    with torch.no_grad():
        assert not torch.allclose(g(latents(2, 1), psi=1.0, noise_mode="const")[0],
                                  g(latents(2, 1), psi=1.0, noise_mode="const")[1])


def test_style_mixing():
    g = tiny_generator()
    z, z2 = latents(3, 1), latents(3, 2)
    with torch.no_grad():
        plain = g(z, noise_mode="const")
        mixed = g(z, mix_z=z2, mix_layer=2, noise_mode="const")
        all_second = g(z, mix_z=z2, mix_layer=0, noise_mode="const")
        second = g(z2, noise_mode="const")
        none_mixed = g(z, mix_z=z2, mix_layer=g.num_ws, noise_mode="const")
    assert not torch.allclose(mixed, plain) and not torch.allclose(mixed, second)
    torch.testing.assert_close(all_second, second)
    torch.testing.assert_close(none_mixed, plain)
    with pytest.raises(ValueError, match="mix_layer"):
        g(z, mix_z=z2)


def test_noise_from_a_generator_is_reproducible_and_can_be_given():
    g = tiny_generator()
    with torch.no_grad():
        g.synthesis.layers[-1].noise_strength.fill_(1.0)  # zero at init: make the noise visible
        z = latents(2, 1)
        a = g(z, noise_generator=torch.Generator().manual_seed(7))
        b = g(z, noise_generator=torch.Generator().manual_seed(7))
        c = g(z, noise_generator=torch.Generator().manual_seed(8))
        given = g(z, noise=g.make_noise(2, generator=torch.Generator().manual_seed(7)))
        silent = g(z, noise_mode="none")
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(given, a)
    assert not torch.allclose(a, c) and not torch.allclose(a, silent)
    assert [s[2] for s in g.synthesis.noise_shapes(2)] == [4, 8, 8, 16, 16]


def test_label_maps_of_logits_and_of_colour_images():
    g = tiny_generator()
    with torch.no_grad():
        ids = g.label_maps(g(latents(3, 1)))
    assert ids.shape == (3, 16, 16) and ids.dtype == torch.int64
    assert ids.min() >= 0 and ids.max() < NUM_PARTS
    image_g = tiny_generator(out_channels=3, output="image")
    truth = torch.tensor([[0, 1], [3, 2]])
    image = torch.from_numpy(PART_COLORS[truth.numpy()]).permute(2, 0, 1)[None].float() / 127.5 - 1
    torch.testing.assert_close(image_g.label_maps(image), truth[None])  # snapped to the part colours


def test_w_avg_is_tracked_in_training_mode_only():
    g = tiny_generator()
    z = latents(16, 3)
    with torch.no_grad():
        g(z)
        assert torch.count_nonzero(g.w_avg) == 0
        g.train()
        g(z)
        torch.testing.assert_close(g.w_avg, 0.005 * g.mapping(z).mean(0))


def test_minibatch_stddev_groups():
    x = torch.zeros(4, 2, 3, 3)
    x[:2] += 1.0  # samples 0, 1 = 1; 2, 3 = 0 -> groups of two (i, i + 2) have std 0.5
    y = minibatch_stddev(x, group_size=2)
    assert y.shape == (4, 3, 3, 3)
    torch.testing.assert_close(y[:, 2], torch.full((4, 3, 3), 0.5), atol=1e-4, rtol=0)
    torch.testing.assert_close(minibatch_stddev(x, group_size=4)[:, 2], torch.full((4, 3, 3), 0.5), atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="multiple"):
        minibatch_stddev(torch.zeros(6, 2, 3, 3), group_size=4)


def test_straight_through_layouts_are_one_hot_with_softmax_gradients():
    logits = torch.randn(2, NUM_PARTS, 4, 4, requires_grad=True)
    o = StyleGANTrainOptions(fake_layout="straight_through")
    hard = fake_inputs(logits, o)
    assert set(hard.detach().unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(hard.detach().sum(1), torch.ones(2, 4, 4))
    weights = torch.randn(1, NUM_PARTS, 1, 1)
    (hard * weights).sum().backward()
    expected = torch.autograd.grad((logits.softmax(1) * weights).sum(), logits)[0]
    torch.testing.assert_close(logits.grad, expected)
    soft = fake_inputs(logits, StyleGANTrainOptions(fake_layout="softmax"))
    torch.testing.assert_close(soft, logits.softmax(1))
    image = torch.randn(2, 3, 4, 4)
    assert fake_inputs(image, StyleGANTrainOptions(target="image")) is image


def test_training_latents_mixing_and_ema_schedule():
    o = StyleGANTrainOptions(z_dim=8, style_mixing=1.0)
    mixed = training_latents(4, o, 10, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert mixed["z"].shape == mixed["mix_z"].shape == (4, 8) and 1 <= mixed["mix_layer"] < 10
    plain = training_latents(4, StyleGANTrainOptions(z_dim=8, style_mixing=0.0), 10, torch.Generator(), torch.device("cpu"))
    assert set(plain) == {"z"}
    o = StyleGANTrainOptions(ema_kimg=10, ema_rampup=0.05)
    assert ema_beta(o, 0, 32) == 0.0
    assert ema_beta(o, 10_000, 32) == pytest.approx(0.5 ** (32 / 500))  # ramped: 5% of 10k images
    assert ema_beta(o, 10_000_000, 32) == pytest.approx(0.5 ** (32 / 10_000))


def test_lazy_r1_optimizer_scaling():
    o = StyleGANTrainOptions(**{k: v for k, v in TINY_G.items() if k in ("resolution", "z_dim", "w_dim", "mapping_layers", "widths")},
                             d_widths=(16, 8, 8), r1_every=16)
    g, d, ema = build_models(o)
    opt_g, opt_d = make_optimizers(g, d, o)
    assert opt_g.param_groups[0]["lr"] == o.lr and opt_g.param_groups[0]["betas"] == (0.0, 0.99)
    c = 16 / 17
    assert opt_d.param_groups[0]["lr"] == pytest.approx(o.lr * c)
    assert opt_d.param_groups[0]["betas"][1] == pytest.approx(0.99 ** c)
    assert not ema.training and not any(p.requires_grad for p in ema.parameters())
    assert d.config.in_channels == NUM_PARTS and g.config.output == "labels"


def test_save_load_round_trip_and_seeded_slice(tmp_path):
    g = tiny_generator()
    torch.manual_seed(1)
    d = StyleGANDiscriminator(**TINY_D).eval()
    with torch.no_grad():
        g.w_avg.copy_(torch.randn(8))
    z, x = latents(4, 0), torch.randn(4, NUM_PARTS, 16, 16, generator=torch.Generator().manual_seed(1))
    for model, cls, run in ((g, StyleGANGenerator, lambda m: m(z, psi=0.7, noise_mode="const")),
                            (d, StyleGANDiscriminator, lambda m: m(x))):
        folder = tmp_path / cls.__name__
        model.save_pretrained(folder)
        assert [p.name for p in folder.glob("*.safetensors")] and not list(folder.glob("*.bin"))
        loaded = cls.from_pretrained(folder).eval()
        with torch.no_grad():
            torch.testing.assert_close(run(loaded), run(model), rtol=0, atol=0)
    loaded = StyleGANGenerator.from_pretrained(tmp_path / "StyleGANGenerator")
    torch.testing.assert_close(loaded.w_avg, g.w_avg)
    with torch.no_grad():
        out = g(z, noise_mode="const").flatten()[:6]
    # the output of the seeded tiny generator, to catch unintended changes to the architecture
    expected = torch.tensor(SEEDED_SLICE)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-4)


SEEDED_SLICE = [0.8981, 0.9276, 0.9471, 1.0440, 1.1892, 1.3124]
