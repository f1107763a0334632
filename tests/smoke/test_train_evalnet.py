"""One-step training of the evaluation network on a tiny synthetic render folder: in-process with
resume and export, and with two data-parallel processes through `accelerate launch`."""

import json
from pathlib import Path

import numpy as np
import pytest

from carstudio.models.evalnet import CarAttributeNet
from carstudio.train.evalnet import main
from tests.smoke.helpers import (SIZE, assert_same_step_2_weights, assert_two_process_checkpoint,
                                 launch_two_processes, resume_without_last_checkpoint, write_render_folder)

TINY_ARGS = ["--widths", "8", "8", "--resolution", str(SIZE), "--batch-size", "4", "--warmup-steps", "1",
             "--threads", "1", "--log-every", "1"]


@pytest.fixture(scope="module")
def attribute_renders(tmp_path_factory) -> Path:
    """The tiny render folder with the manifest fields the attribute labels read."""
    root = write_render_folder(tmp_path_factory.mktemp("attribute_renders"))
    rng = np.random.default_rng(0)
    records = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    for record in records:
        record["camera"] = {"azimuth": float(rng.uniform(0, 360))}
        record["background"] = {"kind": str(rng.choice(["plain", "gradient", "ground"]))}
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root


def test_train_resume_and_export(attribute_renders, tmp_path, capsys, restore_torch_threads):
    run, export = tmp_path / "run", tmp_path / "evalnet-tiny"
    args = ["--data", str(attribute_renders), "--val-data", str(attribute_renders), "--out", str(run), "--export",
            str(export), "--steps", "2", "--checkpoint-every", "1", "--eval-every", "1", "--keep-checkpoints", "3",
            *TINY_ARGS]
    main(args)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000001", "step_0000002"]
    contents = json.loads((run / "checkpoints" / "step_0000002" / "contents.json").read_text())
    assert "evalnet" in contents
    model = CarAttributeNet.from_pretrained(export)
    assert tuple(model.config.widths) == (8, 8)
    metrics = json.loads((export / "metrics.json").read_text())
    assert set(metrics["held_out_accuracy"]) == {"car", "view", "paint", "background"}
    assert all(0.0 <= v <= 1.0 for v in metrics["held_out_accuracy"].values()) and metrics["images_seen"] == 8
    card = (export / "README.md").read_text()
    assert "accuracy" in card and "sha256" in card and "--steps 2" in card and "No training loss" in card

    resumed = tmp_path / "resumed"
    resume_without_last_checkpoint(main, args, run, resumed, capsys)
    assert_same_step_2_weights(run, resumed, ("model.safetensors",))


def test_two_processes_through_accelerate_launch(attribute_renders, tmp_path):
    run = tmp_path / "run"
    result = launch_two_processes("carstudio.train.evalnet", [
        "--data", str(attribute_renders), "--val-data", str(attribute_renders), "--out", str(run), "--steps", "1",
        "--eval-every", "1", *TINY_ARGS])
    assert_two_process_checkpoint(run, 1)
    assert "val {" in result.stdout and "| 8 images" in result.stdout  # one step of batch 4 on each of 2 processes
    assert (run / "final" / "config.json").is_file()
