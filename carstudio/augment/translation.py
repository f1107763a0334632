"""DiffAugment translation: shift each sample by a random whole number of pixels (up to `ratio`
of its size in each direction), filling with zeros. A gather, so gradients reach the input."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._random import integers


def translation(x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> torch.Tensor:
    n, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift_y = integers(-max_y, max_y + 1, (n, 1, 1), x, generator)
    shift_x = integers(-max_x, max_x + 1, (n, 1, 1), x, generator)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # index into the input padded by one zero pixel on every side: 0 and h+1 are the padding
    rows = (rows + shift_y + 1).clamp(0, h + 1).expand(n, h, w)
    cols = (cols + shift_x + 1).clamp(0, w + 1).expand(n, h, w)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # N, H+2, W+2, C
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
    return padded[batch, rows, cols].permute(0, 3, 1, 2)  # channels_last layout, like the gather
