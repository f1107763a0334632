"""Part segmenter: a small fully convolutional U-Net, car image -> per-pixel part logits.

Trained on renders (carstudio/data). Besides segmentation it supplies the project's offline
feature space: `features(x)` is the encoder output at level `feature_level` (by default level 2:
`widths[2]` = 64 channels at 1/4 of the input size, after BatchNorm+ReLU). The Fréchet
distances built on it are called "FD-seg" (and SIFID on it says so), never "FID".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from carstudio.data.parts import NUM_PARTS

from .layers import DoubleConvBNReLU


class PartSegmenter(ModelMixin, ConfigMixin):
    """U-Net with `len(widths)` levels: level 0 works at full size, each next one after a 2x
    max-pool; the decoder upsamples bilinearly and fuses the skip of the same level.

    Input: (B, in_channels, H, W) in [-1, 1], H and W divisible by `2 ** depth`
    (depth = len(widths) - 1). Output: (B, num_classes, H, W) logits.
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = NUM_PARTS,
        widths: tuple[int, ...] = (16, 32, 64, 128),
        feature_level: int = 2,
        resolution: int = 128,  # side the model was trained at; the pipeline resizes inputs to it
    ):
        super().__init__()
        widths = tuple(widths)
        if len(widths) < 2:
            raise ValueError(f"a U-Net needs at least two levels, got widths={widths}")
        if not 0 <= feature_level < len(widths):
            raise ValueError(f"feature_level must lie in [0, {len(widths) - 1}], got {feature_level}")
        self.encoder = nn.ModuleList(
            DoubleConvBNReLU(c_in, c_out) for c_in, c_out in zip((in_channels, *widths[:-1]), widths)
        )
        # decoder[i] fuses level i+1 (upsampled) with the skip of level i, deepest first in use
        self.decoder = nn.ModuleList(
            DoubleConvBNReLU(widths[i + 1] + widths[i], widths[i]) for i in range(len(widths) - 1)
        )
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    @property
    def depth(self) -> int:
        """Number of 2x downsamplings: input sides must be multiples of 2 ** depth."""
        return len(self.config.widths) - 1

    @property
    def feature_channels(self) -> int:
        return int(self.config.widths[self.config.feature_level])

    def _check_size(self, x: torch.Tensor) -> None:
        step = 2**self.depth
        if x.shape[-2] % step or x.shape[-1] % step:
            raise ValueError(f"input sides must be multiples of {step}, got {tuple(x.shape[-2:])}")

    def _encode(self, x: torch.Tensor, last_level: int) -> list[torch.Tensor]:
        skips = []
        for level, stage in enumerate(self.encoder[: last_level + 1]):
            x = stage(F.max_pool2d(x, 2) if level else x)
            skips.append(x)
        return skips

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_size(x)
        skips = self._encode(x, self.depth)
        y = skips[-1]
        for level in reversed(range(self.depth)):
            y = F.interpolate(y, size=skips[level].shape[-2:], mode="bilinear", align_corners=False)
            y = self.decoder[level](torch.cat([y, skips[level]], dim=1))
        return self.head(y)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The fixed feature map for FD-seg/SIFID: encoder level `feature_level`'s output,
        (B, feature_channels, H / 2**feature_level, W / 2**feature_level). Only the encoder up
        to that level runs, so any size divisible by 2**feature_level works."""
        step = 2**self.config.feature_level
        if x.shape[-2] % step or x.shape[-1] % step:
            raise ValueError(f"input sides must be multiples of {step}, got {tuple(x.shape[-2:])}")
        return self._encode(x, self.config.feature_level)[-1]
