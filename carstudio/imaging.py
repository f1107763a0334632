"""Conversions between PIL images, numpy arrays and model tensors in [-1, 1]; picture grids."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL -> (1, 3, H, W) float in [-1, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)[None].contiguous()


def tensor_to_pil(images: torch.Tensor) -> list[Image.Image]:
    """(B, 3, H, W) in [-1, 1] -> list of RGB PIL images (values outside are clipped)."""
    array = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(a.permute(1, 2, 0).cpu().numpy()) for a in array]


def tile(tiles: list[Image.Image]) -> Image.Image:
    """Tiles of one size into a square-ish grid on white, row by row."""
    cols = math.ceil(math.sqrt(len(tiles)))
    w, h = tiles[0].size
    sheet = Image.new("RGB", (cols * w, math.ceil(len(tiles) / cols) * h), "white")
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % cols) * w, (i // cols) * h))
    return sheet


def grid(rows: list[list[Image.Image]]) -> Image.Image:
    """Rows of tiles of any sizes, left-aligned, each row as tall as its tallest tile, on white."""
    width = max(sum(t.width for t in row) for row in rows)
    height = sum(max(t.height for t in row) for row in rows)
    sheet = Image.new("RGB", (width, height), "white")
    y = 0
    for row in rows:
        x = 0
        for t in row:
            sheet.paste(t, (x, y))
            x += t.width
        y += max(t.height for t in row)
    return sheet


def kmeans_colors(pixels: np.ndarray, k: int, seed: int = 0, iterations: int = 20) -> np.ndarray:
    """(N, 3) float pixels -> (k, 3) cluster centres, sorted by cluster size (largest first).
    Plain Lloyd iterations: enough for a palette, and deterministic by seed."""
    rng = np.random.default_rng(seed)
    pixels = pixels.astype(np.float32)
    centres = pixels[rng.choice(len(pixels), size=k, replace=len(pixels) < k)]
    for _ in range(iterations):
        labels = ((pixels[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        for c in range(k):
            members = pixels[labels == c]
            if len(members):
                centres[c] = members.mean(0)
    labels = ((pixels[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    order = np.argsort(-np.bincount(labels, minlength=k))
    return centres[order]


def quantize_to(image: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map every pixel of an HxWx3 image to its nearest palette colour."""
    flat = image.reshape(-1, 3).astype(np.float32)
    labels = ((flat[:, None] - palette[None].astype(np.float32)) ** 2).sum(-1).argmin(1)
    return palette[labels].reshape(image.shape).astype(image.dtype)
