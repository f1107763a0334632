"""The SinGAN tab's endpoints through gradio_client, good and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from spaces.singan import shipped_models
from tests.e2e.conftest import gallery_paths, raw_call

CAR = next(iter(shipped_models()), None)
pytestmark = pytest.mark.skipif(CAR is None, reason="no SinGAN weights under weights/singan-*")


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def editor_value(path):
    return {"background": handle_file(path), "layers": [], "composite": handle_file(path)}


def test_reference_returns_image_palette_and_starter_painting(client):
    reference, palette, sketch, scale, start, photo_scale = client.predict(CAR, api_name="/singan_reference")
    assert pixels(reference).shape[2] == 3
    assert palette.count("background:#") >= 4
    # component updates arrive as dicts of the changed properties
    starter, ref = pixels(sketch["value"]["composite"]).shape, pixels(reference).shape
    assert starter[0] * ref[1] == starter[1] * ref[0] and starter[1] >= ref[1]  # same frame, shown larger
    assert sketch["brush"]["colors"] and sketch["brush"]["default_color"] in sketch["brush"]["colors"]
    assert 1 <= scale["value"] <= scale["maximum"] == start["maximum"] == photo_scale["maximum"]


def test_sample_is_reproducible_from_its_seed(client):
    first = gallery_paths(client.predict(CAR, 2, 11, 1.0, 0, api_name="/singan_sample"))
    again = gallery_paths(client.predict(CAR, 2, 11, 1.0, 0, api_name="/singan_sample"))
    other = gallery_paths(client.predict(CAR, 2, 12, 1.0, 0, api_name="/singan_sample"))
    assert len(first) == 2
    assert np.array_equal(pixels(first[0]), pixels(again[0]))
    assert not np.array_equal(pixels(first[0]), pixels(other[0]))
    wide = gallery_paths(client.predict(CAR, 1, 11, 1.5, 0, api_name="/singan_sample"))
    assert pixels(wide[0]).shape[1] > pixels(first[0]).shape[1]


def test_variations_from_a_start_scale_keep_the_reference_layout(client):
    reference = pixels(client.predict(CAR, api_name="/singan_reference")[0]).astype(float)
    (variation,) = gallery_paths(client.predict(CAR, 1, 3, 1.0, 2, api_name="/singan_sample"))
    (noise,) = gallery_paths(client.predict(CAR, 1, 3, 1.0, 0, api_name="/singan_sample"))
    assert np.abs(pixels(variation) - reference).mean() < np.abs(pixels(noise) - reference).mean()


def test_paint_turns_the_starter_painting_into_cars(client):
    _, _, sketch, scale, _, _ = client.predict(CAR, api_name="/singan_reference")
    starter = sketch["value"]["composite"]
    results = gallery_paths(client.predict(CAR, editor_value(starter), scale["value"], 3, 5, True,
                                           api_name="/singan_paint"))
    assert len(results) == 3
    out = pixels(results[0]).astype(float)
    painting = np.asarray(Image.open(starter).convert("RGB").resize(out.shape[1::-1]), dtype=float)
    # the output follows the painting's layout: closer to it than to a flipped painting
    assert np.abs(out - painting).mean() < np.abs(out - painting[:, ::-1]).mean()


def test_paint_accepts_a_painting_of_another_size(client, tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (90, 40), (200, 30, 30)).save(path)
    results = gallery_paths(client.predict(CAR, editor_value(path), 3, 1, 0, False, api_name="/singan_paint"))
    assert len(results) == 1


@pytest.mark.parametrize(
    "args,message",
    [
        (dict(sketch=None), "empty"),
        # out-of-slider-range values are refused by Gradio's own Slider check, with the bound
        (dict(seed=-1), "Seed|minimum value 0"),
        (dict(count=100), "Number of samples|maximum value 8"),
        (dict(scale=99), "Injection scale|maximum value"),
        (dict(car="no-such-car"), "Reference car"),
        # model paths never come from a request: a path to weights on disk is just an unknown name
        (dict(car="weights/singan-car1-trb1-side"), "Reference car"),
        (dict(car="../../../etc/passwd"), "Reference car"),
    ],
)
def test_paint_bad_input_gets_a_clear_error_and_the_app_keeps_serving(client, tmp_path, args, message):
    path = tmp_path / "p.png"
    Image.new("RGB", (60, 40), (20, 20, 20)).save(path)
    call = dict(car=CAR, sketch=editor_value(path), scale=2, count=1, seed=0, quantize=True)
    call.update(args)
    sketch = call["sketch"] if call["sketch"] is not None else {"background": None, "layers": [], "composite": None}
    with pytest.raises(AppError, match=message):
        client.predict(call["car"], sketch, call["scale"], call["count"], call["seed"], call["quantize"],
                       api_name="/singan_paint")
    assert len(gallery_paths(client.predict(CAR, 1, 0, 1.0, 0, api_name="/singan_sample"))) == 1


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e308, "12abc", 2.5])
def test_non_finite_and_odd_numbers_over_raw_http_get_clear_errors(app_url, bad):
    event, message = raw_call(app_url, "singan_sample", [CAR, 1, bad, 1.0, 0])
    assert event == "error" and ("Seed" in message or "value" in message), message
    event, _ = raw_call(app_url, "singan_sample", [CAR, 1, 0, 1.0, 0])
    assert event == "complete"


def test_train_on_your_car_makes_a_session_model(client, tmp_path):
    dropdown, status = client.predict(handle_file(str(noisy_car(tmp_path / "mycar.png"))), api_name="/singan_train")
    name = dropdown if isinstance(dropdown, str) else dropdown["value"]
    assert name.startswith("your car") and "only in this session" in status
    assert len(gallery_paths(client.predict(name, 1, 0, 1.0, 0, api_name="/singan_sample"))) == 1


def test_train_refuses_non_images(client, tmp_path):
    path = tmp_path / "fake.png"
    path.write_bytes(b"this is not a picture")
    with pytest.raises(AppError, match="cannot identify image file|not an image"):
        client.predict(handle_file(str(path)), api_name="/singan_train")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    with pytest.raises(AppError):
        client.predict(handle_file(str(tiny)), api_name="/singan_train")


def noisy_car(path: Path) -> Path:
    """A picture with something to learn: random colours (the smoke preset trains in seconds)."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 100, 3), dtype=np.uint8)).save(path)
    return path


