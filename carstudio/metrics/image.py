"""Paired image scores on (B, C, H, W) tensors in [-1, 1] (data range 2): PSNR, SSIM, masked L1."""

from __future__ import annotations

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

DATA_RANGE = 2.0  # images in [-1, 1]


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"expected two (B, C, H, W) tensors of one shape, got {tuple(a.shape)}, {tuple(b.shape)}")


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = DATA_RANGE) -> float:
    """Peak signal-to-noise ratio in dB over the whole batch (inf for identical images)."""
    _check_pair(a, b)
    if torch.equal(a, b):
        return float("inf")
    return float(peak_signal_noise_ratio(a.float(), b.float(), data_range=data_range))


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = DATA_RANGE) -> float:
    """Mean SSIM (Gaussian window 11, sigma 1.5; images need sides >= 11)."""
    _check_pair(a, b)
    return float(structural_similarity_index_measure(a.float(), b.float(), data_range=data_range))


def masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean absolute difference over the pixels where `mask` is true, averaged over channels.
    `mask` is (H, W), (B, H, W) or (B, 1, H, W); an empty mask is an error, not 0."""
    _check_pair(a, b)
    mask = mask.bool()
    while mask.ndim < 4:
        mask = mask.unsqueeze(0) if mask.ndim < 3 else mask.unsqueeze(1)
    mask = mask.expand(a.shape[0], 1, *a.shape[-2:])
    pixels = int(mask.sum())
    if pixels == 0:
        raise ValueError("the mask selects no pixels")
    diff = (a.float() - b.float()).abs().mean(dim=1, keepdim=True)
    return float(diff[mask].sum() / pixels)


_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def high_frequency_energy_map(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B, 1, H-2, W-2) squared Laplacian of the luminance."""
    luma = (0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2])[:, None].float()
    return torch.nn.functional.conv2d(luma, _LAPLACIAN[None, None].to(luma), padding=0).pow(2)


def high_frequency_energy(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B,) mean squared Laplacian of the luminance: what blur removes."""
    return high_frequency_energy_map(images).mean(dim=(1, 2, 3))


def sharpness_index(images: torch.Tensor, reference: torch.Tensor) -> float:
    """High-frequency energy of `images` relative to `reference` (both (B, 3, H, W) in [-1, 1],
    at the same size): 1 is as sharp as the reference, < 1 blurrier, > 1 noisier or sharper.
    Paired or not: it compares the two sets' mean energies."""
    if images.shape[-2:] != reference.shape[-2:]:
        raise ValueError(f"compare at one size: {tuple(images.shape[-2:])} vs {tuple(reference.shape[-2:])}")
    return float(high_frequency_energy(images).mean() / high_frequency_energy(reference).mean().clamp_min(1e-12))
