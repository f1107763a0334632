"""One-step smoke runs of the SinGAN training entry point, in-process and with 2 processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from carstudio.models.singan import SinGANGenerator
from carstudio.train.singan import main

REPO = Path(__file__).resolve().parents[2]


def write_images(folder: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = folder / f"car{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 64, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_train_exports_a_loadable_model_and_resumes(tmp_path):
    (image,) = write_images(tmp_path, 1)
    out = tmp_path / "run"
    main(["--images", str(image), "--out", str(out), "--preset", "smoke", "--threads", "1"])
    model = SinGANGenerator.from_pretrained(out / "car0" / "model")
    assert model(1).shape[-2:] == tuple(model.sizes[-1])
    options = json.loads((out / "options.json").read_text())
    assert options["preset"] == "smoke" and options["iterations"] == 3
    # a second start finds every scale done and only re-exports
    main(["--images", str(image), "--out", str(out), "--preset", "smoke", "--threads", "1"])
    summary = json.loads((out / "car0" / "summary.json").read_text())
    assert len(summary["scales"]) == model.num_scales


def test_two_processes_train_one_image_each(tmp_path):
    images = write_images(tmp_path, 2)
    out = tmp_path / "run"
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "-m", "carstudio.train.singan", "--images", *map(str, images), "--out", str(out),
               "--preset", "smoke", "--threads", "1"]
    result = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "[rank 0]" in result.stdout and "[rank 1]" in result.stdout
    for image in images:
        assert (out / image.stem / "model" / "config.json").is_file()
