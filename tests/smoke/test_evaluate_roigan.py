"""The RoI-GAN evaluation (Table 4.2's shape per RoI type, RoI-GAN vs Telea; controllability;
showcase) end to end on a tiny random generator and the tiny render folder: it runs, and its
numbers are well-formed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from carstudio.data.loading import load_images
from carstudio.data.roi import ROI_TYPES
from carstudio.evaluate.roigan import (SEED, edit_scores, load_generator, main, masked_psnr, masked_ssim,
                                       meets_targets, ring_around, roi_masks, roigan_edit, score_region_edits,
                                       telea_completions, telea_edit)
from carstudio.hub import WEIGHTS_DIR
from carstudio.models.evalnet import CarAttributeNet
from carstudio.models.roigan import RoIGANGenerator
from carstudio.pipelines.roigan import RegionEditPipeline
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


# --- windows: the region edit at the pictures' own size (issue 20) ------------------------------
PICTURE = 64


@pytest.fixture(scope="module")
def pictures64(tmp_path_factory) -> Path:
    """Six 64-px pictures (a coloured box on a gradient), as a render folder's images/ (the
    yardstick's k-NN figures need more than 5 reference pictures)."""
    root = tmp_path_factory.mktemp("pictures64")
    (root / "images").mkdir()
    rng = np.random.default_rng(1)
    ramp = np.linspace(40, 220, PICTURE)
    for i in range(6):
        picture = np.stack([np.add.outer(ramp, ramp) / 2, np.tile(ramp, (PICTURE, 1)), np.tile(ramp[:, None], PICTURE)],
                           -1)
        top, left = rng.integers(8, 24, 2)
        picture[top:top + 24, left:left + 32] = rng.integers(0, 256, 3)
        picture += rng.normal(0, 6, picture.shape)
        Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8)).save(root / "images" / f"{i:06d}.png")
    return root


def _run_windows(pictures, generator, tmp_path, name: str, *extra: str) -> dict:
    out = tmp_path / f"{name}.json"
    main(["windows", "--test", str(pictures), "--generator", f"tiny={generator}", "--window", "crop", "whole",
          "--per-type", "2", "--evalnet", "none", "--json", str(out), *extra])
    return json.loads(out.read_text())


def test_windows_command(pictures64, generator, tmp_path, restore_torch_threads):
    result = _run_windows(pictures64, generator, tmp_path, "a")
    methods = ["Telea", "RoI-GAN tiny (crop)", "RoI-GAN tiny (whole)"]
    assert result["size"] == PICTURE and result["methods"] == methods
    assert [(r["roi"], r["method"]) for r in result["rows"]] == [(k, m) for k in ROI_TYPES for m in methods]
    for row in result["rows"]:
        assert row["outside_changed"] == 0 and row["regions"] == 2 and 0 < row["region_area"] < 1
        assert row["l1"] > 0 and -1 <= row["ssim"] <= 1 and row["psnr"] > 0
        # a mean of per-region gaps is at least the gap of the means
        assert row["ring_gap"] >= abs(row["fill_to_ring"] - row["truth_to_ring"]) - 1e-9
        assert row["delta_e_fill"] >= 0 and row["ms_median"] > 0
        assert "fd_ind" not in row  # no evaluation network
    by_kind = {k: [r for r in result["rows"] if r["roi"] == k] for k in ROI_TYPES}
    for rows in by_kind.values():  # every method is scored on the same regions
        assert len({r["region_area"] for r in rows}) == 1 and len({r["truth_to_ring"] for r in rows}) == 1
    assert set(result["targets"]) == set(methods[1:])
    assert set(result["targets"]["RoI-GAN tiny (crop)"]["ellipse"]) == {"psnr", "ssim", "colour"}

    def scores(r: dict) -> dict:
        return {k: v for k, v in r.items() if k != "ms_median"}

    again = _run_windows(pictures64, generator, tmp_path, "b")
    assert [scores(r) for r in again["rows"]] == [scores(r) for r in result["rows"]]
    other_seed = _run_windows(pictures64, generator, tmp_path, "c", "--seed", "5")
    for before, after in zip(result["rows"], other_seed["rows"]):
        if before["method"] == "Telea":
            assert scores(after) == scores(before)
        else:
            assert after["l1"] != before["l1"]  # the noise changed the fill, not the regions
            assert after["region_area"] == before["region_area"]


