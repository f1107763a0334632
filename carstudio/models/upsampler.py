"""Paired super-resolution for side-view cars (issue 21's cascade): a low-resolution car (the 64-px
SN-GAN's sample) -> the same car at `scale` times the size.

The output is the bilinear enlargement of the input plus a learnt correction, added in tanh's
pre-activation space and starting at zero, so an untrained model is the bilinear upsample and
training only adds what bilinear interpolation lacks (edges, wheels, the render's shading) and
removes what the input should not have (the GAN's checkerboard and speckle, which the trainer
puts on its inputs: `carstudio.augment.degrade`).

Layout: the project's U-Net (`PartSegmenter` with `up_width` output channels, no second network
family) reads the low-resolution picture, where it is cheap and its receptive field spans the
car; then one resize-conv stage per 2x (bilinear 2x -> 3x3 conv -> ReLU, never a transposed
conv: those drew checkerboards here), each fed the bilinear enlargement of the input at its
size as well, then a zero-initialised 3x3 conv to the RGB correction. Scale and widths come from
the config, so a GPU host trains 128 -> 256 (scale 2 at resolution 256) or 64 -> 256 (scale 4)
with the same code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .layers import corrected_in_tanh_space
from .segmenter import PartSegmenter

# atanh(0.98) ~ 2.3: pure white or black stays within reach of a modest correction, and tanh's
# slope there (0.04) still lets training move those pixels.
BASE_CLAMP = 0.98


def num_doublings(scale: int) -> int:
    """log2(scale) for a power-of-two scale of at least 2, else ValueError."""
    steps = math.log2(scale) if scale >= 2 else 0
    if steps < 1 or steps != int(steps):
        raise ValueError(f"scale must be a power of two >= 2, got {scale}")
    return int(steps)


def bilinear_upsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The baseline the model corrects (and the sample grids' second column)."""
    return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)


class CarUpsampler(ModelMixin, ConfigMixin):
    """forward(x (B, channels, h, w) in [-1, 1]) -> (B, channels, h * scale, w * scale) in [-1, 1].
    h and w must be multiples of 2 ** (len(widths) - 1) (the U-Net's depth). `resolution` is the
    output side the model was trained at (pipelines resize to resolution / scale before it)."""

    @register_to_config
    def __init__(
        self,
        scale: int = 2,
        widths: tuple[int, ...] = (16, 32, 64, 128),
        up_width: int = 16,
        channels: int = 3,
        resolution: int = 128,
    ):
        super().__init__()
        doublings = num_doublings(scale)
        if resolution % scale:
            raise ValueError(f"resolution {resolution} is not a multiple of scale {scale}")
        self.body = PartSegmenter(in_channels=channels, num_classes=up_width, widths=tuple(widths), feature_level=0,
                                  resolution=resolution // scale)
        self.up = nn.ModuleList(nn.Conv2d(up_width + channels, up_width, 3, padding=1) for _ in range(doublings))
        self.to_rgb = nn.Conv2d(up_width, channels, 3, padding=1)
        nn.init.zeros_(self.to_rgb.weight)  # start exactly at the bilinear upsample
        nn.init.zeros_(self.to_rgb.bias)

    @property
    def input_resolution(self) -> int:
        return self.config.resolution // self.config.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.body(x))
        for i, conv in enumerate(self.up):
            guide = bilinear_upsample(x, 2 ** (i + 1))
            h = F.interpolate(h, size=guide.shape[-2:], mode="bilinear", align_corners=False)
            h = F.relu(conv(torch.cat([h, guide], dim=1)))
        # the last stage's guide is the input enlarged by `scale`: the picture the head corrects
        return corrected_in_tanh_space(guide, self.to_rgb(h), BASE_CLAMP)
