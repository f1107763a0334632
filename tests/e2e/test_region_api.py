"""The region-edit tab's endpoints through gradio_client: edit, sweep, variants, the examples,
and bad input. The tab runs alone on a tiny random RoI-GAN (no shipped weights needed); the
whole app with the shipped model is covered by test_bad_input / test_load when it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from carstudio.hub import LazyModel
from carstudio.models.roigan import RoIGANGenerator
from carstudio.pipelines.roigan import RegionEditPipeline
from spaces.roigan import EXAMPLES_DIR, create_demo
from tests.e2e.conftest import gallery_paths, raw_call, raw_upload, serve_tab, tab_client

NUM_CODES, NUM_CATEGORIES = 3, 4


def tiny_pipeline() -> RegionEditPipeline:
    torch.manual_seed(0)
    return RegionEditPipeline(RoIGANGenerator(
        resolution=32, encoder_widths=(8, 8, 8), decoder_widths=(8, 8, 8), noise_dim=4, num_codes=NUM_CODES,
        num_categories=NUM_CATEGORIES, style_channels=4, denorm_hidden=4))


@pytest.fixture(scope="module")
def region_url():
    yield from serve_tab(create_demo(LazyModel(tiny_pipeline)))


@pytest.fixture
def region_client(region_url, tmp_path):
    yield from tab_client(region_url, tmp_path)


def car_and_mask(tmp_path, size=(96, 72), box=(20, 30, 50, 60), mode="RGB"):
    """A striped test image and an RGBA layer brushed over box = (top, left, bottom, right)."""
    h, w = size[1], size[0]
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = np.arange(w, dtype=np.uint8)[None] * 2
    rgb[..., 1] = 90
    rgb[::8, :, 2] = 255
    Image.fromarray(rgb).convert(mode).save(tmp_path / "car.png")
    layer = np.zeros((h, w, 4), np.uint8)
    top, left, bottom, right = box
    layer[top:bottom, left:right] = 255
    Image.fromarray(layer, "RGBA").save(tmp_path / "mask.png")
    mask = np.zeros((h, w), bool)
    mask[top:bottom, left:right] = True
    return rgb, mask


def editor(tmp_path, layers=("mask.png",)) -> dict:
    return {"background": handle_file(str(tmp_path / "car.png")),
            "layers": [handle_file(str(tmp_path / name)) for name in layers], "composite": None}


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_edit_changes_only_the_region_and_is_reproducible(region_client, tmp_path):
    rgb, mask = car_and_mask(tmp_path)
    roigan, telea = region_client.predict(editor(tmp_path), 1, 7, 0.5, -0.5, 0, api_name="/region_edit")
    out, fill = pixels(roigan), pixels(telea)
    assert out.shape == fill.shape == rgb.shape
    assert np.array_equal(out[~mask], rgb[~mask]) and np.array_equal(fill[~mask], rgb[~mask])
    assert not np.array_equal(out[mask], rgb[mask])
    again = region_client.predict(editor(tmp_path), 1, 7, 0.5, -0.5, 0, api_name="/region_edit")[0]
    assert np.array_equal(pixels(again), out)
    other_seed = region_client.predict(editor(tmp_path), 1, 8, 0.5, -0.5, 0, api_name="/region_edit")[0]
    assert not np.array_equal(pixels(other_seed), out)


def test_sweep_and_variants(region_client, tmp_path):
    rgb, mask = car_and_mask(tmp_path)
    frames = gallery_paths(region_client.predict(editor(tmp_path), 2, 0, 3, 0, 0, 0, api_name="/region_sweep"))
    assert len(frames) == 7
    images = [pixels(p) for p in frames]
    assert all(np.array_equal(im[~mask], rgb[~mask]) for im in images)
    assert len({im.tobytes() for im in images}) > 1  # the swept control changes the fill
    variants = gallery_paths(region_client.predict(editor(tmp_path), 3, 0, 0, 0, api_name="/region_variants"))
    assert len(variants) == NUM_CATEGORIES


def test_odd_modes_and_a_large_upload(region_client, tmp_path):
    for mode in ("L", "RGBA", "P"):
        car_and_mask(tmp_path, mode=mode)
        roigan, _ = region_client.predict(editor(tmp_path), 0, 0, 0, 0, 0, api_name="/region_edit")
        assert pixels(roigan).shape == (72, 96, 3)
    car_and_mask(tmp_path, size=(2400, 1200), box=(400, 800, 700, 1400))
    roigan, telea = region_client.predict(editor(tmp_path), 0, 0, 0, 0, 0, api_name="/region_edit")
    assert Image.open(roigan).size == Image.open(telea).size == (1024, 512)  # edited at MAX_EDIT_SIDE


def test_the_examples_run(region_client, tmp_path):
    for image in sorted(p for p in EXAMPLES_DIR.glob("*.png") if not p.stem.endswith("_mask")):
        value = {"background": handle_file(str(image)),
                 "layers": [handle_file(str(image.with_name(image.stem + "_mask.png")))], "composite": None}
        roigan, _ = region_client.predict(value, 0, 0, 0, 0, 0, api_name="/region_edit")
        assert pixels(roigan).shape == (256, 256, 3)


@pytest.mark.parametrize("case,message", [
    ("no mask", "Brush over the region"),
    ("empty mask", "Brush over the region"),
    ("full mask", "covers the whole image"),
    ("other shape", "shapes differ"),
    ("not an image", "not an image"),
    ("no image", "Upload or choose a car image"),
])
def test_bad_editor_values_get_a_clear_message(region_client, tmp_path, case, message):
    car_and_mask(tmp_path)
    value = editor(tmp_path)
    if case == "no mask":
        value["layers"] = []
    elif case == "empty mask":
        Image.new("RGBA", (96, 72), (0, 0, 0, 0)).save(tmp_path / "mask.png")
    elif case == "full mask":
        Image.new("RGBA", (96, 72), (255, 255, 255, 255)).save(tmp_path / "mask.png")
    elif case == "other shape":
        Image.new("RGBA", (40, 90), (255, 255, 255, 255)).save(tmp_path / "mask.png")
    elif case == "not an image":
        (tmp_path / "car.png").write_bytes(b"not a png at all" * 20)
    elif case == "no image":
        value["background"] = None
    with pytest.raises(AppError, match=message):
        region_client.predict(value, 0, 0, 0, 0, 0, api_name="/region_edit")
    car_and_mask(tmp_path)
    assert region_client.predict(editor(tmp_path), 0, 0, 0, 0, 0, api_name="/region_edit")  # still serving


def uploaded_editor(region_url, tmp_path) -> dict:
    car_and_mask(tmp_path)
    return {"background": raw_upload(region_url, tmp_path / "car.png"),
            "layers": [raw_upload(region_url, tmp_path / "mask.png")], "composite": None}


@pytest.mark.parametrize("index,bad,name", [
    (3, math.nan, "Control 1"), (4, 1.5, "Control 2"), (5, -math.inf, "Control 3"),
    (1, 9, "variant"), (1, "x", "variant"), (2, -1, "Seed"), (2, 0.5, "Seed"),
])
def test_bad_numbers_over_raw_http(region_url, tmp_path, index, bad, name):
    data = [uploaded_editor(region_url, tmp_path), 0, 0, 0.0, 0.0, 0.0]
    assert raw_call(region_url, "region_edit", data)[0] == "complete"
    data[index] = bad
    event, payload = raw_call(region_url, "region_edit", data)
    assert event == "error" and name.lower() in payload.lower(), payload


def test_bad_sweep_control_over_raw_http(region_url, tmp_path):
    data = [uploaded_editor(region_url, tmp_path), NUM_CODES + 1, 0, 0, 0.0, 0.0, 0.0]
    event, payload = raw_call(region_url, "region_sweep", data)
    assert event == "error" and "control to sweep" in payload.lower(), payload


def test_server_files_cannot_be_named_as_inputs(region_url, tmp_path):
    """A raw call naming a file on the server that nobody uploaded is refused by Gradio before
    our code runs (even with preprocess=False), so no endpoint reads arbitrary server files."""
    car_and_mask(tmp_path)
    value = {"background": {"path": str(tmp_path / "car.png"), "meta": {"_type": "gradio.FileData"}},
             "layers": [{"path": str(tmp_path / "mask.png"), "meta": {"_type": "gradio.FileData"}}],
             "composite": None}
    event, payload = raw_call(region_url, "region_edit", [value, 0, 0, 0.0, 0.0, 0.0])
    assert event == "error", payload
