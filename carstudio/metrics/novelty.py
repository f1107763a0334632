"""Novelty of a generated car: the distance to its nearest training image, and how that distance
compares with the usual gap between training images (issue 5: "design tools must show how far an
output is from what they were trained on").

Feature space: the part segmenter's pooled encoder features, the space of the project's FD-seg
(`carstudio.metrics.features`, weights/segmenter-128), at the generator's resolution as FD-seg is
measured. Why not the blend encoder's z space, which would need no extra model:
- the number should judge the picture, not the model that made it: the encoder and the
  fine-tuned generator are the models under test, and a z distance says how far apart two codes
  are, not two cars (different codes can draw near-identical cars and vice versa);
- the encoder was trained on the generators' own images only, so its codes of real training
  renders lie off its training distribution, and a blend's code w = a x + (1 - a) y is shorter
  than its ends (averaging Gaussian codes), which would bias any z distance;
- the segmenter was trained on renders of both domains and its features describe the car's parts
  and their layout; the evaluation's FD-seg uses the same features, so the tab's figure and the
  evaluation table speak about one space.
The price is a second network at serving time (0.5 M parameters, a few ms at 64 px); without it,
or without a bank, the blend tab reports novelty as unavailable.

A bank holds the features of the training images, each image's distance to its nearest *other*
training image, and the file names. A distance d reads as d / (median of those nearest-neighbour
gaps): "1.3x the usual gap between training cars"; below 1 the car is closer to a training image
than training images usually are to each other.

    python -m carstudio.metrics.novelty --data data/sngan64_side \\
        data/sngan64_futuristic_side --out weights/novelty-blend-64
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from carstudio.data.datasets import RenderDataset
from carstudio.hub import ModelUnavailable, load_model, model_dir, verify_checksums, write_model_card
from carstudio.imaging import pil_to_tensor
from carstudio.metrics.features import SpatialSegmenterFeatures
from carstudio.models.segmenter import PartSegmenter

NOVELTY_WEIGHTS = "novelty-blend-64"
BANK_FILE = "novelty_bank.safetensors"
DEFAULT_SEGMENTER = "segmenter-128"


def segmenter_fingerprint(segmenter: PartSegmenter) -> str:
    """A hash of the segmenter's weights: a bank is only valid with the network that built it."""
    digest = hashlib.sha256()
    for name, tensor in sorted(segmenter.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def pooled_features(extractor: SpatialSegmenterFeatures, images: torch.Tensor) -> torch.Tensor:
    """(B, 3, R, R) in [-1, 1] -> (B, C): spatial means of the segmenter feature map (FD-seg's)."""
    return extractor(images).mean(dim=(2, 3))


def nearest_other(features: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """(N, C) -> (N,) each row's Euclidean distance to its nearest other row."""
    out = torch.empty(features.shape[0])
    for start in range(0, features.shape[0], chunk):
        distances = torch.cdist(features[start:start + chunk], features)
        rows = torch.arange(distances.shape[0])
        distances[rows, start + rows] = math.inf
        out[start:start + chunk] = distances.min(dim=1).values
    return out


@dataclass
class NoveltyBank:
    features: torch.Tensor  # (N, C) float32, one row per training image
    nearest: torch.Tensor  # (N,) each training image's distance to its nearest other one
    files: list[str]  # "folder/images/name.png" per row
    domains: list[str]  # the manifest's domain per row ("" when unknown)
    resolution: int  # images are resized to this side before their features are taken
    feature_space: str  # human-readable, from carstudio.metrics.features.describe
    segmenter: str  # where the segmenter came from (a weights name or a folder)
    fingerprint: str  # segmenter_fingerprint of that segmenter

    def __post_init__(self):
        n = self.features.shape[0]
        if self.features.ndim != 2 or n < 2:
            raise ValueError(f"a novelty bank needs (N >= 2, C) features, got {tuple(self.features.shape)}")
        if self.nearest.shape != (n,) or len(self.files) != n or len(self.domains) != n:
            raise ValueError("features, nearest distances, files and domains must have one entry per image")

    @property
    def usual_gap(self) -> float:
        """The median distance from a training image to its nearest other training image."""
        return float(self.nearest.median())

    def relative(self, distance: float) -> float:
        """distance in units of the usual gap (inf when the training set is all duplicates)."""
        gap = self.usual_gap
        return distance / gap if gap > 0 else math.inf

    def share_closer(self, distance: float) -> float:
        """Share of training images whose own nearest neighbour is closer than `distance`."""
        return float((self.nearest < distance).float().mean())

    def nearest_to(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C) -> (distances (B,), indices (B,)) of the nearest training image."""
        # exact differences, not the matrix-product shortcut: a training image finds itself at 0
        distances = torch.cdist(features.float(), self.features, compute_mode="donot_use_mm_for_euclid_dist")
        best = distances.min(dim=1)
        return best.values, best.indices

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata = {"files": json.dumps(self.files), "domains": json.dumps(self.domains),
                    "resolution": str(self.resolution), "feature_space": self.feature_space,
                    "segmenter": self.segmenter, "fingerprint": self.fingerprint}
        save_file({"features": self.features.float().contiguous(), "nearest": self.nearest.float().contiguous()},
                  str(path), metadata=metadata)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "NoveltyBank":
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
        try:
            return cls(tensors["features"], tensors["nearest"], json.loads(metadata["files"]),
                       json.loads(metadata["domains"]), int(metadata["resolution"]), metadata["feature_space"],
                       metadata["segmenter"], metadata["fingerprint"])
        except KeyError as error:
            raise ValueError(f"{path} is not a novelty bank (no {error})") from error


def load_segmenter(name_or_path: str | Path) -> PartSegmenter:
    """A local folder, or a name under weights/ (checksum-verified)."""
    return load_model(PartSegmenter, name_or_path).eval()


@torch.no_grad()  # not inference_mode: the bank's tensors are used (and saved) outside it
def build_novelty_bank(folders: str | Path | Sequence[str | Path], segmenter: PartSegmenter,
                       resolution: int = 64, segmenter_name: str = DEFAULT_SEGMENTER,
                       batch_size: int = 64) -> NoveltyBank:
    """Features of every image in one or more render folders (as the GANs' trainers load them:
    RenderDataset at `resolution`), and each one's nearest-neighbour gap."""
    folders = [Path(folders)] if isinstance(folders, (str, Path)) else [Path(f) for f in folders]
    extractor = SpatialSegmenterFeatures(segmenter.eval())
    features, files, domains = [], [], []
    for folder in folders:
        dataset = RenderDataset(folder, fields=("image",), size=resolution)
        for start in range(0, len(dataset), batch_size):
            rows = range(start, min(start + batch_size, len(dataset)))
            features.append(pooled_features(extractor, torch.stack([dataset[i]["image"] for i in rows])))
        files += [f"{folder.name}/images/{r['file']}" for r in dataset.records]
        domains += [str(r.get("domain", "")) for r in dataset.records]
    stacked = torch.cat(features).float()
    return NoveltyBank(stacked, nearest_other(stacked), files, domains, resolution, extractor.description,
                       str(segmenter_name), segmenter_fingerprint(segmenter))


class NoveltyMeter:
    """A bank and the segmenter that built it: image -> (distance, index of the nearest)."""

    def __init__(self, bank: NoveltyBank, segmenter: PartSegmenter):
        if segmenter_fingerprint(segmenter) != bank.fingerprint:
            raise ValueError(f"this novelty bank was built with another segmenter ({bank.segmenter}); rebuild it "
                             "with `python -m carstudio.metrics.novelty`")
        self.bank = bank
        self.extractor = SpatialSegmenterFeatures(segmenter.eval())

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path = NOVELTY_WEIGHTS,
                        segmenter: str | Path | PartSegmenter | None = None) -> "NoveltyMeter":
        """A bank folder, or a name under weights/ (checksum-verified); the segmenter named in the
        bank unless one is given. Missing or damaged files raise ModelUnavailable."""
        path = Path(name_or_path)
        if not path.is_dir():
            name = str(name_or_path)
            path = model_dir(name)
            if not path.is_dir():
                raise ModelUnavailable(f"The novelty bank '{name}' is not installed (expected {path}).")
            verify_checksums(path, name)
        try:
            bank = NoveltyBank.load(path / BANK_FILE)
            if not isinstance(segmenter, PartSegmenter):
                segmenter = load_segmenter(segmenter or bank.segmenter)
            return cls(bank, segmenter)
        except ModelUnavailable:
            raise
        except Exception as error:  # a missing, foreign or mismatched file: unavailable, with the reason
            raise ModelUnavailable(f"The novelty bank in {path} could not be used: {error}") from error

    @torch.inference_mode()
    def __call__(self, images: Image.Image | Sequence[Image.Image]) -> tuple[torch.Tensor, torch.Tensor]:
        """One or more car images -> (distances (B,), indices (B,)) to their nearest training image."""
        images = [images] if isinstance(images, Image.Image) else list(images)
        side = (self.bank.resolution,) * 2
        batch = torch.cat([pil_to_tensor(im.convert("RGB").resize(side, Image.Resampling.BICUBIC)
                                         if im.size != side else im) for im in images])
        return self.bank.nearest_to(pooled_features(self.extractor, batch))

    def describe(self, distance: float, index: int) -> str:
        """The figure as a person reads it (Markdown)."""
        bank = self.bank
        domain = f"{bank.domains[index]} " if bank.domains[index] else ""
        ratio = bank.relative(distance)
        times = f"**{ratio:.1f}x** the usual gap between training cars" if math.isfinite(ratio) else "not comparable"
        return (f"**Novelty:** {times}. Its nearest training image ({domain}`{bank.files[index]}`) is at distance "
                f"{distance:.3g} in the part segmenter's features; {bank.share_closer(distance):.0%} of the "
                f"{len(bank.files)} training cars have a neighbour closer than that.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="the generators' training render folders")
    parser.add_argument("--out", type=Path, required=True, help="folder for the bank and its card")
    parser.add_argument("--segmenter", default=DEFAULT_SEGMENTER, help="weights name or folder")
    parser.add_argument("--resolution", type=int, default=64, help="the generators' resolution")
    args = parser.parse_args(argv)
    bank = build_novelty_bank(args.data, load_segmenter(args.segmenter), args.resolution, str(args.segmenter))
    bank.save(args.out / BANK_FILE)
    write_model_card(args.out, "\n".join([
        f"# {args.out.name}: novelty bank for the futuristic blend tab",
        "",
        f"Features of {len(bank.files)} training images ({', '.join(f.as_posix() for f in args.data)}) at "
        f"{bank.resolution} px in {bank.feature_space} (segmenter `{bank.segmenter}`, fingerprint "
        f"{bank.fingerprint}), each image's distance to its nearest other training image (median "
        f"{bank.usual_gap:.4g}: the usual gap), and the file names. Built with:",
        "```",
        "python -m carstudio.metrics.novelty " + " ".join(sys.argv[1:] if argv is None else argv),
        "```",
    ]))
    print(f"{len(bank.files)} images, usual gap {bank.usual_gap:.4g} -> {args.out}")


if __name__ == "__main__":
    main()