def reference_car_choices(app_url: str) -> list[str]:
    """The "Reference car" choices a new page (any session) is given by the app's config."""
    import httpx

    config = httpx.get(app_url.rstrip("/") + "/config", timeout=30).json()
    (dropdown,) = [c for c in config["components"] if c.get("props", {}).get("label") == "Reference car"]
    return [choice[1] if isinstance(choice, (list, tuple)) else choice for choice in dropdown["props"]["choices"]]


def test_session_models_are_private(client, app_url, tmp_path):
    """A car trained in one session is usable there, and another session can neither list nor use it."""
    from gradio_client import Client

    dropdown, _ = client.predict(handle_file(str(noisy_car(tmp_path / "mine.png"))), api_name="/singan_train")
    name = dropdown if isinstance(dropdown, str) else dropdown["value"]
    choices = dropdown["choices"] if isinstance(dropdown, dict) else None
    assert choices is None or name in [c[1] if isinstance(c, (list, tuple)) else c for c in choices]
    assert len(gallery_paths(client.predict(name, 1, 0, 1.0, 0, api_name="/singan_sample"))) == 1
    other = Client(app_url, verbose=False, download_files=str(tmp_path / "other"))
    try:
        assert name not in reference_car_choices(app_url) and CAR in reference_car_choices(app_url)
        for call in (lambda: other.predict(name, 1, 0, 1.0, 0, api_name="/singan_sample"),
                     lambda: other.predict(name, api_name="/singan_reference")):
            with pytest.raises(AppError, match="Reference car"):
                call()
        # and the owner still can, after the other session tried
        assert len(gallery_paths(client.predict(name, 1, 0, 1.0, 0, api_name="/singan_sample"))) == 1
    finally:
        other.close()


