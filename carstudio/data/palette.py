"""Part palettes: one colour per part class (background, body, glass, wheel, lights, other), the
colour signal the conditional generators are styled with (issue 19).

A render's palette is the mean colour of each of its parts, measured through its part map: the
same numbers its `paints/` picture shows (`carstudio.data.maps.paint_fill`), so a palette painted
through the part map gives back the render's paint. Tensors are float in [-1, 1], like images:
palettes (B, C, 3), images (B, 3, H, W), part ids (B, H, W), one-hot or soft masks (B, C, H, W).

What uses them: a palette-conditioned generator takes (masks, paint = masks painted with the
palette) as SPADE's modulation input; its style seeds draw palettes from a bank of training
palettes stored in the model; "paint colour" sets the body entry; "style of an example car"
measures the palette of a picture through its part map.
"""

from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F

from carstudio.data.parts import BODY, NUM_PARTS


def part_palette(images: torch.Tensor, parts: torch.Tensor,
                 num_classes: int = NUM_PARTS) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (B, 3, H, W) and part ids (B, H, W) of the same size -> (palettes (B, C, 3): the mean
    colour of each part, 0 where a part is absent; present (B, C) bool)."""
    if images.shape[-2:] != parts.shape[-2:]:
        raise ValueError(f"images {tuple(images.shape[-2:])} and part maps {tuple(parts.shape[-2:])} differ in size")
    one_hot = F.one_hot(parts.long(), num_classes).permute(0, 3, 1, 2).to(images.dtype)  # (B, C, H, W)
    counts = one_hot.sum((2, 3))  # (B, C)
    sums = torch.einsum("bchw,bkhw->bck", one_hot, images)
    return sums / counts.clamp(min=1)[..., None], counts > 0


def fill_absent(palettes: torch.Tensor, present: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """Palettes (B, C, 3) with each absent part's entry replaced by `fallback` (C, 3)."""
    return torch.where(present[..., None], palettes, fallback.to(palettes)[None])


def measured_palettes(images: torch.Tensor, parts: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """The palettes (B, C, 3) of pictures through their part maps (the style of a render or an
    example car); parts a picture does not show take `fallback` (C, 3), e.g. a generator's bank mean."""
    return fill_absent(*part_palette(images, parts), fallback)


def paint(masks: torch.Tensor, palettes: torch.Tensor) -> torch.Tensor:
    """One-hot or soft masks (B, C, H, W) painted with palettes (B, C, 3) -> (B, 3, H, W): each
    pixel the mask-weighted sum of its parts' colours (one-hot masks: a flat fill per part)."""
    return torch.einsum("bchw,bck->bkhw", masks.to(palettes), palettes)


def palette_bank(images: torch.Tensor, parts: torch.Tensor, size: int, seed: int = 0,
                 num_classes: int = NUM_PARTS) -> torch.Tensor:
    """`size` palettes (size, C, 3) measured on renders drawn at random (with replacement when
    there are fewer): the empirical palette distribution that style seeds sample. A part absent
    from a render takes the mean of that part over the renders that show it, so every entry is a
    plausible colour whatever mask it is later painted through. `images` may be uint8 (0-255):
    only the drawn ones are converted (a training set in float would take GBs)."""
    g = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    index = torch.randperm(n, generator=g)[:size] if size <= n else torch.randint(0, n, (size,), generator=g)
    chosen = images[index].float()
    if images.dtype == torch.uint8:
        chosen = chosen / 127.5 - 1.0
    palettes, present = part_palette(chosen, parts[index], num_classes)
    counts = present.sum(0).clamp(min=1)[:, None]
    fallback = (palettes * present[..., None]).sum(0) / counts  # (C, 3): the mean where present
    return fill_absent(palettes, present, fallback)


def draw_palettes(bank: torch.Tensor, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """`count` palettes drawn uniformly from a bank (K, C, 3) with `generator` (a style seed)."""
    if bank.shape[0] == 0:
        raise ValueError("this model has an empty palette bank: pass palettes explicitly")
    index = torch.randint(0, bank.shape[0], (count,), generator=generator)
    return bank[index.to(bank.device)]


def with_part_colour(palettes: torch.Tensor, rgb: tuple[int, int, int] | torch.Tensor, part: int = BODY) -> torch.Tensor:
    """A copy of palettes (B, C, 3) with `part`'s colour set to `rgb` (0-255 integers): the
    paint colour picker."""
    colour = torch.as_tensor(rgb, dtype=palettes.dtype, device=palettes.device).reshape(3) / 127.5 - 1.0
    out = palettes.clone()
    out[:, part] = colour
    return out


_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
_RGB = re.compile(r"^rgba?\(\s*([0-9.]+)\s*,\s*([0-9.]+)\s*,\s*([0-9.]+)\s*(?:,\s*[0-9.]+\s*)?\)$")


def parse_colour(text: str) -> tuple[int, int, int]:
    """'#rrggbb', 'rrggbb' or 'rgb(r, g, b)' / 'rgba(r, g, b, a)' (what colour pickers send) ->
    (r, g, b) in 0-255; anything else (NaN, out of range, other formats) raises ValueError."""
    text = str(text).strip()
    if match := _HEX.match(text):
        value = match.group(1)
        return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
    if match := _RGB.match(text):
        channels = [float(v) for v in match.groups()]
        if all(np.isfinite(c) and 0 <= c <= 255 for c in channels):
            return tuple(int(round(c)) for c in channels)  # type: ignore[return-value]
    raise ValueError(f"not a colour: {text!r} (expected '#rrggbb' or 'rgb(r, g, b)' with values 0-255)")
