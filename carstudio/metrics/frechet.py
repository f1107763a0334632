"""Fréchet distance between Gaussians fitted to features, and the torchmetrics adapters.

Two feature spaces:
- "FD-seg": the part segmenter's pooled encoder features (see carstudio.metrics.features).
  Always available offline. It is not comparable with published FID numbers; call it FD-seg.
- "FID": Inception-v3 (torch-fidelity's weights) through torchmetrics, only when a local weights
  file is given and torch-fidelity is installed; the weights cannot be downloaded here.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torchmetrics.image.fid import FrechetInceptionDistance

from carstudio.models.segmenter import PartSegmenter

from .features import PooledSegmenterFeatures

FD_SEG = "FD-seg"
FID = "FID"
INCEPTION_SIZE = 299
BATCH = 100


class InceptionUnavailable(RuntimeError):
    """Inception-based FID was asked for but cannot run here; the message says why."""


def gaussian_stats(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) samples -> (mean (D,), unbiased covariance (D, D)), in float64."""
    x = np.asarray(features.detach().cpu() if isinstance(features, torch.Tensor) else features, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need (N >= 2, D) feature samples, got shape {x.shape}")
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False))


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    # scipy warns on singular input; the caller checks the result and regularises instead
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(matrix)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    sqrtm of a product of near-singular covariances (few samples, dead channels) can come out
    non-finite or with sizeable imaginary parts; then both covariances get `eps` on the diagonal
    (the usual remedy). Tiny imaginary parts are numerical noise and dropped. Never negative."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape}/{mu2.shape}, sigma {sigma1.shape}/{sigma2.shape}")
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all() or np.abs(np.imag(covmean)).max(initial=0.0) > 1e-3:
        offset = np.eye(mu1.size) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def frechet_distance_of_samples(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) sample sets."""
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


def fd_seg_metric(segmenter: PartSegmenter, normalize: bool = False) -> FrechetInceptionDistance:
    """torchmetrics' Fréchet metric on the segmenter's pooled features ("FD-seg").

    update() takes uint8 images in [0, 255] (or floats in [0, 1] with normalize=True), any
    size. The metric object keeps torchmetrics' class name; report its value as FD-seg."""
    metric = FrechetInceptionDistance(feature=PooledSegmenterFeatures(segmenter), normalize=normalize)
    metric.feature_network = "part segmenter (FD-seg)"
    return metric


def inception_fid_metric(weights_path: str | Path | None, normalize: bool = False) -> FrechetInceptionDistance:
    """Real FID: torchmetrics + torch-fidelity's Inception-v3 with weights from a LOCAL file
    (pt_inception-2015-12-05-6726825d.pth). Raises InceptionUnavailable when that cannot run."""
    if weights_path is None:
        raise InceptionUnavailable(
            "FID needs Inception-v3 weights, which cannot be downloaded on this machine: pass a local "
            "weights file (torch-fidelity's pt_inception-2015-12-05-6726825d.pth), or use FD-seg."
        )
    path = Path(weights_path)
    if not path.is_file():
        raise InceptionUnavailable(f"Inception weights file not found: {path}")
    if importlib.util.find_spec("torch_fidelity") is None:
        raise InceptionUnavailable(
            "FID with Inception needs the torch-fidelity package, which is not installed; use FD-seg."
        )
    return FrechetInceptionDistance(feature=2048, feature_extractor_weights_path=str(path), normalize=normalize)


def distribution_metric(
    segmenter: PartSegmenter | None = None, inception_weights: str | Path | None = None, normalize: bool = False
) -> tuple[str, FrechetInceptionDistance]:
    """(label, metric): Inception FID when a weights file is given, else FD-seg on `segmenter`."""
    if inception_weights is not None:
        return FID, inception_fid_metric(inception_weights, normalize)
    if segmenter is None:
        raise ValueError("FD-seg needs a PartSegmenter (or pass inception_weights for FID)")
    return FD_SEG, fd_seg_metric(segmenter, normalize)


def to_feature_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """[-1, 1] images -> uint8 at the feature network's resolution (torchmetrics' convention)."""
    if images.shape[-1] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def frechet(images: torch.Tensor, reference: torch.Tensor, feature_segmenter: PartSegmenter | None,
            inception_weights: str | Path | None) -> tuple[str, float]:
    """(label, distance) between two sets of [-1, 1] images: FID with Inception weights, else
    FD-seg; images are resized to the feature network's resolution first."""
    label, metric = distribution_metric(feature_segmenter, inception_weights)
    size = feature_segmenter.config.resolution if inception_weights is None else INCEPTION_SIZE
    for i in range(0, len(reference), BATCH):
        metric.update(to_feature_input(reference[i : i + BATCH], size), real=True)
    for i in range(0, len(images), BATCH):
        metric.update(to_feature_input(images[i : i + BATCH], size), real=False)
    return label, float(metric.compute())
