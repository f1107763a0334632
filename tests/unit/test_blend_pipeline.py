"""Futuristic blend pipeline on tiny random models: seeded samples, the blend's ends are the end
codes' pictures, strips match single blends, encoding any picture, refinement, the novelty bank
(built from a render folder, through safetensors and back), loading, and clear refusals."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio import hub
from carstudio.data.layout import MANIFEST
from carstudio.hub import write_model_card
from carstudio.inputs import InvalidInput
from carstudio.imaging import pil_to_tensor
from carstudio.metrics.novelty import (
    BANK_FILE,
    NoveltyBank,
    NoveltyMeter,
    build_novelty_bank,
    nearest_other,
    pooled_features,
)
from carstudio.models.encoder import ResNet18Encoder
from carstudio.models.segmenter import PartSegmenter
from carstudio.models.sngan import SNGANGenerator
from carstudio.pipelines.blend import (
    EVERYDAY,
    FUTURISTIC,
    FuturisticBlendPipeline,
    letterbox,
    mix,
    refine_latent,
    strip_alphas,
)

R, Z = 16, 8


def tiny_models(seed: int = 0) -> tuple[SNGANGenerator, SNGANGenerator, ResNet18Encoder, PartSegmenter]:
    """(futuristic G, everyday G, encoder, segmenter), random, at R px."""
    torch.manual_seed(seed)
    return (SNGANGenerator(z_dim=Z, resolution=R, widths=(16, 8, 8)),
            SNGANGenerator(z_dim=Z, resolution=R, widths=(16, 8, 8)),
            ResNet18Encoder(z_dim=Z, resolution=R, width=4),
            PartSegmenter(widths=(4, 8, 8), feature_level=2, resolution=R))


def write_renders(folder, count: int = 6, size: int = 24, domain: str = "everyday", seed: int = 0):
    """A render folder as `python -m carstudio.data render` writes it (images/ and a manifest)."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True)
    lines = []
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / "images" / f"{i:06d}.png")
        lines.append(json.dumps({"index": i, "file": f"{i:06d}.png", "domain": domain}))
    (folder / MANIFEST).write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def models():
    return tiny_models()


@pytest.fixture(scope="module")
def pipe(models) -> FuturisticBlendPipeline:
    generator, everyday, encoder, _ = models
    return FuturisticBlendPipeline(generator, everyday, encoder)


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    root = tmp_path_factory.mktemp("renders")
    return [write_renders(root / "everyday", 6, domain="everyday", seed=1),
            write_renders(root / "futuristic", 4, domain="futuristic", seed=2)]


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(int)


def photo(width: int = 60, height: int = 30, seed: int = 0, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)


# --- sampling ------------------------------------------------------------------------------------
@pytest.mark.parametrize("domain", [EVERYDAY, FUTURISTIC])
def test_samples_are_seeded(pipe, domain):
    image, z = pipe.sample(domain, seed=3)
    assert image.size == (R, R) and image.mode == "RGB" and z.shape == (1, Z)
    torch.testing.assert_close(z, torch.randn(1, Z, generator=torch.Generator().manual_seed(3)))
    again, z_again = pipe.sample(domain, seed=3)
    assert np.array_equal(pixels(again), pixels(image)) and torch.equal(z, z_again)
    assert not np.array_equal(pixels(pipe.sample(domain, seed=4)[0]), pixels(image))
    drawn = pipe.sample(domain, generator=torch.Generator().manual_seed(3))[0]
    assert np.array_equal(pixels(drawn), pixels(image))


def test_each_domain_samples_from_its_own_generator(pipe):
    everyday, z = pipe.sample(EVERYDAY, seed=5)
    futuristic, _ = pipe.sample(FUTURISTIC, seed=5)
    assert np.array_equal(pixels(everyday), pixels(pipe.decode(z, pipe.everyday_generator)[0]))
    assert np.array_equal(pixels(futuristic), pixels(pipe.decode(z)[0]))
    assert not np.array_equal(pixels(everyday), pixels(futuristic))