def test_train_refuses_pictures_with_nothing_to_learn(client, tmp_path):
    for name, picture in (("transparent.png", Image.new("RGBA", (128, 128), (0, 0, 0, 0))),
                          ("flat.png", Image.new("RGB", (200, 120), (40, 90, 200))),
                          ("white.jpg", Image.new("RGB", (200, 120), "white"))):
        picture.save(tmp_path / name)
        with pytest.raises(AppError, match="blank, transparent or a single colour"):
            client.predict(handle_file(str(tmp_path / name)), api_name="/singan_train")
    assert len(gallery_paths(client.predict(CAR, 1, 0, 1.0, 0, api_name="/singan_sample"))) == 1


def test_cancel_stops_a_running_training_job(client, tmp_path):
    """Cancel from the same session while the job reports progress: the job ends with the
    cancellation message, the slot is free again, and cancelling with no job says so."""
    import time

    from spaces.singan import TRAINING

    job = client.submit(handle_file(str(noisy_car(tmp_path / "car.png"))), api_name="/singan_train")
    deadline = time.monotonic() + 60
    while TRAINING.position(client.session_hash) != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert TRAINING.position(client.session_hash) == 0, "the training job never started"
    assert client.predict(api_name="/singan_cancel") == "Cancelling…"
    with pytest.raises(AppError, match="Training was cancelled"):
        job.result(timeout=60)
    assert not TRAINING.busy
    assert client.predict(api_name="/singan_cancel") == "No training job of yours is queued or running."


SEGMENTER = (Path(__file__).resolve().parents[2] / "weights" / "segmenter-128").is_dir()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "car5-trb1_side.png"


@pytest.mark.skipif(not SEGMENTER, reason="no part segmenter under weights/segmenter-128")
def test_paint_from_a_photo_paints_in_the_reference_colours(client):
    painting, cars = client.predict(CAR, handle_file(str(EXAMPLE)), 2, 2, 0, api_name="/singan_paint_photo")
    painted = pixels(painting)
    reference = pixels(client.predict(CAR, api_name="/singan_reference")[0])
    assert painted.shape == reference.shape
    assert len(np.unique(painted.reshape(-1, 3), axis=0)) <= 6  # flat part colours
    assert len(gallery_paths(cars)) == 2


@pytest.mark.skipif(not SEGMENTER, reason="no part segmenter under weights/segmenter-128")
def test_paint_from_a_photo_without_a_car_says_so(client, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 120), (255, 255, 255)).save(blank)
    with pytest.raises(AppError, match="No car was found"):
        client.predict(CAR, handle_file(str(blank)), 2, 1, 0, api_name="/singan_paint_photo")


def test_huge_upload_is_refused_without_decoding(client, tmp_path):
    from tests.unit.test_inputs import write_blank_1bit_png

    path = write_blank_1bit_png(tmp_path / "huge.png", 20000, 20000)
    with pytest.raises(AppError, match="exceeds limit|too large"):
        client.predict(handle_file(str(path)), api_name="/singan_train")
    assert len(gallery_paths(client.predict(CAR, 1, 0, 1.0, 0, api_name="/singan_sample"))) == 1


def test_one_colour_painting_still_gives_cars(client, tmp_path):
    path = tmp_path / "flat.png"
    Image.new("RGB", (300, 180), (90, 90, 200)).save(path)
    results = gallery_paths(client.predict(CAR, editor_value(path), 2, 2, 0, True, api_name="/singan_paint"))
    assert len(results) == 2 and pixels(results[0]).std() > 0
