"""The futuristic blend tab's endpoints through gradio_client: sample, encode uploads, blend and
strip in one client session (the codes travel in the session's gr.State), and bad input. The tab
runs alone on tiny random models with a novelty bank of a small render folder (no shipped
weights needed). The upload preparation (issue 21: a car on white or texture, off-centre, tiny,
huge) runs on tiny random models at 64 px with the shipped part segmenter, which finds the car."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from carstudio.hub import LazyModel
from carstudio.metrics.novelty import NoveltyMeter, build_novelty_bank
from carstudio.pipelines.blend import FuturisticBlendPipeline
from spaces.blend import EXAMPLES_DIR, create_demo
from tests.e2e.conftest import gallery_paths, raw_call, raw_upload, serve_tab, tab_client
from tests.unit.test_blend_pipeline import R, tiny_models, write_renders

DISPLAY = 256


@pytest.fixture(scope="module")
def blend_url(tmp_path_factory):
    generator, everyday, encoder, segmenter = tiny_models()
    renders = write_renders(tmp_path_factory.mktemp("blend") / "renders", 8)
    meter = NoveltyMeter(build_novelty_bank(renders, segmenter, R, segmenter_name="tiny"), segmenter)
    pipeline = FuturisticBlendPipeline(generator, everyday, encoder, meter)
    yield from serve_tab(create_demo(LazyModel(lambda: pipeline)))


@pytest.fixture
def blend_client(blend_url, tmp_path):
    yield from tab_client(blend_url, tmp_path)


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def picked(client, everyday_seed=3, futuristic_seed=4):
    """Both cars sampled in this client's session -> the four pictures' paths."""
    return (*client.predict("everyday", everyday_seed, 0, api_name="/blend_sample"),
            *client.predict("futuristic", futuristic_seed, 0, api_name="/blend_sample"))


def test_sample_then_blend_and_strip_in_one_session(blend_client):
    everyday, everyday_reconstruction, futuristic, futuristic_reconstruction = picked(blend_client)
    assert pixels(everyday).shape == (DISPLAY, DISPLAY, 3)
    assert np.array_equal(pixels(futuristic), pixels(futuristic_reconstruction))  # y = z exactly
    blend, novelty = blend_client.predict(0.5, api_name="/blend")
    assert pixels(blend).shape == (DISPLAY, DISPLAY, 3)
    assert "usual gap between training cars" in novelty and "renders/images/" in novelty
    # the ends: α = 1 is the everyday car's code, α = 0 the futuristic car's
    assert np.array_equal(pixels(blend_client.predict(1, api_name="/blend")[0]), pixels(everyday_reconstruction))
    assert np.array_equal(pixels(blend_client.predict(0, api_name="/blend")[0]), pixels(futuristic_reconstruction))
    result = blend_client.predict(5, api_name="/blend_strip")
    frames = gallery_paths(result)
    assert len(frames) == 5 and [item["caption"] for item in result][::2] == ["α = 1.00", "α = 0.50", "α = 0.00"]
    assert np.abs(pixels(frames[0]) - pixels(everyday_reconstruction)).max() <= 2
    assert np.abs(pixels(frames[-1]) - pixels(futuristic_reconstruction)).max() <= 2


def test_seeds_reproduce_every_output(blend_url, tmp_path):
    outputs = []
    for attempt in range(2):  # two sessions, the same seeds
        for client in tab_client(blend_url, tmp_path / str(attempt)):
            paths = [*picked(client, 7, 8), client.predict(0.3, api_name="/blend")[0]]
            paths += gallery_paths(client.predict(3, api_name="/blend_strip"))
            outputs.append([pixels(p) for p in paths])
    assert all(np.array_equal(a, b) for a, b in zip(*outputs))
    assert not np.array_equal(outputs[0][0], outputs[0][2])  # the everyday and futuristic cars differ


def save_upload(tmp_path, mode: str) -> str:
    """A car-like picture (wide, red body on a light backdrop) in `mode`."""
    rgb = np.full((60, 120, 3), 225, np.uint8)
    rgb[25:45, 10:110] = (190, 30, 30)
    rgb[40:52, 20:40] = rgb[40:52, 80:100] = 20
    path = tmp_path / f"car_{mode.replace(';', '_')}.png"
    if mode == "I;16":
        grey = np.asarray(Image.fromarray(rgb).convert("L")).astype(np.uint16) * 257
        Image.fromarray(grey).save(path)  # a 16-bit greyscale PNG
    else:
        Image.fromarray(rgb).convert(mode).save(path)
    return str(path)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "I;16"])
def test_encode_uploads_then_blend(blend_client, tmp_path, mode):
    path = save_upload(tmp_path, mode)
    prepared, reconstruction, note = blend_client.predict("everyday", handle_file(path), 0, api_name="/blend_encode")
    assert pixels(reconstruction).shape == pixels(prepared).shape == (DISPLAY, DISPLAY, 3)
    assert note == ""  # these tiny models come without a segmenter: letterboxed whole, as before
    _, refined, _ = blend_client.predict("everyday", handle_file(path), 5, api_name="/blend_encode")
    assert not np.array_equal(pixels(refined), pixels(reconstruction))
    blend_client.predict("futuristic", handle_file(path), 0, api_name="/blend_encode")
    blend, _ = blend_client.predict(1.0, api_name="/blend")
    assert np.array_equal(pixels(blend), pixels(refined))  # α = 1: the (refined) everyday code


@pytest.mark.parametrize("domain", ["everyday", "futuristic"])
def test_the_example_cars_encode(blend_client, domain):
    examples = sorted(EXAMPLES_DIR.glob(f"{domain}_*.png"))
    assert len(examples) >= 3
    reconstructions = [pixels(blend_client.predict(domain, handle_file(str(path)), 0, api_name="/blend_encode")[1])
                       for path in examples]
    assert all(r.shape == (DISPLAY, DISPLAY, 3) for r in reconstructions)
    assert not np.array_equal(reconstructions[0], reconstructions[1])  # each car its own code


def test_blend_before_any_car_is_picked(blend_client):
    with pytest.raises(AppError, match="Sample or encode an everyday car first"):
        blend_client.predict(0.5, api_name="/blend")
    with pytest.raises(AppError, match="Sample or encode an everyday car first"):
        blend_client.predict(4, api_name="/blend_strip")
    blend_client.predict("everyday", 1, 0, api_name="/blend_sample")
    with pytest.raises(AppError, match="Sample or encode a futuristic car first"):
        blend_client.predict(0.5, api_name="/blend")


@pytest.mark.parametrize("args,api_name,message", [
    (("everyday", "not-an-image.png", 0), "/blend_encode", "not an image"),
    (("everyday", None, 0), "/blend_encode", "upload an image"),
    (("sporty", 1, 0), "/blend_sample", "domain must be one of"),
    (("everyday", -1, 0), "/blend_sample", "seed"),
    (("everyday", 1, 101), "/blend_sample", "Refinement steps"),
    ((1,), "/blend_strip", "number of frames"),
    ((17,), "/blend_strip", "number of frames"),
    ((1.5,), "/blend", "α"),
])
def test_bad_input_gets_a_clear_message(blend_client, tmp_path, args, api_name, message):
    picked(blend_client)
    if "not-an-image.png" in args:
        path = tmp_path / "not-an-image.png"
        path.write_bytes(b"not a png at all" * 20)
        args = ("everyday", handle_file(str(path)), 0)
    with pytest.raises(AppError, match=message):
        blend_client.predict(*args, api_name=api_name)
    assert blend_client.predict(0.5, api_name="/blend")  # still serving, the session's codes intact


@pytest.mark.parametrize("bad", [math.nan, 1.5, -math.inf, math.inf, "x", None])
def test_bad_alpha_over_raw_http(blend_url, bad):
    """Values gradio_client will not send (NaN, ±inf) reach the server over plain HTTP. A raw
    call has no session, hence no cars: a valid α is answered by asking for them."""
    event, payload = raw_call(blend_url, "blend", [0.5])
    assert event == "error" and "Sample or encode" in payload, payload
    event, payload = raw_call(blend_url, "blend", [bad])
    assert event == "error" and "α (the everyday car's weight) must be a number between 0 and 1" in \
        json.loads(payload)["error"], payload


@pytest.mark.parametrize("data,message", [
    (["everyday", math.nan, 0], "seed"),
    (["everyday", 1, math.inf], "refinement steps"),
    (["futuristic", 1e30, 0], "seed"),
])
def test_bad_numbers_over_raw_http(blend_url, data, message):
    assert raw_call(blend_url, "blend_sample", ["everyday", 1, 0])[0] == "complete"
    event, payload = raw_call(blend_url, "blend_sample", data)
    assert event == "error" and message in payload.lower(), payload
    assert raw_call(blend_url, "blend_strip", [math.nan])[0] == "error"


def test_raw_upload_of_a_non_image(blend_url, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    event, payload = raw_call(blend_url, "blend_encode", ["everyday", raw_upload(blend_url, path), 0])
    assert event == "error" and "not an image" in payload, payload
    upload = raw_upload(blend_url, save_upload(tmp_path, "RGB"))
    assert raw_call(blend_url, "blend_encode", ["everyday", upload, 0])[0] == "complete"


# --- upload preparation (issue 21) ---------------------------------------------------------------
UPLOADS = {  # case -> (backdrop, seed, upload size, car length in px, car drawing)
    "white": ("white", 0, (900, 600), 600, "shaded"),
    "texture": ("texture", 1, (900, 600), 560, "shaded"),
    "off-centre": ("white", 2, (1200, 900), 300, "clipart"),
    "tiny": ("texture", 3, (1600, 1200), 120, "shaded"),
    "huge": ("white", 4, (2400, 1500), 2300, "clipart"),
}


@pytest.fixture(scope="module")
def prepared_url():
    from carstudio.hub import WEIGHTS_DIR
    from carstudio.models.encoder import ResNet18Encoder
    from carstudio.models.sngan import SNGANGenerator
    from carstudio.pipelines.car_placement import CarPlacer
    from carstudio.pipelines.segmenter import SegmenterPipeline

    if not (WEIGHTS_DIR / "segmenter-128").is_dir():
        pytest.skip("the shipped part segmenter (weights/segmenter-128) is not installed")
    torch.manual_seed(0)
    widths = (16, 8, 8, 8, 8)  # 64 px, the shipped models' resolution
    pipeline = FuturisticBlendPipeline(SNGANGenerator(z_dim=8, resolution=64, widths=widths),
                                       SNGANGenerator(z_dim=8, resolution=64, widths=widths),
                                       ResNet18Encoder(z_dim=8, resolution=64, width=4),
                                       placer=CarPlacer(SegmenterPipeline.from_pretrained("segmenter-128")))
    yield from serve_tab(create_demo(LazyModel(lambda: pipeline)))


@pytest.fixture
def prepared_client(prepared_url, tmp_path):
    yield from tab_client(prepared_url, tmp_path)


def car_box_in(prepared: np.ndarray) -> tuple[int, int, int, int]:
    """The car's box in a displayed prepared picture: what differs from the training backdrop."""
    from carstudio.pipelines.car_placement import TRAINING_BACKDROP_ROWS, backdrop_picture, largest_component, mask_box

    backdrop = backdrop_picture(TRAINING_BACKDROP_ROWS, prepared.shape[0])
    return mask_box(largest_component(np.abs(prepared - backdrop).max(2) > 40))