def test_codes_of_sampled_cars(pipe):
    """A futuristic sample's code is its z (reconstruction = itself); an everyday sample's code is
    the encoder's code of its picture, decoded by the futuristic G."""
    futuristic = pipe.car_from_seed(FUTURISTIC, 2)
    image, z = pipe.sample(FUTURISTIC, 2)
    assert torch.equal(futuristic.code, z) and futuristic.reconstruction is futuristic.image
    everyday = pipe.car_from_seed(EVERYDAY, 2)
    reconstruction, code = pipe.encode(pipe.sample(EVERYDAY, 2)[0])
    assert torch.equal(everyday.code, code)
    assert np.array_equal(pixels(everyday.reconstruction), pixels(reconstruction))


# --- blending --------------------------------------------------------------------------------------
def test_alpha_one_is_the_everyday_code_and_zero_the_futuristic_one(pipe):
    x, y = pipe.sample(EVERYDAY, 1)[1], pipe.sample(FUTURISTIC, 2)[1]
    assert np.array_equal(pixels(pipe.blend(x, y, 1.0)), pixels(pipe.decode(x)[0]))
    assert np.array_equal(pixels(pipe.blend(x, y, 0)), pixels(pipe.decode(y)[0]))
    middle = pipe.blend(x, y, 0.25)
    assert np.array_equal(pixels(middle), pixels(pipe.decode(0.25 * x + 0.75 * y)[0]))
    assert not np.array_equal(pixels(middle), pixels(pipe.blend(x, y, 0.75)))
    # codes as the tab keeps them (lists of floats) give the same picture
    assert np.array_equal(pixels(pipe.blend(x.flatten().tolist(), y[0].numpy(), 0.25)), pixels(middle))


def test_mix_is_the_seeds_weighted_average():
    x, y = torch.randn(1, Z), torch.randn(1, Z)
    w = mix(x, y, [1.0, 0.3, 0.0])
    assert torch.equal(w[0], x[0]) and torch.equal(w[2], y[0])
    torch.testing.assert_close(w[1], 0.3 * x[0] + 0.7 * y[0])


def test_strip_ends_match_single_blends(pipe):
    x, y = pipe.sample(EVERYDAY, 1)[1], pipe.sample(FUTURISTIC, 2)[1]
    assert strip_alphas(5) == [1.0, 0.75, 0.5, 0.25, 0.0] and strip_alphas(2) == [1.0, 0.0]
    frames = pipe.strip(x, y, 5)
    assert len(frames) == 5 and all(f.size == (R, R) for f in frames)
    # one batched pass: equal to the single blends up to convolution rounding
    for frame, alpha in zip(frames, strip_alphas(5)):
        assert np.abs(pixels(frame) - pixels(pipe.blend(x, y, alpha))).max() <= 1
    assert len({f.tobytes() for f in frames}) == 5
    assert len(pipe.strip(x, y, 16)) == 16


# --- encoding --------------------------------------------------------------------------------------
@pytest.mark.parametrize("size,mode", [((60, 30), "RGB"), ((30, 60), "RGB"), ((R, R), "RGB"), ((200, 150), "L"),
                                       ((40, 40), "RGBA"), ((9, 90), "P")])
def test_encode_any_picture(pipe, size, mode):
    image = photo(*size, mode=mode)
    reconstruction, z = pipe.encode(image)
    assert reconstruction.size == (R, R) and z.shape == (1, Z) and torch.isfinite(z).all()
    car = pipe.car_from_image(image)
    assert car.image.size == (R, R) and torch.equal(car.code, z)
    again, z_again = pipe.encode(image)
    assert torch.equal(z, z_again) and np.array_equal(pixels(again), pixels(reconstruction))


def test_letterbox_keeps_the_whole_car_centred_and_repeats_its_border():
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :, 0] = np.linspace(0, 255, 40, dtype=np.uint8)[None]
    wide[0, :, 1], wide[-1, :, 1] = 50, 200
    square = np.asarray(letterbox(Image.fromarray(wide), 40))
    assert square.shape == (40, 40, 3)
    assert np.array_equal(square[10:30], wide)  # the picture, whole and centred
    assert (square[:10, :, 1] == 50).all() and (square[30:, :, 1] == 200).all()  # its border, repeated
    assert np.asarray(letterbox(Image.fromarray(wide), 8)).shape == (8, 8, 3)


def test_refinement_lowers_the_reconstruction_error(pipe):
    target = pipe.sample(FUTURISTIC, 7)[0]  # a picture G_f can draw exactly

    def error(steps: int) -> float:
        reconstruction, _ = pipe.encode(target, refine_steps=steps)
        return float(((pixels(reconstruction) - pixels(target)) ** 2).mean())

    before, after = error(0), error(40)
    assert after < 0.8 * before, (before, after)


