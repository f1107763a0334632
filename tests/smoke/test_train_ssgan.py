"""One-step SSGAN / SPADE-baseline training on a tiny synthetic render folder: in-process (predicted
masks from a tiny sketch segmenter, segmenter perceptual features), resumed, exported, and with two
data-parallel processes through `accelerate launch` (CPU, gloo)."""

import json
from pathlib import Path

import pytest
import torch

from carstudio.models.segmenter import PartSegmenter
from carstudio.models.ssgan import SPADEGenerator, SSGANGenerator
from carstudio.train.ssgan import main
from tests.smoke.helpers import (
    SIZE,
    assert_same_step_2_weights,
    assert_two_process_checkpoint,
    launch_two_processes,
    resume_without_last_checkpoint,
)

TINY_ARGS = ["--resolution", str(SIZE), "--widths", "8", "8", "4", "--z-dim", "8", "--sfm-channels", "4",
             "--spade-hidden", "8", "--d-widths", "8", "16", "--d-scales", "2", "--batch-size", "4",
             "--threads", "1", "--log-every", "1", "--sample-count", "2"]


@pytest.fixture(scope="module")
def segmenters(tmp_path_factory) -> tuple[Path, Path]:
    """(a 1-channel sketch segmenter, a 3-channel part segmenter), random tiny weights."""
    root = tmp_path_factory.mktemp("segmenters")
    torch.manual_seed(0)
    PartSegmenter(in_channels=1, widths=(4, 8), feature_level=1, resolution=SIZE).save_pretrained(root / "sketch")
    PartSegmenter(widths=(4, 8), feature_level=1, resolution=SIZE).save_pretrained(root / "parts")
    return root / "sketch", root / "parts"


def test_ssgan_train_resume_and_export(renders, segmenters, tmp_path, capsys, restore_torch_threads):
    run, export = tmp_path / "run", tmp_path / "weights" / "ssgan-tiny"
    args = ["--data", str(renders), "--out", str(run), "--export", str(export), "--model", "ssgan",
            "--sketch-segmenter", str(segmenters[0]), "--perceptual-segmenter", str(segmenters[1]),
            "--steps", "2", "--checkpoint-every", "1", "--sample-every", "1", "--keep-checkpoints", "3", *TINY_ARGS]
    main(args)
    out = capsys.readouterr().out
    assert "perceptual features 'segmenter'" in out and "masks from predicted" in out
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000001", "step_0000002"]
    options = json.loads((run / "options.json").read_text())
    assert options["num_processes"] == 1 and options["options"]["widths"] == [8, 8, 4]
    assert options["options"]["lr"] == 2e-4 and options["options"]["beta1"] == 0.0
    assert len((run / "history.jsonl").read_text().splitlines()) == 2
    assert (run / "samples" / "step_0000002.png").is_file()
    model = SSGANGenerator.from_pretrained(export)
    assert model.config.widths == [8, 8, 4] and "sha256" in (export / "README.md").read_text()

    resumed = tmp_path / "resumed"
    again_args = resume_without_last_checkpoint(main, args, run, resumed, capsys)
    assert_same_step_2_weights(run, resumed, ("model.safetensors", "model_1.safetensors"))  # generator, discriminator
    main(again_args)
    assert "step 3" not in capsys.readouterr().out


def test_spade_baseline_on_true_masks_with_l1_fallback(renders, tmp_path, capsys, restore_torch_threads):
    run = tmp_path / "run"
    main(["--data", str(renders), "--out", str(run), "--model", "spade", "--mask-source", "gt",
          "--perceptual-segmenter", "", "--steps", "1", *TINY_ARGS])
    assert "perceptual features 'l1'" in capsys.readouterr().out
    assert isinstance(SPADEGenerator.from_pretrained(run / "generator"), SPADEGenerator)


def test_predicted_masks_need_a_sketch_segmenter(renders, tmp_path):
    with pytest.raises(ValueError, match="sketch-segmenter"):
        main(["--data", str(renders), "--out", str(tmp_path / "run"), "--steps", "1", *TINY_ARGS])


def test_two_processes_through_accelerate_launch(renders, tmp_path):
    run = tmp_path / "run"
    launch_two_processes("carstudio.train.ssgan", [
        "--data", str(renders), "--out", str(run), "--model", "ssgan", "--mask-source", "gt",
        "--perceptual-segmenter", "", "--steps", "1", *TINY_ARGS])
    assert_two_process_checkpoint(run, 1)
    assert (run / "generator" / "config.json").is_file()


def test_spade_renderer_with_ttur_and_style_encoder(renders, tmp_path, capsys, restore_torch_threads):
    """The layout tab's renderer: SPADE's TTUR and VAE style encoder, exported together."""
    from carstudio.models.ssgan import StyleEncoder

    run, export = tmp_path / "run", tmp_path / "weights" / "layout-spade-tiny"
    encoder_widths = ["4"] * (SIZE.bit_length() - 3)  # stride-2 convs from SIZE px down to 4x4
    main(["--data", str(renders), "--out", str(run), "--export", str(export), "--model", "spade",
          "--mask-source", "gt", "--perceptual-segmenter", "", "--steps", "2", "--ttur", "true", "--beta2", "0.9",
          "--style-encoder", "true", "--encoder-widths", *encoder_widths, *TINY_ARGS])
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert all(r["kl"] >= 0 for r in history)
    card = (export / "README.md").read_text()
    assert "Adam lr G 0.0001 / D 0.0004 (TTUR), betas (0.0, 0.9)" in card and "style_encoder/" in card
    assert "style_encoder/diffusion_pytorch_model.safetensors" in card  # checksummed too
    encoder = StyleEncoder.from_pretrained(export / "style_encoder")
    mu, logvar = encoder(torch.zeros(2, 3, SIZE, SIZE))
    assert mu.shape == logvar.shape == (2, 8)
    options = json.loads((run / "options.json").read_text())["options"]
    assert options["ttur"] is True and options["style_encoder"] is True


