"""One-step segmenter training on a tiny synthetic render folder: in-process, resumed, and with
two data-parallel processes through `accelerate launch` (CPU, gloo)."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from safetensors.torch import load_file

from carstudio import hub
from carstudio.data.parts import BACKGROUND, BODY, GLASS, PART_COLORS, WHEEL
from carstudio.hub import load_pretrained
from carstudio.models.segmenter import PartSegmenter
from carstudio.pipelines.segmenter import SegmenterPipeline
from carstudio.train.segmenter import main

SIZE = 32
TINY_ARGS = ["--widths", "4", "8", "--feature-level", "1", "--resolution", str(SIZE), "--batch-size", "4", "--warmup-steps", "1",
             "--threads", "1", "--log-every", "1"]


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


def test_train_checkpoint_resume_and_export(renders, tmp_path, monkeypatch, capsys, restore_torch_threads):
    run, export = tmp_path / "run", tmp_path / "weights" / "segmenter-tiny"
    args = ["--data", str(renders), "--val-data", str(renders), "--out", str(run), "--export", str(export),
            "--steps", "2", "--checkpoint-every", "1", "--eval-every", "1", "--keep-checkpoints", "3", *TINY_ARGS]
    main(args)
    steps = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert steps == ["step_0000001", "step_0000002"]
    options = json.loads((run / "options.json").read_text())
    assert options["threads"] == 1 and options["num_processes"] == 1 and options["options"]["widths"] == [4, 8]
    assert len((run / "history.jsonl").read_text().splitlines()) == 2

    # exported, carded, verifiable by the hub loader, usable by the pipeline
    card = (export / "README.md").read_text()
    assert "mIoU" in card and "sha256" in card and "GPL-2+" in card and "--steps 2" in card
    monkeypatch.setattr(hub, "WEIGHTS_DIR", tmp_path / "weights")
    model = load_pretrained(PartSegmenter, "segmenter-tiny")
    assert sum(f.stat().st_size for f in export.glob("*.safetensors")) < 10_000_000
    parts = SegmenterPipeline(model)(Image.open(renders / "images" / "000000.png"))
    assert parts.shape == (SIZE, SIZE)

    # resume: drop the last checkpoint, run again, and step 2 must come out the same
    resumed = tmp_path / "resumed"
    shutil.copytree(run, resumed)
    shutil.rmtree(resumed / "checkpoints" / "step_0000002")
    capsys.readouterr()
    main([a if a != str(run) else str(resumed) for a in args])
    assert "resumed from" in capsys.readouterr().out
    first = load_file(run / "checkpoints" / "step_0000002" / "model.safetensors")
    again = load_file(resumed / "checkpoints" / "step_0000002" / "model.safetensors")
    assert first.keys() == again.keys()
    for key in first:
        torch.testing.assert_close(again[key], first[key], msg=key)
    # a finished run restarted trains nothing more
    main([a if a != str(run) else str(resumed) for a in args])
    assert "step 3" not in capsys.readouterr().out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_through_accelerate_launch(renders, tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(free_port()),
               "-m", "carstudio.train.segmenter", "--data", str(renders), "--val-data", str(renders),
               "--out", str(run), "--steps", "1", "--eval-every", "1", *TINY_ARGS]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads((run / "options.json").read_text())["num_processes"] == 2
    checkpoint = run / "checkpoints" / "step_0000001"
    assert (checkpoint / "random_states_0.pkl").is_file() and (checkpoint / "random_states_1.pkl").is_file()
    assert "val step 1: mIoU" in result.stdout
    assert (run / "best" / "config.json").is_file()


def test_sketch_segmenter_trains_on_hand_drawn_sketches(renders, tmp_path, restore_torch_threads):
    """--inputs sketches: a 1-channel model, scored on plain and hand-drawn held-out sketches."""
    run, export = tmp_path / "run", tmp_path / "sketchseg"
    main(["--data", str(renders), "--val-data", str(renders), "--out", str(run), "--export", str(export),
          "--inputs", "sketches", "--steps", "2", "--eval-every", "1", *TINY_ARGS])
    model = PartSegmenter.from_pretrained(export)
    assert model.config.in_channels == 1
    metrics = json.loads((export / "metrics.json").read_text())
    assert set(metrics) == {"hand-drawn sketch", "sketch"}
    assert all(0.0 <= m["miou"] <= 1.0 for m in metrics.values())
    assert "hand drawn" in (export / "README.md").read_text()
    assert json.loads((run / "options.json").read_text())["options"]["inputs"] == "sketches"


def test_unknown_input_kind_is_refused_before_loading(tmp_path):
    with pytest.raises(ValueError, match="--inputs must be one of"):
        main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "run"), "--inputs", "photos", *TINY_ARGS])