def test_refine_latent_restores_the_networks_modes(models):
    generator, _, encoder, _ = models
    generator.train(), encoder.train()
    image = torch.rand(2, 3, R, R) * 2 - 1
    z = refine_latent(generator, encoder, image, steps=2)
    assert z.shape == (2, Z) and not z.requires_grad
    assert generator.training and encoder.training
    generator.eval(), encoder.eval()


# --- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call,message", [
    (lambda p, x, y: p.blend(x, y, math.nan), "α"),
    (lambda p, x, y: p.blend(x, y, 1.5), "between 0 and 1"),
    (lambda p, x, y: p.blend(x, y, -math.inf), "α"),
    (lambda p, x, y: p.blend(x, y, "x"), "α"),
    (lambda p, x, y: p.blend(x, y, None), "α"),
    (lambda p, x, y: p.blend(None, y, 0.5), "Sample or encode an everyday car first"),
    (lambda p, x, y: p.blend(x, None, 0.5), "Sample or encode a futuristic car first"),
    (lambda p, x, y: p.blend(x[:, :3], y, 0.5), "has 3 numbers but this model takes 8"),
    (lambda p, x, y: p.blend(x, y * math.nan, 0.5), "invalid numbers"),
    (lambda p, x, y: p.strip(x, y, 1), "number of frames must be a whole number between 2 and 16"),
    (lambda p, x, y: p.strip(x, y, 17), "frames"),
    (lambda p, x, y: p.strip(x, y, 2.5), "frames"),
    (lambda p, x, y: p.sample("sporty", 0), "domain"),
    (lambda p, x, y: p.sample(EVERYDAY, -1), "seed"),
    (lambda p, x, y: p.sample(EVERYDAY, 0.5), "seed"),
    (lambda p, x, y: p.encode(photo(), refine_steps=101), "Refinement steps"),
    (lambda p, x, y: p.encode(photo(), refine_steps=-1), "Refinement steps"),
    (lambda p, x, y: p.encode(np.zeros((8, 8, 3))), "picture"),
    (lambda p, x, y: p(alpha=2), "α"),
    (lambda p, x, y: p(frames=40), "frames"),
])
def test_bad_input_is_refused_with_a_clear_message(pipe, call, message):
    x, y = pipe.sample(EVERYDAY, 0)[1], pipe.sample(FUTURISTIC, 1)[1]
    with pytest.raises(InvalidInput, match=message):
        call(pipe, x, y)


def test_models_must_agree(models):
    generator, everyday, _, _ = models
    with pytest.raises(ValueError, match="z_dim"):
        FuturisticBlendPipeline(generator, everyday, ResNet18Encoder(z_dim=Z + 1, resolution=R, width=4))


# --- the whole call, novelty, loading ------------------------------------------------------------
def test_call_reproduces_from_seeds_and_works_without_novelty(pipe):
    out = pipe(alpha=0.4, everyday_seed=3, futuristic_seed=4, frames=3)
    again = pipe(alpha=0.4, everyday_seed=3, futuristic_seed=4, frames=3)
    assert np.array_equal(pixels(out.blend), pixels(again.blend))
    assert np.array_equal(pixels(out.blend), pixels(pipe.blend(out.everyday.code, out.futuristic.code, 0.4)))
    assert len(out.strip) == 3 and out.novelty is None and out.alpha == 0.4
    assert np.array_equal(pixels(out.everyday.image), pixels(pipe.sample(EVERYDAY, 3)[0]))
    assert "unavailable" in pipe.describe_novelty(out.blend)
    drawn = pipe(generator=torch.Generator().manual_seed(3))
    assert np.array_equal(pixels(drawn.everyday.image), pixels(pipe.sample(EVERYDAY, 3)[0]))
    assert not torch.equal(drawn.futuristic.code, pipe.sample(FUTURISTIC, 3)[1])  # drawn second


def test_nearest_other_is_the_nearest_other_row():
    features = torch.randn(50, 5)
    brute = torch.cdist(features, features) + torch.diag(torch.full((50,), math.inf))
    torch.testing.assert_close(nearest_other(features, chunk=7), brute.min(1).values, rtol=1e-4, atol=1e-4)


