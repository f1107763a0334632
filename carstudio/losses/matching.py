"""Matching losses for conditional generators (GauGAN / SSGAN objective, seed 004 eq. 7).

- `feature_matching`: L1 between the discriminator's intermediate features on real and fake.
- `perceptual_loss` with a `PerceptualFeatures` extractor: VGG19 (GauGAN) or VGG16 (RoI-GAN,
  seed 002 eq. 3.12) when a weights file is given; otherwise the frozen part segmenter's encoder
  features; otherwise plain L1 (see the class).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# VGG19's conv stack ("M" = 2x2 max-pool), layer indices matching the usual `features.N` keys.
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)
# GauGAN's perceptual loss: relu1_1 .. relu5_1, weighted 1/32 .. 1.
VGG_TAPS = {1: 1 / 32, 6: 1 / 16, 11: 1 / 8, 20: 1 / 4, 29: 1.0}  # indices of the ReLUs after those convs
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
# RoI-GAN's perceptual loss (eq. 3.12: "layers with ReLU activations" of VGG16, the loss of the
# partial-convolution paper it cites): relu1_2, relu2_2, relu3_3, relu4_3, equal weights.
VGG16_TAPS = {3: 1.0, 8: 1.0, 15: 1.0, 22: 1.0}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def feature_matching(real_features: list[list[torch.Tensor]], fake_features: list[list[torch.Tensor]]) -> torch.Tensor:
    """pix2pixHD/GauGAN feature matching: per scale, the mean over intermediate layers (all but
    the last, which is the score map) of L1(fake, real.detach()), averaged over scales."""
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError("real and fake features must list the same, non-zero number of scales")
    total = fake_features[0][0].new_zeros(())
    for real, fake in zip(real_features, fake_features):
        pairs = list(zip(real[:-1], fake[:-1]))
        for r, f in pairs:
            total = total + F.l1_loss(f, r.detach()) / len(pairs)
    return total / len(real_features)


class VGG19Features(nn.Module):
    """VGG19's convolutional part, built here (torchvision is not used) and loaded from a state
    dict file (.safetensors or a torch file) with `features.N.weight/bias` keys or bare `N.weight`.
    Returns the ReLU outputs named in TAPS (weights: its values)."""

    LAYOUT: tuple = VGG19_LAYOUT
    TAPS: dict[int, float] = VGG_TAPS

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for item in self.LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c_in, int(item), 3, padding=1), nn.ReLU()]
                c_in = int(item)
        self.features = nn.Sequential(*layers)

    @classmethod
    def from_file(cls, path: str | Path) -> "VGG19Features":
        path = Path(path)
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
        state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
        model = cls()
        model.features.load_state_dict(state)
        return model

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.TAPS:
                out.append(x)
            if i >= max(self.TAPS):
                break
        return out


class VGG16Features(VGG19Features):
    """VGG16's convolutional part (torchvision's `vgg16` state dict keys), ReLU outputs in VGG16_TAPS."""

    LAYOUT = VGG16_LAYOUT
    TAPS = VGG16_TAPS


VGG_ARCHS = {"vgg19": VGG19Features, "vgg16": VGG16Features}


class PerceptualFeatures(nn.Module):
    """Frozen feature extractor for the perceptual loss, images in [-1, 1].

    kind "vgg": VGG19 relu1_1..relu5_1 (ImageNet normalization), weights 1/32..1 -- GauGAN's
    loss, used when a weights file is supplied (none ships: this project downloads nothing); with
    `vgg_arch="vgg16"` VGG16 relu1_2..relu4_3, weights 1 (RoI-GAN's eq. 3.12).
    kind "segmenter" (the fallback): the frozen part segmenter's encoder feature map
    (`PartSegmenter.features`). It is the only trained image network the project has offline,
    it was trained on the same car renders, and its features encode part layout and edges,
    which is what the perceptual term is there to enforce beyond pixel L1.
    kind "l1": neither is available; the loss is pixel L1 (as pix2pix), said in the options.
    """

    def __init__(self, kind: str, network: nn.Module | None = None):
        super().__init__()
        if kind not in ("vgg", "segmenter", "l1"):
            raise ValueError(f"kind must be vgg, segmenter or l1, got {kind!r}")
        if kind != "l1" and network is None:
            raise ValueError(f"kind {kind!r} needs a network")
        self.kind = kind
        self.network = network.eval().requires_grad_(False) if network is not None else None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def build(cls, vgg_weights: str | Path | None = None, segmenter: nn.Module | None = None,
              vgg_arch: str = "vgg19") -> "PerceptualFeatures":
        if vgg_weights:
            if vgg_arch not in VGG_ARCHS:
                raise ValueError(f"vgg_arch must be one of {sorted(VGG_ARCHS)}, got {vgg_arch!r}")
            return cls("vgg", VGG_ARCHS[vgg_arch].from_file(vgg_weights))
        if segmenter is not None:
            return cls("segmenter", segmenter)
        return cls("l1")

    def train(self, mode: bool = True) -> "PerceptualFeatures":
        super().train(mode)
        if self.network is not None:
            self.network.eval()  # frozen: BatchNorm keeps its running statistics
        return self

    def forward(self, images: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
        """(feature map, weight) pairs."""
        if self.kind == "vgg":
            x = ((images + 1) / 2 - self.mean) / self.std
            return list(zip(self.network(x), self.network.TAPS.values()))
        if self.kind == "segmenter":
            step = 2 ** self.network.config.feature_level
            h, w = images.shape[-2:]
            x = images if not (h % step or w % step) else F.interpolate(
                images, size=(max(step, h // step * step), max(step, w // step * step)), mode="bilinear",
                align_corners=False)
            return [(self.network.features(x), 1.0)]
        return [(images, 1.0)]


def perceptual_loss(fake: torch.Tensor, real: torch.Tensor, extractor: PerceptualFeatures) -> torch.Tensor:
    """Weighted sum of L1 distances between the extractor's features of fake and real images
    (gradients flow to `fake` only). With kind "l1" this is pixel L1."""
    with torch.no_grad():
        targets = extractor(real)
    total = fake.new_zeros(())
    for (f, w), (r, _) in zip(extractor(fake), targets):
        total = total + w * F.l1_loss(f, r)
    return total
