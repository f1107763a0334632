"""SinGAN inference: random samples and paint-to-image from one trained reference car."""

from __future__ import annotations

import weakref
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from carstudio.data.parts import BACKGROUND, WHEEL
from carstudio.hub import load_pretrained
from carstudio.imaging import kmeans_colors, pil_to_tensor, quantize_to, tensor_to_pil
from carstudio.models.singan import SinGANGenerator
from carstudio.pipelines.segmenter import SegmenterPipeline, paint, part_colors

PALETTE_SIZE = 8


class SinGANPipeline:
    """`pipe(seed=..)` samples from noise; `pipe(painting=img, inject_scale=n, seed=..)` turns a
    painting into a car of the reference's style. The painting is stretched to the reference
    frame; colours must follow the reference's (offer `palette`, or set quantize=True)."""

    def __init__(self, generator: SinGANGenerator):
        self.generator = generator.eval()
        reference = self.reference_image()
        pixels = np.asarray(reference, dtype=np.float32).reshape(-1, 3)
        self.palette = kmeans_colors(pixels, PALETTE_SIZE, seed=0).round().clip(0, 255).astype(np.uint8)

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path) -> "SinGANPipeline":
        path = Path(name_or_path)
        if path.is_dir():
            return cls(SinGANGenerator.from_pretrained(path))
        return cls(load_pretrained(SinGANGenerator, str(name_or_path)))

    @property
    def num_scales(self) -> int:
        return self.generator.num_scales

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the outputs."""
        return self.generator.sizes[-1]

    def reference_image(self) -> Image.Image:
        return tensor_to_pil(self.generator.reference)[0]

    def palette_hex(self) -> list[str]:
        return ["#%02x%02x%02x" % tuple(int(v) for v in c) for c in self.palette]

    def body_color_hex(self) -> str:
        """The most saturated palette colour: usually the car's paint, the brush's default."""
        rgb = self.palette.astype(np.float32)
        saturation = rgb.max(1) - rgb.min(1)
        return self.palette_hex()[int(saturation.argmax())]

    def prepare_painting(self, painting: Image.Image, quantize: bool) -> Image.Image:
        height, width = self.size
        painting = painting.convert("RGB").resize((width, height), Image.BILINEAR)
        if quantize:
            painting = Image.fromarray(quantize_to(np.asarray(painting), self.palette))
        return painting

    @torch.inference_mode()
    def __call__(
        self,
        num_images: int = 1,
        seed: int = 0,
        painting: Image.Image | None = None,
        inject_scale: int | None = None,
        quantize: bool = False,
        size_multiplier: tuple[float, float] = (1.0, 1.0),
        start_scale: int = 0,
    ) -> list[Image.Image]:
        """Without a painting: samples from noise (start_scale 0) or variations of the reference
        that keep its layout up to `start_scale` (the paper's gen_start_scale)."""
        generator = torch.Generator().manual_seed(seed)
        if painting is None:
            start = self.generator.reference if start_scale > 0 else None
            images = self.generator(num_images, generator, start_scale=start_scale, start_image=start,
                                    size_multiplier=size_multiplier)
            return tensor_to_pil(images)
        if inject_scale is None:
            inject_scale = max(1, self.num_scales // 2)
        start = pil_to_tensor(self.prepare_painting(painting, quantize))
        images = self.generator(num_images, generator, start_scale=inject_scale, start_image=start)
        return tensor_to_pil(images)


def car_box(parts: np.ndarray, min_fraction: float = 0.0) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the non-background pixels, or None when they are fewer than
    `min_fraction` of the map (or none at all)."""
    car = np.asarray(parts) != BACKGROUND
    if not car.any() or car.mean() < min_fraction:
        return None
    rows, cols = np.nonzero(car)
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def looks_like_a_car(parts: np.ndarray, min_car: float = 0.02, min_wheel: float = 0.002) -> bool:
    """The segmenter was trained on renders that always hold a car, so on an empty picture it
    still marks some "body"; a car also shows wheels, which empty pictures do not produce."""
    parts = np.asarray(parts)
    return (parts != BACKGROUND).mean() >= min_car and (parts == WHEEL).mean() >= min_wheel


def align_parts(parts: np.ndarray, reference_parts: np.ndarray, min_fraction: float = 0.02) -> np.ndarray:
    """Move and stretch the car of `parts` onto the reference car's box, in the reference frame,
    so a painting made from any photo lands where the SinGAN model expects the car (seed 000
    section 3.1 predicts the pose from the wheels; matching boxes is the robust version of that).
    Raises ValueError when either map holds no car (a few stray pixels, below `min_fraction` of
    the map, are not a car)."""
    source, target = car_box(parts, min_fraction), car_box(reference_parts, min_fraction)
    if source is None or target is None:
        raise ValueError("no car pixels in the part map")
    top, left, bottom, right = source
    crop = Image.fromarray(np.asarray(parts, dtype=np.uint8)[top:bottom, left:right])
    t_top, t_left, t_bottom, t_right = target
    fitted = np.asarray(crop.resize((t_right - t_left, t_bottom - t_top), Image.NEAREST))
    aligned = np.full(np.asarray(reference_parts).shape, BACKGROUND, dtype=np.uint8)
    aligned[t_top:t_bottom, t_left:t_right] = fitted
    return aligned


class NoCarFound(ValueError):
    pass


class AutomaticPainter:
    """Seed 000 section 3.1: segment the user's car, move it onto the reference car's place and
    paint each part in the reference's colour for that part."""

    def __init__(self, segmenter: SegmenterPipeline):
        self.segmenter = segmenter
        self._reference_parts: weakref.WeakKeyDictionary[SinGANPipeline, np.ndarray] = weakref.WeakKeyDictionary()

    def reference_parts(self, pipe: SinGANPipeline) -> np.ndarray:
        """The reference's part map, segmented once per model (the reference never changes)."""
        if pipe not in self._reference_parts:
            self._reference_parts[pipe] = self.segmenter(pipe.reference_image())
        return self._reference_parts[pipe]

    def reference_colors(self, pipe: SinGANPipeline) -> dict[int, tuple[int, int, int]]:
        return part_colors(pipe.reference_image(), self.reference_parts(pipe))

    def __call__(self, pipe: SinGANPipeline, photo: Image.Image) -> Image.Image:
        parts = self.segmenter(photo)
        if not looks_like_a_car(parts):
            raise NoCarFound("no car (body with wheels) in the picture")
        return paint(align_parts(parts, self.reference_parts(pipe)), self.reference_colors(pipe))
