"""A person's path in headless Chromium: open the app, paint on the SinGAN tab or draw on the sketch
tab, edit a layout, brush a region to regenerate, blend two cars; get cars back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from carstudio.evaluate.browser_sketches import OUTLINES, draw_on_sketchpad
from carstudio.hub import WEIGHTS_DIR
from carstudio.pipelines.sketch import GENERATOR_WEIGHTS, SEGMENTER_WEIGHTS
from spaces.singan import shipped_models
from tests.e2e.test_layout_api import layout_url  # noqa: F401  (fixture: the layout tab on tiny models)
from tests.e2e.test_blend_api import blend_url  # noqa: F401  (fixture: the blend tab on tiny models)
from tests.e2e.test_region_api import region_url  # noqa: F401  (fixture: the region tab on a tiny model)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def brush_stroke(page, editor, x: float, y: float, length: float, steps: int = 4) -> None:
    """Pick the editor's brush and drag a horizontal stroke; x, y, length are fractions of its canvas."""
    editor.locator('button[aria-label="Brush"]').first.click()
    box = editor.locator("canvas").first.bounding_box()
    start_x, start_y = box["x"] + box["width"] * x, box["y"] + box["height"] * y
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x + box["width"] * length, start_y, steps=steps)
    page.mouse.up()


def wait_for_images(page, selector: str, count: int) -> None:
    """Until `count` images under `selector` have arrived and decoded."""
    page.wait_for_function(f"""() => {{ const imgs = document.querySelectorAll('{selector} img');
        return imgs.length >= {count} && [...imgs].every(i => i.complete && i.naturalWidth > 0); }}""",
                           timeout=60_000)


def no_error_and_screenshot(page, name: str) -> None:
    assert page.locator(".toast-body.error").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.fixture(scope="module")
def page():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        yield page
        browser.close()


@pytest.mark.skipif(not shipped_models(), reason="no SinGAN weights under weights/singan-*")
def test_paint_on_the_sketchpad_and_get_cars(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="SinGAN paint-to-car").click()
    pad = page.locator("#singan-sketchpad")
    pad.wait_for()
    page.wait_for_timeout(1500)  # the starter painting loads into the canvas
    brush_stroke(page, pad, 0.3, 0.5, 0.3, steps=3)
    page.locator("#singan-paint").click()
    wait_for_images(page, "#singan-results", 1)
    no_error_and_screenshot(page, "browser_singan.png")


@pytest.mark.skipif(not all((WEIGHTS_DIR / n).is_dir() for n in (SEGMENTER_WEIGHTS, GENERATOR_WEIGHTS)),
                    reason="sketch-to-car weights are not installed")
