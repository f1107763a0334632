"""Supervision of a generator's intermediate part masks (issue 19): SSGAN's ToMask outputs m_i
(sigmoid, one channel per part) against the true part masks at each m_i's size. The seed puts no
loss on m_i; unsupervised, the shipped model's m_i show blocks and lines instead of parts."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def intermediate_mask_bce(predicted: list[torch.Tensor], target_masks: torch.Tensor) -> torch.Tensor:
    """Mean over the m_i of the binary cross-entropy between m_i (B, C, h, w) in [0, 1] and the
    target masks (B, C, H, W) area-averaged to (h, w): soft targets at part borders."""
    if not predicted:
        return target_masks.new_zeros(())
    total = target_masks.new_zeros(())
    for m in predicted:
        target = F.adaptive_avg_pool2d(target_masks.to(m), m.shape[-2:])
        total = total + F.binary_cross_entropy(m, target)
    return total / len(predicted)
