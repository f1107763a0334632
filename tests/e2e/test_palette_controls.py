"""The paint colour and "style from an example car" controls (issue 19) through gradio_client, on
palette-conditioned generators: the sketch tab (the shipped sketch segmenter + a tiny palette
SSGAN) and the layout tab (a tiny 16-px layout StyleGAN + a tiny 32-px palette SPADE renderer, so
layouts also take the logits-upsampling path). A random palette generator does not paint with its
palette, so each tiny generator is first taught to (pixel L1 to the paint of random part layouts,
a few seconds); its bank of style-seed palettes holds warm bodies only, far from the colours the
tests ask for, so "moves toward the chosen colour" can fail. Tiny widths are >= 8 (4-channel convs
in channels_last crash torch on this CPU)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from carstudio.data.palette import paint
from carstudio.evaluate.browser_sketches import OUTLINES, draw_on_sketchpad
from carstudio.data.parts import BACKGROUND, BODY, GLASS, NUM_PARTS, PART_COLORS, WHEEL
from carstudio.hub import WEIGHTS_DIR, LazyModel
from carstudio.models.ssgan import SPADEGenerator, SSGANGenerator, one_hot_masks
from carstudio.models.stylegan import StyleGANGenerator
from carstudio.pipelines.layout import LayoutToCarPipeline
from carstudio.pipelines.palettes import car_parts
from carstudio.pipelines.sketch import SEGMENTER_WEIGHTS, SketchToCarPipeline, load_sketch_segmenter
from spaces import layout as layout_tab
from spaces import sketch as sketch_tab
from spaces.common import DESIGNS
from spaces.studio import Studio
from tests.e2e.conftest import gallery_paths, raw_call, serve_tab, tab_client
from tests.e2e.test_browser import no_error_and_screenshot, page, wait_for_images  # noqa: F401  (page: a fixture)
from tests.e2e.test_layout_api import car_layout, editor
from tests.e2e.test_layout_api import tiny_pipeline as tiny_encoder_pipeline
from tests.e2e.test_sketch_api import sketch_value, stroke_layer

pytestmark = pytest.mark.skipif(not all((WEIGHTS_DIR / n).is_dir() for n in (SEGMENTER_WEIGHTS, "segmenter-128")),
                                reason="the sketch segmenter and the part segmenter (example cars) are not installed")

R = 32  # the tiny generators' resolution
EXAMPLE_CAR = Path(__file__).resolve().parents[2] / "examples" / "car1-stock1_side.png"
BLUE, GREEN, TEAL = (30, 60, 210), (40, 200, 60), (20, 170, 170)


def random_layouts(count: int, size: int, g: torch.Generator) -> torch.Tensor:
    """(count, size, size) part ids: a body box with glass above and two wheels, placed at random."""
    parts = torch.full((count, size, size), BACKGROUND)
    for i in range(count):
        def at(low: float, high: float) -> int:
            return int(torch.randint(int(low * size), int(high * size) + 1, (1,), generator=g))

        top, bottom, left, right = at(0.2, 0.45), at(0.55, 0.8), at(0.02, 0.25), at(0.75, 0.98)
        parts[i, top:bottom, left:right] = BODY
        parts[i, at(0.05, 0.3):top, left + (right - left) // 4:right - (right - left) // 4] = GLASS
        for cx in (left + (right - left) // 5, right - (right - left) // 5):
            parts[i, bottom - size // 10:bottom + size // 12, cx - size // 12:cx + size // 12] = WHEEL
    return parts


def warm_bank(size: int, g: torch.Generator) -> torch.Tensor:
    """Style-seed palettes whose bodies are reds, oranges and yellows (far from BLUE, GREEN, TEAL)."""
    bank = torch.rand(size, NUM_PARTS, 3, generator=g) * 2 - 1
    bank[:, BODY, 0] = 0.6 + 0.3 * torch.rand(size, generator=g)
    bank[:, BODY, 1] = -0.8 + 1.2 * torch.rand(size, generator=g)
    bank[:, BODY, 2] = -0.9 + 0.3 * torch.rand(size, generator=g)
    return bank


def taught_to_paint(generator, steps: int = 150, batch: int = 8):
    """The generator after `steps` of pixel L1 to the paint of random layouts and palettes."""
    g = torch.Generator().manual_seed(0)
    generator.palette.bank.copy_(warm_bank(generator.palette.bank.shape[0], g))
    optimizer = torch.optim.Adam(generator.parameters(), lr=3e-3, betas=(0.5, 0.99))
    for _ in range(steps):
        masks = one_hot_masks(random_layouts(batch, R, g), NUM_PARTS)
        palettes = torch.rand(batch, NUM_PARTS, 3, generator=g) * 2 - 1
        out, _ = generator(masks, z=torch.randn(batch, generator.config.z_dim, generator=g), palettes=palettes)
        loss = (out - paint(masks, palettes)).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return generator.eval()


def sketch_pipeline() -> SketchToCarPipeline:
    torch.manual_seed(0)
    generator = SSGANGenerator(z_dim=8, widths=(16, 8, 8), resolution=R, sfm_channels=8, spade_hidden=8,
                               spectral_norm=False, palette_bank=16)
    return SketchToCarPipeline(load_sketch_segmenter(SEGMENTER_WEIGHTS), taught_to_paint(generator))


def layout_pipeline() -> LayoutToCarPipeline:
    torch.manual_seed(0)
    layouts = StyleGANGenerator(resolution=16, z_dim=8, w_dim=8, mapping_layers=2, widths=(8, 8, 8))
    renderer = SPADEGenerator(z_dim=8, widths=(16, 8, 8), resolution=R, spade_hidden=8, spectral_norm=False,
                              palette_bank=16)
    return LayoutToCarPipeline(layouts, taught_to_paint(renderer))


@pytest.fixture(scope="module")
def sketch_pipe() -> LazyModel:
    pipe = LazyModel(sketch_pipeline)
    pipe.get()
    return pipe


@pytest.fixture(scope="module")
def layout_pipe() -> LazyModel:
    pipe = LazyModel(layout_pipeline)
    pipe.get()
    return pipe


@pytest.fixture(scope="module")
def sketch_studio() -> Studio:
    return Studio()


@pytest.fixture(scope="module")
def sketch_url(sketch_pipe, sketch_studio):
    yield from serve_tab(sketch_tab.create_demo(sketch_pipe, sketch_studio))


@pytest.fixture(scope="module")
def layout_url(layout_pipe):
    yield from serve_tab(layout_tab.create_demo(layout_pipe))


@pytest.fixture
def sketch_client(sketch_url, tmp_path):
    yield from tab_client(sketch_url, tmp_path)


@pytest.fixture
def layout_client(layout_url, tmp_path):
    yield from tab_client(layout_url, tmp_path)


def rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.float64)


def body_colour(mask_path, car_path) -> np.ndarray:
    """Mean colour of the car's body pixels, through the part mask shown beside it (both 256 px),
    away from part borders (the cars are enlarged bicubically)."""
    body = (rgb(mask_path) == PART_COLORS[BODY]).all(-1)
    inner = body & np.roll(body, 4, 0) & np.roll(body, -4, 0) & np.roll(body, 4, 1) & np.roll(body, -4, 1)
    assert inner.mean() > 0.02, "the mask has (almost) no body"
    return rgb(car_path)[inner].mean(0)


def distance(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a, float) - np.asarray(b, float)))


def recoloured_example(path: Path) -> Path:
    """The example car with its body (as the part segmenter sees it) painted TEAL."""
    picture = Image.open(EXAMPLE_CAR).convert("RGB")
    pixels = np.asarray(picture).copy()
    pixels[car_parts(picture) == BODY] = TEAL
    Image.fromarray(pixels).save(path)
    return path


def sketch_cars(client, sketch, seed=3, paint_body=False, colour="#000000", example=None, variations=2):
    mask, _, cars = client.predict(sketch, variations, seed, False, paint_body, colour, example,
                                   api_name="/sketch_generate")
    return mask, gallery_paths(cars)


def test_the_paint_colour_paints_the_sketch_tabs_body(sketch_client, tmp_path):
    sketch = sketch_value(stroke_layer(tmp_path / "car.png"))
    mask, seeded = sketch_cars(sketch_client, sketch)
    _, blue = sketch_cars(sketch_client, sketch, paint_body=True, colour="#1e3cd2")
    _, green = sketch_cars(sketch_client, sketch, paint_body=True, colour="rgb(40, 200, 60)")
    for k in range(2):
        by_seed, by_blue, by_green = (body_colour(mask, cars[k]) for cars in (seeded, blue, green))
        assert distance(by_blue, BLUE) < 0.5 * distance(by_seed, BLUE), (by_seed, by_blue)
        assert distance(by_green, GREEN) < 0.5 * distance(by_seed, GREEN), (by_seed, by_green)
        assert distance(by_blue, BLUE) < 80 and distance(by_green, GREEN) < 80, (by_blue, by_green)
    again = sketch_cars(sketch_client, sketch, paint_body=True, colour="#1E3CD2")[1]
    assert np.array_equal(rgb(again[0]), rgb(blue[0]))  # seeded; the colour's case does not matter
    assert not np.array_equal(rgb(blue[0]), rgb(blue[1]))  # variations still differ (z)


def test_style_from_an_example_car_and_the_design_restores_with_it(sketch_client, sketch_studio, tmp_path):
    sketch = sketch_value(stroke_layer(tmp_path / "car.png"))
    example = handle_file(str(recoloured_example(tmp_path / "teal-car.png")))
    mask, seeded = sketch_cars(sketch_client, sketch, seed=5)
    _, styled = sketch_cars(sketch_client, sketch, seed=5, example=example)
    assert distance(body_colour(mask, styled[0]), TEAL) < 0.5 * distance(body_colour(mask, seeded[0]), TEAL)
    # the example's colours with the picker's body on top
    _, both = sketch_cars(sketch_client, sketch, seed=5, paint_body=True, colour="#1e3cd2", example=example)
    assert distance(body_colour(mask, both[0]), BLUE) < 0.5 * distance(body_colour(mask, styled[0]), BLUE)

    design = DESIGNS.list(sketch_client)[0]
    assert design.settings["body_colour"] == "#1e3cd2" and "example_car" in design.inputs
    restorer = sketch_studio.restorers["sketch_generate"]
    restored = {component.elem_id: value_of({**design.settings, **design.inputs})
                for component, value_of in restorer.controls if component.elem_id}
    assert restored["sketch-paint-body"] is True and restored["sketch-paint-colour"] == "#1e3cd2"
    drawn = {"background": None, "layers": [], "composite": handle_file(design.inputs["sketch"])}
    again = sketch_cars(sketch_client, drawn, seed=design.settings["style_seed"],
                        paint_body=True, colour=restored["sketch-paint-colour"],
                        example=handle_file(restored["sketch-example-car"]))[1]
    assert np.array_equal(rgb(again[0]), rgb(both[0]))  # the restored settings give the same car
    seed_only = DESIGNS.list(sketch_client)[-1]  # the first call of this session: the seed's paint
    assert seed_only.settings["body_colour"] is None and "example_car" not in seed_only.inputs
    values = {**seed_only.settings, **seed_only.inputs}
    restored = {}
    for component, value_of in restorer.controls:
        try:
            restored[component.elem_id] = value_of(values)
        except KeyError:
            pass
    assert restored["sketch-paint-body"] is False and restored["sketch-example-car"] is None
    assert "sketch-paint-colour" not in restored  # the picker keeps whatever it shows


BAD_COLOURS = ["#12345g", "rgb(300,0,0)", "rgb(nan, 0, 0)", "", "blue", "#1234567", None, 7]


@pytest.mark.parametrize("colour", BAD_COLOURS)
def test_bad_paint_colours_get_a_clear_error_and_the_app_keeps_serving(sketch_client, sketch_url, tmp_path,
                                                                       colour):
    sketch = sketch_value(stroke_layer(tmp_path / "car.png"))
    with pytest.raises(AppError, match="Body colour"):
        sketch_client.predict(sketch, 1, 0, False, True, colour, None, api_name="/sketch_generate")
    assert len(sketch_cars(sketch_client, sketch, variations=1)[1]) == 1


@pytest.mark.parametrize("bad", [math.nan, math.inf, "yes", 2])
def test_odd_paint_switches_over_raw_http_get_clear_errors(sketch_url, bad):
    empty = {"background": None, "layers": [], "composite": None}
    event, message = raw_call(sketch_url, "sketch_generate", [empty, 1, 0, False, bad, "#1e3cd2", None])
    assert event == "error" and "Paint the body" in message, message


@pytest.mark.parametrize("case,message", [("not an image", "not an image"), ("blank", "blank")])
def test_bad_example_cars_get_a_clear_error(sketch_client, tmp_path, case, message):
    path = tmp_path / "example.png"
    if case == "not an image":
        path.write_bytes(b"not a picture" * 40)
    else:
        Image.new("RGB", (200, 120), (240, 240, 240)).save(path)
    sketch = sketch_value(stroke_layer(tmp_path / "car.png"))
    with pytest.raises(AppError, match=message):
        sketch_cars(sketch_client, sketch, example=handle_file(str(path)))
    assert len(sketch_cars(sketch_client, sketch, variations=1)[1]) == 1


def test_the_controls_show_for_palette_models_only(sketch_pipe, layout_pipe):
    """(style group, paint colour, example car) visible, from the page's load event."""
    def on_load(demo):
        (load,) = [f for f in demo.fns.values() if f.name == "visibility"]
        return load.fn()

    def visible(demo):
        return [update["visible"] for update in on_load(demo)]

    assert visible(sketch_tab.create_demo(sketch_pipe)) == [True, True, True]
    assert visible(layout_tab.create_demo(layout_pipe)) == [True, True, True]
    non_palette = SketchToCarPipeline(sketch_pipe.get().segmenter,
                                      SSGANGenerator(z_dim=8, widths=(16, 8, 8), resolution=R, sfm_channels=8,
                                                     spade_hidden=8))
    assert visible(sketch_tab.create_demo(LazyModel(lambda: non_palette))) == [False, False, False]
    # a renderer with a style encoder and no palette (the shipped 64-px one): an example car only, closed
    group, colour, example = on_load(layout_tab.create_demo(LazyModel(tiny_encoder_pipeline)))
    assert (group["visible"], colour["visible"], example["visible"]) == (True, False, True) and not group["open"]


