import json

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio.models.singan import SinGANDiscriminator, SinGANGenerator, pyramid_sizes
from carstudio.pipelines.singan import SinGANPipeline
from carstudio.train.singan import parse_args
from carstudio.train.singan_trainer import PRESETS, SinGANTrainer, SinGANTrainOptions

TINY = dict(max_size=48, min_size=16, nfc=8, num_layers=3, iterations=4, g_steps=1, d_steps=1, seed=0)


def striped_image(height=30, width=48) -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
    return torch.stack([torch.sin(6 * x), torch.cos(4 * y), x * y])[None].clamp(-1, 1)


@pytest.fixture(scope="module")
def trained():
    trainer = SinGANTrainer(striped_image(), SinGANTrainOptions(**TINY))
    trainer.train()
    return trainer


def test_pyramid_matches_paper_rules():
    sizes = pyramid_sizes(150, 250)
    assert sizes[-1] == (150, 250) and min(sizes[0]) == 25
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(sizes, sizes[1:]))
    assert pyramid_sizes(300, 500)[-1] == (150, 250)  # capped at max_size
    assert len(pyramid_sizes(150, 250, 0.9)) > len(sizes)


def test_paper_defaults():
    o = SinGANTrainOptions()
    assert (o.nfc, o.kernel_size, o.num_layers, o.scale_factor, o.iterations) == (32, 3, 5, 0.75, 2000)
    assert (o.lr_g, o.lr_d, o.betas, o.g_steps, o.d_steps) == (5e-4, 5e-4, (0.5, 0.999), 3, 3)
    assert (o.gp_weight, o.rec_weight) == (0.1, 10.0)


def test_cli_overrides_and_presets(tmp_path):
    _, options = parse_args(["--images", "a.png", "--out", str(tmp_path), "--preset", "fast", "--iterations", "7",
                             "--loss", "sinkhorn", "--betas", "0", "0.9"])
    assert options.iterations == 7 and options.loss == "sinkhorn" and options.betas == (0.0, 0.9)
    assert options.train_depth == PRESETS["fast"]["train_depth"]


def test_two_scale_training_reduces_reconstruction_error(trained):
    gen = trained.generator
    assert gen.num_scales >= 2
    assert all(s.rec_loss < 1.0 for s in trained.stats)
    # noise amplitudes above the coarsest scale come from the reconstruction RMSE
    assert gen.noise_amps[0].item() == 1.0
    assert 0 < gen.noise_amps[1].item() < 1.0
    torch.testing.assert_close(gen.reference, trained.reals[-1])


def test_sampling_is_deterministic_by_seed_and_shaped(trained):
    gen = trained.generator
    a = gen(2, torch.Generator().manual_seed(3))
    b = gen(2, torch.Generator().manual_seed(3))
    c = gen(2, torch.Generator().manual_seed(4))
    assert a.shape == (2, 3, *gen.sizes[-1])
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    wide = gen(1, torch.Generator().manual_seed(0), size_multiplier=(1.0, 1.5))
    assert wide.shape[-1] == round(gen.sizes[-1][1] * 1.5)


def test_paint_to_image_keeps_the_paintings_layout(trained):
    pipe = SinGANPipeline(trained.generator)
    painting = Image.new("RGB", (200, 120), (255, 255, 255))
    painting.paste((0, 0, 0), (0, 60, 200, 120))  # dark bottom half
    out = pipe(2, seed=1, painting=painting, inject_scale=pipe.num_scales - 1)
    assert [im.size for im in out] == [(pipe.size[1], pipe.size[0])] * 2
    arr = np.asarray(out[0], dtype=np.float32)
    half = arr.shape[0] // 2
    assert arr[:half].mean() > arr[half:].mean() + 40  # the painting's layout survives
    again = pipe(2, seed=1, painting=painting, inject_scale=pipe.num_scales - 1)
    assert np.array_equal(np.asarray(out[1]), np.asarray(again[1]))


def test_quantized_painting_uses_only_palette_colours(trained):
    pipe = SinGANPipeline(trained.generator)
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    colours = {tuple(c) for c in np.asarray(pipe.prepare_painting(noisy, quantize=True)).reshape(-1, 3)}
    assert colours <= {tuple(c) for c in pipe.palette}


