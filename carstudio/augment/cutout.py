"""DiffAugment cutout: zero one random square-ish hole (`ratio` of each side) per sample."""

from __future__ import annotations

import torch

from ._random import integers


def cutout(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    n, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # hole centre anywhere such that at least part of the hole lies in the image
    top = integers(0, h + (1 - size_y % 2), (n, 1, 1), x, generator) - size_y // 2
    left = integers(0, w + (1 - size_x % 2), (n, 1, 1), x, generator) - size_x // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return x * (~hole).unsqueeze(1).to(x.dtype)
