"""The command line and the dataset writer: layout, manifest, resume, determinism, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from carstudio.data.__main__ import main
from carstudio.data.layout import FOLDERS
from carstudio.data.parts import NUM_PARTS


def test_layout_and_manifest(rendered, capsys) -> None:
    for folder in FOLDERS.values():
        assert sorted(p.name for p in (rendered / folder).glob("*.png")) == [
            f"{i:06d}.png" for i in range(6)]
    image = Image.open(rendered / "images" / "000000.png")
    parts = Image.open(rendered / "parts" / "000000.png")
    sketch = Image.open(rendered / "sketches" / "000000.png")
    assert image.size == (40, 24) and image.mode == "RGB"
    assert parts.mode == "L" and sketch.mode == "L"
    assert Image.open(rendered / "paints" / "000000.png").mode == "RGB"
    assert np.asarray(parts).max() < NUM_PARTS
    records = [json.loads(line) for line in (rendered / "manifest.jsonl").read_text().splitlines()]
    assert [r["index"] for r in records] == list(range(6))
    assert {r["car"] for r in records} <= {"car1-trb1", "cordo_wrc"}  # p406 was skipped
    first = records[0]
    assert first["domain"] in ("everyday", "futuristic") and first["split"] in ("train", "test")
    assert {"azimuth", "elevation", "fov", "fill"} <= set(first["camera"])
    assert {"paint", "background", "lighting", "seed"} <= set(first)


@pytest.mark.filterwarnings("ignore:skipping car p406")
def test_resume_and_determinism(rendered, models_dir, tmp_path, capsys) -> None:
    copy = tmp_path / "ds"
    shutil.copytree(rendered, copy)
    args = ["render", "--out", str(copy), "--width", "40", "--height", "24", "--count", "6",
            "--cars", "car1-trb1,p406,cordo_wrc", "--models-dir", str(models_dir), "--quiet"]
    capsys.readouterr()
    assert main(args) == 0
    assert "0 rendered, 6 already there, 1 car(s) skipped" in capsys.readouterr().out
    before = {f: (copy / f / "000003.png").read_bytes() for f in FOLDERS.values()}
    (copy / "images" / "000003.png").unlink()
    assert main(args) == 0
    assert "1 rendered, 5 already there" in capsys.readouterr().out
    for folder, data in before.items():  # sample 3 is a pure function of (seed, 3)
        assert (copy / folder / "000003.png").read_bytes() == data
    assert len((copy / "manifest.jsonl").read_text().splitlines()) == 6
    assert main(args[:8] + ["12"] + args[9:]) == 0  # a larger --count extends the set
    assert "6 rendered, 6 already there" in capsys.readouterr().out
    other_seed = main(args + ["--seed", "1"])
    assert other_seed == 2 and "other settings (seed)" in capsys.readouterr().err


def test_missing_models_message(tmp_path, capsys) -> None:
    assert main(["render", "--out", str(tmp_path / "x"), "--count", "1",
                 "--models-dir", str(tmp_path)]) == 2
    assert "apt-get install torcs-data trigger-rally-data" in capsys.readouterr().err


def test_contact_sheet_and_reference(rendered, models_dir, tmp_path) -> None:
    sheet = tmp_path / "sheet.png"
    assert main(["contact-sheet", "--data", str(rendered), "--out", str(sheet), "--count", "6",
                 "--per-row", "3"]) == 0
    w, h = Image.open(sheet).size
    assert h == 2 * 24 + 2 and w > 3 * 4 * 40
    out = tmp_path / "ref"
    assert main(["reference", "--car", "car1-trb1", "--view", "three-quarter", "--width", "50",
                 "--height", "30", "--out", str(out), "--models-dir", str(models_dir)]) == 0
    ref = Image.open(out / "car1-trb1_three-quarter_50x30.png")
    assert ref.size == (50, 30)
    assert (out / "car1-trb1_three-quarter_50x30_parts.png").exists()
    assert (out / "car1-trb1_three-quarter_50x30_sketch.png").exists()
