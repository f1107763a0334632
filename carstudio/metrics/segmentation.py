"""Segmentation scores from a confusion matrix: per-class IoU and mIoU over part maps."""

from __future__ import annotations

import numpy as np
import torch

from carstudio.data.parts import NUM_PARTS

ArrayLike = np.ndarray | torch.Tensor


def _as_int_array(x: ArrayLike) -> np.ndarray:
    return np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x).astype(np.int64, copy=False)


def confusion_matrix(
    prediction: ArrayLike, target: ArrayLike, num_classes: int = NUM_PARTS, ignore_index: int | None = None
) -> np.ndarray:
    """(num_classes, num_classes) int64 counts: row = true class, column = predicted class.
    Any matching shapes (one map or a batch); pixels whose target is `ignore_index` are skipped."""
    pred, true = _as_int_array(prediction).ravel(), _as_int_array(target).ravel()
    if pred.shape != true.shape:
        raise ValueError(f"prediction and target differ in size: {pred.shape} vs {true.shape}")
    keep = true != ignore_index if ignore_index is not None else np.ones_like(true, dtype=bool)
    pred, true = pred[keep], true[keep]
    if pred.size and (min(pred.min(), true.min()) < 0 or max(pred.max(), true.max()) >= num_classes):
        raise ValueError(f"class ids must lie in [0, {num_classes - 1}]")
    return np.bincount(true * num_classes + pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def iou_per_class(confusion: np.ndarray) -> np.ndarray:
    """IoU of each class; NaN for a class absent from both prediction and target (no union)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    intersection = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / union, np.nan)


def mean_iou(confusion: np.ndarray) -> float:
    """Mean IoU over the classes present in the prediction or the target (NaN if none)."""
    iou = iou_per_class(confusion)
    return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")


def pixel_accuracy(confusion: np.ndarray) -> float:
    confusion = np.asarray(confusion)
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else float("nan")
