"""The RoI-GAN evaluation (Table 4.2's shape per RoI type, RoI-GAN vs Telea; controllability;
showcase) end to end on a tiny random generator and the tiny render folder: it runs, and its
numbers are well-formed."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from carstudio.evaluate.roigan import main, masked_psnr, masked_ssim, telea_completions
from carstudio.hub import WEIGHTS_DIR
from carstudio.models.roigan import RoIGANGenerator
from tests.smoke.helpers import SIZE

needs_segmenter = pytest.mark.skipif(not (WEIGHTS_DIR / "segmenter-128").is_dir(), reason="needs weights/segmenter-128")


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    root = tmp_path_factory.mktemp("roigan")
    torch.manual_seed(0)
    RoIGANGenerator(resolution=SIZE, encoder_widths=(8, 8, 8), decoder_widths=(8, 8, 8), noise_dim=4, num_codes=2,
                    num_categories=3, style_channels=4, denorm_hidden=4).save_pretrained(root / "g")
    return root / "g"


@needs_segmenter
def test_table_and_showcase(renders, generator, tmp_path, restore_torch_threads):
    out = tmp_path / "table.json"
    main(["table", "--test", str(renders), "--generator", str(generator), "--train-reference", str(renders),
          "--json", str(out)])
    result = json.loads(out.read_text())
    assert [(r["roi"], r["method"]) for r in result["rows"]] == [
        (kind, method) for kind in ("rectangle", "ellipse", "mixture") for method in ("RoI-GAN", "Telea")]
    for row in result["rows"]:
        assert row["metric"] == "FD-seg" and row["fd"] >= -1e-6 and 0 < row["coverage"] < 1
        assert row["l1"] >= 0 and row["psnr"] > 0 and -1 <= row["ssim"] <= 1
    # both methods are scored on the same regions
    assert result["rows"][0]["coverage"] == result["rows"][1]["coverage"]
    assert result["floor"]["fd"] < 1e-3  # the same folder as reference and test
    control = result["controllability"]
    assert len(control["codes"]) == 2 and control["roi"] == "ellipse"
    for code in control["codes"]:
        assert code["inside_per_unit"] > 0 and code["outside_per_unit"] >= 0
        assert code["composited_outside_per_unit"] == 0.0  # eq. 3.9: nothing outside the RoI changes
    assert control["category"]["pairs"] == 3 and control["noise"]["inside"] > 0

    picture = tmp_path / "show.png"
    main(["showcase", "--test", str(renders), "--generator", str(generator), "--count", "2", "--out", str(picture)])
    # per render: the comparison row, 2 code sweeps, the categories; a thin gap between renders
    assert Image.open(picture).size == (7 * 128, 2 * 4 * 128 + 16)


def test_region_scores_on_known_inputs():
    a, masks = torch.zeros(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    masks[..., 4:8, 4:8] = 1
    b = a.clone()
    b[..., 4:8, 4:8] = 0.2  # squared error 0.04 inside, nothing outside
    assert masked_psnr(a, b, masks) == pytest.approx(10 * torch.log10(torch.tensor(4 / 0.04)).item())
    assert masked_psnr(a, a, masks) == float("inf")
    assert masked_ssim(a, a, masks) == pytest.approx(1.0)
    assert masked_ssim(a, b, masks) < 1.0


def test_telea_completions_keep_the_outside():
    real = torch.rand(2, 3, 16, 16) * 2 - 1
    masks = torch.zeros(2, 1, 16, 16)
    masks[:, :, 5:9, 3:12] = 1
    completed = telea_completions(real, masks)
    outside = ~masks.bool().expand(-1, 3, -1, -1)
    torch.testing.assert_close(completed[outside], real[outside])
    assert not torch.allclose(completed[~outside], real[~outside])
