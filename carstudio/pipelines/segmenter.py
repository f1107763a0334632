"""Part segmentation of car images, and SinGAN's automatic painting built on it (seed 000 §3.1):
segment the reference car, learn each part's colour, paint the user's car's part map with them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from carstudio.data.parts import BACKGROUND, BODY, GLASS, LIGHTS, NUM_PARTS, OTHER, WHEEL
from carstudio.hub import load_pretrained
from carstudio.imaging import pil_to_tensor
from carstudio.models.segmenter import PartSegmenter

DEFAULT_WEIGHTS = "segmenter-128"

RGB = tuple[int, int, int]

# Colours for parts the reference car does not show (e.g. no lights in a side view).
# "other" (bumpers, mirrors, trim) and a missing body derive from what is known, see fallback_colors.
FALLBACK_COLORS: dict[int, RGB] = {
    BACKGROUND: (235, 235, 235),  # the renders' light-grey backdrop
    BODY: (150, 150, 155),
    GLASS: (45, 55, 70),
    WHEEL: (30, 30, 30),
    LIGHTS: (235, 230, 210),
    OTHER: (70, 70, 72),
}


class SegmenterPipeline:
    """`pipe(image)` -> HxW part ids at the image's own size (ids from carstudio.data.parts)."""

    def __init__(self, model: PartSegmenter):
        self.model = model.eval()

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path = DEFAULT_WEIGHTS) -> "SegmenterPipeline":
        path = Path(name_or_path)
        if path.is_dir():
            return cls(PartSegmenter.from_pretrained(path))
        return cls(load_pretrained(PartSegmenter, str(name_or_path)))

    @property
    def resolution(self) -> int:
        return int(self.model.config.resolution)

    def prepare(self, image: Image.Image) -> tuple[torch.Tensor, tuple[int, int]]:
        """Resize so the longer side is the training resolution (the car then appears at the
        scale the model learnt), pad edges to a multiple of 2**depth. Returns the (1, 3, H', W')
        tensor and the unpadded (h, w) inside it."""
        image = image.convert("RGB")
        scale = self.resolution / max(image.size)
        w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
        x = pil_to_tensor(image.resize((w, h), Image.BICUBIC if scale > 1 else Image.LANCZOS))
        step = 2**self.model.depth
        pad_h, pad_w = -h % step, -w % step
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        return x, (h, w)

    @torch.inference_mode()
    def logits(self, image: Image.Image) -> torch.Tensor:
        """(1, NUM_PARTS, H, W) logits at the input's size (bilinear upsampling)."""
        param = next(self.model.parameters())
        x, (h, w) = self.prepare(image)
        out = self.model(x.to(param))[..., :h, :w].float()
        return F.interpolate(out, size=(image.height, image.width), mode="bilinear", align_corners=False)

    def __call__(self, image: Image.Image) -> np.ndarray:
        return self.logits(image)[0].argmax(0).to(torch.uint8).cpu().numpy()

    def automatic_painting(self, reference: Image.Image, car: Image.Image) -> Image.Image:
        """Paint `car`'s part map with the colours of `reference`'s parts (seed 000 §3.1)."""
        colors = part_colors(reference, self(reference))
        return paint(self(car), colors)


def part_colors(image: Image.Image, parts: np.ndarray, statistic: str = "median", min_pixels: int = 4) -> dict[int, RGB]:
    """Colour of each part present in `parts` (HxW ids, the image's size) with at least
    `min_pixels` pixels. The median ignores highlights and stray pixels at part borders."""
    rgb = np.asarray(image.convert("RGB"))
    parts = np.asarray(parts)
    if parts.shape != rgb.shape[:2]:
        raise ValueError(f"part map {parts.shape} and image {rgb.shape[:2]} differ in size")
    reduce = {"median": np.median, "mean": np.mean}[statistic]
    colors: dict[int, RGB] = {}
    for part in np.unique(parts):
        pixels = rgb[parts == part]
        if len(pixels) >= min_pixels:
            colors[int(part)] = tuple(int(round(v)) for v in reduce(pixels, axis=0))
    return colors


def fallback_colors(colors: dict[int, RGB]) -> dict[int, RGB]:
    """A colour for every part: the given ones, else a darker body for "other" (trim and bumpers
    usually follow the body), else the fixed defaults."""
    full = dict(FALLBACK_COLORS)
    if BODY in colors:
        full[OTHER] = tuple(int(c * 0.55) for c in colors[BODY])
    full.update(colors)
    return full


def paint(parts: np.ndarray, colors: dict[int, RGB]) -> Image.Image:
    """HxW part ids -> RGB painting, each part flat in its colour (missing ones: fallback_colors)."""
    parts = np.asarray(parts)
    if parts.ndim != 2:
        raise ValueError(f"expected an HxW part map, got shape {parts.shape}")
    if parts.size and (parts.min() < 0 or parts.max() >= NUM_PARTS):
        raise ValueError(f"part ids must lie in [0, {NUM_PARTS - 1}]")
    full = fallback_colors(colors)
    table = np.array([full[i] for i in range(NUM_PARTS)], dtype=np.uint8)
    return Image.fromarray(table[parts.astype(np.intp)])
