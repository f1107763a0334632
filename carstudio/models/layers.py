"""Building blocks shared by the model families (one place, composed by each family file)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
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


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectral normalization (Miyato et al.) of `module`'s weight when `enabled`. Uses the
    parametrization API, so state dicts hold `parametrizations.weight.original` and the power
    iteration vectors, and save/load round trips reproduce outputs exactly."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


class SPADE(nn.Module):
    """Spatially-adaptive normalization (Park et al., GauGAN): a parameter-free BatchNorm or
    InstanceNorm of x, then a per-pixel affine map predicted from the segmentation map resized
    (nearest) to x's size: x_norm * (1 + gamma) + beta. `segmap` may be one-hot labels, soft
    masks, or any feature map with `label_channels` channels (SSGAN feeds SFM features)."""

    def __init__(self, norm_channels: int, label_channels: int, hidden: int = 128, norm: str = "batch"):
        super().__init__()
        if norm == "batch":
            self.norm = nn.BatchNorm2d(norm_channels, affine=False)
        elif norm == "instance":
            self.norm = nn.InstanceNorm2d(norm_channels, affine=False)
        else:
            raise ValueError(f"norm must be 'batch' or 'instance', got {norm!r}")
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, norm_channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, norm_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        normalized = self.norm(x)
        segmap = F.interpolate(segmap.to(x), size=x.shape[-2:], mode="nearest")
        hidden = self.shared(segmap)
        return normalized * (1 + self.gamma(hidden)) + self.beta(hidden)


class SPADEResBlock(nn.Module):
    """GauGAN's residual block: (SPADE -> LReLU(0.2) -> 3x3 conv) twice, plus a shortcut that is
    the identity when in_ch == out_ch and SPADE -> 1x1 conv (no bias) otherwise. The middle
    width is min(in_ch, out_ch); `spectral` wraps the convs in spectral normalization."""

    def __init__(self, in_ch: int, out_ch: int, label_channels: int, spectral: bool = False,
                 hidden: int = 128, norm: str = "batch"):
        super().__init__()
        middle = min(in_ch, out_ch)
        self.learned_shortcut = in_ch != out_ch
        self.norm_0 = SPADE(in_ch, label_channels, hidden, norm)
        self.conv_0 = maybe_spectral_norm(nn.Conv2d(in_ch, middle, 3, padding=1), spectral)
        self.norm_1 = SPADE(middle, label_channels, hidden, norm)
        self.conv_1 = maybe_spectral_norm(nn.Conv2d(middle, out_ch, 3, padding=1), spectral)
        if self.learned_shortcut:
            self.norm_s = SPADE(in_ch, label_channels, hidden, norm)
            self.conv_s = maybe_spectral_norm(nn.Conv2d(in_ch, out_ch, 1, bias=False), spectral)

    def shortcut(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        return self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return self.shortcut(x, segmap) + dx
