"""Upload preparation for the blend (issue 21): framing arithmetic, the backdrop model, and the
whole preparation with the shipped part segmenter on synthetic uploads (a car on white, on a
texture, off-centre, tiny, huge; seeded): after preparation the car's box sits where the
training renders put theirs, white and textured backdrops are replaced, a render-like one
stays, no car falls back to the whole picture with a note, a blank picture is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio.data.region_windows import Window, crop_window, resize_square, whole_window
from carstudio.evaluate.blend_uploads import OutsidePicture, clipart_car, paste, shaded_car, texture
from carstudio.hub import WEIGHTS_DIR
from carstudio.inputs import InvalidInput
from carstudio.pipelines.car_placement import (
    NO_CAR_NOTE,
    OWN_BACKDROP_NOTE,
    SIDE_VIEW_FRAMING,
    TRAINING_BACKDROP_NOTE,
    TRAINING_BACKDROP_ROWS,
    Backdrop,
    CarPlacer,
    Framing,
    backdrop_picture,
    fill_holes,
    largest_component,
    mask_box,
    measure_backdrop_rows,
    measure_framing,
    to_upload_frame,
)

FILL_TOLERANCE, CENTRE_TOLERANCE = 0.06, 0.04  # of the frame side; the renders' own 5-95% spread is 0.77-0.95


# --- arithmetic -----------------------------------------------------------------------------------
@pytest.mark.parametrize("box", [(10, 20, 40, 120), (-5, 300, 60, 310), (100, 100, 300, 150)])
def test_a_framed_box_lands_at_the_framing(box):
    framing = Framing(fill=0.8, centre=(0.45, 0.55))
    window = framing.window(box)
    top, left, bottom, right = box
    assert max(bottom - top, right - left) / window.side == pytest.approx(0.8, abs=1 / window.side)
    assert ((left + right) / 2 - window.left) / window.side == pytest.approx(0.45, abs=1 / window.side)
    assert ((top + bottom) / 2 - window.top) / window.side == pytest.approx(0.55, abs=1 / window.side)


def test_measure_framing_reads_boxes_from_part_maps():
    maps = []
    for top, left, bottom, right in [(20, 10, 40, 90), (30, 20, 50, 100), (25, 5, 45, 85)]:
        parts = np.zeros((100, 100), np.uint8)
        parts[top:bottom, left:right] = 1
        parts[bottom - 4:bottom, left + 5:left + 15] = 3  # a wheel is car too
        maps.append(parts)
    measured = measure_framing(maps)
    assert measured["fill"]["median"] == pytest.approx(0.8)
    assert measured["centre_x"]["median"] == pytest.approx(0.5)
    assert measured["centre_y"]["median"] == pytest.approx(0.35)


def test_measure_backdrop_rows_averages_backdrop_pixels_only():
    images = np.zeros((2, 8, 8, 3))
    images[0, :4], images[0, 4:] = 100, 200
    images[1] = 50
    parts = np.zeros((2, 8, 8), np.uint8)
    parts[1, :4] = 1  # car pixels of the second image do not count
    rows = measure_backdrop_rows(images, parts, knots=2)
    assert rows == [(100, 100, 100), (125, 125, 125)]


def test_backdrop_picture_interpolates_rows():
    plain = backdrop_picture([(10, 20, 30)], 5)
    assert plain.shape == (5, 5, 3) and (plain == np.float32([10, 20, 30])).all()
    ramp = backdrop_picture([(0, 0, 0), (100, 100, 100)], 4)
    assert ramp[0, 0, 0] == 0 and ramp[-1, 0, 0] == 100 and (np.diff(ramp[:, 0, 0]) >= 0).all()
    assert (ramp == ramp[:, :1]).all()  # constant along each row


def test_to_upload_frame_undoes_the_window():
    rng = np.random.default_rng(0)
    smooth = np.asarray(Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)).resize((160, 120),
                                                                                                 Image.BICUBIC))
    window = Window(top=-20, left=10, side=140)  # reaches past the top edge
    view = resize_square(crop_window(smooth, window), 70)
    back = to_upload_frame(view, window, (160, 120)).astype(int)
    inside = back[5:110, 15:145] - smooth[5:110, 15:145].astype(int)
    assert np.abs(inside).mean() < 3


def test_largest_component_fills_holes():
    mask = np.zeros((20, 20), bool)
    mask[2:12, 2:12] = True
    mask[5:8, 5:8] = False  # a window
    mask[15:18, 15:18] = True  # a speck
    car = largest_component(mask)
    assert car[6, 6] and not car[16, 16] and car.sum() == 100
    assert not largest_component(np.zeros((5, 5), bool)).any()
    ring = np.ones((5, 5), bool)
    ring[2, 2] = False
    assert fill_holes(ring).all()


# --- the backdrop model ---------------------------------------------------------------------------
def test_backdrop_kinds():
    plain = np.full((120, 160, 3), (120, 150, 200), np.uint8)
    gradient = np.repeat(np.linspace(80, 220, 120)[:, None, None], 160, 1).repeat(3, 2).astype(np.uint8)
    gradient[80:] = (90, 80, 60)  # a ground below a horizon
    white = np.full((120, 160, 3), 255, np.uint8)
    for rgb, textured, render_like in [(plain, False, True), (gradient, False, True), (white, False, False),
                                       (np.asarray(texture((160, 120), seed=1)), True, False)]:
        backdrop = Backdrop(rgb)
        assert (backdrop.textured, backdrop.render_like) == (textured, render_like)
        assert not backdrop.standout().any() or backdrop.standout().mean() < 0.01


@pytest.mark.parametrize("backdrop", ["white", "gradient", "texture"])
def test_backdrop_candidates_find_a_car_shape(backdrop):
    picture = upload_on(backdrop, seed=3)
    candidates = Backdrop(np.asarray(picture.image)).candidates()
    assert candidates
    assert box_iou(mask_box(candidates[0]), mask_box(picture.car)) > 0.7


# --- the whole preparation with the shipped segmenter ---------------------------------------------
needs_segmenter = pytest.mark.skipif(not (WEIGHTS_DIR / "segmenter-128").is_dir(),
                                     reason="the shipped part segmenter (weights/segmenter-128) is not installed")


@pytest.fixture(scope="module")
def placer() -> CarPlacer:
    from carstudio.pipelines.segmenter import SegmenterPipeline

    torch.set_num_threads(1)
    return CarPlacer(SegmenterPipeline.from_pretrained("segmenter-128"))


def upload_on(backdrop: str, seed: int, size: tuple[int, int] = (900, 600), width: int = 600,
              car: OutsidePicture | None = None) -> OutsidePicture:
    """A synthetic car `width` px long at a seeded place of a `size` upload on `backdrop`."""
    rng = np.random.default_rng(seed)
    car = car or shaded_car()
    top, left, bottom, right = mask_box(car.car)
    height = round(width * (bottom - top) / (right - left))
    corner = (int(rng.integers(0, size[0] - width + 1)), int(rng.integers(0, size[1] - height + 1)))
    backdrops = {"white": Image.new("RGB", size, "white"), "texture": texture(size, seed=seed),
                 "gradient": Image.fromarray(np.repeat(np.linspace([170, 190, 210], [110, 100, 90], size[1])[:, None],
                                                       size[0], 1).astype(np.uint8))}
    return paste(car, backdrops[backdrop], corner, width, f"car on {backdrop}")


def box_iou(a, b) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def assert_framed_as_the_renders(prepared, picture: OutsidePicture, resolution: int):
    """The car's box, measured in the prepared picture, sits where the renders put theirs; the
    box found in the upload matches the drawn car's."""
    assert prepared.image.size == (resolution, resolution) and prepared.car_box is not None
    measured = measure_framing([(prepared.mask > 0.5).astype(np.uint8)])
    assert measured["fill"]["median"] == pytest.approx(SIDE_VIEW_FRAMING.fill, abs=FILL_TOLERANCE)
    assert measured["centre_x"]["median"] == pytest.approx(SIDE_VIEW_FRAMING.centre[0], abs=CENTRE_TOLERANCE)
    assert measured["centre_y"]["median"] == pytest.approx(SIDE_VIEW_FRAMING.centre[1], abs=CENTRE_TOLERANCE)
    assert box_iou(prepared.car_box, mask_box(picture.car)) > 0.8, (prepared.car_box, mask_box(picture.car))


