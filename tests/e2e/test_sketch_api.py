"""The sketch-to-car tab's endpoints through gradio_client, good and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageDraw

from carstudio.hub import WEIGHTS_DIR
from carstudio.pipelines.sketch import GENERATOR_WEIGHTS, SEGMENTER_WEIGHTS
from tests.e2e.conftest import gallery_paths, raw_call

pytestmark = pytest.mark.skipif(
    not all((WEIGHTS_DIR / n).is_dir() for n in (SEGMENTER_WEIGHTS, GENERATOR_WEIGHTS)),
    reason="sketch-to-car weights are not installed")


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def stroke_layer(path, canvas=(512, 320), draw_fn=None):
    """An RGBA layer with black strokes on transparency, as the browser's Sketchpad sends it."""
    layer = Image.new("RGBA", canvas, (0, 0, 0, 0))
    (draw_fn or draw_car)(ImageDraw.Draw(layer), canvas)
    layer.save(path)
    return path


def draw_car(draw: ImageDraw.ImageDraw, canvas) -> None:
    w, h = canvas
    ink = (0, 0, 0, 255)
    draw.line([(0.1 * w, 0.7 * h), (0.1 * w, 0.5 * h), (0.3 * w, 0.45 * h), (0.4 * w, 0.3 * h),
               (0.65 * w, 0.3 * h), (0.78 * w, 0.45 * h), (0.9 * w, 0.5 * h), (0.9 * w, 0.7 * h),
               (0.1 * w, 0.7 * h)], fill=ink, width=4)
    for cx in (0.25 * w, 0.75 * w):
        draw.ellipse([cx - 0.08 * h * 1.5, 0.6 * h, cx + 0.08 * h * 1.5, 0.84 * h], outline=ink, width=4)
    draw.line([(0.42 * w, 0.33 * h), (0.42 * w, 0.45 * h)], fill=ink, width=3)


def sketch_value(layer_path=None, composite_path=None):
    return {"background": None, "layers": [handle_file(str(layer_path))] if layer_path else [],
            "composite": handle_file(str(composite_path)) if composite_path else None}


def test_sketch_to_car_gives_mask_sfm_masks_and_reproducible_cars(client, tmp_path):
    value = sketch_value(stroke_layer(tmp_path / "car.png"))
    mask, sfm, cars = client.predict(value, 3, 5, True, api_name="/sketch_generate")
    mask_pixels = pixels(mask)
    assert mask_pixels.shape[:2] == (256, 256)
    assert len(np.unique(mask_pixels.reshape(-1, 3), axis=0)) >= 3  # background, body and more
    assert len(gallery_paths(sfm)) >= 1 and len(gallery_paths(cars)) == 3
    again = gallery_paths(client.predict(value, 3, 5, False, api_name="/sketch_generate")[2])
    other = gallery_paths(client.predict(value, 3, 6, False, api_name="/sketch_generate")[2])
    first = gallery_paths(cars)
    assert np.array_equal(pixels(first[0]), pixels(again[0]))
    assert not np.array_equal(pixels(first[0]), pixels(other[0]))
    assert not np.array_equal(pixels(first[0]), pixels(first[1]))  # variations differ


def test_mask_endpoint_matches_the_generate_endpoint(client, tmp_path):
    value = sketch_value(stroke_layer(tmp_path / "car.png"))
    alone = pixels(client.predict(value, api_name="/sketch_mask"))
    with_cars = pixels(client.predict(value, 1, 0, False, api_name="/sketch_generate")[0])
    assert np.array_equal(alone, with_cars)


def test_position_and_canvas_size_do_not_change_the_mask(client, tmp_path):
    small = sketch_value(stroke_layer(tmp_path / "small.png", canvas=(400, 250)))

    def shifted(draw, canvas):
        w, h = canvas
        offset = Image.new("RGBA", (400, 250), (0, 0, 0, 0))
        draw_car(ImageDraw.Draw(offset), (400, 250))
        draw.bitmap((w - 420, h - 270), offset.split()[3], fill=(0, 0, 0, 255))

    moved = sketch_value(stroke_layer(tmp_path / "moved.png", canvas=(900, 700), draw_fn=shifted))
    a = pixels(client.predict(small, api_name="/sketch_mask"))
    b = pixels(client.predict(moved, api_name="/sketch_mask"))
    assert (a == b).all(axis=2).mean() > 0.9


