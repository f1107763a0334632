"""Distribution metrics in the evaluation network's feature space (the independent yardstick).

- FD-ind: Fréchet distance between Gaussians fitted to the pooled features (not FID: no
  Inception; numbers are comparable only with other FD-ind numbers of the same network).
- KID: unbiased polynomial-kernel MMD (torchmetrics' `poly_mmd`) averaged over random subsets,
  so a few hundred samples give an unbiased estimate (Binkowski et al. 2018).
- precision / recall: k-NN manifolds (Kynkäänniemi et al. 2019, k = 3).
- density / coverage: (Naeem et al. 2020, k = 5), robust to outliers in the real set.

The network (`carstudio.models.evalnet.CarAttributeNet`, shipped as `weights/evalnet-128`) is
trained on render attributes only; no loss may use it (see tests/unit/test_evalnet.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchmetrics.image.kid import poly_mmd

from carstudio.hub import load_model
from carstudio.metrics.frechet import frechet_distance_of_samples
from carstudio.models.evalnet import CarAttributeNet

EVALNET = "evalnet-128"
FD_IND = "FD-ind"


def load_evaluation_network(name_or_path: str | Path = EVALNET) -> CarAttributeNet:
    net = load_model(CarAttributeNet, name_or_path)
    return net.eval()


def to_model_batch(images: Sequence[Image.Image] | torch.Tensor) -> torch.Tensor:
    """PIL images or (B, 3, H, W) uint8/float tensors -> float (B, 3, H, W) in [-1, 1].
    Float tensors are taken to be in [-1, 1] already; PIL images must share one size."""
    if isinstance(images, torch.Tensor):
        return images.float() / 127.5 - 1.0 if images.dtype == torch.uint8 else images.float()
    arrays = [np.asarray(im.convert("RGB"), dtype=np.float32) for im in images]
    if len({a.shape for a in arrays}) > 1:
        raise ValueError("images of one batch must share one size")
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 127.5 - 1.0


@torch.no_grad()
def pooled_features(net: CarAttributeNet, images: Iterable | torch.Tensor, batch_size: int = 100) -> np.ndarray:
    """Images (a tensor, a list of PIL images, or an iterable of batches of either) ->
    (N, feature_dim) float64 features."""
    if isinstance(images, torch.Tensor) or (isinstance(images, list) and images and isinstance(images[0], Image.Image)):
        batches = (images[i:i + batch_size] for i in range(0, len(images), batch_size))
    else:
        batches = images
    out = [net.features(to_model_batch(batch)).double().numpy() for batch in batches]
    if not out:
        raise ValueError("no images to score")
    return np.concatenate(out)


def fd_ind(real: np.ndarray, fake: np.ndarray) -> float:
    return frechet_distance_of_samples(real, fake)


def kid(real: np.ndarray, fake: np.ndarray, subsets: int = 50, subset_size: int = 500,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased polynomial-kernel MMD^2 over random subsets of both sets."""
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    r, f = torch.from_numpy(np.asarray(real, np.float64)), torch.from_numpy(np.asarray(fake, np.float64))
    values = [float(poly_mmd(r[rng.choice(len(r), size, replace=False)], f[rng.choice(len(f), size, replace=False)]))
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def _kth_neighbour_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of every row of x to its k-th nearest other row."""
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # +1: the row itself is at distance 0


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision (share of fakes inside the real k-NN manifold) and recall (share of
    reals inside the fake manifold)."""
    r, f = torch.from_numpy(np.asarray(real, np.float64)), torch.from_numpy(np.asarray(fake, np.float64))
    if min(len(r), len(f)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples per set")
    r_radii, f_radii = _kth_neighbour_radii(r, k), _kth_neighbour_radii(f, k)
    d = torch.cdist(f, r)  # (fake, real)
    precision = (d <= r_radii[None, :]).any(dim=1).double().mean()
    recall = (d.T <= f_radii[None, :]).any(dim=1).double().mean()
    return float(precision), float(recall)


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Density (how many real k-NN balls hold each fake, / k; 1 for matched sets) and coverage
    (share of real balls that hold at least one fake)."""
    r, f = torch.from_numpy(np.asarray(real, np.float64)), torch.from_numpy(np.asarray(fake, np.float64))
    if len(r) <= k or len(f) == 0:
        raise ValueError(f"density/coverage with k={k} needs more than {k} real samples and some fakes")
    radii = _kth_neighbour_radii(r, k)
    inside = torch.cdist(f, r) <= radii[None, :]  # (fake, real)
    density = inside.double().sum() / (k * len(f))
    coverage = inside.any(dim=0).double().mean()
    return float(density), float(coverage)


def distribution_scores(real: np.ndarray, fake: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Every distribution metric of two feature sets, by name (the report's columns)."""
    kid_mean, kid_std = kid(real, fake, seed=seed)
    precision, recall = precision_recall(real, fake)
    density, coverage = density_coverage(real, fake)
    return {"fd_ind": fd_ind(real, fake), "kid": kid_mean, "kid_std": kid_std, "precision": precision,
            "recall": recall, "density": density, "coverage": coverage, "n_real": len(real), "n_fake": len(fake)}


class IndependentSpatialFeatures(torch.nn.Module):
    """SIFID extractor (carstudio.metrics.sifid): an image (PIL, or (1, 3, H, W) in [-1, 1]) ->
    the evaluation network's second-stage map (1, C, h, w), the patch statistics of "SIFID-ind"."""

    def __init__(self, net: CarAttributeNet):
        super().__init__()
        self.net = net.eval()
        source = Path(str(net.config.get("_name_or_path") or "unsaved")).name
        self.description = (f"evaluation network ({source}) "
                            f"stage 2: {net.config.widths[1]} channels at 1/4 of {net.config.resolution} px")

    @torch.no_grad()
    def forward(self, image: torch.Tensor | Image.Image) -> torch.Tensor:
        x = to_model_batch([image]) if isinstance(image, Image.Image) else image.float()
        return self.net.spatial_features(x)
