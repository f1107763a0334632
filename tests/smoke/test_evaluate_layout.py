"""The layout evaluation (seed 003's table, SPADE's consistency mIoU, showcase) end to end on tiny
random models and a tiny render folder: it runs and its numbers are well-formed."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from carstudio.evaluate.layout import colourised, main
from carstudio.hub import WEIGHTS_DIR
from carstudio.models.ssgan import SPADEGenerator, StyleEncoder
from carstudio.models.stylegan import StyleGANGenerator
from tests.smoke.helpers import SIZE

pytestmark = pytest.mark.skipif(not (WEIGHTS_DIR / "segmenter-128").is_dir(), reason="needs weights/segmenter-128")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    widths = (8,) * (SIZE.bit_length() - 2)
    StyleGANGenerator(resolution=SIZE, z_dim=8, w_dim=8, mapping_layers=2, widths=widths).save_pretrained(root / "layout")
    StyleGANGenerator(resolution=SIZE, z_dim=8, w_dim=8, mapping_layers=2, widths=widths, out_channels=3,
                      output="image").save_pretrained(root / "image")
    SPADEGenerator(z_dim=4, widths=(8, 8, 4), resolution=SIZE, spade_hidden=4).save_pretrained(root / "spade")
    StyleEncoder(z_dim=4, widths=(4, 4, 4), resolution=SIZE).save_pretrained(root / "spade" / "style_encoder")
    return root


def test_table_and_showcase(renders, models, tmp_path, restore_torch_threads):
    out = tmp_path / "table.json"
    main(["table", "--test", str(renders), "--train-reference", str(renders), "--layout", str(models / "layout"),
          "--renderer", str(models / "spade"), "--one-stage", str(models / "image"), "--json", str(out)])
    result = json.loads(out.read_text())
    assert [r["what"].split(":")[0] for r in result["rows"]] == [
        "generated layouts (StyleGAN)", "two-stage", "one-stage", "SPADE on held-out real layouts (renderer alone)",
        "floor", "floor"]
    assert all(r["metric"] == "FD-seg" and r["fd"] >= -1e-6 for r in result["rows"])
    assert result["rows"][4]["fd"] < 1e-3  # the same folder as reference and test: distance ~0
    assert set(result["consistency"]) == {"segmenter_on_held_out_renders", "spade_on_held_out_layouts",
                                          "spade_on_generated_layouts"}
    assert all(0 <= v["miou"] <= 1 for v in result["consistency"].values())

    picture = main(["showcase", "--layout", str(models / "layout"), "--renderer", str(models / "spade"),
                    "--out", str(tmp_path / "show.png")])
    assert picture is None and Image.open(tmp_path / "show.png").size == (8 * 96, 5 * 96)


def test_colourised_layouts_use_the_part_palette():
    parts = torch.tensor([[[0, 1], [2, 3]]])
    rgb = colourised(parts)
    assert rgb.shape == (1, 3, 2, 2) and rgb.min() >= -1 and rgb.max() <= 1
    assert torch.allclose(rgb[0, :, 0, 0], torch.ones(3))  # background is white
