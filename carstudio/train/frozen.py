"""The frozen networks inside GAN trainers' losses: the part segmenter (a perceptual stand-in
when no VGG weights are given, and SSGAN's sketch segmenter)."""

from __future__ import annotations

from carstudio.hub import load_model
from carstudio.losses.matching import PerceptualFeatures
from carstudio.models.segmenter import PartSegmenter


def load_segmenter(name_or_path: str) -> PartSegmenter:
    """A frozen PartSegmenter from a folder, or from weights/<name> (checksum-verified)."""
    return load_model(PartSegmenter, name_or_path).eval().requires_grad_(False)


def perceptual_features(vgg_weights: str, segmenter: str, vgg_arch: str = "vgg19") -> PerceptualFeatures:
    """VGG features when a weights file is given, else the frozen segmenter `segmenter`'s
    encoder features, else pixel L1 ('' for both)."""
    frozen = load_segmenter(segmenter) if segmenter and not vgg_weights else None
    return PerceptualFeatures.build(vgg_weights or None, frozen, vgg_arch=vgg_arch)
