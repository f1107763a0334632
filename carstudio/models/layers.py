"""Building blocks shared by the model families (one place, composed by each family file)."""

from __future__ import annotations

from torch import nn


class ConvBNLReLU(nn.Sequential):
    """Conv -> BatchNorm -> LeakyReLU(0.2): SinGAN's block. 'same' padding keeps the map size
    for any kernel size, so generators stay fully convolutional and size-agnostic."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding="same"),
            nn.BatchNorm2d(out_channels),
            nn.LeakyReLU(0.2),
        )
