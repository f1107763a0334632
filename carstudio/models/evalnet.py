"""The evaluation network: a small ResNet classifier of render attributes (car, view, paint
colour, background) whose pooled features define the independent metrics (FD-ind, KID,
precision/recall, density/coverage; carstudio.metrics.independent).

It is the project's yardstick, so no training loss, trainer or training-time module may use it
(a generator judged in the feature space its loss optimises learns to fool that space); a unit
test enforces the rule. The part segmenter's features (FD-seg) are a loss's space and remain a
secondary column only.

Any input size works: `prepare` scales the longer side to `resolution` (keeping the aspect
ratio) with antialiasing, so 64-px outputs are judged upsampled, as the tabs show them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from carstudio.data.attributes import ATTRIBUTES


class ResidualBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus the input (1x1 projection when the shape changes), ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip = (nn.Identity() if stride == 1 and c_in == c_out else
                     nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.skip(x))


class CarAttributeNet(ModelMixin, ConfigMixin):
    """Stem (3x3 conv, stride 2) and `len(widths)` residual stages, each but the first halving
    the size; one linear head per attribute on the globally pooled last stage.

    `features(x)` concatenates the global mean of the last `feature_stages` stages: the last
    stage carries what the heads separate (car, view, paint, background), the one before it
    texture statistics that make blur and speckle move the features too.
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 3,
        resolution: int = 128,
        widths: tuple[int, ...] = (32, 64, 128, 256),
        blocks_per_stage: int = 1,
        head_names: tuple[str, ...] = tuple(ATTRIBUTES),
        head_sizes: tuple[int, ...] = tuple(len(v) for v in ATTRIBUTES.values()),
        feature_stages: int = 2,
        dropout: float = 0.1,
    ):
        super().__init__()
        widths, head_names, head_sizes = tuple(widths), tuple(head_names), tuple(head_sizes)
        if len(head_names) != len(head_sizes) or not head_names:
            raise ValueError(f"need one size per head, got names {head_names} and sizes {head_sizes}")
        if not 1 <= feature_stages <= len(widths):
            raise ValueError(f"feature_stages must lie in [1, {len(widths)}], got {feature_stages}")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 2, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        stages, c_in = [], widths[0]
        for i, width in enumerate(widths):
            blocks = [ResidualBlock(c_in, width, stride=1 if i == 0 else 2)]
            blocks += [ResidualBlock(width, width) for _ in range(blocks_per_stage - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = width
        self.stages = nn.ModuleList(stages)
        self.head_dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(widths[-1], size) for name, size in zip(head_names, head_sizes)})

    @property
    def feature_dim(self) -> int:
        return int(sum(self.config.widths[-self.config.feature_stages:]))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1] -> the longer side scaled to `resolution` (antialiased)."""
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"expected (B, {self.config.in_channels}, H, W) images, got {tuple(x.shape)}")
        scale = self.config.resolution / max(x.shape[-2:])
        if scale == 1.0:
            return x
        size = (max(8, round(x.shape[-2] * scale)), max(8, round(x.shape[-1] * scale)))
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)

    def _stage_outputs(self, x: torch.Tensor, stages: int | None = None) -> list[torch.Tensor]:
        y = self.stem(self.prepare(x))
        outputs = []
        for stage in self.stages[:stages]:
            y = stage(y)
            outputs.append(y)
        return outputs

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Images in [-1, 1] -> {head name: (B, classes) logits}."""
        pooled = self.head_dropout(self._stage_outputs(x)[-1].mean(dim=(2, 3)))
        return {name: head(pooled) for name, head in self.heads.items()}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> (B, feature_dim) pooled features of the last `feature_stages` stages."""
        outputs = self._stage_outputs(x)[-self.config.feature_stages:]
        return torch.cat([y.mean(dim=(2, 3)) for y in outputs], dim=1)

    def spatial_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> the second stage's map (B, widths[1], H/4, W/4): patch statistics
        for single-image comparisons (SIFID-ind)."""
        return self._stage_outputs(x, stages=2)[-1]
