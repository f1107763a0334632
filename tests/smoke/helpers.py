"""What the training smoke tests share: the tiny render folder, training with two data-parallel
processes through `accelerate launch` (CPU, gloo), and resuming a finished run from its
next-to-last checkpoint."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from safetensors.torch import load_file

from carstudio.data.parts import BACKGROUND, BODY, GLASS, PART_COLORS, WHEEL
from carstudio.train.runs import accelerate_cpu_command

SIZE = 32
REPO = Path(__file__).resolve().parents[2]


def write_render_folder(root: Path, count: int = 8) -> Path:
    """The layout `python -m carstudio.data render` writes: images/, parts/ (mode L ids),
    paints/, sketches/, manifest.jsonl and dataset.json."""
    rng = np.random.default_rng(0)
    for folder in ("images", "parts", "paints", "sketches"):
        (root / folder).mkdir(parents=True)
    records = []
    for i in range(count):
        parts = Image.new("L", (SIZE, SIZE), BACKGROUND)
        draw = ImageDraw.Draw(parts)
        x0, y0 = int(rng.integers(2, 8)), int(rng.integers(8, 14))
        draw.rectangle([x0, y0, x0 + 20, y0 + 8], fill=BODY)
        draw.rectangle([x0 + 5, y0 - 4, x0 + 14, y0 - 1], fill=GLASS)
        for cx in (x0 + 4, x0 + 16):
            draw.ellipse([cx - 3, y0 + 6, cx + 3, y0 + 12], fill=WHEEL)
        ids = np.asarray(parts)
        paint = PART_COLORS[ids]
        image = np.clip(paint.astype(np.int16) + rng.integers(-20, 20, paint.shape), 0, 255).astype(np.uint8)
        edges = (ids != np.roll(ids, 1, 0)) | (ids != np.roll(ids, 1, 1))
        name = f"{i:06d}.png"
        parts.save(root / "parts" / name)
        Image.fromarray(image).save(root / "images" / name)
        Image.fromarray(paint).save(root / "paints" / name)
        Image.fromarray(np.where(edges, 0, 255).astype(np.uint8)).save(root / "sketches" / name)
        records.append({"index": i, "file": name, "car": "p406", "split": "train"})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (root / "dataset.json").write_text(json.dumps({"width": SIZE, "height": SIZE, "view": "any", "seed": 0,
                                                   "cars": ["p406"]}))
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- two processes ---------------------------------------------------------------------------
def launch_two_processes(module: str, args: list[str], timeout: int = 180) -> subprocess.CompletedProcess:
    """`python -m module args` as two data-parallel CPU processes through `accelerate launch`;
    the test fails unless it exits 0."""
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = accelerate_cpu_command(module, args, 2, free_port())
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def assert_two_process_checkpoint(run: Path, step: int) -> None:
    """options.json counts two processes and the checkpoint of `step` holds both processes' random
    states and names its models (matched through the DistributedDataParallel wrappers)."""
    assert json.loads((run / "options.json").read_text())["num_processes"] == 2
    checkpoint = run / "checkpoints" / f"step_{step:07d}"
    assert (checkpoint / "random_states_0.pkl").is_file() and (checkpoint / "random_states_1.pkl").is_file()
    contents = json.loads((checkpoint / "contents.json").read_text())
    files = [entry["file"] for entry in contents.values()]
    assert len(set(files)) == len(files) and all((checkpoint / f).is_file() for f in files), contents


# --- resuming --------------------------------------------------------------------------------
def resume_without_last_checkpoint(main: Callable[[list[str]], object], args: list[str], run: Path, resumed: Path,
                                   capsys: pytest.CaptureFixture) -> list[str]:
    """Copies the finished two-step `run` to `resumed` without its step-2 checkpoint and trains
    there again with `args` (--out changed), which must resume; -> those arguments."""
    shutil.copytree(run, resumed)
    shutil.rmtree(resumed / "checkpoints" / "step_0000002")
    again_args = [a if a != str(run) else str(resumed) for a in args]
    capsys.readouterr()
    main(again_args)
    assert "resumed from" in capsys.readouterr().out
    return again_args


def assert_same_step_2_weights(run: Path, resumed: Path, files: tuple[str, ...]) -> None:
    """The safetensors `files` of both runs' step-2 checkpoints hold the same tensors."""
    for name in files:
        first = load_file(run / "checkpoints" / "step_0000002" / name)
        again = load_file(resumed / "checkpoints" / "step_0000002" / name)
        assert first.keys() == again.keys(), name
        for key in first:
            torch.testing.assert_close(again[key], first[key], msg=f"{name} {key}")
