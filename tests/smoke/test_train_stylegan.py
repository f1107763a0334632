"""Short StyleGAN2 training on a tiny synthetic render folder: layouts and images in-process,
resumed, exported (also from a checkpoint only), and with two data-parallel processes through
`accelerate launch` (CPU, gloo)."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio.data.parts import NUM_PARTS, PART_COLORS
from carstudio.models.stylegan import StyleGANGenerator
from carstudio.train.stylegan import main
from tests.smoke.helpers import (
    assert_same_step_2_weights,
    assert_two_process_checkpoint,
    launch_two_processes,
    resume_without_last_checkpoint,
)

TINY_ARGS = ["--resolution", "32", "--z-dim", "8", "--w-dim", "8", "--mapping-layers", "2", "--widths", "16", "8", "8", "4",
             "--d-widths", "16", "8", "8", "4", "--batch-size", "4", "--sample-count", "4", "--threads", "1",
             "--log-every", "1", "--r1-every", "2"]


def test_layout_training_resume_and_export(renders, tmp_path, capsys, restore_torch_threads):
    run = tmp_path / "run"
    args = ["--data", str(renders), "--out", str(run), "--export", "--steps", "2", "--checkpoint-every", "1",
            "--sample-every", "1", "--keep-checkpoints", "3", *TINY_ARGS]
    main(args)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000001", "step_0000002"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000001.png", "step_0000002.png"]
    options = json.loads((run / "options.json").read_text())
    assert options["num_processes"] == 1 and options["export"] is True
    assert options["options"]["target"] == "parts" and options["options"]["widths"] == [16, 8, 8, 4]
    out = capsys.readouterr().out
    assert "step 2/2" in out and "r1" in out and "fg_fake" in out and "img/s" in out
    # the sample grid shows coloured layouts: every pixel is a part colour
    grid = np.asarray(Image.open(run / "samples" / "step_0000002.png"))
    assert grid.shape == (64, 64, 3) and np.isin(grid.reshape(-1, 3).view("V3"), PART_COLORS.view("V3")).all()

    generator = StyleGANGenerator.from_pretrained(run / "generator")
    assert generator.config.out_channels == NUM_PARTS and generator.config.output == "labels"
    ema = torch.load(run / "checkpoints" / "step_0000002" / "custom_checkpoint_0.pkl", weights_only=True)
    for key, value in generator.state_dict().items():
        torch.testing.assert_close(value, ema[key], msg=key)
    assert torch.count_nonzero(generator.w_avg) > 0  # tracked during training
    ids = generator.label_maps(generator(torch.randn(2, 8), psi=0.5))
    assert ids.shape == (2, 32, 32) and 0 <= ids.min() and ids.max() < NUM_PARTS
    card = (run / "generator" / "README.md").read_text()
    assert "sha256" in card and "straight_through" in card and "2 steps" in card

    # resume: drop the last checkpoint, run again, and step 2 must come out the same (EMA included)
    resumed = tmp_path / "resumed"
    resume_without_last_checkpoint(main, args, run, resumed, capsys)
    assert_same_step_2_weights(run, resumed, ("model.safetensors", "model_1.safetensors"))
    again = torch.load(resumed / "checkpoints" / "step_0000002" / "custom_checkpoint_0.pkl", weights_only=True)
    for key in ema:
        torch.testing.assert_close(again[key], ema[key], msg=key)

    # --export-only: the latest checkpoint's EMA generator, without data and without touching options.json
    shutil.rmtree(resumed / "generator")
    before = (resumed / "options.json").read_text()
    main(["--out", str(resumed), "--export-only"])
    assert (resumed / "generator" / "config.json").is_file() and (resumed / "options.json").read_text() == before


def test_image_baseline_one_step(renders, tmp_path, restore_torch_threads):
    run = tmp_path / "image"
    main(["--data", str(renders), "--out", str(run), "--target", "image", "--steps", "1", "--export", *TINY_ARGS])
    generator = StyleGANGenerator.from_pretrained(run / "generator")
    assert generator.config.output == "image" and generator(torch.randn(1, 8)).shape == (1, 3, 32, 32)
    assert generator.label_maps(generator(torch.randn(1, 8))).shape == (1, 32, 32)
    assert (run / "samples" / "step_0000001.png").is_file()


def test_bad_options(renders, tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "run")])  # no --data
    with pytest.raises(ValueError, match="target"):
        main(["--data", str(renders), "--out", str(tmp_path / "run"), "--target", "sketch", *TINY_ARGS])
    with pytest.raises(ValueError, match="multiple"):
        main(["--data", str(renders), "--out", str(tmp_path / "run"), *TINY_ARGS, "--batch-size", "6"])


def test_two_processes_through_accelerate_launch(renders, tmp_path):
    run = tmp_path / "run"
    result = launch_two_processes("carstudio.train.stylegan", [
        "--data", str(renders), "--out", str(run), "--steps", "2", "--export", *TINY_ARGS])
    assert_two_process_checkpoint(run, 2)
    assert "step 2/2" in result.stdout and "img/s" in result.stdout and "r1" in result.stdout
    assert (run / "generator" / "config.json").is_file()
