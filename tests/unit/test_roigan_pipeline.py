"""Region edit pipeline (RoI-GAN + Telea) on a tiny random generator: results at the user's
resolution with every pixel outside the mask bit-identical to the input, seeded sweeps, clear
refusals of bad input, loading from a folder or a checksum-verified weights name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from carstudio import hub
from carstudio.hub import ModelUnavailable, write_model_card
from carstudio.inputs import InvalidInput, editor_image_and_mask
from carstudio.models.roigan import RoIGANGenerator
from carstudio.pipelines.roigan import SWEEP_VALUES, RegionEditPipeline, telea

R = 16


@pytest.fixture(scope="module")
def pipe() -> RegionEditPipeline:
    torch.manual_seed(0)
    return RegionEditPipeline(RoIGANGenerator(resolution=R, encoder_widths=(8, 8), decoder_widths=(8, 8),
                                              noise_dim=4, num_codes=3, num_categories=4, style_channels=4,
                                              denorm_hidden=4))


def photo(width: int = 75, height: int = 50, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def brush(width: int = 75, height: int = 50) -> np.ndarray:
    canvas = Image.new("L", (width, height), 0)
    ImageDraw.Draw(canvas).ellipse([width * 0.3, height * 0.2, width * 0.7, height * 0.6], fill=255)
    ImageDraw.Draw(canvas).line([(2, height - 3), (width - 3, height - 3)], fill=255, width=1)  # a thin stroke
    return np.asarray(canvas) > 0


def assert_outside_unchanged(result: Image.Image, image: Image.Image, mask: np.ndarray) -> None:
    out, original = np.asarray(result), np.asarray(image.convert("RGB"))
    assert result.size == image.size and out.dtype == np.uint8
    assert np.array_equal(out[~mask], original[~mask])


@pytest.mark.parametrize("size", [(75, 50), (40, 90), (R, R), (7, 300)])
def test_outside_the_mask_is_bit_identical(pipe, size):
    image, mask = photo(*size), brush(*size)
    out = pipe(image, mask, codes=[0.5, -1, 0], category=2, seed=3)
    for result in (out.roigan, out.telea):
        assert_outside_unchanged(result, image, mask)
    assert np.array_equal(out.mask, mask)
    assert (np.asarray(out.roigan)[mask] != np.asarray(image)[mask]).any()  # the region was refilled


def test_rgba_and_grey_uploads_keep_their_visible_pixels(pipe):
    image = photo().convert("L").convert("RGBA")
    mask = brush()
    assert_outside_unchanged(pipe.inpaint(image, mask, seed=1), image, mask)


def test_seeded_codes_category_and_sweeps(pipe):
    image, mask = photo(), brush()
    first = np.asarray(pipe.inpaint(image, mask, codes=[0.2, 0.0, -0.4], category=1, seed=5))
    assert np.array_equal(first, np.asarray(pipe.inpaint(image, mask, codes=[0.2, 0.0, -0.4], category=1, seed=5)))
    assert not np.array_equal(first, np.asarray(pipe.inpaint(image, mask, codes=[0.2, 0.0, -0.4], category=1, seed=6)))
    assert not np.array_equal(first, np.asarray(pipe.inpaint(image, mask, codes=[0.9, 0.0, -0.4], category=1, seed=5)))
    assert not np.array_equal(first, np.asarray(pipe.inpaint(image, mask, codes=[0.2, 0.0, -0.4], category=3, seed=5)))

    frames = pipe.sweep(image, mask, code_index=1, seed=5, codes=[0.2, 0.0, -0.4], category=1)
    assert len(frames) == len(SWEEP_VALUES) == 7 and SWEEP_VALUES[0] == -1 and SWEEP_VALUES[-1] == 1
    for frame in frames:
        assert_outside_unchanged(frame, image, mask)
    # the middle frame (value 0) is the single fill above, computed in a batch of 7
    assert np.abs(np.asarray(frames[3]).astype(int) - first).max() <= 1
    assert len({np.asarray(f).tobytes() for f in frames}) == 7
    categories = pipe.category_sweep(image, mask, seed=5)
    assert len(categories) == pipe.num_categories == 4
    assert pipe.sweep(image, mask, 0, values=[-1, 1])[1].size == image.size


def test_defaults_are_centred_sliders_and_the_first_variant(pipe):
    image, mask = photo(), brush()
    default = np.asarray(pipe.inpaint(image, mask))
    assert np.array_equal(default, np.asarray(pipe.inpaint(image, mask, codes=[0, 0, 0], category=0, seed=0)))


@pytest.mark.parametrize("kwargs, message", [
    (dict(codes=[0, 0]), "3 control sliders"),
    (dict(codes=[0, 1.5, 0]), "Control 2 must be a number between -1 and 1"),
    (dict(codes=[float("nan"), 0, 0]), "Control 1"),
    (dict(category=4), "variant must be a whole number between 0 and 3"),
    (dict(category=1.5), "variant"),
    (dict(seed=-1), "seed"),
])
def test_bad_controls_are_refused(pipe, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        pipe(photo(), brush(), **kwargs)


def test_bad_masks_are_refused(pipe):
    with pytest.raises(InvalidInput, match="same size"):
        pipe(photo(75, 50), brush(50, 75))
    with pytest.raises(InvalidInput, match="Brush over"):
        pipe(photo(), np.zeros((50, 75), bool))
    with pytest.raises(InvalidInput, match="control to sweep"):
        pipe.sweep(photo(), brush(), code_index=3)
    with pytest.raises(InvalidInput, match="sweep value"):
        pipe.sweep(photo(), brush(), code_index=0, values=[0, 2])


def test_telea_caps_its_working_size_and_fills_smoothly(monkeypatch):
    import cv2

    seen, inpaint = [], cv2.inpaint
    monkeypatch.setattr(cv2, "inpaint", lambda src, *args: seen.append(src.shape) or inpaint(src, *args))
    image = Image.new("RGB", (1500, 300), (200, 30, 30))
    mask = np.zeros((300, 1500), bool)
    mask[100:160, 600:700] = True
    out = np.asarray(telea(image, mask, max_side=1024))
    assert seen == [(205, 1024, 3)]  # worked at 1024 px on the longest side
    assert_outside_unchanged(Image.fromarray(out), image, mask)
    # a flat red image is filled with (nearly) the same red
    error = np.abs(out[mask].astype(int) - [200, 30, 30])
    assert error.max() <= 6 and error.mean() < 2.5
    telea(photo(), brush())
    assert seen[-1] == (50, 75, 3)  # small images at their own size


def test_editor_value_feeds_the_pipeline(pipe):
    """What the tab does: split a gr.ImageEditor value with inputs.editor_image_and_mask."""
    background = photo(60, 40)
    layer = np.zeros((40, 60, 4), np.uint8)
    layer[10:25, 20:40] = (255, 255, 255, 200)
    image, mask = editor_image_and_mask({"background": background, "layers": [layer], "composite": None})
    out = pipe(image, mask, seed=2)
    assert_outside_unchanged(out.roigan, background, mask)
    assert mask.sum() == 15 * 20


def test_loading_from_a_folder_or_a_checked_weights_name(pipe, tmp_path, monkeypatch):
    pipe.generator.save_pretrained(tmp_path / "folder")
    image, mask = photo(), brush()
    expected = np.asarray(pipe.inpaint(image, mask, seed=4))
    assert np.array_equal(np.asarray(RegionEditPipeline.from_pretrained(tmp_path / "folder").inpaint(
        image, mask, seed=4)), expected)
    named = tmp_path / "weights" / "roigan-tiny"
    pipe.generator.save_pretrained(named)
    write_model_card(named, "# roigan-tiny")
    monkeypatch.setattr(hub, "WEIGHTS_DIR", tmp_path / "weights")
    loaded = RegionEditPipeline.from_pretrained("roigan-tiny")
    assert (loaded.num_codes, loaded.num_categories, loaded.resolution) == (3, 4, R)
    weights = next(named.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-8] + b"tampered")
    with pytest.raises(ModelUnavailable, match="checksum"):
        RegionEditPipeline.from_pretrained("roigan-tiny")
    with pytest.raises(ModelUnavailable, match="not installed"):
        RegionEditPipeline.from_pretrained("roigan-missing")


class EchoGenerator(RoIGANGenerator):
    """Returns its input image: the pipeline's round trip to the model's resolution and back."""

    def forward(self, images, masks, z):
        return images, None, None


@pytest.mark.parametrize("size", [(90, 40), (40, 90), (64, 64)])
def test_the_model_view_lines_up_with_the_users_pixels(size):
    """With a generator that echoes its input, the filled region must come back close to the
    original (a smooth image loses little in the trip through R x R): letterbox offsets, resizing
    and cropping line up."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w]
    smooth = np.stack([xs * 255 // (w - 1), ys * 255 // (h - 1), (xs + ys) * 255 // (w + h - 2)], -1)
    image, mask = Image.fromarray(smooth.astype(np.uint8)), brush(w, h)
    torch.manual_seed(0)
    echo = RegionEditPipeline(EchoGenerator(resolution=32, encoder_widths=(4, 4), decoder_widths=(4, 4), noise_dim=1,
                                            num_codes=1, num_categories=2, style_channels=2, denorm_hidden=2))
    out = np.asarray(echo.inpaint(image, mask)).astype(int)
    error = np.abs(out[mask] - smooth[mask])
    assert error.mean() < 6, error.mean()
