"""One-step segmenter training on a tiny synthetic render folder: in-process, resumed, and with
two data-parallel processes through `accelerate launch` (CPU, gloo)."""

import json

import pytest
from PIL import Image

from carstudio import hub
from carstudio.hub import load_pretrained
from carstudio.models.segmenter import PartSegmenter
from carstudio.pipelines.segmenter import SegmenterPipeline
from carstudio.train.segmenter import main
from tests.smoke.helpers import (
    SIZE,
    assert_same_step_2_weights,
    assert_two_process_checkpoint,
    launch_two_processes,
    resume_without_last_checkpoint,
)

TINY_ARGS = ["--widths", "4", "8", "--feature-level", "1", "--resolution", str(SIZE), "--batch-size", "4", "--warmup-steps", "1",
             "--threads", "1", "--log-every", "1"]


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
    again_args = resume_without_last_checkpoint(main, args, run, resumed, capsys)
    assert_same_step_2_weights(run, resumed, ("model.safetensors",))
    # a finished run restarted trains nothing more
    main(again_args)
    assert "step 3" not in capsys.readouterr().out


def test_two_processes_through_accelerate_launch(renders, tmp_path):
    run = tmp_path / "run"
    result = launch_two_processes("carstudio.train.segmenter", [
        "--data", str(renders), "--val-data", str(renders), "--out", str(run), "--steps", "1", "--eval-every", "1",
        *TINY_ARGS])
    assert_two_process_checkpoint(run, 1)
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
