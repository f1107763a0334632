"""The palette style of palette-conditioned SPADE/SSGAN generators (issue 19), shared by the
sketch and layout pipelines: which palettes a call paints with (drawn by the style seed, given,
or with the body colour set) and the palette of an example car picture."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from carstudio.data.palette import measured_palettes, parse_colour, with_part_colour
from carstudio.hub import LazyModel
from carstudio.imaging import pil_to_tensor

Colour = str | tuple[int, int, int]


def _shipped_segmenter():
    from carstudio.pipelines.segmenter import SegmenterPipeline

    return SegmenterPipeline.from_pretrained()


_SEGMENTER = LazyModel(_shipped_segmenter)  # loaded once, on the first example car


def car_parts(image: Image.Image) -> np.ndarray:
    """H x W part ids of a car picture at its size, by the shipped part segmenter `segmenter-128`."""
    return _SEGMENTER.get()(image)


def is_palette_conditioned(generator: torch.nn.Module) -> bool:
    return getattr(generator, "palette", None) is not None


def choose_palettes(generator: torch.nn.Module, count: int, g: torch.Generator, palettes: torch.Tensor | None = None,
                    body_colour: Colour | None = None) -> torch.Tensor | None:
    """The palettes (count, C, 3) a palette model paints with: the given ones (1 or count) or
    drawn from its bank with `g` (the style seed), with the body set to `body_colour` ('#rrggbb',
    'rgb(r, g, b)' or an RGB triple in 0-255) when given. None for the seed's generators, which
    refuse a palette or a colour rather than ignore it."""
    if not is_palette_conditioned(generator):
        if palettes is not None or body_colour is not None:
            raise ValueError("this generator is not palette-conditioned: it takes no palette or paint colour")
        return None
    if palettes is None:
        palettes = generator.palette.draw(count, g)
    elif palettes.ndim != 3 or palettes.shape[0] not in (1, count):
        raise ValueError(f"palettes must be (1 or {count}, C, 3), got {tuple(palettes.shape)}")
    elif palettes.shape[0] == 1:
        palettes = palettes.expand(count, -1, -1)
    if not torch.isfinite(palettes).all():
        raise ValueError("palettes must be finite")
    palettes = palettes.clamp(-1, 1)
    if body_colour is not None:
        rgb = parse_colour(body_colour) if isinstance(body_colour, str) else tuple(body_colour)
        if len(rgb) != 3 or not all(isinstance(c, (int, float)) and np.isfinite(c) and 0 <= c <= 255 for c in rgb):
            raise ValueError(f"a paint colour is three values in 0-255, got {body_colour!r}")
        palettes = with_part_colour(palettes, rgb)
    return palettes


def palette_of(generator: torch.nn.Module, image: Image.Image, parts: np.ndarray | None = None) -> torch.Tensor:
    """'Style from an example car': the (1, C, 3) palette of a car picture, each part's mean
    colour through `parts` (H x W ids at the picture's size) or, without it, through the shipped
    part segmenter's map of the picture. Parts the picture does not show take the mean of the
    generator's training palettes."""
    if not is_palette_conditioned(generator):
        raise ValueError("this generator is not palette-conditioned")
    image = image.convert("RGB")
    if parts is None:
        parts = car_parts(image)
    parts_t = torch.as_tensor(np.asarray(parts)).long()[None]
    return measured_palettes(pil_to_tensor(image), parts_t, generator.palette.bank.mean(0))