def composite_only(path, image: Image.Image):
    image.save(path)
    return sketch_value(composite_path=path)


def bad_sketches(tmp_path):
    dot = Image.new("RGBA", (512, 320), (0, 0, 0, 0))
    ImageDraw.Draw(dot).ellipse([250, 150, 253, 153], fill=(0, 0, 0, 255))
    dot.save(tmp_path / "dot.png")
    Image.new("RGBA", (512, 320), (0, 0, 0, 255)).save(tmp_path / "filled.png")
    Image.new("RGBA", (512, 320), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(40, 200, (240, 320, 3), dtype=np.uint8))
    return {
        "empty": ({"background": None, "layers": [], "composite": None}, "empty"),
        "single dot": (sketch_value(tmp_path / "dot.png"), "dot"),
        "filled canvas": (sketch_value(tmp_path / "filled.png"), "filled picture"),
        "transparent layers only": (sketch_value(tmp_path / "clear.png"), "empty"),
        "colour photo": (composite_only(tmp_path / "photo.png", photo), "filled picture"),
    }


@pytest.mark.parametrize("case", ["empty", "single dot", "filled canvas", "transparent layers only", "colour photo"])
def test_bad_sketches_get_a_clear_error_and_the_app_keeps_serving(client, tmp_path, case):
    value, message = bad_sketches(tmp_path)[case]
    with pytest.raises(AppError, match=message):
        client.predict(value, 1, 0, False, api_name="/sketch_generate")
    with pytest.raises(AppError, match=message):
        client.predict(value, api_name="/sketch_mask")
    good = sketch_value(stroke_layer(tmp_path / "car.png"))
    assert len(gallery_paths(client.predict(good, 1, 0, False, api_name="/sketch_generate")[2])) == 1


def test_non_image_upload_is_refused(client, tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not a picture at all")
    with pytest.raises(AppError):
        client.predict(sketch_value(fake), 1, 0, False, api_name="/sketch_generate")


EMPTY = {"background": None, "layers": [], "composite": None}
NO_STYLE = [False, "#1f5fbf", None]  # paint the body, its colour, example car: the defaults


# numbers are checked before the sketch, so an empty sketch is enough to reach the checks
@pytest.mark.parametrize("bad", [math.nan, math.inf, -1, 2.5, 99, "many"])
def test_odd_variation_counts_over_raw_http_get_clear_errors(app_url, bad):
    event, message = raw_call(app_url, "sketch_generate", [EMPTY, bad, 0, False, *NO_STYLE])
    assert event == "error" and "variations" in message.lower(), message


@pytest.mark.parametrize("bad", [math.nan, -math.inf, -1, 0.5, 2**40, "many"])
def test_odd_seeds_over_raw_http_get_clear_errors(app_url, bad):
    event, message = raw_call(app_url, "sketch_generate", [EMPTY, 1, bad, False, *NO_STYLE])
    assert event == "error" and "seed" in message.lower(), message


def test_the_shipped_model_refuses_a_paint_colour_and_an_example_car(client, tmp_path):
    """ssgan-64 is not palette-conditioned: its tab hides the style controls, and an API caller who
    sends them anyway is told so rather than silently given the seed's paint."""
    value = sketch_value(stroke_layer(tmp_path / "car.png"))
    with pytest.raises(AppError, match="takes no paint colour"):
        client.predict(value, 1, 0, False, True, "#1e3cd2", None, api_name="/sketch_generate")
    example = handle_file(str(Path(__file__).resolve().parents[2] / "examples" / "car1-stock1_side.png"))
    with pytest.raises(AppError, match="takes no example car"):
        client.predict(value, 1, 0, False, False, "#1e3cd2", example, api_name="/sketch_generate")
    # the picker's value is not read while "paint the body" is off
    cars = client.predict(value, 1, 0, False, False, "not a colour", None, api_name="/sketch_generate")[2]
    assert len(gallery_paths(cars)) == 1
