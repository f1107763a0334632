"""Attributes of a render that a classifier can learn without any human labels: which car,
from which side, in which paint, on which background.

They are the targets of the evaluation network (carstudio.models.evalnet), whose features
define the project's independent quality metrics (FD-ind, KID, precision/recall). The car and
background come from the manifest; the view from the camera azimuth; the paint class from the
render's own body pixels (the manifest's hue shift says nothing about the livery it turns).
"""

from __future__ import annotations

import colorsys

import numpy as np

from carstudio.data.cars import CATALOGUE
from carstudio.data.parts import BODY

CAR_CLASSES: tuple[str, ...] = tuple(entry.name for entry in CATALOGUE)
VIEW_BINS = 8  # 45-degree sectors centred on front (0), front-left (45), left side (90), ...
VIEW_CLASSES: tuple[str, ...] = tuple(f"azimuth {45 * i:03d}" for i in range(VIEW_BINS))
BACKGROUND_CLASSES: tuple[str, ...] = ("plain", "gradient", "ground")
HUE_BINS = 8
PAINT_CLASSES: tuple[str, ...] = ("black", "grey", "white", *(f"hue {45 * i:03d}" for i in range(HUE_BINS)))

# Head name -> class names, in the order of the network's heads.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "car": CAR_CLASSES,
    "view": VIEW_CLASSES,
    "paint": PAINT_CLASSES,
    "background": BACKGROUND_CLASSES,
}

# Below this HSV value a body reads as black, below this saturation as grey/white.
_DARK_VALUE, _GREY_SATURATION, _WHITE_VALUE = 0.22, 0.22, 0.72


def view_class(azimuth: float) -> int:
    """Azimuth in degrees (0 = front, 90 = left side) -> the nearest of 8 sectors."""
    return int(((float(azimuth) + 180.0 / VIEW_BINS) % 360.0) // (360.0 / VIEW_BINS))


def body_colour(image: np.ndarray, parts: np.ndarray) -> np.ndarray | None:
    """Median RGB (0..1) of the body pixels of an HxWx3 uint8 render, None without body pixels."""
    body = np.asarray(image)[np.asarray(parts) == BODY]
    if len(body) == 0:
        return None
    return np.median(body.astype(np.float64), axis=0) / 255.0


def paint_class(rgb: np.ndarray | None) -> int:
    """A body colour -> black, grey, white or one of 8 hue sectors (centred on 0, 45, ... deg)."""
    if rgb is None:
        return PAINT_CLASSES.index("grey")
    h, s, v = colorsys.rgb_to_hsv(*(float(c) for c in rgb))
    if v < _DARK_VALUE:
        return PAINT_CLASSES.index("black")
    if s < _GREY_SATURATION:
        return PAINT_CLASSES.index("white" if v >= _WHITE_VALUE else "grey")
    return 3 + int(((h * 360.0 + 180.0 / HUE_BINS) % 360.0) // (360.0 / HUE_BINS))


def render_attributes(record: dict, image: np.ndarray, parts: np.ndarray) -> dict[str, int]:
    """A manifest record with its render's image and part map -> one class index per head."""
    return {
        "car": CAR_CLASSES.index(record["car"]),
        "view": view_class(record["camera"]["azimuth"]),
        "paint": paint_class(body_colour(image, parts)),
        "background": BACKGROUND_CLASSES.index(record["background"]["kind"]),
    }


def load_attribute_renders(root, size: int | None = None):
    """A render folder -> (images (N, 3, H, W) uint8, {head: (N,) int64 labels}, the manifest
    records). `size` resizes square renders (bicubic) after the labels are read at full size."""
    import json
    from pathlib import Path

    import torch
    from PIL import Image

    root = Path(root)
    records = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines() if line.strip()]
    records.sort(key=lambda r: r["index"])
    images, labels = [], {name: [] for name in ATTRIBUTES}
    for record in records:
        image = Image.open(root / "images" / record["file"]).convert("RGB")
        parts = np.asarray(Image.open(root / "parts" / record["file"]))
        for name, value in render_attributes(record, np.asarray(image), parts).items():
            labels[name].append(value)
        if size is not None and image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BICUBIC)
        images.append(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1))
    return (torch.stack(images), {k: torch.tensor(v, dtype=torch.int64) for k, v in labels.items()}, records)