def backdrop_error(prepared, resolution: int) -> float:
    """Mean difference from the training backdrop over the pixels without car."""
    outside = prepared.mask < 0.01
    expected = backdrop_picture(TRAINING_BACKDROP_ROWS, resolution)
    return float(np.abs(np.asarray(prepared.image, np.float32) - expected)[outside].mean())


@needs_segmenter
@pytest.mark.parametrize("backdrop,seed", [("white", 0), ("white", 1), ("texture", 2), ("texture", 3)])
def test_a_car_anywhere_is_framed_as_the_renders_frame_cars(placer, backdrop, seed):
    picture = upload_on(backdrop, seed, size=(1000, 700), width=420)  # off-centre at a seeded place
    prepared = placer(picture.image, 64)
    assert_framed_as_the_renders(prepared, picture, 64)
    assert prepared.note == TRAINING_BACKDROP_NOTE and backdrop_error(prepared, 64) < 2


@needs_segmenter
@pytest.mark.parametrize("resolution", [64, 128])
def test_a_tiny_car_is_found_and_enlarged(placer, resolution):
    picture = upload_on("white", seed=4, size=(1600, 1200), width=110, car=clipart_car())  # 7% of the width
    prepared = placer(picture.image, resolution)
    assert_framed_as_the_renders(prepared, picture, resolution)


