"""The one checkpoint reader: checkpoints written before they named their contents (committed in
tests/smoke/legacy_runs, written by the trainers of commit d548e1e) still resume and are still
read by name; new checkpoints name every model with its file and config."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from carstudio.checkpoints import CONTENTS_FILE, config_from_options, parse_spec
from carstudio.evaluate.roigan import load_generator as load_roigan
from carstudio.evaluate.sngan import load_generator as load_sngan
from carstudio.evaluate.ssgan import load_generator as load_ssgan
from carstudio.models.roigan import RoIGANGenerator
from carstudio.models.ssgan import SSGANGenerator
from carstudio.train import roigan, ssgan
from carstudio.train.sngan import main as train_sngan
from tests.smoke.test_train_sngan import TINY_ARGS as SNGAN_ARGS

LEGACY = Path(__file__).resolve().parent / "legacy_runs"


def public(config) -> dict:
    """A model config without diffusers' bookkeeping, JSON lists as tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if not k.startswith("_")}


def assert_same(state: dict, expected: dict) -> None:
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value, msg=key)


def test_legacy_sngan_checkpoint_is_read_by_name_and_resumes(renders, tmp_path, capsys, restore_torch_threads):
    run = tmp_path / "sngan"
    shutil.copytree(LEGACY / "sngan", run)
    checkpoint = parse_spec(f"{run}@1")
    assert not (checkpoint.folder / CONTENTS_FILE).exists() and checkpoint.config("generator_ema") is None
    ema = torch.load(checkpoint.folder / "custom_checkpoint_0.pkl", weights_only=True)
    assert_same(checkpoint.state_dict("generator_ema"), ema)
    assert_same(checkpoint.state_dict("discriminator"), load_file(checkpoint.folder / "model_1.safetensors"))
    generator, info = load_sngan(str(run))  # a run folder: its latest checkpoint
    assert_same(generator.state_dict(), ema)
    assert info["step"] == 1 and info["checkpoint"] == "step_0000001"

    train_sngan(["--data", str(renders), "--out", str(run), "--steps", "2", "--checkpoint-every", "1", *SNGAN_ARGS])
    assert f"resumed from {checkpoint.folder} (step 1)" in capsys.readouterr().out
    resumed = parse_spec(f"{run}@latest")
    assert resumed.step == 2 and resumed.train_state()["step"] == 2
    contents = json.loads((resumed.folder / CONTENTS_FILE).read_text())
    assert {name: entry["file"] for name, entry in contents.items()} == {
        "generator": "model.safetensors", "discriminator": "model_1.safetensors",
        "generator_ema": "custom_checkpoint_0.pkl"}
    assert contents["generator_ema"]["class"] == "SNGANGenerator"
    assert_same(load_sngan(f"{run}@2")[0].state_dict(),
                torch.load(resumed.folder / "custom_checkpoint_0.pkl", weights_only=True))


def test_legacy_roigan_checkpoint_feeds_the_evaluator_and_init_from(tmp_path):
    run = LEGACY / "roigan"
    folder = run / "checkpoints" / "step_0000001"
    saved = {name: load_file(folder / f) for name, f in
             (("G", "model.safetensors"), ("D", "model_1.safetensors"), ("Q", "model_2.safetensors"))}
    assert_same(load_roigan(f"{run}@1").state_dict(), saved["G"])
    options = roigan.RoIGANTrainOptions(**parse_spec(f"{run}@1").options())
    models = (roigan.build_generator(options), *roigan.build_discriminator(options))
    roigan.init_from_checkpoint(models, f"{run}@1", say=lambda msg: None)
    for model, key in zip(models, "GDQ"):
        assert_same(model.state_dict(), saved[key])
    with pytest.raises(ValueError, match="RUN@STEP"):
        roigan.init_from_checkpoint(models, str(tmp_path), say=print)


def test_new_ssgan_checkpoint_names_its_models_with_their_configs(renders, tmp_path, restore_torch_threads):
    run = tmp_path / "ssgan"
    ssgan.main(["--data", str(renders), "--out", str(run), "--model", "ssgan", "--mask-source", "gt",
                "--perceptual-segmenter", "", "--resolution", "32", "--z-dim", "4", "--widths", "16", "8", "8",
                "--sfm-channels", "4", "--spade-hidden", "8", "--d-widths", "8", "8", "--batch-size", "4",
                "--steps", "1", "--threads", "1"])
    checkpoint = parse_spec(f"{run}@1")
    contents = checkpoint.contents()
    assert {name: entry["file"] for name, entry in contents.items()} == {
        "generator": "model.safetensors", "discriminator": "model_1.safetensors"}
    generator = load_ssgan(f"{run}@1")
    final = SSGANGenerator.from_pretrained(run / "generator")
    assert_same(generator.state_dict(), final.state_dict())
    # what checkpoints without contents.json fall back to gives the same architecture
    legacy = config_from_options(SSGANGenerator, checkpoint.options())
    assert public(SSGANGenerator.from_config(legacy).config) == public(generator.config)


@pytest.mark.parametrize("model", ["ssgan", "spade"])
def test_options_give_the_trainers_generator_config_ssgan(model):
    o = ssgan.SSGANTrainOptions(model=model, widths=(32, 16, 8), z_dim=16, sfm_channels=8, resolution=32)
    built = ssgan.build_generator(o)
    assert public(type(built).from_config(config_from_options(type(built), asdict(o))).config) == public(built.config)


def test_options_give_the_trainers_generator_config_roigan():
    o = roigan.RoIGANTrainOptions(resolution=32, encoder_widths=(8, 8, 8), decoder_widths=(8, 8, 8), noise_dim=4,
                                  num_codes=2, num_categories=3, style_channels=4, output_norm=False, prefill=True)
    built = roigan.build_generator(o)
    assert public(RoIGANGenerator.from_config(config_from_options(RoIGANGenerator, asdict(o))).config) == public(built.config)
