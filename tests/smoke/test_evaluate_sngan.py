"""The futuristic-blend evaluation (FD-seg per generator and domain with floors, encoder
reconstructions before/after refinement, novelty of blends; the showcase) end to end on tiny
random models, a one-step SN-GAN run (RUN@STEP and run-folder generators) and the tiny render
folder: it runs, and its numbers are well-formed."""

from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image

from carstudio.evaluate.sngan import HEADER, load_generator, main
from carstudio.hub import WEIGHTS_DIR
from carstudio.metrics.features import load_default_segmenter
from carstudio.metrics.novelty import BANK_FILE, build_novelty_bank
from carstudio.models.encoder import ResNet18Encoder
from carstudio.models.sngan import SNGANGenerator
from carstudio.train.sngan import main as train_sngan
from tests.smoke.helpers import SIZE
from tests.smoke.test_train_sngan import TINY_ARGS

pytestmark = pytest.mark.skipif(not (WEIGHTS_DIR / "segmenter-128").is_dir(), reason="needs weights/segmenter-128")


@pytest.fixture(scope="module")
def models(tmp_path_factory, renders):
    root = tmp_path_factory.mktemp("sngan")
    torch.manual_seed(0)
    for name in ("everyday", "futuristic"):
        SNGANGenerator(z_dim=8, resolution=SIZE, widths=(16, 8, 8, 4)).save_pretrained(root / name)
    ResNet18Encoder(z_dim=8, resolution=SIZE, width=4).save_pretrained(root / "encoder")
    build_novelty_bank(renders, load_default_segmenter(), resolution=SIZE).save(root / "bank" / BANK_FILE)
    return root


def finite(value) -> bool:
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    return not isinstance(value, float) or math.isfinite(value)


def test_table_and_showcase(renders, models, tmp_path, restore_torch_threads):
    run = tmp_path / "run"
    train_sngan(["--data", str(renders), "--out", str(run), "--steps", "1", *TINY_ARGS])
    # the checkpoint's EMA generator (RUN@STEP, read by name) is the one the finished run saved
    at_step, info = load_generator(f"{run}@1")
    final, final_info = load_generator(str(run / "models" / "generator_ema"))
    for key, value in final.state_dict().items():
        torch.testing.assert_close(at_step.state_dict()[key], value, msg=key)
    assert info["step"] == 1 and info["policy"] == "color,translation,cutout" and info["lecam_weight"] == 0.3
    assert final_info["step"] == 1 and final_info["checkpoint"] == "step_0000001"

    out = tmp_path / "table.json"
    main(["table", "--everyday-test", str(renders), "--futuristic-test", str(renders),
          "--everyday-train", str(renders), "--futuristic-train", str(renders),
          "--run", f"everyday={models / 'everyday'}", f"futuristic={models / 'futuristic'}", f"step1={run}@1",
          "--run", f"final={run}", "--samples", "8", "--encoder", str(models / "encoder"),
          "--encoder-generator", "futuristic", "--refine-steps", "0", "3", "--recon-limit", "6",
          "--novelty-bank", str(models / "bank"), "--json", str(out)])
    result = json.loads(out.read_text())
    assert result["metric"] == "FD-seg" and result["samples"] == 8 and result["resolution"] == SIZE
    assert [(r["name"], r["kind"]) for r in result["rows"]] == [
        ("floor: training renders (everyday)", "floor"), ("floor: training renders (futuristic)", "floor"),
        ("everyday", "generator"), ("futuristic", "generator"), ("step1", "generator"), ("final", "generator")]
    for row in result["rows"]:
        assert set(row["fd"]) == {"everyday", "futuristic"}
        assert all(math.isfinite(v) and v >= 0 for v in row["fd"].values())
    assert result["rows"][0]["fd"]["everyday"] < 1e-3  # the same renders as training and held-out: ~0
    assert result["rows"][4]["step"] == 1 and "DiffAugment color,translation,cutout" in result["rows"][4]["setup"]
    assert result["shared_budget_steps"] == 1

    encoder = result["encoder"]["rows"]
    assert [(r["source"], r["refine_steps"]) for r in encoder] == [
        (source, k) for source in ("held-out everyday", "held-out futuristic", "G's own samples") for k in (0, 3)]
    for row in encoder:
        assert finite(row) and row["count"] == 6 and row["mse"] > 0 and row["l1"] > 0 and row["fd"] >= 0
        assert row["psnr"] == pytest.approx(10 * math.log10(4 / row["mse"]), rel=1e-4)
    for before, after in zip(encoder[::2], encoder[1::2]):  # refinement lowers the reconstruction error
        assert after["mse"] < before["mse"]

    novelty = result["novelty"]
    assert novelty["training_images"] == 8 and novelty["usual_gap"] > 0
    assert [r["what"].split(" (")[0] for r in novelty["rows"]] == [
        "held-out renders", "held-out renders", "samples of everyday", "samples of futuristic", "samples of step1",
        "samples of final", *(f"blends alpha={a}" for a in ("1", "0.75", "0.5", "0.25", "0"))]
    for row in novelty["rows"]:
        assert finite(row) and 0 <= row["p10"] <= row["median"] <= row["p90"]
        assert 0 <= row["share_nearer_than_usual_gap"] <= 1
    assert novelty["rows"][0]["median"] < 1e-4  # the held-out renders are the bank's own images here

    cell = 40
    picture = tmp_path / "show.png"
    main(["showcase", "--generator", f"{run}@1", "--everyday", str(models / "everyday"), "--encoder",
          str(models / "encoder"), "--everyday-test", str(renders), "--futuristic-test", str(renders),
          "--rows", "2", "--refine-steps", "2", "--cell", str(cell), "--out", str(picture)])
    assert Image.open(picture).size == (7 * cell, HEADER + 2 * cell)  # car | 5 blends | car, under a header
    seeds = tmp_path / "seeds.png"
    main(["showcase", "--generator", str(models / "futuristic"), "--everyday", str(models / "everyday"),
          "--encoder", str(models / "encoder"), "--rows", "3", "--cell", str(cell), "--out", str(seeds)])
    assert Image.open(seeds).size == (7 * cell, HEADER + 3 * cell)
