"""CIELAB colour and per-part colour error (ΔE) between an output and its ground truth.

ΔE here is CIE76, the Euclidean distance in L*a*b* (D65): about 2.3 is a just-noticeable
difference, above 10 colours read as different. Per part, the error compares the part's mean
L*a*b* colour in the output with the same pixels' mean in the ground truth (the part map is the
ground truth's), so it measures "is the body the right colour", not pixel alignment.
"""

from __future__ import annotations

import torch

from carstudio.data.parts import BODY, GLASS, PART_NAMES, WHEEL

COLOUR_PARTS: tuple[int, ...] = (BODY, GLASS, WHEEL)
_RGB_TO_XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                            [0.2126729, 0.7151522, 0.0721750],
                            [0.0193339, 0.1191920, 0.9503041]], dtype=torch.float64)
_D65_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)


def rgb_to_lab(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [-1, 1] -> (B, 3, H, W) float64 L*a*b* (L in 0..100)."""
    rgb = ((images.double() + 1.0) / 2.0).clamp(0.0, 1.0)
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = torch.einsum("ij,bjhw->bihw", _RGB_TO_XYZ, linear) / _D65_WHITE[None, :, None, None]
    eps = (6.0 / 29.0) ** 3
    f = torch.where(xyz > eps, xyz.clamp_min(eps) ** (1.0 / 3.0), xyz / (3 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    return torch.stack([116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]), 200.0 * (f[:, 1] - f[:, 2])], dim=1)


def part_delta_e(output: torch.Tensor, target: torch.Tensor, parts: torch.Tensor,
                 part_ids: tuple[int, ...] = COLOUR_PARTS, min_pixels: int = 4) -> dict[str, list[float]]:
    """Per part name, one ΔE per image where the part covers at least `min_pixels` pixels:
    output and target (B, 3, H, W) in [-1, 1], `parts` (B, H, W) ids of the target."""
    if output.shape != target.shape or parts.shape != (output.shape[0], *output.shape[-2:]):
        raise ValueError(f"shapes differ: output {tuple(output.shape)}, target {tuple(target.shape)}, "
                         f"parts {tuple(parts.shape)}")
    lab_out, lab_tgt = rgb_to_lab(output), rgb_to_lab(target)
    result: dict[str, list[float]] = {PART_NAMES[p]: [] for p in part_ids}
    for b in range(output.shape[0]):
        for p in part_ids:
            mask = parts[b] == p
            if int(mask.sum()) < min_pixels:
                continue
            mean_out = lab_out[b][:, mask].mean(dim=1)
            mean_tgt = lab_tgt[b][:, mask].mean(dim=1)
            result[PART_NAMES[p]].append(float((mean_out - mean_tgt).norm()))
    return result


def masked_mean_lab(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] and a (B, H, W) bool mask -> (B, 3) mean L*a*b* inside the mask
    (NaN where a mask is empty)."""
    lab = rgb_to_lab(images)
    weights = mask.double()[:, None]
    return (lab * weights).sum(dim=(2, 3)) / weights.sum(dim=(2, 3))
