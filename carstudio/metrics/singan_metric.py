"""Seed 000 eq. 1: the SinGAN paint-to-image score M = S_p + S_t + |S_p - S_t|.

S_t = SIFID(output, training image), S_p = SIFID(output, paint). Lower is better: M rewards
being close to both and, through |S_p - S_t| (M equals 2 max(S_p, S_t)), penalises copying one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from .sifid import SpatialExtractor, default_extractor, sifid


def singan_metric(s_paint: float, s_train: float) -> float:
    """M from the two SIFID values."""
    if s_paint < 0 or s_train < 0:
        raise ValueError(f"SIFID values are non-negative, got S_p={s_paint}, S_t={s_train}")
    return s_paint + s_train + abs(s_paint - s_train)


@dataclass(frozen=True)
class SinGANScore:
    s_paint: float
    s_train: float
    m: float
    features: str

    def __str__(self) -> str:
        return f"M {self.m:.4g} (S_p {self.s_paint:.4g}, S_t {self.s_train:.4g}; SIFID on {self.features})"


def score_paint_to_image(
    output: torch.Tensor | Image.Image,
    training_image: torch.Tensor | Image.Image,
    paint: torch.Tensor | Image.Image,
    extractor: SpatialExtractor | None = None,
) -> SinGANScore:
    """S_p, S_t and M for one SinGAN output, all SIFIDs in the same feature space."""
    extractor = extractor if extractor is not None else default_extractor()
    s_train = sifid(output, training_image, extractor)
    s_paint = sifid(output, paint, extractor)
    return SinGANScore(s_paint.value, s_train.value, singan_metric(s_paint.value, s_train.value), s_train.features)