def test_draw_a_car_outline_and_get_cars(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Sketch to car (SSGAN)").click()
    draw_on_sketchpad(page, OUTLINES["sedan"])
    page.locator("#sketch-generate").click()
    wait_for_images(page, "#sketch-results", 4)  # the default is 4 variations
    no_error_and_screenshot(page, "browser_sketch.png")


def test_edit_a_layout_and_render_it(page, layout_url):
    """The layout tab (alone, on tiny random models): a layout is sampled on load, a stroke in a
    part colour is painted on it, the edited layout is rendered; an erased (all-background) layout
    gets the clear message in the page."""
    page.goto(layout_url)
    editor = page.locator("#layout-editor")
    editor.wait_for()
    # the load event sends the sampled layout to the editor and its label map file together: wait
    # for the file's link (a fixed wait was too short on a loaded machine), then for the canvas
    page.wait_for_function("() => document.querySelector('#layout-label-map a[href]') !== null", timeout=60_000)
    page.wait_for_timeout(1000)
    brush_stroke(page, editor, 0.2, 0.15, 0.5)
    page.locator("#layout-render").click()
    wait_for_images(page, "#layout-results", 4)
    no_error_and_screenshot(page, "browser_layout.png")


def test_brush_a_region_and_regenerate_it(page, region_url):
    """The region tab (alone, on a tiny random RoI-GAN): regenerating with no image gets the clear
    message in the page; an example car (with its region) plus one more brush stroke gives the
    RoI-GAN and Telea results."""
    page.goto(region_url)
    page.locator("#region-editor").wait_for()
    page.locator("#region-edit").click()
    page.locator(".toast-body.error").first.wait_for(timeout=30_000)
    assert "Upload or choose a car image" in page.locator(".toast-body.error").first.inner_text()
    page.locator(".toast-body.error").first.locator("..").locator("button").first.click()  # dismiss
    page.locator(".gallery-item").first.click()  # the first example: a car with its region
    page.wait_for_timeout(2000)  # the example's image and mask load into the canvas
    brush_stroke(page, page.locator("#region-editor"), 0.3, 0.3, 0.2)
    page.locator("#region-edit").click()
    wait_for_images(page, "#region-roigan", 1)
    no_error_and_screenshot(page, "browser_region.png")


def test_blend_two_cars_and_show_the_strip(page, blend_url):
    """The blend tab (alone, on tiny random models): both cars and their blend appear on load, a new
    everyday seed re-blends, a picked example car is encoded and re-blends, the strip shows its 8
    frames."""
    page.goto(blend_url)
    wait_for_images(page, "#blend-result", 1)
    page.locator("#blend-everyday-sample").click()
    wait_for_images(page, "#blend-result", 1)
    before = page.locator("#blend-result img").get_attribute("src")
    page.locator(".gallery-item").first.click()  # the everyday column's first example
    page.wait_for_timeout(1000)
    page.locator("#blend-everyday-encode").click()
    page.wait_for_function(f"""() => {{ const img = document.querySelector('#blend-result img');
        return img && img.complete && img.naturalWidth > 0 && img.getAttribute('src') !== {before!r}; }}""",
                           timeout=60_000)
    page.get_by_role("button", name="Show the strip (α from 1 to 0)").click()
    wait_for_images(page, "#blend-strip", 8)
    assert "the usual gap between training cars" in page.locator("#blend-novelty").inner_text()
    no_error_and_screenshot(page, "browser_blend.png")


def image_pixels(page, selector: str):
    """The pixels of the image shown under `selector`, fetched as the browser got it."""
    import io

    import numpy as np
    from PIL import Image

    src = page.locator(f"{selector} img").first.get_attribute("src")
    return np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"))


@pytest.mark.skipif(not all((WEIGHTS_DIR / n).is_dir() for n in (SEGMENTER_WEIGHTS, GENERATOR_WEIGHTS, "roigan-64",
                                                                   "sngan-futuristic-64", "encoder-futuristic-64")),
                    reason="the studio chain needs the sketch, region and blend weights")
def test_carry_a_car_from_sketch_to_region_edit_to_blend_and_restore_a_design(page, app_url):
    """The whole app: draw a car, send the first one to Region edit, brush and regenerate a region, send
    the result to the blend's everyday car (encoded and re-blended at once); then the Designs tab lists
    the three results and restoring the region edit's settings regenerates the same picture."""
    import numpy as np

    page.goto(app_url)
    page.get_by_role("tab", name="Sketch to car (SSGAN)").click()
    draw_on_sketchpad(page, OUTLINES["sedan"])
    page.locator("#sketch-generate").click()
    wait_for_images(page, "#sketch-results", 4)
    page.locator("#sketch-results-to-region").click()
    editor = page.locator("#region-editor")
    editor.wait_for(state="visible")
    page.wait_for_function("""() => [...document.querySelectorAll('#region-editor canvas')].length > 0""")
    page.wait_for_timeout(2000)  # the sent car loads into the canvas
    brush_stroke(page, editor, 0.35, 0.5, 0.3)
    page.locator("#region-edit").click()
    wait_for_images(page, "#region-roigan", 1)
    edited = image_pixels(page, "#region-roigan")
    no_error_and_screenshot(page, "browser_studio_region.png")

    page.locator("#region-roigan-to-blend_everyday").click()
    # the blend tab opens with the car in its everyday column, encoded and blended (a blend design appears)
    wait_for_images(page, "#blend-everyday-car", 1)
    wait_for_images(page, "#blend-result", 1)
    page.wait_for_function("""() => document.querySelector('#blend-novelty').innerText.includes('training')""",
                           timeout=60_000)
    no_error_and_screenshot(page, "browser_studio_blend.png")

    page.get_by_role("tab", name="Designs").click()
    wait_for_images(page, "#designs-gallery", 3)
    captions = page.locator("#designs-gallery").inner_text()
    assert captions.index("blend:") < captions.index("region:") < captions.index("sketch:"), captions
    page.locator("#designs-gallery .thumbnail-item").nth(1).click()  # newest first: blend, region edit, sketch
    page.wait_for_function("""() => document.querySelector('#designs-settings').innerText.includes('region_edit')""",
                           timeout=30_000)
    no_error_and_screenshot(page, "browser_studio_designs.png")
    page.locator("#designs-restore").click()
    editor.wait_for(state="visible")
    page.wait_for_timeout(2000)  # the design's car and region load into the editor
    page.locator("#region-edit").click()
    page.wait_for_function("""() => { const img = document.querySelector('#region-roigan img');
        return img && img.complete && img.naturalWidth > 0; }""", timeout=60_000)
    page.wait_for_timeout(1500)
    again = image_pixels(page, "#region-roigan")
    no_error_and_screenshot(page, "browser_studio_restored.png")
    assert again.shape == edited.shape and np.array_equal(again, edited)
