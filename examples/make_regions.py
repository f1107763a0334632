"""Write the region-edit tab's examples: four held-out renders (cars never seen in training) at
256 px with a brushed region each, as an ImageEditor background and a transparent mask layer.

    python -m examples.make_regions --renders data/seg128-test

Renders and part maps come from `carstudio.data.render` (data/seg128-test: car1-stock2, evo_*,
car7-trb1, none of them in the RoI-GAN training set data/cars64_everyday).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from carstudio.data.parts import GLASS, WHEEL

SIZE = 256
OUT = Path(__file__).resolve().parent / "regions"
BRUSH = (255, 255, 255)


def part_region(parts: np.ndarray, part: int, grow: int) -> np.ndarray:
    """The pixels of one part, grown by `grow` px so the brushed region covers its edge."""
    region = (parts == part).astype(np.uint8)
    return cv2.dilate(region, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)) > 0


def rectangle(shape: tuple[int, int], top: float, left: float, bottom: float, right: float) -> np.ndarray:
    mask = np.zeros(shape, bool)
    h, w = shape
    mask[int(top * h):int(bottom * h), int(left * w):int(right * w)] = True
    return mask


def ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    y, x = np.mgrid[:shape[0], :shape[1]] / np.array(shape, float)[:, None, None]
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1


# (name, render index, region of the 256 px image as a function of the part map)
EXAMPLES = [
    ("wheels", 23, lambda parts: part_region(parts, WHEEL, 6)),
    ("windows", 20, lambda parts: part_region(parts, GLASS, 4)),
    ("front", 39, lambda parts: rectangle(parts.shape, 0.42, 0.55, 0.72, 0.92)),
    ("door", 3, lambda parts: ellipse(parts.shape, 0.5, 0.5, 0.12, 0.16)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=Path, default=Path("data/seg128-test"))
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    for name, index, region in EXAMPLES:
        image = Image.open(args.renders / "images" / f"{index:06d}.png").convert("RGB").resize((SIZE, SIZE), Image.BICUBIC)
        parts = np.asarray(Image.open(args.renders / "parts" / f"{index:06d}.png").resize((SIZE, SIZE), Image.NEAREST))
        mask = region(parts)
        layer = np.zeros((SIZE, SIZE, 4), np.uint8)
        layer[mask] = (*BRUSH, 255)
        image.save(OUT / f"{name}.png")
        Image.fromarray(layer, "RGBA").save(OUT / f"{name}_mask.png")
        print(f"{name}: render {index}, {mask.mean():.1%} of the image brushed")


if __name__ == "__main__":
    main()