@pytest.mark.parametrize("case", list(UPLOADS))
def test_uploads_are_prepared_as_the_renders_frame_cars(prepared_client, tmp_path, case):
    from carstudio.evaluate.blend_uploads import clipart_car, shaded_car
    from carstudio.pipelines.car_placement import SIDE_VIEW_FRAMING
    from tests.unit.test_car_placement import upload_on

    backdrop, seed, size, length, drawing = UPLOADS[case]
    car = {"shaded": shaded_car, "clipart": clipart_car}[drawing]()
    path = tmp_path / f"{case}.png"
    upload_on(backdrop, seed, size, length, car).image.save(path)
    prepared, reconstruction, note = prepared_client.predict("everyday", handle_file(str(path)), 2,
                                                             api_name="/blend_encode")
    assert "car was found and framed" in note and "mean backdrop" in note, note
    top, left, bottom, right = car_box_in(pixels(prepared))
    assert max(bottom - top, right - left) / DISPLAY == pytest.approx(SIDE_VIEW_FRAMING.fill, abs=0.07)
    assert (left + right) / 2 / DISPLAY == pytest.approx(SIDE_VIEW_FRAMING.centre[0], abs=0.05)
    assert (top + bottom) / 2 / DISPLAY == pytest.approx(SIDE_VIEW_FRAMING.centre[1], abs=0.05)
    assert pixels(reconstruction).shape == (DISPLAY, DISPLAY, 3)
    prepared_client.predict("futuristic", 1, 0, api_name="/blend_sample")
    blend, _ = prepared_client.predict(1.0, api_name="/blend")
    assert np.array_equal(pixels(blend), pixels(reconstruction))  # α = 1: the encoded upload's code


def test_a_picture_without_a_car_is_used_whole_with_a_note(prepared_client, tmp_path):
    rng = np.random.default_rng(7)
    path = tmp_path / "stripes.png"
    Image.fromarray(np.repeat(rng.integers(0, 255, (1, 300, 3)), 200, 0).astype(np.uint8)).save(path)
    prepared, _, note = prepared_client.predict("everyday", handle_file(str(path)), 0, api_name="/blend_encode")
    assert "No car was found" in note
    shown = pixels(prepared)
    assert (shown[:40] == shown[40]).all()  # letterboxed whole: the stripes' top row repeated above them


def test_a_blank_upload_is_refused(prepared_client, tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), (250, 250, 250)).save(path)
    with pytest.raises(AppError, match="blank"):
        prepared_client.predict("everyday", handle_file(str(path)), 0, api_name="/blend_encode")