def test_save_load_round_trip(trained, tmp_path):
    gen = trained.generator
    gen.save_pretrained(tmp_path / "g")
    config = json.loads((tmp_path / "g" / "config.json").read_text())
    assert config["_class_name"] == "SinGANGenerator"
    assert list((tmp_path / "g").glob("*.safetensors"))
    loaded = SinGANGenerator.from_pretrained(tmp_path / "g")
    for key, value in gen.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    torch.testing.assert_close(loaded(1, torch.Generator().manual_seed(5)), gen(1, torch.Generator().manual_seed(5)))
    disc = trained.discriminator
    disc.save_pretrained(tmp_path / "d")
    reloaded = SinGANDiscriminator.from_pretrained(tmp_path / "d")
    x = torch.randn(1, 3, 20, 30)
    torch.testing.assert_close(reloaded.eval()(x, 0), disc.eval()(x, 0))


def test_checkpoint_resume_continues_after_the_last_scale(tmp_path):
    options = SinGANTrainOptions(**TINY)
    first = SinGANTrainer(striped_image(), options)
    first.train_scale(0)
    first.save_checkpoint(tmp_path)
    resumed = SinGANTrainer(striped_image(), options)
    resumed.load_checkpoint(tmp_path)
    assert resumed.done_scales == 1
    torch.testing.assert_close(resumed.generator.generators[0].tail.weight, first.generator.generators[0].tail.weight)
    resumed.train()
    assert resumed.done_scales == resumed.num_scales


def test_sinkhorn_and_concurrent_training_run():
    options = SinGANTrainOptions(**{**TINY, "iterations": 2, "loss": "sinkhorn", "sinkhorn_max_patches": 64,
                                    "sinkhorn_position_weight": 0.5, "train_depth": 2})
    trainer = SinGANTrainer(striped_image(), options)
    assert trainer.discriminator.critics[0].tail.out_channels == options.sinkhorn_embed_dim
    before = trainer.generator.generators[0].tail.weight.clone()
    trainer.train()
    # with train_depth 2, scale 0 keeps learning while scale 1 trains
    assert not torch.equal(before, trainer.generator.generators[0].tail.weight)
    assert all(np.isfinite(s.g_loss) and np.isfinite(s.d_loss) for s in trainer.stats)


def test_mid_scale_checkpoint_resumes_to_the_same_weights(tmp_path):
    options = SinGANTrainOptions(**{**TINY, "iterations": 4, "checkpoint_every": 2})
    straight = SinGANTrainer(striped_image(), options)
    straight.train()

    interrupted = SinGANTrainer(striped_image(), options)
    saved = []

    def checkpoint(trainer):
        trainer.save_checkpoint(tmp_path)
        saved.append(trainer.resume_point)

    from carstudio.train.singan_trainer import TrainingCancelled

    with pytest.raises(TrainingCancelled):
        interrupted.train(on_checkpoint=checkpoint, should_stop=lambda: bool(saved))
    resumed = SinGANTrainer(striped_image(), options)
    resumed.load_checkpoint(tmp_path)
    assert resumed.resume_point == "scale 0 iteration 2"
    resumed.train()
    for a, b in zip(straight.generator.state_dict().values(), resumed.generator.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_align_parts_moves_the_car_onto_the_reference_box():
    from carstudio.pipelines.singan import align_parts, car_box

    reference = np.zeros((40, 60), np.uint8)
    reference[10:30, 5:55] = 1
    photo = np.zeros((100, 100), np.uint8)
    photo[70:90, 60:80] = 1
    photo[85:90, 60:65] = 3  # a wheel at the bottom-left of the car
    aligned = align_parts(photo, reference)
    assert aligned.shape == reference.shape and car_box(aligned) == (10, 5, 30, 55)
    assert aligned[29, 6] == 3 and aligned[11, 50] == 1
    with pytest.raises(ValueError):
        align_parts(np.zeros((10, 10), np.uint8), reference)


def test_looks_like_a_car_needs_wheels():
    from carstudio.pipelines.singan import looks_like_a_car

    parts = np.zeros((50, 100), np.uint8)
    parts[20:40, 10:90] = 1
    assert not looks_like_a_car(parts)  # a body-coloured blob without wheels
    parts[35:45, 15:25] = 3
    parts[35:45, 75:85] = 3
    assert looks_like_a_car(parts)
