"""The metric registry (as stylegan2-ada's `metric_main`): every quality figure of the report is
a named function here, so a table column, its JSON key and its definition are one thing.

Two kinds:
- distribution metrics take (real features, fake features) in the evaluation network's space
  and return a dict of numbers (FD-ind, KID, precision/recall, density/coverage);
- paired metrics take (outputs, ground truths, ground-truth part maps), images (B, 3, H, W) in
  [-1, 1] at one size, and return a dict of numbers (L1, PSNR, SSIM, ΔE per part, sharpness).

FD-seg (the part segmenter's space, which some losses use) is computed beside them as a
secondary column only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from carstudio.metrics.colour import part_delta_e
from carstudio.metrics.image import psnr, sharpness_index, ssim
from carstudio.metrics.independent import density_coverage, fd_ind, kid, precision_recall

DistributionMetric = Callable[[np.ndarray, np.ndarray], dict[str, float]]
PairedMetric = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], dict[str, float]]

DISTRIBUTION_METRICS: dict[str, DistributionMetric] = {}
PAIRED_METRICS: dict[str, PairedMetric] = {}


def register_distribution(fn: DistributionMetric) -> DistributionMetric:
    DISTRIBUTION_METRICS[fn.__name__] = fn
    return fn


def register_paired(fn: PairedMetric) -> PairedMetric:
    PAIRED_METRICS[fn.__name__] = fn
    return fn


# --- distribution metrics (evaluation-network features) --------------------------------------
@register_distribution
def fd_ind_metric(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    return {"fd_ind": fd_ind(real, fake)}


@register_distribution
def kid_metric(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    mean, std = kid(real, fake)
    return {"kid": mean, "kid_std": std}


@register_distribution
def precision_recall_metric(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    precision, recall = precision_recall(real, fake)
    return {"precision": precision, "recall": recall}


@register_distribution
def density_coverage_metric(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    density, coverage = density_coverage(real, fake)
    return {"density": density, "coverage": coverage}


# --- paired metrics (a ground truth exists) ---------------------------------------------------
@register_paired
def pixel_metrics(output: torch.Tensor, target: torch.Tensor, parts: torch.Tensor) -> dict[str, float]:
    return {"l1": float((output - target).abs().mean()), "psnr": psnr(output, target), "ssim": ssim(output, target)}


@register_paired
def part_colour_metrics(output: torch.Tensor, target: torch.Tensor, parts: torch.Tensor) -> dict[str, float]:
    """Mean ΔE (CIE76) of each part's mean colour, over the images where the part shows."""
    errors = part_delta_e(output, target, parts)
    return {f"delta_e_{name}": float(np.mean(values)) if values else float("nan") for name, values in errors.items()}


@register_paired
def sharpness_metric(output: torch.Tensor, target: torch.Tensor, parts: torch.Tensor) -> dict[str, float]:
    return {"sharpness": sharpness_index(output, target)}


def distribution_row(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    row: dict[str, float] = {"n_real": len(real), "n_fake": len(fake)}
    for fn in DISTRIBUTION_METRICS.values():
        row.update(fn(real, fake))
    return row


def paired_row(output: torch.Tensor, target: torch.Tensor, parts: torch.Tensor) -> dict[str, float]:
    row: dict[str, float] = {"n_pairs": len(output)}
    for fn in PAIRED_METRICS.values():
        row.update(fn(output, target, parts))
    return row
