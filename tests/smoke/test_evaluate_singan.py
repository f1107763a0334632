"""The SinGAN comparison scorer (seed Table 1's M per model) end to end on a smoke-trained model:
it runs, and its numbers are well-formed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from carstudio.evaluate.singan_table import main as table_main
from carstudio.hub import WEIGHTS_DIR
from carstudio.train.singan import main as train_main

needs_segmenter = pytest.mark.skipif(not (WEIGHTS_DIR / "segmenter-128").is_dir(), reason="needs weights/segmenter-128")


@needs_segmenter
def test_compare_scores_every_model_and_painting(tmp_path, restore_torch_threads):
    rng = np.random.default_rng(0)
    image, painting = tmp_path / "car.png", tmp_path / "paint.png"
    Image.fromarray(rng.integers(0, 255, (40, 64, 3), dtype=np.uint8)).save(image)
    Image.fromarray(np.full((40, 64, 3), (200, 30, 30), dtype=np.uint8)).save(painting)
    train_main(["--images", str(image), "--out", str(tmp_path / "run"), "--preset", "smoke", "--threads", "1"])
    folder = tmp_path / "run" / "car"
    out = tmp_path / "compare.json"
    table_main(["compare", "--models", f"a={folder}", f"b={folder}", "--paintings", str(painting), "--json", str(out)])
    rows = json.loads(out.read_text())["rows"]
    assert [(r["model"], r["painting"]) for r in rows] == [("a", "paint"), ("b", "paint")]
    for row in rows:
        # M = 2 max(S_p, S_t) per output, averaged: between 2 max and 2 x the sum of the mean SIFIDs
        assert 2 * max(row["s_train"], row["s_paint"]) - 1e-6 <= row["m"] <= 2 * (row["s_train"] + row["s_paint"])
        assert 1 <= row["best_scale"] < row["num_scales"] and len(row["seconds_per_iteration"]) == row["num_scales"]
    assert rows[0]["m"] == rows[1]["m"]  # same model, same seed: same outputs


def test_compare_rejects_unnamed_models(tmp_path):
    with pytest.raises(SystemExit, match="NAME=FOLDER"):
        table_main(["compare", "--models", str(tmp_path), "--paintings", str(tmp_path / "p.png")])
