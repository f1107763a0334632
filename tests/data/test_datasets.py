"""torch Datasets: rendered folders, photo folders, paired label maps and sketches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio.data.datasets import (
    ImageFolderDataset,
    PairedLabelDataset,
    PairedSketchDataset,
    RenderDataset,
)


def _save(path, array, mode=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)


def test_render_dataset(rendered) -> None:
    ds = RenderDataset(rendered, fields=("image", "parts", "sketch", "paint"))
    assert len(ds) == 6 and ds.records[0]["index"] == 0
    item = ds[2]
    assert item["image"].shape == (3, 24, 40) and item["image"].dtype == torch.float32
    assert -1.0 <= item["image"].min() and item["image"].max() <= 1.0
    assert item["parts"].shape == (24, 40) and item["parts"].dtype == torch.int64
    assert item["sketch"].shape == (1, 24, 40) and item["paint"].shape == (3, 24, 40)
    assert int(item["index"]) == 2
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 24, 40)
    resized = RenderDataset(rendered, fields=("parts",), size=16)[0]["parts"]
    assert resized.shape == (16, 16) and resized.max() < 6  # nearest: ids stay ids
    with pytest.raises(ValueError, match="unknown fields"):
        RenderDataset(rendered, fields=("depth",))


def test_image_folder(tmp_path) -> None:
    rng = np.random.default_rng(0)
    _save(tmp_path / "a" / "one.jpg", rng.integers(0, 255, (30, 50, 3), np.uint8))
    _save(tmp_path / "b" / "c" / "two.png", rng.integers(0, 255, (40, 20, 4), np.uint8), "RGBA")
    _save(tmp_path / "gray.png", rng.integers(0, 255, (10, 10), np.uint8), "L")
    (tmp_path / "notes.txt").write_text("not an image")
    ds = ImageFolderDataset(tmp_path, size=(32, 16))
    assert len(ds) == 3
    for i in range(3):
        x = ds[i]["image"]
        assert x.shape == (3, 16, 32) and -1.0 <= x.min() and x.max() <= 1.0
    with pytest.raises(FileNotFoundError):
        ImageFolderDataset(tmp_path / "a" / "missing", size=8)


def test_paired_labels_and_label_nc_error(tmp_path) -> None:
    images, labels = tmp_path / "images", tmp_path / "labels"
    _save(images / "x1.jpg", np.zeros((20, 20, 3), np.uint8))
    _save(images / "x2.jpg", np.zeros((20, 20, 3), np.uint8))
    good = np.zeros((20, 20), np.uint8)
    good[5:10, 5:10] = 5
    _save(labels / "x1.png", good, "L")
    bad = good.copy()
    bad[0, 0] = 7
    _save(labels / "x2.png", bad, "L")
    ds = PairedLabelDataset(images, labels, label_nc=6, size=10)
    item = ds[0]
    assert item["label"].shape == (10, 10) and item["label"].dtype == torch.int64
    assert set(item["label"].unique().tolist()) == {0, 5}
    assert item["image"].shape == (3, 10, 10)
    with pytest.raises(ValueError, match=r"x2\.png: label id 7 out of range for label_nc=6"):
        ds[1]
    _save(images / "x3.jpg", np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(ValueError, match="1 images without a label maps"):
        PairedLabelDataset(images, labels, label_nc=6, size=10)


def test_paired_sketches(tmp_path) -> None:
    _save(tmp_path / "sketch" / "s.png", np.full((12, 12), 255, np.uint8), "L")
    _save(tmp_path / "photo" / "s.jpg", np.zeros((24, 24, 3), np.uint8))
    item = PairedSketchDataset(tmp_path / "sketch", tmp_path / "photo", size=8)[0]
    assert item["sketch"].shape == (1, 8, 8) and float(item["sketch"].min()) == 1.0
    assert item["image"].shape == (3, 8, 8)
