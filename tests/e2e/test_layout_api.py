"""The layout tab's endpoints through gradio_client: sample, render, both in one call, and bad
input. The tab runs alone on tiny random models (so this needs no shipped weights); the whole
app with the shipped models is covered by test_bad_input / test_load when they are installed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from carstudio.data.parts import BACKGROUND, BODY, GLASS, NUM_PARTS, PART_COLORS, WHEEL
from carstudio.hub import LazyModel
from carstudio.models.ssgan import SPADEGenerator, StyleEncoder
from carstudio.models.stylegan import StyleGANGenerator
from carstudio.pipelines.layout import LayoutToCarPipeline
from spaces.layout import create_demo
from tests.e2e.conftest import gallery_paths, raw_call, serve_tab, tab_client


def tiny_pipeline() -> LayoutToCarPipeline:
    torch.manual_seed(0)
    return LayoutToCarPipeline(
        StyleGANGenerator(resolution=64, z_dim=8, w_dim=8, mapping_layers=2, widths=(8, 8, 8, 8, 8)),
        SPADEGenerator(z_dim=4, widths=(8, 8, 8, 4), resolution=64, spade_hidden=4),
        StyleEncoder(z_dim=4, widths=(4, 4, 4, 4), resolution=64))


@pytest.fixture(scope="module")
def layout_url():
    yield from serve_tab(create_demo(LazyModel(tiny_pipeline)))


@pytest.fixture
def layout_client(layout_url, tmp_path):
    yield from tab_client(layout_url, tmp_path)


def car_layout(size: int = 64) -> np.ndarray:
    parts = np.full((size, size), BACKGROUND, np.int64)
    s = size / 64
    parts[int(24 * s):int(44 * s), int(6 * s):int(58 * s)] = BODY
    parts[int(16 * s):int(24 * s), int(18 * s):int(44 * s)] = GLASS
    parts[int(40 * s):int(50 * s), int(10 * s):int(22 * s)] = WHEEL
    return parts


def editor(path) -> dict:
    return {"background": handle_file(str(path)), "layers": [], "composite": None}


def ids_of(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_sample_is_reproducible_and_exports_a_label_map(layout_client):
    first, label_map = layout_client.predict(3, 0.8, False, 1, 4, api_name="/layout_sample")
    again, label_again = layout_client.predict(3, 0.8, False, 1, 4, api_name="/layout_sample")
    assert np.array_equal(ids_of(label_map), ids_of(label_again))
    ids = ids_of(label_map)
    assert Image.open(label_map).mode == "P" and ids.shape == (64, 64) and ids.max() < NUM_PARTS
    shown = np.asarray(Image.open(first["background"]).convert("RGB"))
    assert shown.shape == (256, 256, 3)
    assert np.array_equal(shown[::4, ::4], PART_COLORS[ids])  # the editor shows the same layout


def test_render_an_uploaded_label_map(layout_client, tmp_path):
    Image.fromarray(car_layout(128).astype(np.uint8), mode="L").save(tmp_path / "ids.png")  # ids 0-5, 128 px
    shown, cars, label_map, note = layout_client.predict(editor(tmp_path / "ids.png"), 5, 3,
                                                         api_name="/layout_render")
    assert len(gallery_paths(cars)) == 3 and note == ""
    assert (ids_of(label_map) == car_layout(64)).mean() > 0.98
    again = layout_client.predict(editor(tmp_path / "ids.png"), 5, 3, api_name="/layout_render")[1]
    assert [ids_of(p).tolist() for p in gallery_paths(again)] == [ids_of(p).tolist() for p in gallery_paths(cars)]


def test_render_reports_snapped_colours(layout_client, tmp_path):
    colours = PART_COLORS[car_layout(64)].astype(int)
    colours[:2] = (200, 200, 200)  # 3% light grey: closest to background, but not a part colour
    Image.fromarray(colours.astype(np.uint8)).save(tmp_path / "grey.png")
    _, _, _, note = layout_client.predict(editor(tmp_path / "grey.png"), 0, 1, api_name="/layout_render")
    assert "3.1% of the pixels" in note


def test_sample_and_render_in_one_call(layout_client):
    layout, cars = layout_client.predict(7, 0.5, True, 8, 3, 2, 2, api_name="/layout_generate")
    assert Image.open(layout).size == (256, 256) and len(gallery_paths(cars)) == 2


@pytest.mark.parametrize("case,message", [
    ("wrong size", "at least 16 pixels"),
    ("unknown colours", "not part colours"),
    ("all background", "all background"),
    ("not an image", "not an image"),
    ("nothing", "No layout"),
])
def test_bad_layouts_get_a_clear_message(layout_client, tmp_path, case, message):
    path = tmp_path / "bad.png"
    if case == "wrong size":
        Image.fromarray(PART_COLORS[car_layout(64)][:10, :40]).save(path)
    elif case == "unknown colours":
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    elif case == "all background":
        Image.new("RGB", (64, 64), "white").save(path)
    elif case == "not an image":
        path.write_bytes(b"not a png at all" * 20)
    value = editor(path) if case != "nothing" else {"background": None, "layers": [], "composite": None}
    with pytest.raises(AppError, match=message):
        layout_client.predict(value, 0, 1, api_name="/layout_render")
    assert layout_client.predict(1, 0.8, False, 1, 4, api_name="/layout_sample")  # still serving


NO_STYLE = [False, "#1f5fbf", None]  # paint the body, its colour, example car: the defaults


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1, 1.5, "x"])
def test_bad_truncation_over_raw_http(layout_url, bad):
    event, payload = raw_call(layout_url, "layout_generate", [0, bad, False, 1, 4, 0, 1, *NO_STYLE])
    assert event == "error" and "Truncation" in payload, payload
    event, _ = raw_call(layout_url, "layout_generate", [0, 0.5, False, 1, 4, 0, 1, *NO_STYLE])
    assert event == "complete"


def test_bad_mixing_and_counts_over_raw_http(layout_url):
    for data, name in [([0, 0.5, True, 1, 99, 0, 1], "Mix from style layer"),
                       ([0, 0.5, True, -5, 2, 0, 1], "Second layout seed"),
                       ([0, 0.5, False, 1, 4, 0, 100], "Variations")]:
        event, payload = raw_call(layout_url, "layout_generate", data + NO_STYLE)
        assert event == "error" and name in payload, payload


EXAMPLE_CAR = Path(__file__).resolve().parents[2] / "examples" / "car1-stock1_side.png"


def test_an_example_car_styles_a_renderer_with_a_style_encoder(layout_client, tmp_path):
    """The 64-px renderer is not palette-conditioned but has SPADE's style encoder: an example car
    gives the style codes (its mean first, then draws around it with the style seed)."""
    Image.fromarray(car_layout(64).astype(np.uint8), mode="L").save(tmp_path / "ids.png")
    layout, example = editor(tmp_path / "ids.png"), handle_file(str(EXAMPLE_CAR))

    def cars(style_seed, picture=None):
        result = layout_client.predict(layout, style_seed, 3, False, "#1f5fbf", picture, api_name="/layout_render")
        return [ids_of(p).tolist() for p in gallery_paths(result[1])]

    styled, seeded = cars(5, example), cars(5)
    assert styled[0] != seeded[0] and styled == cars(5, example)  # reproducible
    assert len({str(c) for c in styled}) == 3  # variations around the example, not copies
    other_seed = cars(6, example)
    assert other_seed[0] == styled[0] and other_seed[1] != styled[1]  # the mean code is the seed's own
    assert "style of the example car" in layout_client.predict(layout, 5, 1, False, "#1f5fbf", example,
                                                              api_name="/layout_render")[1][0]["caption"]


def test_a_renderer_without_a_palette_refuses_a_paint_colour(layout_client, layout_url):
    with pytest.raises(AppError, match="takes no paint colour"):
        layout_client.predict(1, 0.8, False, 1, 4, 0, 1, True, "#1e3cd2", None, api_name="/layout_generate")
    event, payload = raw_call(layout_url, "layout_generate", [0, 0.5, False, 1, 4, 0, 1, True, "#12345g", None])
    assert event == "error" and "takes no paint colour" in payload, payload
    assert layout_client.predict(1, 0.8, False, 1, 4, api_name="/layout_sample")  # still serving
