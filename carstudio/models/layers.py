"""Building blocks shared by the model families (one place, composed by each family file)."""

from __future__ import annotations

from torch import nn


class ConvNormLReLU(nn.Sequential):
    """Conv -> per-image channel normalization with affine -> LeakyReLU(0.2): SinGAN's
    conv-BN-LReLU block. SinGAN trains with batch size 1, where BatchNorm normalizes each channel
    over that one image: that is instance norm with an affine map, which is what this uses, so
    that eval mode and batched sampling behave exactly as in training (BatchNorm's running
    averages instead made every sample pale). 'same' padding keeps the map size for any kernel."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding="same"),
            nn.InstanceNorm2d(out_channels, affine=True),
            nn.LeakyReLU(0.2),
        )


class DoubleConvBNReLU(nn.Sequential):
    """Two (3x3 conv -> BatchNorm -> ReLU): the U-Net stage. The convs carry no bias because
    BatchNorm's shift replaces it; 'same' padding keeps the map size."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