def test_bool_options_are_parsed_strictly(renders, tmp_path):
    with pytest.raises(SystemExit):
        main(["--data", str(renders), "--out", str(tmp_path / "run"), "--ttur", "maybe", *TINY_ARGS])


# --- issue 19: palette conditioning, pixel L1, EMA of G, held-out sample inputs --------------
PALETTE_ARGS = ["--resolution", str(SIZE), "--widths", "8", "8", "8", "--z-dim", "8", "--sfm-channels", "8",
                "--spade-hidden", "8", "--d-widths", "8", "16", "--d-scales", "2", "--batch-size", "4",
                "--threads", "1", "--log-every", "1", "--sample-count", "2", "--mask-source", "gt",
                "--perceptual-segmenter", "", "--palette-bank", "16", "--lambda-l1", "10",
                "--ema-decay", "0.9", "--ema-start", "1", "--lambda-mask", "1"]


def test_palette_run_with_l1_ema_resume_and_export(renders, tmp_path, capsys, restore_torch_threads):
    from PIL import Image

    from carstudio.data.loading import load_renders
    from carstudio.data.palette import palette_bank
    from carstudio.pipelines.sketch import SketchToCarPipeline

    run, export = tmp_path / "run", tmp_path / "weights" / "ssgan-palette-tiny"
    args = ["--data", str(renders), "--val-data", str(renders), "--out", str(run), "--export", str(export),
            "--model", "ssgan", "--steps", "2", "--checkpoint-every", "1", "--sample-every", "1",
            "--keep-checkpoints", "3", *PALETTE_ARGS]
    main(args)
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert all(r["l1"] > 0 and r["mask"] > 0 and r["img_s"] > 0 for r in history)
    grid = Image.open(run / "samples" / "step_0000002.png")
    assert grid.size == (5 * SIZE, 2 * SIZE)  # sketch | mask | paint | generated | render
    contents = json.loads((run / "checkpoints" / "step_0000002" / "contents.json").read_text())
    assert contents["generator_ema"]["config"]["palette_bank"] == 16
    raw, ema = SSGANGenerator.from_pretrained(run / "generator"), SSGANGenerator.from_pretrained(run / "generator_ema")
    exported = SSGANGenerator.from_pretrained(export)
    assert exported.config.palette_bank == 16 and exported.config.widths == [8, 8, 8]
    for a, b in zip(exported.state_dict().values(), ema.state_dict().values()):
        assert torch.equal(a, b)  # the export is the EMA generator
    assert any(not torch.equal(a, b) for a, b in zip(raw.parameters(), ema.parameters()))
    data = load_renders([renders], SIZE)
    expected_bank = palette_bank(data.images.float() / 127.5 - 1, data.parts, 16, seed=0)
    torch.testing.assert_close(exported.palette.bank, expected_bank)  # the training palettes, stored
    card = (export / "README.md").read_text()
    assert "Palette-conditioned" in card and "Pixel L1 x10.0" in card and "EMA of G" in card
    assert "supervised with the true part maps (BCE x1.0)" in card

    resumed = tmp_path / "resumed"
    again_args = resume_without_last_checkpoint(main, args, run, resumed, capsys)
    assert_same_step_2_weights(run, resumed, ("model.safetensors", "model_1.safetensors"))
    main(again_args)
    assert "step 3" not in capsys.readouterr().out

    # the exported model serves the sketch pipeline with its palette controls
    segmenter = PartSegmenter(in_channels=1, widths=(8, 8), feature_level=1, resolution=SIZE)
    pipe = SketchToCarPipeline(segmenter, exported)
    images, _ = pipe.generate(data.parts[0].long(), 2, seed=0, body_colour="#2050e0")
    assert images.shape == (2, 3, SIZE, SIZE)


def test_palette_spade_baseline_with_two_processes(renders, tmp_path):
    run = tmp_path / "run"
    launch_two_processes("carstudio.train.ssgan", [
        "--data", str(renders), "--out", str(run), "--model", "spade", "--steps", "1", "--d-blur", "true",
        *PALETTE_ARGS])
    assert_two_process_checkpoint(run, 1)
    assert json.loads((run / "options.json").read_text())["options"]["d_blur"] is True
    model = SPADEGenerator.from_pretrained(run / "generator_ema")
    assert model.config.palette_bank == 16 and model.palette.bank.abs().sum() > 0


def test_bad_colour_options_are_refused(renders, tmp_path):
    with pytest.raises(ValueError, match="palette-bank"):
        main(["--data", str(renders), "--out", str(tmp_path / "run"), "--steps", "1", *PALETTE_ARGS,
              "--ema-decay", "1.5"])
