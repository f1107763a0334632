"""Sketch to car (seed 004): line sketch -> semantic part mask M0 -> car images.

Two stages, each a shipped model: the sketch segmenter (a 1-channel `PartSegmenter`, section 3.2)
and the SSGAN generator (SPADE layers + Semantic Fusion Module, sections 3.2-3.3; or the plain
SPADE/GauGAN baseline, which shares the interface). The latent z, drawn from the seed, sets the
style (paint, lighting, background); the mask sets the layout.

A user's sketch arrives as "ink" (uint8 HxW, 255 = full ink, any canvas size and stroke colour:
see `carstudio.inputs.sketch_strokes`). It is cropped to its ink and centred with the margin the
render sketches have (the car spans ~86% of the frame in them), shrunk to the model's resolution
and binarised, because the segmenter learned on crisp one-pixel lines.

Palette-conditioned generators (issue 19, `palette_bank > 0` in their config) are also styled by a
palette, one colour per part: by default the style seed draws it from the training palettes the
model stores; `palettes=` gives it (e.g. `palette_of` an example car), `body_colour=` sets the
body's entry (the paint colour picker). The seed's generators take neither (asking is an error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from carstudio.data.parts import colorize
from carstudio.hub import load_model, load_pretrained, model_dir
from carstudio.imaging import tensor_to_pil
from carstudio.inputs import normalize_sketch
from carstudio.models.segmenter import PartSegmenter
from carstudio.models.ssgan import SPADEGenerator, SSGANGenerator, one_hot_masks
from carstudio.pipelines.palettes import Colour, choose_palettes, palette_of

SEGMENTER_WEIGHTS = "sketchseg-64"
GENERATOR_WEIGHTS = "ssgan-64"
SKETCH_MARGIN = 0.07  # render sketches: median longest side 0.86 of the frame, centred
INK_THRESHOLD = 40  # after shrinking, ink above this (of 255) is a line


@dataclass
class SketchToCarOutput:
    sketch: Image.Image  # what the segmenter saw (normalised, model resolution)
    mask: Image.Image  # M0, colourised part map
    parts: np.ndarray  # M0 as part ids (H, W)
    sfm_masks: list[Image.Image]  # ToMask outputs m_i of the first image, coarsest first (SSGAN only)
    images: list[Image.Image]


class SketchToCarPipeline:
    def __init__(self, segmenter: PartSegmenter, generator: SSGANGenerator | SPADEGenerator):
        if segmenter.config.in_channels != 1:
            raise ValueError("the sketch segmenter must take 1-channel input")
        self.segmenter = segmenter.eval()
        self.generator = generator.eval()

    @classmethod
    def from_pretrained(cls, segmenter: str | Path = SEGMENTER_WEIGHTS,
                        generator: str | Path = GENERATOR_WEIGHTS) -> "SketchToCarPipeline":
        """Names under weights/ (checksum-verified) or local folders."""
        return cls(load_sketch_segmenter(segmenter), load_generator(generator))

    @property
    def resolution(self) -> int:
        return self.generator.config.resolution

    def prepare(self, ink: np.ndarray) -> torch.Tensor:
        """User ink (uint8 HxW, 255 = ink) -> (1, 1, R, R) sketch in [-1, 1], lines at -1."""
        small = normalize_sketch(ink, self.resolution, margin=SKETCH_MARGIN)
        lines = small > INK_THRESHOLD
        return torch.from_numpy(np.where(lines, -1.0, 1.0).astype(np.float32))[None, None]

    @torch.inference_mode()
    def segment(self, sketch: torch.Tensor) -> torch.Tensor:
        """(B, 1, R, R) sketches in [-1, 1] -> (B, R, R) part ids (M0)."""
        size = self.segmenter.config.resolution
        x = sketch if sketch.shape[-1] == size else F.interpolate(sketch, size=(size, size), mode="area")
        logits = self.segmenter(x)
        if logits.shape[-1] < self.resolution:
            # a generator larger than the segmenter gets smooth part boundaries: the soft logits are
            # enlarged before the argmax (nearest-enlarging the label map gives staircase edges)
            logits = F.interpolate(logits, size=(self.resolution,) * 2, mode="bilinear", align_corners=False)
        parts = logits.argmax(1)
        if parts.shape[-1] != self.resolution:
            parts = F.interpolate(parts[:, None].float(), size=(self.resolution,) * 2, mode="nearest")[:, 0].long()
        return parts

    def palette_of(self, image: Image.Image, parts: np.ndarray | None = None) -> torch.Tensor:
        """The (1, C, 3) palette of an example car picture (see `carstudio.pipelines.palettes`)."""
        return palette_of(self.generator, image, parts)

    @torch.inference_mode()
    def generate(self, parts: torch.Tensor, num_images: int = 1, seed: int = 0, palettes: torch.Tensor | None = None,
                 body_colour: Colour | None = None):
        """(R, R) part ids -> (images (N, 3, R, R) in [-1, 1], ToMask outputs); z (and, for palette
        models, the palette unless given) from the seed."""
        masks = one_hot_masks(parts.expand(num_images, -1, -1))
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(num_images, self.generator.config.z_dim, generator=g)
        chosen = choose_palettes(self.generator, num_images, g, palettes, body_colour)
        return self.generator(masks, z=z, **({} if chosen is None else {"palettes": chosen}))

    def mask(self, ink: np.ndarray) -> Image.Image:
        """User ink -> colourised part mask M0 at the model's resolution."""
        return Image.fromarray(colorize(self.segment(self.prepare(ink))[0].numpy()))

    def __call__(self, ink: np.ndarray, num_images: int = 1, seed: int = 0, palettes: torch.Tensor | None = None,
                 body_colour: Colour | None = None) -> SketchToCarOutput:
        sketch = self.prepare(ink)
        parts = self.segment(sketch)[0]
        images, intermediate = self.generate(parts, num_images, seed, palettes, body_colour)
        return SketchToCarOutput(
            sketch=tensor_to_pil(sketch.expand(-1, 3, -1, -1))[0],
            mask=Image.fromarray(colorize(parts.numpy())),
            parts=parts.numpy(),
            sfm_masks=[Image.fromarray(colorize(m[0].argmax(0).numpy())) for m in intermediate],
            images=tensor_to_pil(images),
        )


def generator_class(directory: Path) -> type[SSGANGenerator] | type[SPADEGenerator]:
    """SSGAN or the SPADE baseline, from the config's class name (SSGAN when unreadable: loading
    then reports what is wrong with the folder)."""
    try:
        name = json.loads((directory / "config.json").read_text()).get("_class_name")
    except (OSError, ValueError):
        name = None
    return SPADEGenerator if name == SPADEGenerator.__name__ else SSGANGenerator


def load_generator(name_or_path: str | Path) -> SSGANGenerator | SPADEGenerator:
    """A local folder, or a name under weights/ (checksum-verified)."""
    path = Path(name_or_path)
    if path.is_dir():
        return generator_class(path).from_pretrained(path).eval()
    return load_pretrained(generator_class(model_dir(str(name_or_path))), str(name_or_path)).eval()


def load_sketch_segmenter(name_or_path: str | Path) -> PartSegmenter:
    """A local folder, or a name under weights/ (checksum-verified)."""
    return load_model(PartSegmenter, name_or_path).eval()
