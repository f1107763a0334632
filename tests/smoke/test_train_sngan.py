"""One-step SN-GAN training on a tiny synthetic render folder: in-process, resumed, FreezeD
fine-tuning from the finished run, and with two data-parallel processes through
`accelerate launch` (CPU, gloo); the same for the blend tab's encoder and 64 -> 128 upsampler."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from carstudio.models.sngan import SNGANGenerator
from carstudio.train.sngan import main
from tests.smoke.helpers import (
    assert_same_step_2_weights,
    assert_two_process_checkpoint,
    launch_two_processes,
    resume_without_last_checkpoint,
)

TINY_ARGS = ["--resolution", "32", "--z-dim", "8", "--g-widths", "16", "8", "8", "4", "--d-widths", "4", "8", "8", "8",
             "--batch-size", "4", "--sample-count", "4", "--ema-start", "1", "--threads", "1", "--log-every", "1"]


def test_train_resume_freeze_d_and_export(renders, tmp_path, capsys, restore_torch_threads):
    run, export = tmp_path / "run", tmp_path / "weights" / "sngan-tiny"
    args = ["--data", str(renders), "--out", str(run), "--export", str(export), "--steps", "2",
            "--checkpoint-every", "1", "--sample-every", "1", "--keep-checkpoints", "3", *TINY_ARGS]
    main(args)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000001", "step_0000002"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000001.png", "step_0000002.png"]
    options = json.loads((run / "options.json").read_text())
    assert options["num_processes"] == 1 and options["options"]["g_widths"] == [16, 8, 8, 4]
    assert options["options"]["lecam_weight"] == 0.3 and options["options"]["policy"] == "color,translation,cutout"
    out = capsys.readouterr().out
    assert "step 2/2" in out and "lecam" in out and "img/s" in out
    generator = SNGANGenerator.from_pretrained(export)
    assert generator(torch.randn(2, 8)).shape == (2, 3, 32, 32)
    assert "sha256" in (export / "README.md").read_text()

    # resume: drop the last checkpoint, run again, and step 2 must come out the same (EMA included)
    resumed = tmp_path / "resumed"
    resume_without_last_checkpoint(main, args, run, resumed, capsys)
    for name in ("model.safetensors", "model_1.safetensors", "custom_checkpoint_0.pkl"):
        assert (run / "checkpoints" / "step_0000002" / name).is_file(), name
    assert_same_step_2_weights(run, resumed, ("model.safetensors", "model_1.safetensors"))
    state = json.loads((resumed / "checkpoints" / "step_0000002" / "trainer_state.json").read_text())
    assert state["lecam"] == json.loads((run / "checkpoints" / "step_0000002" / "trainer_state.json").read_text())["lecam"]

    # FreezeD: fine-tune from the finished run with the two lowest D blocks frozen
    tuned = tmp_path / "tuned"
    main(["--data", str(renders), "--out", str(tuned), "--init-from", str(run), "--freeze-d", "2",
          "--steps", "1", *TINY_ARGS])
    before = load_file(run / "models" / "discriminator" / "diffusion_pytorch_model.safetensors")
    after = load_file(tuned / "models" / "discriminator" / "diffusion_pytorch_model.safetensors")
    frozen = [k for k in before if k.startswith(("blocks.0.", "blocks.1.")) and k.endswith("original")]
    trained = [k for k in before if k.startswith("blocks.3.") and k.endswith("original")]
    assert frozen and trained
    for key in frozen:
        torch.testing.assert_close(after[key], before[key], msg=key)
    assert any(not torch.equal(after[k], before[k]) for k in trained)


def test_freeze_d_needs_init_from(renders, tmp_path):
    with pytest.raises(SystemExit):
        main(["--data", str(renders), "--out", str(tmp_path / "run"), "--freeze-d", "2", *TINY_ARGS])


def test_two_processes_through_accelerate_launch(renders, tmp_path):
    run = tmp_path / "run"
    result = launch_two_processes("carstudio.train.sngan",
                                  ["--data", str(renders), "--out", str(run), "--steps", "1", *TINY_ARGS])
    assert_two_process_checkpoint(run, 1)
    assert "step 1/1" in result.stdout and "img/s" in result.stdout
    assert (run / "models" / "generator_ema" / "config.json").is_file()


def test_encoder_training_resume_and_export(tmp_path, capsys, restore_torch_threads):
    from carstudio.models.encoder import ResNet18Encoder
    from carstudio.train.encoder import main as train_encoder

    torch.manual_seed(0)
    SNGANGenerator(z_dim=8, resolution=32, widths=(16, 8, 8, 4)).save_pretrained(tmp_path / "g")
    SNGANGenerator(z_dim=8, resolution=32, widths=(16, 8, 8, 4)).save_pretrained(tmp_path / "g2")
    run, export = tmp_path / "enc", tmp_path / "weights" / "encoder-tiny"
    args = ["--generator", str(tmp_path / "g"), str(tmp_path / "g2"), "--out", str(run), "--export", str(export), "--width", "8",
            "--steps", "2", "--batch-size", "4", "--image-weight", "0.5", "--checkpoint-every", "1",
            "--log-every", "1"]
    train_encoder(args)
    assert "image_mse" in capsys.readouterr().out
    assert "split evenly between the 2 generators" in (export / "README.md").read_text()
    assert ResNet18Encoder.from_pretrained(export)(torch.zeros(1, 3, 32, 32)).shape == (1, 8)
    shutil.rmtree(run / "checkpoints" / "step_0000002")
    train_encoder(args)
    assert "resumed from" in capsys.readouterr().out
    assert json.loads((run / "options.json").read_text())["options"]["image_weight"] == 0.5


def test_encoder_with_two_processes_through_accelerate_launch(tmp_path):
    torch.manual_seed(0)
    for name in ("g", "g2"):
        SNGANGenerator(z_dim=8, resolution=32, widths=(16, 8, 8, 4)).save_pretrained(tmp_path / name)
    run = tmp_path / "enc"
    result = launch_two_processes("carstudio.train.encoder",
                                  ["--generator", str(tmp_path / "g"), str(tmp_path / "g2"), "--out", str(run),
                                   "--width", "8", "--steps", "1", "--batch-size", "4", "--checkpoint-every", "1",
                                   "--log-every", "1", "--threads", "1"])
    assert_two_process_checkpoint(run, 1)
    assert "step 1/1" in result.stdout and "latent_mse" in result.stdout
    assert (run / "encoder" / "config.json").is_file()


# --- the blend tab's 64 -> 128 upsampler (issue 21's cascade) --------------------------------
UPSAMPLER_ARGS = ["--resolution", "32", "--widths", "8", "16", "--up-width", "8", "--batch-size", "4",
                  "--sample-count", "4", "--threads", "1", "--log-every", "1"]


def test_upsampler_training_resume_and_export(renders, tmp_path, monkeypatch, capsys, restore_torch_threads):
    from PIL import Image

    from carstudio import hub
    from carstudio.models.upsampler import CarUpsampler
    from carstudio.train.upsampler import main as train_upsampler

    run, export = tmp_path / "up", tmp_path / "weights" / "upsampler-tiny"
    args = ["--data", str(renders), "--val-data", str(renders), "--out", str(run), "--export", str(export),
            "--steps", "2", "--sample-every", "1", "--checkpoint-every", "1", "--keep-checkpoints", "3", *UPSAMPLER_ARGS]
    train_upsampler(args)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000001", "step_0000002"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000001.png", "step_0000002.png"]
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [1, 2] and history[-1]["images_seen"] == 8
    assert set(history[-1]) >= {"model", "bilinear"} and history[-1]["bilinear"]["psnr"] > 0
    with Image.open(run / "samples" / "step_0000002.png") as grid:  # 4 rows of 4 columns of 32-px pictures
        assert grid.size == (4 * 32, 4 * 32)
    options = json.loads((run / "options.json").read_text())
    assert options["options"]["widths"] == [8, 16] and options["options"]["checker_prob"] == 0.3
    assert "step 2/2 l1" in capsys.readouterr().out

    # exported with a checksummed card, loadable by name through the hub
    card = (export / "README.md").read_text()
    assert "16 -> 32 px" in card and "sha256" in card and "GPL-2+" in card and "| bilinear |" in card
    monkeypatch.setattr(hub, "WEIGHTS_DIR", tmp_path / "weights")
    model = hub.load_model(CarUpsampler, "upsampler-tiny").eval()
    assert model(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 32, 32)

    # resume: drop the last checkpoint, run again, and step 2 must come out the same
    resumed = tmp_path / "up-resumed"
    resume_without_last_checkpoint(train_upsampler, args, run, resumed, capsys)
    assert_same_step_2_weights(run, resumed, ("model.safetensors",))


def test_upsampler_with_two_processes_through_accelerate_launch(renders, tmp_path):
    run = tmp_path / "up"
    result = launch_two_processes("carstudio.train.upsampler",
                                  ["--data", str(renders), "--out", str(run), "--steps", "1", *UPSAMPLER_ARGS])
    assert_two_process_checkpoint(run, 1)
    assert "step 1/1 l1" in result.stdout and "held-out step 1" in result.stdout
    assert json.loads((run / "history.jsonl").read_text())["images_seen"] == 8  # 2 processes x batch 4
    assert (run / "upsampler" / "config.json").is_file()
