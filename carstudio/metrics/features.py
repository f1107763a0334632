"""The part segmenter as a feature extractor for the Fréchet metrics (offline, no Inception).

Both extractors use `PartSegmenter.features`: encoder level `feature_level` (default 2: 64
channels at 1/4 of the input size). Inputs are resized to a multiple of that level's stride.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from carstudio.hub import load_pretrained
from carstudio.imaging import pil_to_tensor
from carstudio.models.segmenter import PartSegmenter



def load_default_segmenter() -> PartSegmenter:
    """The shipped segmenter (weights/segmenter-128), checksum-verified."""
    from carstudio.pipelines.segmenter import DEFAULT_WEIGHTS

    return load_pretrained(PartSegmenter, DEFAULT_WEIGHTS)


def describe(segmenter: PartSegmenter) -> str:
    """Human-readable name of the feature space, printed next to every score."""
    level = segmenter.config.feature_level
    return (f"part segmenter ({segmenter.config.resolution}px) encoder level {level}: "
            f"{segmenter.feature_channels} channels at 1/{2 ** level} resolution")


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """torchmetrics' convention -> [-1, 1]: uint8 in [0, 255], floats in [0, 1]."""
    if images.dtype == torch.uint8:
        return images.float() / 127.5 - 1.0
    return images.float() * 2.0 - 1.0


def fit_stride(images: torch.Tensor, stride: int) -> torch.Tensor:
    """Resize (bilinearly) so both sides are multiples of `stride` (nearest multiple, >= stride)."""
    h, w = images.shape[-2:]
    size = (max(stride, round(h / stride) * stride), max(stride, round(w / stride) * stride))
    if size == (h, w):
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)


class SpatialSegmenterFeatures(nn.Module):
    """(B, 3, H, W) in [-1, 1] (or one PIL image) -> (B, C, h, w) feature map, for SIFID."""

    def __init__(self, segmenter: PartSegmenter):
        super().__init__()
        self.segmenter = segmenter.eval()
        self.description = describe(segmenter)

    @torch.no_grad()  # not inference_mode: torchmetrics adds the result into its own states
    def forward(self, images: torch.Tensor | Image.Image) -> torch.Tensor:
        if isinstance(images, Image.Image):
            images = pil_to_tensor(images)
        param = next(self.segmenter.parameters())
        x = fit_stride(images.to(param), 2**self.segmenter.config.feature_level)
        return self.segmenter.features(x).float()


class PooledSegmenterFeatures(nn.Module):
    """torchmetrics `feature=` module: images (uint8 [0, 255] or float [0, 1]) -> (B, C) spatial
    means of the segmenter feature map. `num_features` saves torchmetrics a dummy forward."""

    def __init__(self, segmenter: PartSegmenter):
        super().__init__()
        self.spatial = SpatialSegmenterFeatures(segmenter)
        self.num_features = segmenter.feature_channels
        self.description = self.spatial.description + ", spatial mean"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.spatial(to_model_range(images)).mean(dim=(2, 3))