def test_novelty_bank_round_trip(models, renders, tmp_path):
    segmenter = models[3]
    bank = build_novelty_bank(renders, segmenter, resolution=R, segmenter_name="tiny")
    assert bank.features.shape == (10, 8) and bank.domains == ["everyday"] * 6 + ["futuristic"] * 4
    assert bank.files[0] == "everyday/images/000000.png" and bank.files[-1] == "futuristic/images/000003.png"
    loaded = NoveltyBank.load(bank.save(tmp_path / BANK_FILE))
    assert torch.equal(loaded.features, bank.features) and torch.equal(loaded.nearest, bank.nearest)
    assert (loaded.files, loaded.domains, loaded.resolution, loaded.fingerprint) == (
        bank.files, bank.domains, R, bank.fingerprint)
    meter = NoveltyMeter(loaded, segmenter)
    # a training image, brought to the bank's resolution, is its own nearest neighbour
    training = Image.open(renders[1] / "images" / "000002.png").convert("RGB").resize((R, R), Image.BICUBIC)
    distance, index = (float(v[0]) for v in meter(training))
    assert distance == pytest.approx(0.0, abs=1e-5) and int(index) == 8
    other = photo(R, R, seed=9)
    distances, indices = meter([other, other])
    with torch.no_grad():
        brute = torch.cdist(pooled_features(meter.extractor, pil_to_tensor(other)), bank.features)[0]
    assert float(distances[1]) == pytest.approx(float(brute.min()), rel=1e-4) and int(indices[1]) == int(brute.argmin())
    text = meter.describe(float(distances[0]), int(indices[0])).replace("**", "")
    ratio = float(distances[0]) / float(bank.nearest.median())
    assert f"{ratio:.1f}x the usual gap" in text and bank.files[int(indices[0])] in text
    with pytest.raises(ValueError, match="another segmenter"):
        NoveltyMeter(loaded, tiny_models(seed=1)[3])


def test_loading_from_folders_and_names_with_and_without_a_bank(models, renders, tmp_path, monkeypatch):
    generator, everyday, encoder, segmenter = models
    for name, model in (("g", generator), ("e", everyday), ("enc", encoder), ("seg", segmenter)):
        model.save_pretrained(tmp_path / name)
    build_novelty_bank(renders, segmenter, R, segmenter_name=str(tmp_path / "seg")).save(tmp_path / "bank" / BANK_FILE)
    folders = dict(generator=tmp_path / "g", everyday=tmp_path / "e", encoder=tmp_path / "enc")
    loaded = FuturisticBlendPipeline.from_pretrained(**folders, novelty=tmp_path / "bank")
    assert loaded.novelty_available and loaded.resolution == R and loaded.z_dim == Z
    out = loaded(alpha=0.5, everyday_seed=1, futuristic_seed=2)
    assert out.novelty is not None and "usual gap" in loaded.describe_novelty(out.blend)
    reference = FuturisticBlendPipeline(generator, everyday, encoder)(alpha=0.5, everyday_seed=1, futuristic_seed=2)
    assert np.array_equal(pixels(out.blend), pixels(reference.blend))

    # without a bank (not installed, or damaged) it still blends and says why novelty is missing
    monkeypatch.setattr(hub, "WEIGHTS_DIR", tmp_path / "weights")
    missing = FuturisticBlendPipeline.from_pretrained(**folders)
    assert not missing.novelty_available and "not installed" in missing.describe_novelty(out.blend)
    named = tmp_path / "weights" / "novelty-tiny"
    build_novelty_bank(renders, segmenter, R, segmenter_name=str(tmp_path / "seg")).save(named / BANK_FILE)
    write_model_card(named, "# novelty-tiny")
    assert FuturisticBlendPipeline.from_pretrained(**folders, novelty="novelty-tiny").novelty_available
    bank_file = named / BANK_FILE
    bank_file.write_bytes(bank_file.read_bytes()[:-4] + b"oops")
    damaged = FuturisticBlendPipeline.from_pretrained(**folders, novelty="novelty-tiny")
    assert not damaged.novelty_available and "checksum" in damaged.novelty_note
    assert damaged.blend(out.everyday.code, out.futuristic.code, 0.5).size == (R, R)
