import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio import hub
from carstudio.data.parts import BACKGROUND, BODY, GLASS, LIGHTS, NUM_PARTS, OTHER, WHEEL
from carstudio.hub import checksum_lines, load_pretrained
from carstudio.models.segmenter import PartSegmenter
from carstudio.pipelines.segmenter import FALLBACK_COLORS, SegmenterPipeline, paint, part_colors
from carstudio.train.segmenter import Augment, SegmenterTrainOptions, learning_rate, soft_dice_loss

TINY = dict(widths=(4, 8, 16), feature_level=1, resolution=32)


def tiny_model(seed: int = 0) -> PartSegmenter:
    torch.manual_seed(seed)
    return PartSegmenter(**TINY).eval()


def test_shapes_for_any_size_divisible_by_the_depth():
    model = tiny_model()
    for h, w in [(32, 32), (24, 40), (4, 8)]:
        x = torch.randn(2, 3, h, w)
        assert model(x).shape == (2, NUM_PARTS, h, w)
        assert model.features(x).shape == (2, 8, h // 2, w // 2)
    assert model.depth == 2 and model.feature_channels == 8
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.randn(1, 3, 30, 32))


def test_bad_configs_are_refused():
    with pytest.raises(ValueError):
        PartSegmenter(widths=(8,))
    with pytest.raises(ValueError):
        PartSegmenter(widths=(4, 8), feature_level=2)


def test_save_load_round_trip_through_the_hub(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "WEIGHTS_DIR", tmp_path)
    model = tiny_model(seed=3)
    # non-trivial BatchNorm statistics, so that buffers are checked too
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, 16, 16) * 2 + 0.5)
    model.eval()
    directory = tmp_path / "segmenter-tiny"
    model.save_pretrained(directory)
    assert not list(directory.glob("*.bin"))  # safetensors only
    (directory / "README.md").write_text("# tiny\n\n## Files\n" + checksum_lines(directory) + "\n")
    loaded = load_pretrained(PartSegmenter, "segmenter-tiny")
    assert tuple(loaded.config.widths) == TINY["widths"] and not loaded.training
    x = torch.linspace(-1, 1, 3 * 16 * 16).view(1, 3, 16, 16)
    with torch.no_grad():
        expected, got = model(x), loaded(x)
    torch.testing.assert_close(got, expected)
    # a fixed slice pins the seeded architecture, initialisation and BatchNorm statistics
    expected_slice = torch.tensor([-0.0078, 0.0032, 0.3465, -0.1138, 0.1353, -0.3794])
    torch.testing.assert_close(got[0, :, 5, 7], expected_slice, atol=1e-4, rtol=0)


def test_pipeline_returns_part_ids_at_the_input_size():
    pipe = SegmenterPipeline(tiny_model())
    for size in [(250, 150), (31, 77), (32, 32)]:
        image = Image.new("RGB", size, (200, 30, 30))
        parts = pipe(image)
        assert parts.shape == (size[1], size[0]) and parts.dtype == np.uint8
        assert parts.max() < NUM_PARTS
    rgba = Image.new("RGBA", (40, 20), (0, 0, 255, 128))
    assert pipe(rgba).shape == (20, 40)


def test_pipeline_prepare_keeps_aspect_at_training_resolution():
    pipe = SegmenterPipeline(tiny_model())
    x, (h, w) = pipe.prepare(Image.new("RGB", (250, 150)))
    assert (h, w) == (19, 32)  # longer side -> 32
    assert x.shape == (1, 3, 20, 32)  # padded to a multiple of 4


def hand_made_car() -> tuple[Image.Image, np.ndarray]:
    parts = np.full((20, 30), BACKGROUND, np.uint8)
    parts[8:16, 3:27] = BODY
    parts[5:8, 8:20] = GLASS
    parts[14:19, 5:10] = WHEEL
    parts[14:19, 20:25] = WHEEL
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[parts == BACKGROUND] = (240, 240, 240)
    rgb[parts == BODY] = (10, 120, 200)
    rgb[parts == GLASS] = (20, 30, 40)
    rgb[parts == WHEEL] = (5, 5, 5)
    rgb[9, 4] = (255, 255, 255)  # a highlight the median ignores
    return Image.fromarray(rgb), parts


def test_part_colors_and_paint_on_a_hand_made_map():
    image, parts = hand_made_car()
    colors = part_colors(image, parts)
    assert set(colors) == {BACKGROUND, BODY, GLASS, WHEEL}
    assert colors[BODY] == (10, 120, 200) and colors[GLASS] == (20, 30, 40)
    assert part_colors(image, parts, statistic="mean")[BODY] != (10, 120, 200)
    # the user's car has lights and trim the reference lacks: they get fallback colours
    target = parts.copy()
    target[10:12, 25:27] = LIGHTS
    target[16:18, 12:18] = OTHER
    painted = np.asarray(paint(target, colors))
    assert painted.shape == (20, 30, 3)
    assert tuple(painted[9, 10]) == (10, 120, 200)
    assert tuple(painted[10, 25]) == FALLBACK_COLORS[LIGHTS]
    assert tuple(painted[16, 12]) == tuple(int(c * 0.55) for c in colors[BODY])  # darker body
    with pytest.raises(ValueError):
        part_colors(image, parts[:10])
    with pytest.raises(ValueError):
        paint(np.full((4, 4), NUM_PARTS), colors)


def test_automatic_painting_paints_the_cars_map_with_the_references_colours():
    image, parts = hand_made_car()
    users_car = Image.new("RGB", (30, 20))
    users_map = np.where(parts == GLASS, BODY, parts)  # a car without windows

    class Fixed(SegmenterPipeline):
        def __call__(self, img):  # a perfect segmenter for both images
            return parts if img is image else users_map

    painted = np.asarray(Fixed(tiny_model()).automatic_painting(image, users_car))
    assert tuple(painted[6, 10]) == (10, 120, 200)  # body colour where the reference has glass
    assert tuple(painted[16, 6]) == (5, 5, 5)


def test_training_pieces():
    o = SegmenterTrainOptions(steps=100, warmup_steps=10, lr=1.0)
    assert learning_rate(0, o) == pytest.approx(0.1)
    assert learning_rate(10, o) == pytest.approx(1.0)
    assert learning_rate(100, o) == pytest.approx(0.01)
    target = torch.randint(0, NUM_PARTS, (2, 8, 8))
    perfect = torch.nn.functional.one_hot(target, NUM_PARTS).permute(0, 3, 1, 2).float() * 50
    assert soft_dice_loss(perfect, target) < 0.05 < soft_dice_loss(-perfect, target)
    # the geometric warp moves labels with the image: a colour-coded part map stays consistent
    g = torch.Generator().manual_seed(0)
    aug = Augment(dataclasses.replace(o, jitter=0.0, blur_prob=0.0, gray_prob=0.0, noise_prob=0.0))
    parts = torch.randint(0, NUM_PARTS, (4, 4, 4)).repeat_interleave(8, 1).repeat_interleave(8, 2)
    images = parts[:, None].float().expand(-1, 3, -1, -1) / 2.5 - 1.0
    warped, warped_parts = aug.warp(images, parts, g)
    agree = ((warped[:, 0] + 1.0) * 2.5).round().long() == warped_parts
    assert agree.float().mean() > 0.9

