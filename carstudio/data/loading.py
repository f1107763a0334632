"""Render folders held in memory as uint8 tensors, for every trainer and every evaluation: a
few hundred MB for thousands of renders, and no per-step decoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from carstudio.data.datasets import RenderDataset
from carstudio.data.sketch_augment import hand_drawn


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Values in [-1, 1] -> uint8 in [0, 255]."""
    return ((x + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 in [0, 255] -> float in [-1, 1]."""
    return x.float() / 127.5 - 1.0


@dataclass
class RenderTensors:
    """Render folders as uint8: images/paints (N, 3, H, W), sketches (N, 1, H, W), parts (N, H, W)."""

    images: torch.Tensor
    parts: torch.Tensor
    paints: torch.Tensor | None = None
    sketches: torch.Tensor | None = None
    hand_drawn: torch.Tensor | None = None  # fixed hand-drawn versions of the sketches (validation)

    def __len__(self) -> int:
        return len(self.parts)


def load_renders(roots: list[Path], size: int, paints: bool = False, sketches: bool = False) -> RenderTensors:
    """Images and part maps of render folders at `size` px, with their paints and sketches if asked."""
    fields = ["image", "parts"] + ["paint"] * paints + ["sketch"] * sketches
    columns: dict[str, list[torch.Tensor]] = {f: [] for f in fields}
    for root in roots:
        dataset = RenderDataset(root, fields=fields, size=size)
        for i in range(len(dataset)):
            item = dataset[i]
            for f in fields:
                columns[f].append(item[f].to(torch.uint8) if f == "parts" else to_uint8(item[f]))
    stacked = {f: torch.stack(v) for f, v in columns.items()}
    return RenderTensors(stacked["image"], stacked["parts"], stacked.get("paint"), stacked.get("sketch"))


def load_images(roots: list[Path], size: int) -> torch.Tensor:
    """Render folders' images as one uint8 (N, 3, size, size) tensor."""
    images = []
    for root in roots:
        dataset = RenderDataset(root, fields=("image",), size=size)
        images += [to_uint8(dataset[i]["image"]) for i in range(len(dataset))]
    return torch.stack(images)


def load_part_maps(roots: list[Path], size: int) -> torch.Tensor:
    """Render folders' part maps as one uint8 (N, size, size) tensor of part ids."""
    maps = []
    for root in roots:
        dataset = RenderDataset(root, fields=("parts",), size=size)
        maps += [dataset[i]["parts"].to(torch.uint8) for i in range(len(dataset))]
    return torch.stack(maps)


def held_out_images(roots: list[Path], size: int, limit: int | None = None) -> torch.Tensor:
    """The first `limit` (all when None) images of render folders, float in [-1, 1]."""
    images = load_images(roots, size)
    return to_float(images[: limit or len(images)])


def hand_drawn_val(sketches: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A fixed hand-drawn version of held-out uint8 sketches, so validation is comparable over time."""
    return to_uint8(hand_drawn(to_float(sketches), seed=seed))
