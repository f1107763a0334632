"""Dataset files: render N samples into the folder layout every loader reads, and contact sheets.

Layout of a dataset folder:
    images/NNNNNN.png    RGB render
    parts/NNNNNN.png     8-bit part ids (mode L; ids in carstudio.data.parts)
    sketches/NNNNNN.png  line drawing, black on white (mode L)
    paints/NNNNNN.png    each part filled with its mean colour (RGB)
    manifest.jsonl       one JSON line per sample: car, domain, split, camera, paint, ...
    dataset.json         the settings; a resumed run must use the same ones

Sample i is a pure function of (seed, i, car list), so runs resume by skipping finished samples
and any sample can be re-rendered identically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from carstudio.data.cars import CARS
from carstudio.data.layout import FOLDERS, MANIFEST, SETTINGS, sample_name
from carstudio.data.mesh import CarModel
from carstudio.data.parts import colorize
from carstudio.data.render import Renderer, Sample
from carstudio.data.scene import View, sample_scene

FIELDS = tuple(FOLDERS.values())  # image, parts, sketch, paint: the order of Sample's fields


@dataclass
class RenderReport:
    rendered: int = 0
    already_done: int = 0


def _save_png(image: np.ndarray, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    Image.fromarray(image).save(tmp, format="PNG", compress_level=1)  # speed over a few bytes
    os.replace(tmp, path)  # a killed run never leaves a half-written sample


def _save_sample(sample: Sample, out: Path, index: int) -> None:
    name = sample_name(index)
    for folder, array in zip(FIELDS, (sample.image, sample.parts, sample.sketch, sample.paint)):
        _save_png(array, out / folder / name)


def _read_manifest(path: Path) -> dict[int, dict]:
    records = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
                records[int(record["index"])] = record
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by an interrupted run
    return records


def render_dataset(out: str | Path, count: int, width: int, height: int,
                   cars: Mapping[str, CarModel], view: View = "any", seed: int = 0,
                   supersample: int = 2, progress: bool = True,
                   renderer: Renderer | None = None) -> RenderReport:
    """Render samples 0..count-1 of the loaded `cars` into `out` (finished samples are kept).

    The car list (in the given order) is part of the settings: sample i draws its car from it.
    Pass a `renderer` of the same size to reuse its uploaded cars across calls.
    """
    out = Path(out)
    report = RenderReport()
    names = list(cars)
    if not names:
        raise ValueError("no cars to render")
    settings = {"width": width, "height": height, "view": view, "seed": seed,
                "supersample": supersample, "cars": names}
    for folder in FIELDS:
        (out / folder).mkdir(parents=True, exist_ok=True)
    settings_path = out / SETTINGS
    if settings_path.exists():
        previous = json.loads(settings_path.read_text())
        if previous != settings:
            changed = sorted(k for k in settings if previous.get(k) != settings[k])
            raise ValueError(f"{out} was rendered with other settings ({', '.join(changed)}); "
                             "use a new --out folder or the same settings to resume")
    else:
        settings_path.write_text(json.dumps(settings, indent=1) + "\n")

    manifest_path = out / MANIFEST
    records = _read_manifest(manifest_path)
    todo = [i for i in range(count) if not (i in records and all(
        (out / folder / sample_name(i)).exists() for folder in FIELDS))]
    report.already_done = count - len(todo)

    own_renderer = renderer is None
    if renderer is None:
        renderer = Renderer(width, height, supersample=supersample)
    elif (renderer.width, renderer.height, renderer.supersample) != (width, height, supersample):
        raise ValueError("the renderer's size or supersampling differs from the dataset's")
    bar = tqdm(total=count, initial=report.already_done, disable=not progress, unit="img",
               desc=f"render {out.name}")
    # Saving runs in a thread so file writes overlap the next render (PIL holds the GIL while
    # encoding, so only the I/O overlaps); at most a few samples wait in memory.
    with ThreadPoolExecutor(max_workers=1) as pool, manifest_path.open("a") as manifest:
        pending: list[tuple[Future, dict]] = []

        def finish_oldest() -> None:
            future, record = pending.pop(0)
            future.result()  # re-raises a failed write
            manifest.write(json.dumps(record) + "\n")  # only once its files exist
            bar.update(1)
            report.rendered += 1

        for index in todo:
            scene = sample_scene(seed, index, names, view)
            sample = renderer.render(cars[scene.car], scene.camera, scene.style)
            entry = CARS[scene.car]
            record = {"index": index, "file": sample_name(index), "car": scene.car,
                      "model": entry.model, "domain": entry.domain, "split": entry.split,
                      "seed": seed, "camera": asdict(scene.camera), **asdict(scene.style)}
            pending.append((pool.submit(_save_sample, sample, out, index), record))
            while pending and (pending[0][0].done() or len(pending) > 4):
                finish_oldest()
        while pending:
            finish_oldest()
    bar.close()
    if own_renderer:
        renderer.release()

    # Keep the manifest in index order (appends from interrupted runs may be out of order).
    records = _read_manifest(manifest_path)
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(records[i]) + "\n" for i in sorted(records)))
    os.replace(tmp, manifest_path)
    return report


def iter_samples(root: str | Path, limit: int | None = None) -> Iterator[tuple[int, Sample]]:
    """Read back samples of a dataset folder in index order."""
    root = Path(root)
    names = sorted(p.name for p in (root / "images").glob("*.png"))[:limit]
    for name in names:
        arrays = [np.asarray(Image.open(root / folder / name)) for folder in FIELDS]
        yield int(Path(name).stem), Sample(*arrays)


def contact_sheet(root: str | Path, out: str | Path, count: int = 16, per_row: int = 4,
                  gap: int = 2) -> Path:
    """PNG grid of `count` samples, each as image | part map | sketch | paint."""
    tiles = []
    for _, s in iter_samples(root, count):
        row = [s.image, colorize(s.parts), np.repeat(s.sketch[..., None], 3, -1), s.paint]
        h = row[0].shape[0]
        spacer = np.full((h, gap, 3), 255, np.uint8)
        tiles.append(np.concatenate(sum(([t, spacer] for t in row), [])[:-1], axis=1))
    if not tiles:
        raise FileNotFoundError(f"no samples in {Path(root) / 'images'}")
    th, tw = tiles[0].shape[:2]
    rows = -(-len(tiles) // per_row)
    sheet = np.full((rows * (th + gap) - gap, per_row * (tw + 3 * gap) - 3 * gap, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, per_row)
        y, x = r * (th + gap), c * (tw + 3 * gap)
        sheet[y:y + th, x:x + tw] = tile
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(out, optimize=True)
    return out
