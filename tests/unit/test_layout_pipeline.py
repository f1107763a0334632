"""Layout to car: the two-stage pipeline on tiny random models, label-map export and reading."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio.data.datasets import load_labels
from carstudio.data.parts import BACKGROUND, BODY, GLASS, NUM_PARTS, PART_COLORS, WHEEL
from carstudio.inputs import InvalidInput, part_layout
from carstudio.models.ssgan import SPADEGenerator, StyleEncoder
from carstudio.models.stylegan import StyleGANGenerator
from carstudio.pipelines.layout import LayoutToCarPipeline, label_map_file, layout_image

R = 16


@pytest.fixture(scope="module")
def pipe() -> LayoutToCarPipeline:
    torch.manual_seed(0)
    layout = StyleGANGenerator(resolution=R, z_dim=8, w_dim=8, mapping_layers=2, widths=(8, 8, 8))
    renderer = SPADEGenerator(z_dim=4, widths=(8, 8, 4), resolution=R, spade_hidden=4)
    encoder = StyleEncoder(z_dim=4, widths=(4, 4), resolution=R)
    return LayoutToCarPipeline(layout, renderer, encoder)


def car_layout(size: int = 64) -> np.ndarray:
    parts = np.full((size, size), BACKGROUND, np.int64)
    s = size / 64
    parts[int(24 * s):int(44 * s), int(6 * s):int(58 * s)] = BODY
    parts[int(16 * s):int(24 * s), int(18 * s):int(44 * s)] = GLASS
    for cx in (16, 48):
        parts[int(40 * s):int(50 * s), int((cx - 5) * s):int((cx + 5) * s)] = WHEEL
    return parts


def test_sample_and_render_are_seeded(pipe):
    out = pipe(2, seed=3, psi=0.7, style_seed=5)
    again = pipe(2, seed=3, psi=0.7, style_seed=5)
    assert out.parts.shape == (2, R, R) and out.parts.min() >= 0 and out.parts.max() < NUM_PARTS
    assert np.array_equal(out.parts, again.parts)
    assert [np.asarray(i).tolist() for i in out.images] == [np.asarray(i).tolist() for i in again.images]
    assert out.images[0].size == (R, R) and out.layouts[0].size == (R, R)
    other_style = pipe.render(out.parts, style_seed=6)
    assert not np.array_equal(np.asarray(other_style[0]), np.asarray(out.images[0]))


def test_style_mixing_and_layer_range(pipe):
    base = pipe.sample_layouts(1, seed=1)
    mixed_all = pipe.sample_layouts(1, seed=1, mix_seed=2, mix_layer=0)
    assert pipe.num_style_layers == pipe.layout_generator.num_ws
    with pytest.raises(ValueError, match="mix_layer"):
        pipe.sample_layouts(1, seed=1, mix_seed=2, mix_layer=pipe.num_style_layers + 1)
    assert base.shape == mixed_all.shape == (1, R, R)


def test_fit_takes_the_majority_part_of_each_cell(pipe):
    big = car_layout(64)
    small = pipe.fit(big)[0].numpy()
    assert small.shape == (R, R)
    expected = np.stack([np.bincount(big[i:i + 4, j:j + 4].ravel(), minlength=NUM_PARTS).argmax()
                         for i in range(0, 64, 4) for j in range(0, 64, 4)]).reshape(R, R)
    assert (small == expected).mean() > 0.95  # ties may break either way
    with pytest.raises(ValueError, match="square"):
        pipe.fit(np.zeros((8, 16), np.int64))


def test_style_code_from_a_car_image(pipe):
    car = layout_image(car_layout(R))
    style = pipe.style_of(car)
    assert style.shape == (1, 4)
    a = pipe.render(car_layout(R), style=style)
    b = pipe.render(car_layout(R), style=style, style_seed=99)  # the code wins over the seed
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[0]))


def test_label_map_export_reads_back_as_ids_and_as_colours(tmp_path):
    parts = car_layout(64)
    path = label_map_file(parts, tmp_path / "layout.png")
    assert Image.open(path).mode == "P"
    assert np.array_equal(load_labels(path, label_nc=NUM_PARTS).numpy(), parts)
    ids, unknown = part_layout({"path": str(path)})
    assert np.array_equal(ids, parts) and unknown == 0.0


def test_grey_id_maps_are_read_as_ids(tmp_path):
    parts = car_layout(32)
    Image.fromarray(parts.astype(np.uint8), mode="L").save(tmp_path / "ids.png")
    ids, _ = part_layout({"background": {"path": str(tmp_path / "ids.png")}, "layers": [], "composite": None})
    assert np.array_equal(ids, parts)


def test_noisy_colours_snap_to_the_nearest_part(tmp_path):
    parts = car_layout(64)
    rng = np.random.default_rng(0)
    noisy = np.clip(PART_COLORS[parts].astype(int) + rng.integers(-30, 31, (64, 64, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "noisy.jpg", quality=80)  # JPEG blur on top
    ids, unknown = part_layout(str(tmp_path / "noisy.jpg"))
    assert (ids == parts).mean() > 0.97 and unknown < 0.05


def test_painted_layers_over_a_layout(tmp_path):
    parts = car_layout(64)
    Image.fromarray(PART_COLORS[parts]).save(tmp_path / "layout.png")
    stroke = np.zeros((128, 128, 4), np.uint8)  # the layer at twice the scale, as a canvas may send
    stroke[0:20, 0:20] = (*PART_COLORS[WHEEL], 255)
    Image.fromarray(stroke, "RGBA").save(tmp_path / "stroke.png")
    ids, _ = part_layout({"background": {"path": str(tmp_path / "layout.png")},
                          "layers": [{"path": str(tmp_path / "stroke.png")}], "composite": None})
    assert (ids[:10, :10] == WHEEL).all() and np.array_equal(ids[20:], parts[20:])


def test_bad_layouts_get_clear_messages(tmp_path):
    Image.new("RGB", (64, 64), (255, 255, 255)).save(tmp_path / "white.png")
    with pytest.raises(InvalidInput, match="all background"):
        part_layout(str(tmp_path / "white.png"))
    photo = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    with pytest.raises(InvalidInput, match=r"not part colours .*body #dc2828"):
        part_layout(str(tmp_path / "photo.png"))
    Image.fromarray(PART_COLORS[car_layout(64)][:8, :8]).save(tmp_path / "tiny.png")
    with pytest.raises(InvalidInput, match="at least 16 pixels"):
        part_layout(str(tmp_path / "tiny.png"))
    with pytest.raises(InvalidInput, match="No layout"):
        part_layout({"background": None, "layers": [], "composite": None})


def test_wide_layouts_are_padded_to_a_centred_square():
    wide = np.full((32, 64), BACKGROUND, np.int64)
    wide[10:20, 5:60] = BODY
    ids, _ = part_layout(PART_COLORS[wide])
    assert ids.shape == (64, 64) and (ids[:16] == BACKGROUND).all() and np.array_equal(ids[16:48], wide)


def test_style_codes_of_a_car_image_are_its_mean_then_seeded_draws(pipe):
    car = layout_image(car_layout(R))
    codes = pipe.style_of(car, 3, seed=4)
    assert codes.shape == (3, 4)
    torch.testing.assert_close(codes[:1], pipe.style_of(car))
    torch.testing.assert_close(codes, pipe.style_of(car, 3, seed=4))
    assert not torch.equal(codes[1], codes[2]) and not torch.equal(codes[1:], pipe.style_of(car, 3, seed=5)[1:])