def test_windows_outside_unchanged_and_yardstick(pictures64, generator):
    pictures = load_images([pictures64], PICTURE)
    pipe = RegionEditPipeline(load_generator(str(generator)), window="crop")

    def shifted(image, mask, seed):  # a broken method: brightens everything
        return Image.fromarray(np.clip(np.asarray(image).astype(int) + 9, 0, 255).astype(np.uint8))

    methods = {"Telea": telea_edit, "RoI-GAN": roigan_edit(pipe), "identity": lambda image, mask, seed: image,
               "shifted": shifted}
    net = CarAttributeNet(resolution=32, widths=(8, 8), feature_stages=2).eval()
    result = score_region_edits(pictures, methods, per_type=6, net=net, train_pictures=pictures, log=lambda _: None)
    rows = {(r["roi"], r["method"]): r for r in result["rows"]}
    assert result["floor"]["fd_ind"] == pytest.approx(0.0, abs=1e-6)  # reference vs itself
    for kind in ROI_TYPES:
        assert rows[kind, "Telea"]["outside_changed"] == rows[kind, "RoI-GAN"]["outside_changed"] == 0
        assert rows[kind, "shifted"]["outside_changed"] > 0
        identity = rows[kind, "identity"]  # the picture itself: no error, no distance
        assert identity["l1"] == 0 and identity["psnr"] == float("inf") and identity["ssim"] == pytest.approx(1.0)
        assert identity["delta_e_fill"] == 0 and identity["ring_gap"] == 0
        assert identity["fd_ind"] == pytest.approx(0.0, abs=1e-6) and identity["precision"] == 1.0
        assert rows[kind, "RoI-GAN"]["fd_ind"] > 0 and 0 <= rows[kind, "RoI-GAN"]["recall"] <= 1
        assert result["targets"]["identity"][kind] == {"psnr": True, "ssim": True, "colour": True, "fd_ind": True}
    # region i is drawn on picture i mod 6 and filled with seed + i
    few = score_region_edits(pictures[:4], {"RoI-GAN": roigan_edit(pipe)}, per_type=6, log=lambda _: None)
    masks = roi_masks("mixture", 6, PICTURE)
    scores = [edit_scores(np.array(pipe.inpaint(Image.fromarray(pictures[i % 4].permute(1, 2, 0).numpy()),
                                                masks[i, 0].numpy() > 0.5, seed=SEED + i)),
                          pictures[i % 4].permute(1, 2, 0).numpy(), masks[i, 0].numpy() > 0.5) for i in range(6)]
    assert few["rows"][2]["l1"] == pytest.approx(np.mean([s["l1"] for s in scores]))
    assert few["pictures"] == 4 and "fd_ind" not in few["rows"][2]  # too few pictures for the yardstick


def test_fill_colour_on_a_known_case():
    """A white square on black (the ring), red beyond the ring: CIE76 of L*a*b* means."""
    truth = np.zeros((24, 24, 3), np.uint8)
    truth[:2], truth[-2:] = (255, 0, 0), (255, 0, 0)  # far from the region: not in the ring
    mask = np.zeros((24, 24), bool)
    mask[8:16, 8:16] = True
    truth[mask] = 255
    ring = ring_around(mask, 4)
    assert not (ring & mask).any() and ring[4:20, 4:20].sum() == ring.sum() and ring[7, 7] and not ring[2, 2]
    cases = {0: (100.0, 0.0, 100.0), 255: (0.0, 100.0, 0.0), 119: (100 - 50.03, 50.03, 100 - 50.03)}
    for grey, (delta_e_fill, fill_to_ring, ring_gap) in cases.items():
        output = truth.copy()
        output[mask] = grey
        scores = edit_scores(output, truth, mask, ring_width=4)
        assert scores["truth_to_ring"] == pytest.approx(100.0, abs=1e-3)  # white vs black, red excluded
        assert scores["delta_e_fill"] == pytest.approx(delta_e_fill, abs=0.05)
        assert scores["fill_to_ring"] == pytest.approx(fill_to_ring, abs=0.05)
        assert scores["ring_gap"] == pytest.approx(ring_gap, abs=0.05)
    # the target reading: a fill as far from the ring as the truth is, not one near the truth's colour
    worse, better = {"roi": "ellipse", "psnr": 10.0, "ssim": 0.5, "ring_gap": 20.0}, \
        {"roi": "ellipse", "psnr": 12.0, "ssim": 0.4, "ring_gap": 5.0}
    assert meets_targets(better, worse) == {"psnr": True, "ssim": False, "colour": True}
    rectangle = {**worse, "roi": "rectangle", "psnr": 9.6}  # within 5% of 10 on rectangles
    assert meets_targets(rectangle, {**worse, "roi": "rectangle"})["psnr"]