def layout_cars(client, seed=2, paint_body=False, colour="#000000", example=None, path=None):
    shown, cars, _, _ = client.predict(editor(path), seed, 2, paint_body, colour, example, api_name="/layout_render")
    return shown, gallery_paths(cars)


def test_the_layout_tab_paints_its_body_and_takes_an_example_cars_palette(layout_client, tmp_path):
    Image.fromarray(PART_COLORS[car_layout(64)]).save(tmp_path / "layout.png")
    path = tmp_path / "layout.png"
    shown, seeded = layout_cars(layout_client, path=path)
    assert Image.open(seeded[0]).size == (256, 256)
    _, blue = layout_cars(layout_client, paint_body=True, colour="#1e3cd2", path=path)
    example = handle_file(str(recoloured_example(tmp_path / "teal-car.png")))
    _, teal = layout_cars(layout_client, example=example, path=path)
    for k in range(2):
        by_seed = body_colour(shown, seeded[k])
        assert distance(body_colour(shown, blue[k]), BLUE) < 0.5 * distance(by_seed, BLUE)
        assert distance(body_colour(shown, teal[k]), TEAL) < 0.5 * distance(by_seed, TEAL)
    design = DESIGNS.list(layout_client)[0]
    assert design.action == "layout_render" and design.settings["body_colour"] is None
    assert set(design.inputs) == {"layout", "example_car"}
    with pytest.raises(AppError, match="Body colour"):
        layout_cars(layout_client, paint_body=True, colour="rgb(0, 0, 256)", path=path)


