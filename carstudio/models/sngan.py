"""SN-GAN (Miyato et al., 2018) with ResNet generator and discriminator, as in StudioGAN's SNGAN.

The generator starts from a 4x4 map and doubles the size in each up-block; the discriminator
halves it in each down-block (the last block keeps 4x4), ends with ReLU, global sum pooling and
a spectrally normalized linear head. Resolution and widths come from the config:
len(widths) == log2(resolution / 4) + 1 for both networks, e.g. 64 px: G (256,128,64,32,16),
D (16,16,32,64,128).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def num_resamplings(resolution: int, widths: tuple[int, ...]) -> int:
    """Number of up (G) or down (D) samplings from/to 4x4; checks resolution and widths agree."""
    steps = math.log2(resolution / 4) if resolution >= 4 else -1
    if steps < 1 or steps != int(steps):
        raise ValueError(f"resolution must be 4 * 2^k with k >= 1, got {resolution}")
    if len(widths) != int(steps) + 1:
        raise ValueError(f"{resolution} px needs {int(steps) + 1} widths, got {len(widths)}: {tuple(widths)}")
    return int(steps)


def sn_conv(cin: int, cout: int, kernel_size: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2))


class GBlock(nn.Module):
    """BN-ReLU-up-conv3-BN-ReLU-conv3, plus an upsampled 1x1 shortcut."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DBlock(nn.Module):
    """(ReLU)-conv3-ReLU-conv3-(avgpool), plus a 1x1 (and pooled) shortcut; all convs SN.
    The first block (`first`) takes the image: no leading ReLU, and it pools before its shortcut conv."""

    def __init__(self, cin: int, cout: int, downsample: bool = True, first: bool = False):
        super().__init__()
        self.first, self.downsample = first, downsample
        self.conv1, self.conv2 = sn_conv(cin, cout, 3), sn_conv(cout, cout, 3)
        self.shortcut = sn_conv(cin, cout, 1) if (cin != cout or downsample) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        return h + self._shortcut(x)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut is None:
            return x
        if self.first:  # pool first: the 1x1 conv then runs on a quarter of the pixels
            return self.shortcut(F.avg_pool2d(x, 2) if self.downsample else x)
        x = self.shortcut(x)
        return F.avg_pool2d(x, 2) if self.downsample else x


class SNGANGenerator(ModelMixin, ConfigMixin):
    """z (N, z_dim) -> image (N, 3, resolution, resolution) in [-1, 1]."""

    @register_to_config
    def __init__(self, z_dim: int = 128, resolution: int = 64, widths: tuple[int, ...] = (256, 128, 64, 32, 16),
                 image_channels: int = 3):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        num_resamplings(resolution, widths)
        self.linear = nn.Linear(z_dim, widths[0] * 16)
        self.blocks = nn.ModuleList(GBlock(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.bn = nn.BatchNorm2d(widths[-1])
        self.to_rgb = nn.Conv2d(widths[-1], image_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.linear(z).view(z.shape[0], -1, 4, 4).contiguous(memory_format=torch.channels_last)
        for block in self.blocks:
            h = block(h)
        return torch.tanh(self.to_rgb(F.relu(self.bn(h))))

    def sample_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal codes (drawn on the CPU, moved to the model's device)."""
        return torch.randn(n, self.config.z_dim, generator=generator).to(self.device)


class SNGANDiscriminator(ModelMixin, ConfigMixin):
    """image -> one unbounded score per sample. `blocks[0]` sees the image; FreezeD freezes the
    lowest blocks with `freeze_lowest_blocks`."""

    @register_to_config
    def __init__(self, resolution: int = 64, widths: tuple[int, ...] = (16, 16, 32, 64, 128), image_channels: int = 3):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        downs = num_resamplings(resolution, widths)
        ins = (image_channels,) + widths[:-1]
        self.blocks = nn.ModuleList(
            DBlock(a, b, downsample=i < downs, first=i == 0) for i, (a, b) in enumerate(zip(ins, widths))
        )
        self.linear = spectral_norm(nn.Linear(widths[-1], 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h = image
        for block in self.blocks:
            h = block(h)
        return self.linear(F.relu(h).sum(dim=(2, 3))).squeeze(1)


def freeze_lowest_blocks(discriminator: SNGANDiscriminator, n: int) -> list[nn.Parameter]:
    """FreezeD (Mo et al., 2020): requires_grad False on the parameters of blocks[:n]; returns
    them. Spectral-norm power iterations keep running on frozen blocks (they only refine the
    estimate of sigma for the same weights)."""
    if not 0 <= n <= len(discriminator.blocks):
        raise ValueError(f"can freeze 0..{len(discriminator.blocks)} blocks, got {n}")
    frozen = [p for block in discriminator.blocks[:n] for p in block.parameters()]
    for p in frozen:
        p.requires_grad_(False)
    return frozen


def spectral_norm_weights(module: nn.Module) -> dict[str, torch.Tensor]:
    """Name -> the normalized weight (as used in the forward pass) of every SN layer."""
    return {name: m.weight for name, m in module.named_modules()
            if hasattr(m, "parametrizations") and "weight" in m.parametrizations}
