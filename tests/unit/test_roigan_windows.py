"""Crop windows for region edit (`carstudio.data.region_windows`, the pipeline's window="crop") and
random window crops for training: placement at borders and for several regions, exact pixels
outside the brushed mask at any upload size, resize round trips, and the crops' shapes, ranges and
seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from carstudio.data.region_windows import (MAX_WINDOWS, Window, crop_window, paste_window, random_windows,
                                           region_boxes, region_windows, resize_square, whole_window,
                                           window_around, window_crops, window_mask)
from carstudio.models.roigan import RoIGANGenerator
from carstudio.pipelines.roigan import RegionEditPipeline

R = 16


def tiny_generator(cls=RoIGANGenerator, resolution: int = R) -> RoIGANGenerator:
    torch.manual_seed(0)
    return cls(resolution=resolution, encoder_widths=(8, 8), decoder_widths=(8, 8), noise_dim=4, num_codes=3,
               num_categories=4, style_channels=4, denorm_hidden=4)


class EchoGenerator(RoIGANGenerator):
    """Returns its input image: what comes back is the pipeline's trip to the model and back."""

    def forward(self, images, masks, z):
        return images, None, None


def ellipses(width: int, height: int, boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
    canvas = Image.new("L", (width, height), 0)
    for box in boxes:
        ImageDraw.Draw(canvas).ellipse(box, fill=255)
    return np.asarray(canvas) > 0


def noise_photo(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def inside(window: Window, box: tuple[int, int, int, int]) -> bool:
    top, left, bottom, right = box
    return window.top <= top and window.left <= left and bottom <= window.bottom and right <= window.right


# --- placement ---------------------------------------------------------------------------------
def test_a_window_is_centred_on_its_region_with_context():
    window = window_around((100, 200, 140, 260), (512, 512), resolution=64, context=1.5)
    assert window.side == 90  # the box's longer side (60) x 1.5
    assert (window.top + window.bottom) // 2 == 120 and (window.left + window.right) // 2 == 230
    assert inside(window, (100, 200, 140, 260))


def test_windows_shift_inward_at_the_borders():
    shape = (300, 400)
    for box in [(0, 0, 20, 30), (280, 370, 300, 400), (0, 380, 30, 400), (290, 0, 300, 10)]:
        window = window_around(box, shape, resolution=64, context=2.0)
        assert window.side == 64  # at least the model's resolution in user pixels
        assert 0 <= window.top and window.bottom <= 300 and 0 <= window.left and window.right <= 400
        assert inside(window, box)
    # touching the top-left corner: the window starts at the corner
    assert window_around((0, 0, 20, 30), shape, 64, 2.0) == Window(0, 0, 64)
    assert window_around((280, 370, 300, 400), shape, 64, 2.0) == Window(236, 336, 64)


def test_larger_regions_get_larger_windows_up_to_the_whole_picture():
    sides = [window_around((100, 100, 100 + s, 100 + s), (600, 800), 64, 1.5).side for s in (10, 60, 120, 300, 500)]
    assert sides == [64, 90, 180, 450, 750]
    # beyond the shorter side the window is letterboxed along it: centred, reaching past both edges
    big = window_around((50, 20, 590, 780), (600, 800), 64, 1.5)
    assert big == Window(-100, 0, 800) == whole_window((600, 800))


def test_a_picture_smaller_than_the_model_is_letterboxed_whole():
    assert window_around((2, 3, 5, 6), (10, 7), resolution=64) == Window(0, -1, 10) == whole_window((10, 7))


def test_several_regions_get_one_window_each_and_near_ones_share_one():
    mask = ellipses(512, 384, [(20, 20, 80, 70), (400, 280, 470, 350), (300, 40, 330, 60)])
    windows = region_windows(mask, 64)
    boxes = region_boxes(mask)
    assert len(boxes) == 3 and len(windows) == 3
    assert all(any(inside(w, b) for w in windows) for b in boxes)
    assert not any(a.overlaps(b) for i, a in enumerate(windows) for b in windows[i + 1:])
    # two blobs whose windows would overlap are edited in one window holding both
    near = ellipses(512, 384, [(100, 100, 160, 150), (170, 110, 220, 160)])
    (window,) = region_windows(near, 64)
    assert all(inside(window, b) for b in region_boxes(near))


def test_every_brushed_pixel_lies_in_exactly_one_window():
    rng = np.random.default_rng(1)
    for trial in range(20):
        h, w = (int(v) for v in rng.integers(20, 400, 2))
        boxes = [(*np.sort(rng.uniform(0, w, 2)), *np.sort(rng.uniform(0, h, 2))) for _ in range(rng.integers(1, 7))]
        mask = ellipses(w, h, [(x0, y0, x1, y1) for x0, x1, y0, y1 in boxes])
        if not mask.any():
            continue
        count = np.zeros(mask.shape, int)
        for window in region_windows(mask, 32):
            count[max(window.top, 0):window.bottom, max(window.left, 0):window.right] += 1
        assert (count[mask] == 1).all(), trial


def test_too_many_regions_fall_back_to_the_whole_picture():
    mask = np.zeros((400, 400), bool)
    mask[20::40, 20::40] = True  # 100 dots, windows of 32 px never touch
    assert region_windows(mask, 32, max_windows=200) != [whole_window(mask.shape)]
    assert len(region_windows(mask, 32, max_windows=200)) == 100
    assert region_windows(mask, 32) == [whole_window(mask.shape)]  # more than MAX_WINDOWS
    assert MAX_WINDOWS < 100
    speckle = np.zeros((600, 600), bool)
    speckle[::3, ::3] = True  # 40,000 separate pixels
    assert region_windows(speckle, 32) == [whole_window(speckle.shape)]


# --- cutting, resizing and pasting -----------------------------------------------------------
def test_crop_window_repeats_the_border_for_images_and_keeps_for_masks():
    picture = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    assert np.array_equal(crop_window(picture, Window(1, 2, 3)), picture[1:4, 2:5])
    letterboxed = crop_window(picture, Window(-1, 0, 7))
    assert letterboxed.shape == (7, 7, 3)
    assert np.array_equal(letterboxed[1:6], picture)
    assert np.array_equal(letterboxed[0], picture[0]) and np.array_equal(letterboxed[6], picture[4])
    mask = np.ones((5, 7), np.uint8)
    padded = crop_window(mask, Window(-1, 0, 7), replicate=False)
    assert padded[0].sum() == 0 and padded[6].sum() == 0 and padded[1:6].all()


def test_resize_round_trip_keeps_a_smooth_picture():
    ys, xs = np.mgrid[0:300, 0:300]
    smooth = np.stack([xs * 255 // 299, ys * 255 // 299, (xs + ys) * 255 // 598], -1).astype(np.uint8)
    down = resize_square(smooth, 64)
    assert down.shape == (64, 64, 3)
    back = resize_square(down, 300)
    assert back.shape == (300, 300, 3)
    assert np.abs(back.astype(int) - smooth).mean() < 1.5
    assert np.array_equal(resize_square(smooth, 300), smooth)
    small = smooth[::30, ::30].copy()  # 10 px, up to the model and back down
    assert np.abs(resize_square(resize_square(small, 64), 10).astype(int) - small).max() <= 3


def test_window_mask_keeps_thin_strokes():
    mask = np.zeros((400, 400), bool)
    mask[200, 100:300] = True  # one pixel thick
    window = Window(100, 100, 200)
    small = window_mask(mask, window, 32)
    assert small.shape == (32, 32) and small.any(1).sum() >= 1 and small.any(0).all()


def test_paste_changes_only_brushed_pixels_inside_the_window():
    out = np.zeros((50, 60, 3), np.uint8)
    mask = np.zeros((50, 60), bool)
    mask[10:20, 10:20] = True
    mask[40:45, 50:55] = True  # outside the window below: must stay
    paste_window(out, np.full((30, 30, 3), 200, np.uint8), Window(-5, 0, 30), mask)
    assert (out[10:20, 10:20] == 200).all() and out[40:45, 50:55].max() == 0 and out[~mask].max() == 0


# --- the pipeline's crop windows ---------------------------------------------------------------
@pytest.fixture(scope="module")
def crop_pipe() -> RegionEditPipeline:
    return RegionEditPipeline(tiny_generator())


@pytest.mark.parametrize("size", [(1, 1), (3, 5), (R, R), (77, 301), (640, 17), (1100, 1030)])
@pytest.mark.parametrize("window", ["crop", "whole"])
def test_outside_pixels_are_unchanged_at_any_upload_size(crop_pipe, size, window):
    w, h = size
    image = noise_photo(w, h)
    mask = ellipses(w, h, [(w * 0.1, h * 0.2, w * 0.3, h * 0.5), (w * 0.6, h * 0.6, w * 0.9, h * 0.95)])
    if not mask.any():
        mask[h // 2, w // 2] = True
    crop_pipe.window = window
    try:
        out = crop_pipe(image, mask, codes=[0.3, -0.2, 1.0], category=1, seed=7)
        frames = crop_pipe.sweep(image, mask, 1, seed=7)
    finally:
        crop_pipe.window = "crop"
    original = np.asarray(image)
    for result in (out.roigan, out.telea, *frames):
        array = np.asarray(result)
        assert result.size == image.size and array.dtype == np.uint8
        assert np.array_equal(array[~mask], original[~mask])


def test_each_separate_region_is_filled(crop_pipe):
    image = noise_photo(600, 400, seed=3)
    mask = ellipses(600, 400, [(30, 30, 90, 80), (480, 300, 560, 370), (300, 150, 330, 190)])
    assert len(crop_pipe.windows(mask)) == 3
    out = np.asarray(crop_pipe.inpaint(image, mask, seed=1))
    original = np.asarray(image)
    for top, left, bottom, right in region_boxes(mask):
        region = mask[top:bottom, left:right]
        changed = (out[top:bottom, left:right][region] != original[top:bottom, left:right][region]).any(1)
        assert changed.mean() > 0.5


def test_crop_sweep_matches_single_fills(crop_pipe):
    image = noise_photo(300, 200, seed=4)
    mask = ellipses(300, 200, [(20, 20, 60, 60), (200, 120, 260, 180)])
    single = np.asarray(crop_pipe.inpaint(image, mask, codes=[0.0, 1 / 3, 0.0], seed=2)).astype(int)
    frames = crop_pipe.sweep(image, mask, 1, seed=2)
    assert len(frames) == 7 and len({np.asarray(f).tobytes() for f in frames}) == 7
    assert np.abs(np.asarray(frames[4]).astype(int) - single).max() <= 1  # value 1/3, computed in a batch


def test_crop_windows_keep_the_detail_the_letterbox_loses():
    """With a generator that echoes its input, a small region of a large, detailed picture comes
    back nearly exact through its crop window (it is seen at 1:1) and blurred through the whole-
    picture letterbox (seen at 64 / 1024 of its size)."""
    rng = np.random.default_rng(0)
    texture = np.kron(rng.integers(0, 256, (128, 96, 3)), np.ones((8, 8, 1))).astype(np.uint8)  # 8-px cells
    image = Image.fromarray(texture)  # 768 x 1024
    mask = ellipses(768, 1024, [(300, 500, 340, 540)])
    echo = tiny_generator(EchoGenerator, resolution=64)
    errors = {}
    for window in ("crop", "whole"):
        out = np.asarray(RegionEditPipeline(echo, window=window).inpaint(image, mask)).astype(int)
        errors[window] = np.abs(out[mask] - texture[mask]).mean()
    assert errors["crop"] < 3 and errors["whole"] > 20, errors


def test_bad_window_options_are_refused():
    with pytest.raises(ValueError, match="window must be one of"):
        RegionEditPipeline(tiny_generator(), window="tile")
    with pytest.raises(ValueError, match="context"):
        RegionEditPipeline(tiny_generator(), context=0.5)


# --- training crops ----------------------------------------------------------------------------
def renders(n: int = 6, size: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(30, 220, (n, 3, size, size), dtype=np.uint8))


def test_random_windows_cover_the_zoom_range_and_stay_on_the_render():
    windows = random_windows(500, 256, (0.5, 1.25), torch.Generator().manual_seed(0))
    sides = np.array([w.side for w in windows])
    assert sides.min() >= 128 and sides.max() <= 320 and sides.min() < 140 and sides.max() > 300
    assert np.median(sides) == pytest.approx(256 * np.sqrt(0.5 * 1.25), rel=0.1)  # log-uniform
    for w in windows:
        if w.side <= 256:
            assert 0 <= w.top and w.bottom <= 256 and 0 <= w.left and w.right <= 256
        else:  # the whole render inside, the rest letterboxed
            assert w.top <= 0 and w.bottom >= 256 and w.left <= 0 and w.right >= 256


def test_window_crops_shapes_ranges_and_seeding():
    images = renders()
    crops = window_crops(images, 32, (0.5, 1.0), torch.Generator().manual_seed(3))
    assert crops.shape == (6, 3, 32, 32) and crops.dtype == torch.uint8
    assert crops.min() >= 30 and crops.max() <= 220  # area averaging of the render's own values
    again = window_crops(images, 32, (0.5, 1.0), torch.Generator().manual_seed(3))
    other = window_crops(images, 32, (0.5, 1.0), torch.Generator().manual_seed(4))
    assert torch.equal(crops, again) and not torch.equal(crops, other)
    # zoom 1: the whole render, area-averaged to the model's size
    whole = window_crops(images, 32, (1.0, 1.0), torch.Generator().manual_seed(0))
    expected = np.stack([resize_square(im, 32) for im in images.permute(0, 2, 3, 1).numpy()])
    assert np.array_equal(whole.permute(0, 2, 3, 1).numpy(), expected)


def test_window_crops_zoom_into_the_render():
    """A render whose left half is black and right half white: whole-render crops are half white,
    half-side crops are often all one colour (part of the picture fills the window)."""
    images = torch.zeros(200, 3, 64, 64, dtype=torch.uint8)
    images[..., 32:] = 255
    g = torch.Generator().manual_seed(0)
    whole = window_crops(images, 16, (1.0, 1.0), g).float().mean((1, 2, 3)) / 255
    zoomed = window_crops(images, 16, (0.5, 0.5), g).float().mean((1, 2, 3)) / 255
    assert torch.allclose(whole, torch.full_like(whole, 0.5), atol=0.02)
    assert ((zoomed < 0.05) | (zoomed > 0.95)).float().mean() > 0.05
    assert zoomed.std() > 0.2
