"""torch Datasets over rendered folders and real-photo folders (Stanford Cars, SPADE, SketchyCOCO
style). Images come out as float CHW tensors in [-1, 1], label maps as int64 HxW tensors.
Resizing uses PIL (bicubic for pictures, nearest for labels); no torchvision.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from carstudio.data.layout import FOLDERS, MANIFEST

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

Size = int | tuple[int, int]  # int: square; tuple: (width, height)


def _wh(size: Size | None) -> tuple[int, int] | None:
    if size is None:
        return None
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def fit(image: Image.Image, size: Size | None, resample: Image.Resampling) -> Image.Image:
    """Scale to cover `size` keeping the aspect ratio, then centre-crop to it."""
    wh = _wh(size)
    if wh is None or image.size == wh:
        return image
    return ImageOps.fit(image, wh, method=resample, centering=(0.5, 0.5))


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB or L -> float CHW in [-1, 1]."""
    a = np.asarray(image, dtype=np.float32)
    if a.ndim == 2:
        a = a[..., None]
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) / 127.5 - 1.0


def load_rgb(path: Path, size: Size | None = None) -> torch.Tensor:
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")  # phone photos carry their rotation
        return to_tensor(fit(im, size, Image.Resampling.BICUBIC))


def load_gray(path: Path, size: Size | None = None) -> torch.Tensor:
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("L")
        return to_tensor(fit(im, size, Image.Resampling.BICUBIC))


def load_labels(path: Path, size: Size | None = None, label_nc: int | None = None) -> torch.Tensor:
    """Label map (mode L or P: the raw indices, not the palette colours) -> int64 HxW.

    With `label_nc`, every id in the file (checked before resizing) must be below it.
    """
    with Image.open(path) as im:
        if im.mode not in ("L", "P", "I", "I;16"):
            raise ValueError(f"{path}: label maps must be single-channel ids (mode L/P), "
                             f"got mode {im.mode}")
        if label_nc is not None:
            top = int(np.asarray(im).max())
            if top >= label_nc:
                raise ValueError(f"{path}: label id {top} out of range for label_nc={label_nc} "
                                 f"(ids must be 0..{label_nc - 1})")
        im = fit(im, size, Image.Resampling.NEAREST)
        return torch.from_numpy(np.asarray(im).astype(np.int64))


def list_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)


class RenderDataset(Dataset):
    """A folder written by `python -m carstudio.data render`.

    Items are dicts with the requested `fields`: "image" and "paint" (3xHxW in [-1, 1]),
    "sketch" (1xHxW in [-1, 1], lines at -1), "parts" (HxW int64 part ids), plus "index".
    `records[i]` is sample i's manifest entry (car, domain, camera, ...).
    """

    def __init__(self, root: str | Path, fields: Sequence[str] = ("image", "parts"),
                 size: Size | None = None) -> None:
        self.root, self.size = Path(root), size
        unknown = set(fields) - set(FOLDERS)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}; choose from {list(FOLDERS)}")
        self.fields = tuple(fields)
        manifest = self.root / MANIFEST
        if manifest.exists():
            records = [json.loads(line) for line in manifest.read_text().splitlines() if line]
            present = {p.name for p in (self.root / "images").glob("*.png")}
            self.records = [r for r in records if r["file"] in present]
        else:
            self.records = [{"file": p.name} for p in sorted((self.root / "images").glob("*.png"))]
        if not self.records:
            folders = "/".join(FOLDERS.values())
            raise FileNotFoundError(f"no rendered samples in {self.root} (expected {folders} "
                                    "folders from `python -m carstudio.data render`)")

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        name = self.records[i]["file"]
        item = {"index": torch.tensor(int(Path(name).stem))}
        for f in self.fields:
            path = self.root / FOLDERS[f] / name
            if f == "parts":
                item[f] = load_labels(path, self.size)
            elif f == "sketch":
                item[f] = load_gray(path, self.size)
            else:
                item[f] = load_rgb(path, self.size)
        return item


class ImageFolderDataset(Dataset):
    """All images under `root` (any depth: Stanford Cars / CompCars style): {"image": 3xHxW}."""

    def __init__(self, root: str | Path, size: Size) -> None:
        self.root, self.size = Path(root), size
        self.paths = list_images(self.root)
        if not self.paths:
            raise FileNotFoundError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {self.root}")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": load_rgb(self.paths[i], self.size)}


def _pair(a_dir: Path, b_dir: Path, what: tuple[str, str]) -> list[tuple[Path, Path]]:
    """Match files of two folders by stem (e.g. img_001.jpg <-> img_001.png)."""
    a = {p.relative_to(a_dir).with_suffix(""): p for p in list_images(a_dir)}
    b = {p.relative_to(b_dir).with_suffix(""): p for p in list_images(b_dir)}
    if not a or not b:
        empty = a_dir if not a else b_dir
        raise FileNotFoundError(f"no images in {empty}")
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    lines = [f"{len(only)} {mine} without a {theirs} (e.g. {files[only[0]]})"
             for only, files, mine, theirs in ((only_a, a, *what), (only_b, b, *what[::-1]))
             if only]
    if lines:
        raise ValueError(f"unpaired files in {a_dir} / {b_dir}: " + "; ".join(lines))
    return [(a[k], b[k]) for k in sorted(a)]


class PairedLabelDataset(Dataset):
    """Images and label maps matched by file name (SPADE "custom" layout):
    {"image": 3xHxW in [-1, 1], "label": HxW int64 in [0, label_nc)}."""

    def __init__(self, image_dir: str | Path, label_dir: str | Path, label_nc: int,
                 size: Size) -> None:
        if label_nc < 1:
            raise ValueError("label_nc must be at least 1")
        self.label_nc, self.size = label_nc, size
        self.pairs = _pair(Path(image_dir), Path(label_dir), ("images", "label maps"))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        image_path, label_path = self.pairs[i]
        label = load_labels(label_path, self.size, self.label_nc)
        return {"image": load_rgb(image_path, self.size), "label": label}


class PairedSketchDataset(Dataset):
    """Sketches and images matched by file name (SketchyCOCO style):
    {"sketch": 1xHxW in [-1, 1] (lines dark), "image": 3xHxW in [-1, 1]}."""

    def __init__(self, sketch_dir: str | Path, image_dir: str | Path, size: Size) -> None:
        self.size = size
        self.pairs = _pair(Path(sketch_dir), Path(image_dir), ("sketches", "images"))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        sketch_path, image_path = self.pairs[i]
        return {"sketch": load_gray(sketch_path, self.size),
                "image": load_rgb(image_path, self.size)}
