"""RoI-GAN training on a tiny synthetic render folder: a few steps in-process (segmenter perceptual
features), resumed, exported with a model card, and with two data-parallel processes through
`accelerate launch` (CPU, gloo); the same with random window crops of larger renders."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from PIL import Image

from carstudio.data.loading import load_images
from carstudio.models.roigan import RoIGANDiscriminator, RoIGANGenerator, RoIGANQHead
from carstudio.models.segmenter import PartSegmenter
from carstudio.train.roigan import build_generator, fixed_batch, main, parse_args
from tests.smoke.helpers import (
    SIZE,
    assert_same_step_2_weights,
    assert_two_process_checkpoint,
    launch_two_processes,
    resume_without_last_checkpoint,
)

TINY_ARGS = ["--resolution", str(SIZE), "--encoder-widths", "8", "8", "8", "--decoder-widths", "8", "8", "8",
             "--noise-dim", "4", "--num-codes", "2", "--num-categories", "3", "--style-channels", "4",
             "--denorm-hidden", "4", "--d-widths", "8", "8", "8", "--q-channels", "8", "--q-hidden", "8",
             "--batch-size", "4", "--threads", "1", "--log-every", "1", "--sample-count", "3"]


@pytest.fixture(scope="module")
def part_segmenter(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("segmenter")
    torch.manual_seed(0)
    PartSegmenter(widths=(4, 8), feature_level=1, resolution=SIZE).save_pretrained(root / "parts")
    return root / "parts"


def test_train_resume_and_export(renders, part_segmenter, tmp_path, capsys, restore_torch_threads):
    run, export = tmp_path / "run", tmp_path / "weights" / "roigan-tiny"
    args = ["--data", str(renders), "--out", str(run), "--export", str(export), "--perceptual-segmenter",
            str(part_segmenter), "--steps", "2", "--checkpoint-every", "1", "--sample-every", "1",
            "--keep-checkpoints", "3", *TINY_ARGS]
    main(args)
    out = capsys.readouterr().out
    assert "perceptual features 'segmenter'" in out and "mi_bound" in out
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000001", "step_0000002"]
    options = json.loads((run / "options.json").read_text())["options"]
    assert options["lr_g"] == 3e-4 and options["lr_d"] == 1e-4  # section 3.8
    assert (options["lambda_tv"], options["lambda_perceptual"], options["lambda_fm"]) == (0.5, 5.0, 1.0)  # eq. 3.18
    assert (options["lambda_kl"], options["lambda_info"], options["lambda_l1"]) == (0.5, 0.5, 0.0)
    assert (options["lambda_gp"], options["lambda_zero"]) == (5.0, 1e-4)  # eq. 3.19
    assert options["roi_types"] == ["rectangle", "ellipse", "mixture"] and options["gp_region"] == "outside"
    assert options["info_in_d"] is False
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert len(history) == 2 and all(r["kl"] >= 0 and r["gp"] >= 0 and 0 <= r["q_acc"] <= 1 for r in history)
    grid = Image.open(run / "samples" / "step_0000002.png")
    assert grid.size == (5 * SIZE, 3 * SIZE)  # image | RoI | masked | completion | raw, one row per sample
    model = RoIGANGenerator.from_pretrained(export)
    assert model.config.num_codes == 2 and model.config.num_categories == 3
    card = (export / "README.md").read_text()
    assert "sha256" in card and "Adam lr G 0.0003 / D 0.0001" in card and "part segmenter" in card
    assert "hinge (mean of the global and patch scores)" in card
    assert RoIGANDiscriminator.from_pretrained(run / "discriminator").config.widths == [8, 8, 8]
    assert RoIGANQHead.from_pretrained(run / "q_head").config.num_categories == 3

    resumed = tmp_path / "resumed"
    again_args = resume_without_last_checkpoint(main, args, run, resumed, capsys)
    g_d_q = ("model.safetensors", "model_1.safetensors", "model_2.safetensors")
    assert_same_step_2_weights(run, resumed, g_d_q)
    main(again_args)
    assert "step 3" not in capsys.readouterr().out


def test_init_from_a_checkpoint_with_a_changed_output_layer(renders, tmp_path, capsys, restore_torch_threads):
    source, tuned = tmp_path / "source", tmp_path / "tuned"
    main(["--data", str(renders), "--out", str(source), "--perceptual-segmenter", "", "--steps", "1",
          "--checkpoint-every", "1", *TINY_ARGS])
    # 0 steps: the saved models are the initial weights
    main(["--data", str(renders), "--out", str(tuned), "--perceptual-segmenter", "", "--steps", "0",
          "--init-from", f"{source}@1", "--output-norm", "false", *TINY_ARGS])
    out = capsys.readouterr().out
    assert "initialised G, D and Q from" in out and "fresh [], dropped ['out_norm.bias', 'out_norm.weight']" in out
    start = load_file(source / "checkpoints" / "step_0000001" / "model.safetensors")
    tuned_g = RoIGANGenerator.from_pretrained(tuned / "generator")
    assert tuned_g.config.output_norm is False
    for name, value in tuned_g.state_dict().items():
        torch.testing.assert_close(value, start[name])
    assert json.loads((tuned / "options.json").read_text())["options"]["init_from"] == f"{source}@1"
    # a wider D against the trained G: G loads, D's and Q's reshaped tensors start fresh
    wider = tmp_path / "wider"
    main(["--data", str(renders), "--out", str(wider), "--perceptual-segmenter", "", "--steps", "0",
          "--init-from", f"{source}@1", *TINY_ARGS, "--d-widths", "8", "8", "16"])
    out = capsys.readouterr().out
    assert "init G" not in out and "init D from" in out and "'main.2.0.weight'" in out and "init Q from" in out
    start_d = load_file(source / "checkpoints" / "step_0000001" / "model_1.safetensors")
    wider_d = RoIGANDiscriminator.from_pretrained(wider / "discriminator").state_dict()
    torch.testing.assert_close(wider_d["main.0.0.weight"], start_d["main.0.0.weight"])
    assert wider_d["main.2.0.weight"].shape[0] == 16
    for name, value in RoIGANGenerator.from_pretrained(wider / "generator").state_dict().items():
        torch.testing.assert_close(value, start[name])
    # a run that resumes needs no init source any more (it may have been deleted)
    main(["--data", str(renders), "--out", str(source), "--perceptual-segmenter", "", "--steps", "1",
          "--checkpoint-every", "1", "--init-from", f"{tmp_path / 'gone'}@5", *TINY_ARGS])
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        main(["--data", str(renders), "--out", str(tmp_path / "bad"), "--init-from", f"{source}@7", *TINY_ARGS])


def test_pixel_l1_fallback_and_options(renders, tmp_path, capsys, restore_torch_threads):
    run = tmp_path / "run"
    main(["--data", str(renders), "--out", str(run), "--perceptual-segmenter", "", "--steps", "1",
          "--roi-types", "ellipse", "--gp-region", "inside", "--output-norm", "false", "--info-in-d", "true",
          "--score-weighting", "roi", "--lambda-l1", "1.0", *TINY_ARGS])
    out = capsys.readouterr().out
    assert "perceptual features 'l1'" in out and " l1 0.0000 " not in out and " l1 " in out
    assert RoIGANGenerator.from_pretrained(run / "generator").config.output_norm is False
    options = json.loads((run / "options.json").read_text())["options"]
    assert options["info_in_d"] is True and options["score_weighting"] == "roi"
    with pytest.raises(ValueError, match="roi-types"):
        main(["--data", str(renders), "--out", str(tmp_path / "bad"), "--roi-types", "circle", *TINY_ARGS])
    with pytest.raises(ValueError, match="gp-region"):
        main(["--data", str(renders), "--out", str(tmp_path / "bad"), "--gp-region", "both", *TINY_ARGS])
    with pytest.raises(ValueError, match="score-weighting"):
        main(["--data", str(renders), "--out", str(tmp_path / "bad"), "--score-weighting", "patch", *TINY_ARGS])


def test_two_processes_through_accelerate_launch(renders, tmp_path):
    run = tmp_path / "run"
    launch_two_processes("carstudio.train.roigan", [
        "--data", str(renders), "--out", str(run), "--perceptual-segmenter", "", "--steps", "2",
        "--checkpoint-every", "2", "--info-in-d", "true", *TINY_ARGS], timeout=240)
    assert_two_process_checkpoint(run, 2)
    assert (run / "generator" / "config.json").is_file() and (run / "q_head" / "config.json").is_file()


WINDOW_ARGS = ["--window-crops", "true", "--source-size", str(2 * SIZE), "--zoom-min", "0.5", "--zoom-max", "1.25"]


def test_window_crops_one_step(renders, tmp_path, capsys, restore_torch_threads):
    """--window-crops: renders loaded at --source-size, each step a random window of each resized to
    the model; the sample grid shows such windows; the card says so; crops that would be enlarged
    are refused."""
    run, export = tmp_path / "run", tmp_path / "weights" / "roigan-windows"
    main(["--data", str(renders), "--out", str(run), "--export", str(export), "--perceptual-segmenter", "",
          "--steps", "1", "--sample-every", "1", *TINY_ARGS, *WINDOW_ARGS])
    options = json.loads((run / "options.json").read_text())["options"]
    assert options["window_crops"] is True and options["source_size"] == 2 * SIZE
    assert (options["zoom_min"], options["zoom_max"]) == (0.5, 1.25)
    assert Image.open(run / "samples" / "step_0000001.png").size == (5 * SIZE, 3 * SIZE)
    card = (export / "README.md").read_text()
    assert f"random square windows of the renders loaded at {2 * SIZE} px, side 0.5-1.25" in card
    with pytest.raises(ValueError, match="zoom-min"):
        main(["--data", str(renders), "--out", str(tmp_path / "bad"), *TINY_ARGS, *WINDOW_ARGS, "--zoom-min", "0.25"])


def test_window_crops_change_the_training_images_only_when_asked(renders):
    _, plain = parse_args(["--data", str(renders), "--out", "unused", *TINY_ARGS])
    _, windowed = parse_args(["--data", str(renders), "--out", "unused", *TINY_ARGS, *WINDOW_ARGS])
    generator = build_generator(plain)
    whole = fixed_batch(load_images([renders], SIZE), plain, generator)
    crops = fixed_batch(load_images([renders], 2 * SIZE), windowed, generator)
    assert crops.real.shape == whole.real.shape == (3, 3, SIZE, SIZE)
    assert torch.equal(crops.masks, whole.masks)  # the same regions, drawn after the crops
    assert (crops.real - whole.real).abs().mean() > 0.05
    again = fixed_batch(load_images([renders], 2 * SIZE), windowed, generator)
    assert torch.equal(again.real, crops.real)


def test_window_crops_with_two_processes(renders, tmp_path):
    run = tmp_path / "run"
    launch_two_processes("carstudio.train.roigan", [
        "--data", str(renders), "--out", str(run), "--perceptual-segmenter", "", "--steps", "1",
        "--checkpoint-every", "1", *TINY_ARGS, *WINDOW_ARGS], timeout=240)
    assert_two_process_checkpoint(run, 1)
    assert json.loads((run / "options.json").read_text())["options"]["window_crops"] is True
