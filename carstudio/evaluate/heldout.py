"""The fixed render sets every quality figure is computed on: held-out cars (never seen by a
generator) and, for the floors, training cars, each at 64, 128 and 256 px.

A set is a pure function of its settings (the renderer draws sample i from (seed, i, cars)), so
`python -m carstudio.evaluate render-sets` makes the same pictures on any machine, and the
report's picture grids show the same inputs every time. Scene seeds match the sets the
generators were evaluated on before (everyday test seed 1, side views 110/120), so older tables
and these describe the same scenes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

DATA_ROOT = Path("data/eval")
SIZES: tuple[int, ...] = (64, 128, 256)
COUNT = 1000


@dataclass(frozen=True)
class RenderSet:
    domain: str
    split: str
    view: str
    seed: int
    count: int = COUNT

    def folder(self, name: str, size: int, root: Path = DATA_ROOT) -> Path:
        return Path(root) / f"{name}-{size}"

    def command(self, name: str, size: int, root: Path = DATA_ROOT) -> str:
        return (f"python -m carstudio.data render --out {self.folder(name, size, root)} --size {size} "
                f"--count {self.count} --domain {self.domain} --split {self.split} --views {self.view} "
                f"--seed {self.seed}")


RENDER_SETS: dict[str, RenderSet] = {
    # held-out (test) cars: the inputs and references of every tab
    "everyday-test": RenderSet("everyday", "test", "any", 1),
    "side-everyday-test": RenderSet("everyday", "test", "side", 110),
    "side-futuristic-test": RenderSet("futuristic", "test", "side", 120),
    # training cars, other scenes: the floors (what two render sets of one distribution score)
    "everyday-train": RenderSet("everyday", "train", "any", 2),
    "side-everyday-train": RenderSet("everyday", "train", "side", 10),
    "side-futuristic-train": RenderSet("futuristic", "train", "side", 20),
}
# Held-out set -> its training counterpart for the floor.
FLOOR_PAIRS: dict[str, str] = {
    "everyday-test": "everyday-train",
    "side-everyday-test": "side-everyday-train",
    "side-futuristic-test": "side-futuristic-train",
}


class MissingRenders(FileNotFoundError):
    """A render set is not on disk; the message has the command that makes it."""


@dataclass
class Renders:
    """A render set in memory: images (N, 3, S, S) and paints uint8, parts (N, S, S) int64,
    sketches (N, 1, S, S) uint8 (lines dark), and the manifest records."""

    images: torch.Tensor
    parts: torch.Tensor
    sketches: torch.Tensor
    paints: torch.Tensor
    records: list[dict]

    def __len__(self) -> int:
        return len(self.records)

    def float_images(self) -> torch.Tensor:
        return self.images.float() / 127.5 - 1.0


def set_folder(name: str, size: int, root: Path = DATA_ROOT) -> Path:
    spec = RENDER_SETS[name]
    folder = spec.folder(name, size, root)
    if not (folder / "manifest.jsonl").is_file():
        raise MissingRenders(f"render set {folder} is missing; make it with `{spec.command(name, size, root)}` "
                             "or all of them with `python -m carstudio.evaluate render-sets`")
    return folder


def _stack(paths: list[Path], mode: str) -> torch.Tensor:
    arrays = [np.asarray(Image.open(p).convert(mode)) for p in paths]
    tensor = torch.from_numpy(np.stack(arrays))
    return tensor.permute(0, 3, 1, 2).contiguous() if tensor.ndim == 4 else tensor


def load_set(name: str, size: int, count: int | None = None, root: Path = DATA_ROOT) -> Renders:
    """The first `count` samples (all when None) of a render set, in index order."""
    folder = set_folder(name, size, root)
    records = sorted((json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()
                      if line.strip()), key=lambda r: r["index"])[:count]
    files = [r["file"] for r in records]
    return Renders(images=_stack([folder / "images" / f for f in files], "RGB"),
                   parts=_stack([folder / "parts" / f for f in files], "L").long(),
                   sketches=_stack([folder / "sketches" / f for f in files], "L")[:, None],
                   paints=_stack([folder / "paints" / f for f in files], "RGB"),
                   records=records)


def render_all(root: Path = DATA_ROOT, sizes: tuple[int, ...] = SIZES, say=print) -> None:
    """Render every missing set (resumable: finished samples are skipped)."""
    from carstudio.data.cars import find_car_models, load_cars, select_cars
    from carstudio.data.writer import render_dataset

    sources = find_car_models()
    for name, spec in RENDER_SETS.items():
        cars, _ = load_cars(sources.available(select_cars(spec.domain, spec.split)), sources)
        for size in sizes:
            folder = spec.folder(name, size, root)
            say(f"rendering {folder}")
            render_dataset(folder, count=spec.count, width=size, height=size, cars=cars, view=spec.view,
                           seed=spec.seed)