@needs_segmenter
def test_a_huge_upload_with_the_car_across_it(placer):
    picture = upload_on("white", seed=5, size=(2400, 1500), width=2300)
    prepared = placer(picture.image, 64)
    assert prepared.window.side > 2000  # the upload's own pixels, not downscaled boxes
    assert_framed_as_the_renders(prepared, picture, 64)


@needs_segmenter
def test_a_render_like_backdrop_is_kept(placer):
    picture = upload_on("gradient", seed=6, size=(800, 600), width=500)
    prepared = placer(picture.image, 64)
    assert_framed_as_the_renders(prepared, picture, 64)
    assert prepared.note == OWN_BACKDROP_NOTE
    own = resize_square(crop_window(np.asarray(picture.image), prepared.window), 64)
    assert np.array_equal(np.asarray(prepared.image), own)


@needs_segmenter
def test_no_car_falls_back_to_the_whole_picture_with_a_note(placer):
    rng = np.random.default_rng(7)
    stripes = np.repeat(rng.integers(0, 255, (1, 300, 3)), 200, 0).astype(np.uint8)  # no car in it
    prepared = placer(Image.fromarray(stripes), 64)
    assert prepared.note == NO_CAR_NOTE and prepared.car_box is None and prepared.mask is None
    assert prepared.window == whole_window((200, 300)) and prepared.image.size == (64, 64)


@needs_segmenter
def test_a_blank_picture_is_refused(placer):
    with pytest.raises(InvalidInput, match="blank"):
        placer(Image.new("RGB", (300, 200), (240, 240, 240)), 64)


@needs_segmenter
def test_the_blend_pipeline_encodes_the_prepared_picture(placer):
    from carstudio.pipelines.blend import FuturisticBlendPipeline
    from tests.unit.test_blend_pipeline import tiny_models

    generator, everyday, encoder, _ = tiny_models()
    pipe = FuturisticBlendPipeline(generator, everyday, encoder, placer=placer)
    picture = upload_on("texture", seed=8, size=(600, 400), width=300)
    car = pipe.car_from_image(picture.image, refine_steps=2)
    assert car.prepared is not None and car.prepared.note == TRAINING_BACKDROP_NOTE
    assert np.array_equal(np.asarray(car.image), np.asarray(placer(picture.image, pipe.resolution).image))
    unprepared = FuturisticBlendPipeline(generator, everyday, encoder, placement_note="no segmenter")
    letterboxed = unprepared.car_from_image(picture.image)
    assert letterboxed.prepared.note == "no segmenter" and letterboxed.prepared.window == whole_window((400, 600))
