"""SIFID (Shaham et al., 2019): Fréchet distance between the distributions of the feature
vectors at every position of two single images' feature maps.

The paper used Inception-v3 features before its second pooling layer; offline, the default
here is the part segmenter's feature map (see carstudio.metrics.features), and every result
names the features it used, so the two are never mixed up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from PIL import Image

from .features import SpatialSegmenterFeatures, load_default_segmenter
from .frechet import frechet_distance_of_samples

SpatialExtractor = Callable[[torch.Tensor | Image.Image], torch.Tensor]


@dataclass(frozen=True)
class SIFIDResult:
    value: float
    features: str  # which feature space produced `value`

    def __str__(self) -> str:
        return f"SIFID {self.value:.4g} ({self.features})"


def spatial_samples(feature_map: torch.Tensor) -> torch.Tensor:
    """(1, C, h, w) -> (h*w, C): one sample per position."""
    if feature_map.ndim != 4 or feature_map.shape[0] != 1:
        raise ValueError(f"expected one (1, C, h, w) feature map, got {tuple(feature_map.shape)}")
    return feature_map[0].flatten(1).T


def default_extractor() -> SpatialSegmenterFeatures:
    return SpatialSegmenterFeatures(load_default_segmenter())


def sifid(
    image_a: torch.Tensor | Image.Image,
    image_b: torch.Tensor | Image.Image,
    extractor: SpatialExtractor | None = None,
) -> SIFIDResult:
    """SIFID between two images (PIL, or (1, 3, H, W) tensors in [-1, 1]; sizes may differ).

    `extractor` maps an image to a (1, C, h, w) map and has a `description`; by default the
    shipped part segmenter. Feature maps need more positions than channels for a full-rank
    covariance, so images far below the training size give noisy values."""
    extractor = extractor if extractor is not None else default_extractor()
    a = spatial_samples(extractor(image_a))
    b = spatial_samples(extractor(image_b))
    name = getattr(extractor, "description", type(extractor).__name__)
    return SIFIDResult(frechet_distance_of_samples(a, b), name)