def test_sample_and_render_at_the_renderers_resolution_with_a_colour(layout_client, layout_url):
    layout, cars = layout_client.predict(4, 0.8, False, 1, 4, 1, 2, True, "#1e3cd2", None,
                                         api_name="/layout_generate")
    assert len(gallery_paths(cars)) == 2
    assert DESIGNS.list(layout_client)[0].settings["body_colour"] == "#1e3cd2"
    sampled, label_map = layout_client.predict(4, 0.8, False, 1, 4, api_name="/layout_sample")
    assert np.asarray(Image.open(label_map)).shape == (R, R)  # 16-px layouts at the renderer's 32 px
    event, payload = raw_call(layout_url, "layout_generate", [4, 0.8, False, 1, 4, 1, 2, True, math.nan, None])
    assert event == "error" and "Body colour" in payload, payload


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
in_a_browser = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@in_a_browser
def test_in_the_browser_a_palette_model_shows_the_controls_and_paints_the_body(page, sketch_url):  # noqa: F811
    page.goto(sketch_url)
    page.locator("#sketch-paint-colour").wait_for(state="visible", timeout=30_000)
    assert page.locator("#sketch-example-car").is_visible()
    page.locator("#sketch-paint-body input[type=checkbox]").check()
    draw_on_sketchpad(page, OUTLINES["sedan"])
    page.locator("#sketch-generate").click()
    wait_for_images(page, "#sketch-results", 4)
    assert "body #1f5fbf" in page.locator("#sketch-results").inner_text()
    no_error_and_screenshot(page, "browser_palette_sketch.png")


@in_a_browser
@pytest.mark.skipif(not all((WEIGHTS_DIR / n).is_dir() for n in ("ssgan-64", "layout-stylegan-64", "layout-spade-64")),
                    reason="the shipped sketch and layout models are not installed")
def test_in_the_browser_the_shipped_models_show_only_what_they_take(page, app_url):  # noqa: F811
    """ssgan-64 takes neither control; layout-spade-64 has a style encoder: an example car only."""
    page.goto(app_url)
    page.get_by_role("tab", name="Layout to car (StyleGAN + SPADE)").click()
    style = page.locator("#layout-style")
    style.wait_for(state="visible", timeout=30_000)
    assert "Style from an example car" in style.inner_text()  # closed: a secondary control here
    style.get_by_text("Style from an example car").first.click()
    page.locator("#layout-example-car").wait_for(state="visible", timeout=10_000)
    assert not page.locator("#layout-paint-colour").is_visible()
    page.get_by_role("tab", name="Sketch to car (SSGAN)").click()
    page.locator("#sketch-sketchpad").wait_for(state="visible")
    assert not page.locator("#sketch-style").is_visible() and not page.locator("#sketch-paint-colour").is_visible()
    no_error_and_screenshot(page, "browser_palette_shipped.png")
