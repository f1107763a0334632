"""The quality report end to end on tiny synthetic render sets: the sketch tab's shipped models
scored with a tiny random evaluation network, floors, JSON, markdown, the picture grid, and a
frozen "before" column shown beside the current one."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio.evaluate.__main__ import main
from carstudio.evaluate.heldout import RENDER_SETS, SIZES, MissingRenders, load_set
from carstudio.models.evalnet import CarAttributeNet

COUNT = 8


def write_set(folder, size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for sub in ("images", "parts", "sketches", "paints"):
        (folder / sub).mkdir(parents=True)
    records = []
    for i in range(COUNT):
        name = f"{i:06d}.png"
        parts = np.zeros((size, size), np.uint8)
        parts[size // 3: 2 * size // 3, size // 8: 7 * size // 8] = 1
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(image).save(folder / "images" / name)
        Image.fromarray(image).save(folder / "paints" / name)
        Image.fromarray(parts).save(folder / "parts" / name)
        Image.fromarray(np.where(parts > 0, 0, 255).astype(np.uint8)).save(folder / "sketches" / name)
        records.append({"index": i, "file": name, "car": "p406", "camera": {"azimuth": 90.0},
                        "background": {"kind": "plain"}})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    for index, name in enumerate(("everyday-test", "everyday-train")):
        for size in SIZES:
            write_set(RENDER_SETS[name].folder(name, size, root), size, seed=10 * index + size)
    torch.manual_seed(0)
    CarAttributeNet(resolution=32, widths=(8, 8, 16)).save_pretrained(root / "evalnet")
    return root


def test_missing_set_names_the_command(tmp_path):
    with pytest.raises(MissingRenders, match="python -m carstudio.data render .*--seed 1"):
        load_set("everyday-test", 64, root=tmp_path)


def test_report_writes_tables_grids_and_a_before_column(sets, tmp_path):
    docs = tmp_path / "docs"
    common = ["report", "--tabs", "sketch", "--count", str(COUNT), "--data-root", str(sets), "--evalnet",
              str(sets / "evalnet"), "--docs", str(docs), "--cache", str(tmp_path / "cache"), "--threads", "1"]
    main([*common, "--label", "before"])
    before = json.loads((docs / "quality" / "before.json").read_text())
    rows = before["tabs"]["sketch"]["rows"]
    for name in ("samples (own)", "samples (common 128)"):
        assert {"fd_ind", "kid", "precision", "recall", "density", "coverage", "fd_seg", "sharpness"} <= set(rows[name])
        assert rows[name]["n_fake"] == COUNT and rows[name]["fd_ind"] >= 0
    paired = rows["paired, random style, common (128 px)"]
    assert {"l1", "psnr", "ssim", "delta_e_body", "sharpness"} <= set(paired) and paired["n_pairs"] == COUNT
    assert set(before["floors"]["everyday-test"]) == {"64", "128", "256"}
    assert (docs / "img" / "quality" / "before" / "sketch.png").is_file()
    assert (docs / "img" / "quality" / "sketch.png").is_file()
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 6  # test and train sets at 3 sizes
    text = (docs / "quality.md").read_text()
    assert "## Sketch to car (SSGAN)" in text and "FD-ind" in text and "before.json" in text

    # a changed model would change the current figures: a fake edit shows up as a "before" row
    current = json.loads((docs / "quality" / "current.json").read_text())
    current["tabs"]["sketch"]["rows"]["samples (own)"]["fd_ind"] += 1.0
    (docs / "quality" / "current.json").write_text(json.dumps(current))
    main([*common, "--tabs", "sketch"])  # rescored: back to the real figure, equal to before again
    again = json.loads((docs / "quality" / "current.json").read_text())
    assert again["tabs"]["sketch"]["rows"]["samples (own)"]["fd_ind"] == pytest.approx(rows["samples (own)"]["fd_ind"])
    assert "*before*" not in (docs / "quality.md").read_text()


def test_region_scores_inside_the_region_only():
    from carstudio.evaluate.report import region_scores

    torch.manual_seed(0)
    truth = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    masks = torch.zeros(5, 1, 32, 32)
    masks[:, :, 8:20, 8:24] = 1
    same = region_scores(truth, truth, masks, chunk=2)
    assert same["l1_region"] == 0 and same["ssim_region"] == pytest.approx(1.0) and same["delta_e_fill"] == 0
    outside_changed = truth.clone()
    outside_changed[:, :, 24:, :] = 0  # pixels outside every region
    assert region_scores(outside_changed, truth, masks, chunk=2)["l1_region"] == 0
    flat = truth.clone()
    flat[:, :, 8:20, 8:24] = 128  # a flat grey fill: blurrier and off-colour inside
    scores = region_scores(flat, truth, masks, chunk=3)
    assert scores["l1_region"] > 0.2 and scores["sharpness_region"] < 0.5 and scores["delta_e_fill"] >= 0


def test_palette_generators_are_also_scored_with_the_style_of_the_render(sets, tmp_path):
    from carstudio.data.parts import NUM_PARTS
    from carstudio.models.ssgan import SSGANGenerator

    torch.manual_seed(0)
    generator = SSGANGenerator(z_dim=8, widths=(16, 8, 8), resolution=64, spade_hidden=8, sfm_channels=8,
                               palette_bank=8)
    with torch.no_grad():
        generator.palette.bank.copy_(torch.rand(8, NUM_PARTS, 3) * 2 - 1)
    generator.save_pretrained(tmp_path / "palette-generator")
    docs = tmp_path / "docs"
    main(["report", "--tabs", "sketch", "--count", str(COUNT), "--data-root", str(sets), "--evalnet",
          str(sets / "evalnet"), "--docs", str(docs), "--cache", str(tmp_path / "cache"), "--threads", "1",
          "--model", f"sketch.generator={tmp_path / 'palette-generator'}", "--label", "palette"])
    rows = json.loads((docs / "quality" / "palette.json").read_text())["tabs"]["sketch"]["rows"]
    for source in ("predicted mask", "true part map"):
        row = rows[f"{source}, style of the render, own (64 px)"]
        assert row["n_pairs"] == COUNT and {"ssim", "delta_e_body"} <= set(row)
    # the style of the render is not the style seed's: the same generator scores differently with each
    assert rows["true part map, style of the render, own (64 px)"]["l1"] != rows["paired, random style, own (64 px)"]["l1"]


def test_render_palettes_are_the_mean_colour_of_each_part():
    from types import SimpleNamespace

    from carstudio.evaluate.report import render_palettes

    images = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    images[:, 0, :4] = 255  # top half red, bottom black
    parts = torch.zeros(2, 8, 8, dtype=torch.long)
    parts[:, :4] = 1
    data = SimpleNamespace(float_images=lambda: images.float() / 127.5 - 1.0, parts=parts)
    bank = torch.full((3, 6, 3), 0.5)
    palettes = render_palettes(SimpleNamespace(palette=SimpleNamespace(bank=bank)), data, 0, 2)
    torch.testing.assert_close(palettes[:, 1], torch.tensor([[1.0, -1.0, -1.0]] * 2))  # body: red
    torch.testing.assert_close(palettes[:, 0], torch.tensor([[-1.0, -1.0, -1.0]] * 2))  # background: black
    torch.testing.assert_close(palettes[:, 2:], torch.full((2, 4, 3), 0.5))  # absent parts: the bank's mean
