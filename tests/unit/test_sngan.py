"""SN-GAN pieces: shapes, spectral norm, hinge/LeCam values, DiffAugment, FreezeD, the ResNet-18
encoder and its round trip through a tiny generator, save/load."""

import pytest
import torch

from carstudio.augment import diff_augment, parse_policy
from carstudio.losses.adversarial import LeCamEMA, d_hinge, g_hinge, lecam_reg
from carstudio.models.encoder import ResNet18Encoder
from carstudio.models.sngan import (
    SNGANDiscriminator,
    SNGANGenerator,
    freeze_lowest_blocks,
    spectral_norm_weights,
)
from carstudio.train.encoder import EncoderTrainOptions, freeze, refine_latent, train_step
from carstudio.train.ema import ema_update
from carstudio.train.sngan import SNGANTrainOptions, make_optimizers

TINY_G = dict(z_dim=8, resolution=16, widths=(16, 8, 8))
TINY_D = dict(resolution=16, widths=(4, 8, 8))


def tiny_models(seed: int = 0):
    torch.manual_seed(seed)
    return SNGANGenerator(**TINY_G), SNGANDiscriminator(**TINY_D)


@pytest.mark.parametrize("resolution,g_widths,d_widths", [(16, (16, 8, 8), (4, 8, 8)), (32, (8, 8, 4, 4), (4, 4, 8, 8))])
def test_shapes(resolution, g_widths, d_widths):
    g = SNGANGenerator(z_dim=8, resolution=resolution, widths=g_widths)
    d = SNGANDiscriminator(resolution=resolution, widths=d_widths)
    x = g(torch.randn(3, 8))
    assert x.shape == (3, 3, resolution, resolution) and x.abs().max() <= 1
    assert d(x).shape == (3,)
    assert len(d.blocks) == len(d_widths)


def test_default_64px_config_and_bad_widths():
    assert SNGANGenerator().config.resolution == 64 and len(SNGANDiscriminator().blocks) == 5
    with pytest.raises(ValueError, match="widths"):
        SNGANGenerator(resolution=64, widths=(8, 8, 8))
    with pytest.raises(ValueError, match="resolution"):
        SNGANDiscriminator(resolution=48, widths=(8, 8, 8))


def test_spectral_norm_largest_singular_value_is_one():
    _, d = tiny_models()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        for _ in range(100):  # one power iteration per forward in train mode
            d(x)
    d.eval()
    weights = spectral_norm_weights(d)
    assert len(weights) == 9  # blocks 0-1: 2 convs + shortcut, block 2 (8 -> 8, no pooling): 2 convs; head
    for name, w in weights.items():
        sigma = torch.linalg.matrix_norm(w.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=1e-2), name


def test_hinge_and_lecam_known_values():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.0])
    # relu(1 - real) = [0, .5, 2] -> 5/6; relu(1 + fake) = [0, 1, 2] -> 1
    assert d_hinge(real, fake).item() == pytest.approx(5 / 6 + 1)
    assert g_hinge(fake).item() == pytest.approx(1 / 3)
    # relu(real - 0.5) = [1.5, 0, 0] -> 2.25/3; relu(0.25 - fake) = [2.25, .25, 0] -> (5.0625 + .0625)/3
    assert lecam_reg(real, fake, 0.25, 0.5).item() == pytest.approx(2.25 / 3 + 5.125 / 3)
    ema = LeCamEMA()
    ema.update(real, fake)
    assert (ema.real, ema.fake) == pytest.approx((0.01 * 0.5, 0.01 * (-1 / 3)))
    restored = LeCamEMA()
    restored.load_state_dict(ema.state_dict())
    assert restored.state_dict() == ema.state_dict()


