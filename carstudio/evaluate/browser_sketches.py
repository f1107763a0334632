"""Draw car outlines on the sketch tab's Sketchpad in headless Chromium and save what the canvas
shows: example sketches that come from the browser's own brush, not from the renders.

    python -m carstudio.evaluate.browser_sketches --out examples/sketches

Needs the dev requirements (playwright) and Debian's chromium. The outlines are polylines in
fractions of the white paper, drawn with mouse strokes; the saved PNG is a screenshot of the
paper (the editor shows it at its zoom, so it is not the canvas's pixel size).
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
from pathlib import Path

from spaces.sketch import CANVAS_SIZE

Point = tuple[float, float]


def wheel(cx: float, cy: float, rx: float, ry: float, segments: int = 16) -> list[Point]:
    return [(cx + rx * math.cos(2 * math.pi * t / segments), cy + ry * math.sin(2 * math.pi * t / segments))
            for t in range(segments + 1)]


# name -> strokes; side views facing left, as most render cars in the side view do
OUTLINES: dict[str, list[list[Point]]] = {
    "sedan": [
        [(0.08, 0.68), (0.08, 0.52), (0.28, 0.46), (0.38, 0.3), (0.64, 0.3), (0.76, 0.45), (0.92, 0.5),
         (0.92, 0.68), (0.08, 0.68)],
        [(0.4, 0.33), (0.52, 0.33), (0.52, 0.45), (0.32, 0.46), (0.4, 0.33)],
        [(0.56, 0.33), (0.63, 0.33), (0.72, 0.45), (0.56, 0.45), (0.56, 0.33)],
        wheel(0.24, 0.7, 0.07, 0.11), wheel(0.76, 0.7, 0.07, 0.11),
    ],
    "hatchback": [
        [(0.12, 0.7), (0.12, 0.5), (0.3, 0.44), (0.42, 0.26), (0.8, 0.26), (0.88, 0.44), (0.88, 0.7),
         (0.12, 0.7)],
        [(0.44, 0.3), (0.78, 0.3), (0.84, 0.44), (0.34, 0.44), (0.44, 0.3)],
        wheel(0.27, 0.72, 0.07, 0.11), wheel(0.74, 0.72, 0.07, 0.11),
    ],
    "coupe": [
        [(0.05, 0.66), (0.06, 0.55), (0.35, 0.5), (0.5, 0.36), (0.7, 0.36), (0.95, 0.5), (0.95, 0.66),
         (0.05, 0.66)],
        [(0.52, 0.39), (0.68, 0.39), (0.82, 0.49), (0.42, 0.5), (0.52, 0.39)],
        wheel(0.22, 0.67, 0.07, 0.1), wheel(0.8, 0.67, 0.07, 0.1),
        [(0.06, 0.56), (0.1, 0.56)],
    ],
    "van": [
        [(0.1, 0.74), (0.1, 0.45), (0.22, 0.4), (0.3, 0.18), (0.9, 0.18), (0.9, 0.74), (0.1, 0.74)],
        [(0.32, 0.22), (0.55, 0.22), (0.55, 0.4), (0.25, 0.4), (0.32, 0.22)],
        [(0.6, 0.22), (0.86, 0.22), (0.86, 0.4), (0.6, 0.4), (0.6, 0.22)],
        wheel(0.25, 0.76, 0.07, 0.11), wheel(0.75, 0.76, 0.07, 0.11),
    ],
}

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def paper_box(pad, canvas_size: tuple[int, int]) -> dict[str, float]:
    """Page box of the drawing paper: the editor's canvas element also spans the tool bar and
    the layer menu (a stroke there clicks a tool), and shows the paper centred at the zoom it
    prints (e.g. "90%")."""
    zoom = float(pad.get_by_text(re.compile(r"^\d+%$")).first.inner_text().rstrip("%")) / 100
    box = pad.locator("canvas").first.bounding_box()
    width, height = canvas_size[0] * zoom, canvas_size[1] * zoom
    return {"x": box["x"] + (box["width"] - width) / 2, "y": box["y"] + (box["height"] - height) / 2,
            "width": width, "height": height}


def draw(page, box: dict[str, float], strokes: list[list[Point]]) -> None:
    for stroke in strokes:
        points = [(box["x"] + box["width"] * x, box["y"] + box["height"] * y) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=3)
        page.mouse.up()


def draw_on_sketchpad(page, strokes: list[list[Point]], canvas_size: tuple[int, int] = CANVAS_SIZE) -> dict[str, float]:
    """On an open page showing the sketch tab: pick the brush, draw, return the paper's box."""
    pad = page.locator("#sketch-sketchpad")
    pad.wait_for()
    page.wait_for_timeout(500)
    brush = pad.locator('button[aria-label="Brush"]')
    if brush.count():
        brush.first.click()
    box = paper_box(pad, canvas_size)
    draw(page, box, strokes)
    return box


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from spaces.sketch import create_demo  # loads the models: only when drawing examples

    demo = create_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
    args.out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            for name, strokes in OUTLINES.items():
                page.goto(url)
                box = draw_on_sketchpad(page, strokes)
                page.wait_for_timeout(300)
                page.screenshot(path=str(args.out / f"{name}.png"), clip=box)
                print(args.out / f"{name}.png")
            browser.close()
    finally:
        demo.close()


if __name__ == "__main__":
    main()
