"""ResNet-18 (He et al., 2016: BasicBlock, [2, 2, 2, 2]) as an image encoder: image in [-1, 1]
-> latent code of a generator (z_dim). Defined here; torchvision is not used."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNet18Encoder(ModelMixin, ConfigMixin):
    """Stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool), four stages of two BasicBlocks with widths
    width * (1, 2, 4, 8) (stages 2-4 stride 2), global average pooling, linear head to z_dim.
    Inputs of another size are resized to `resolution` first."""

    @register_to_config
    def __init__(self, z_dim: int = 128, resolution: int = 64, width: int = 64, image_channels: int = 3,
                 layers: tuple[int, ...] = (2, 2, 2, 2)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(image_channels, width, 7, stride=2, padding=3, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
        stages, cin = [], width
        for i, count in enumerate(layers):
            cout = width * 2**i
            blocks = [BasicBlock(cin, cout, stride=1 if i == 0 else 2)]
            blocks += [BasicBlock(cout, cout) for _ in range(count - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(cin, z_dim)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        size = self.config.resolution
        if image.shape[-2:] != (size, size):
            image = F.interpolate(image, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        h = self.stem(image.contiguous(memory_format=torch.channels_last))
        for stage in self.stages:
            h = stage(h)
        return self.head(h.mean(dim=(2, 3)))