def test_diff_augment_shapes_gradients_determinism():
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x, generator=torch.Generator().manual_seed(1))
    assert y.shape == x.shape and not torch.equal(y, x)
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    again = diff_augment(x, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(again, y)
    other = diff_augment(x, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(other, y)
    for policy in ("color", "translation", "cutout"):
        assert diff_augment(x, policy).shape == x.shape
    torch.testing.assert_close(diff_augment(x, ""), x)
    with pytest.raises(ValueError, match="policy"):
        parse_policy("color,zoom")


def test_freeze_d_really_freezes():
    g, d = tiny_models()
    frozen = freeze_lowest_blocks(d, 2)
    assert frozen and all(not p.requires_grad for p in frozen)
    _, opt_d = make_optimizers(g, d, SNGANTrainOptions(d_lr=0.1))
    in_optimizer = {id(p) for group in opt_d.param_groups for p in group["params"]}
    assert not any(id(p) in in_optimizer for p in frozen)
    before = {n: p.detach().clone() for n, p in d.named_parameters()}
    loss = d_hinge(d(torch.randn(2, 3, 16, 16)), d(g(torch.randn(2, 8)).detach()))
    opt_d.zero_grad()
    loss.backward()
    for block in d.blocks[:2]:
        assert all(p.grad is None for p in block.parameters())
    assert any(p.grad is not None for p in d.blocks[2].parameters())
    opt_d.step()
    for n, p in d.named_parameters():
        if n.startswith(("blocks.0.", "blocks.1.")):
            torch.testing.assert_close(p, before[n], msg=n)
        elif n.startswith("blocks.2.") and n.endswith("original"):
            assert not torch.equal(p, before[n]), n
    with pytest.raises(ValueError):
        freeze_lowest_blocks(d, 4)


def test_ema_update_copies_then_averages():
    g, _ = tiny_models()
    ema = SNGANGenerator(**TINY_G)
    ema_update(ema, g, step=0, start=10, decay=0.9)
    for e, p in zip(ema.state_dict().values(), g.state_dict().values()):
        torch.testing.assert_close(e, p)
    old = [p.detach().clone() for p in ema.parameters()]
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    ema_update(ema, g, step=10, start=10, decay=0.9)
    for e, o, p in zip(ema.parameters(), old, g.parameters()):
        torch.testing.assert_close(e, 0.9 * o + 0.1 * p)


def test_encoder_shapes_and_resnet18_layout():
    e = ResNet18Encoder(z_dim=8, resolution=32, width=4)
    assert e(torch.randn(2, 3, 32, 32)).shape == (2, 8)
    assert e(torch.randn(2, 3, 50, 40)).shape == (2, 8)  # resized to the configured resolution
    assert [len(stage) for stage in e.stages] == [2, 2, 2, 2]
    assert sum(p.numel() for p in ResNet18Encoder(z_dim=1000, resolution=224).parameters()) == 11_689_512


def test_encoder_round_trip_on_tiny_generator():
    g, _ = tiny_models()
    freeze(g)
    torch.manual_seed(0)
    e = ResNet18Encoder(z_dim=8, resolution=16, width=8)
    o = EncoderTrainOptions(batch_size=32, lr=3e-3)
    optimizer = torch.optim.Adam(e.parameters(), lr=o.lr)
    z = torch.randn(64, 8, generator=torch.Generator().manual_seed(5))

    def latent_error() -> float:  # on held-out codes; batch statistics (30 steps leave BN's running ones stale)
        with torch.no_grad():
            return torch.nn.functional.mse_loss(e(g(z)), z).item()

    start = latent_error()
    rng = torch.Generator().manual_seed(0)
    for _ in range(30):
        train_step(e, [g], optimizer, o, rng)
    assert latent_error() < 0.7 * start
    # refinement lowers the reconstruction error and leaves both networks unchanged
    images = g(z[:4])
    weights = [p.detach().clone() for p in list(g.parameters()) + list(e.parameters())]
    e.eval()
    with torch.no_grad():
        before = torch.nn.functional.mse_loss(g(e(images)), images).item()
    refined = refine_latent(g, e, images, steps=20, lr=0.05)
    with torch.no_grad():
        after = torch.nn.functional.mse_loss(g(refined), images).item()
    assert refined.shape == (4, 8) and after < before
    for w, p in zip(weights, list(g.parameters()) + list(e.parameters())):
        torch.testing.assert_close(p, w)
    assert all(p.grad is None for p in g.parameters())


def test_save_load_round_trip(tmp_path):
    g, d = tiny_models()
    e = ResNet18Encoder(z_dim=8, resolution=16, width=4)
    z = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    for model, cls, inp in ((g, SNGANGenerator, z), (d, SNGANDiscriminator, x), (e, ResNet18Encoder, x)):
        model.eval()
        folder = tmp_path / cls.__name__
        model.save_pretrained(folder)
        assert [p.name for p in folder.glob("*.safetensors")] and not list(folder.glob("*.bin"))
        loaded = cls.from_pretrained(folder).eval()
        with torch.no_grad():
            expected, out = model(inp), loaded(inp)
        torch.testing.assert_close(out, expected)
        assert out.flatten()[:4].abs().sum() > 0
    # a seeded generator reproduces its output slice
    torch.manual_seed(0)
    again = SNGANGenerator(**TINY_G).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(z).flatten()[:8], g(z).flatten()[:8])
