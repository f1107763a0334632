"""The studio through gradio_client: a car carried from tab to tab as a file (sketch -> region
edit -> blend), and the session's Designs: exported settings reproduce their pictures, other
sessions never see them, and they go with the session."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from carstudio.hub import WEIGHTS_DIR
from spaces.common import DESIGNS, SESSION_FILES
from spaces.designs import Designs
from spaces.session_files import SessionFiles
from tests.e2e.conftest import gallery_paths
from tests.e2e.test_session_files import draw_outline, sketch_value, wait_until

REGIONS = Path(__file__).resolve().parents[2] / "examples" / "regions"
NEEDED = ("sketchseg-64", "ssgan-64", "roigan-64", "sngan-everyday-64", "sngan-futuristic-64",
          "encoder-futuristic-64", "layout-stylegan-64", "layout-spade-64")
pytestmark = pytest.mark.skipif(not all((WEIGHTS_DIR / n).is_dir() for n in NEEDED),
                                reason="the studio tests need every shipped 64-px model")


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def exported(client: Client) -> tuple[list[dict], zipfile.ZipFile]:
    archive = zipfile.ZipFile(client.predict(api_name="/designs_export"))
    return json.loads(archive.read("designs.json")), archive


def zip_pixels(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(name) as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


def test_a_car_goes_from_sketch_to_region_edit_to_blend(client, tmp_path):
    """The chain of the README's API section: each tab takes the previous one's file."""
    _, _, cars = client.predict(sketch_value(draw_outline(tmp_path / "outline.png")), 2, 5, False,
                                api_name="/sketch_generate")
    car = gallery_paths(cars)[0]
    region = {"background": handle_file(car), "layers": [handle_file(str(REGIONS / "door_mask.png"))],
              "composite": None}
    edited, _ = client.predict(region, 0, 3, 0.5, 0.0, 0.0, 0.0, api_name="/region_edit")
    assert pixels(edited).shape == pixels(car).shape and not np.array_equal(pixels(edited), pixels(car))
    client.predict("everyday", handle_file(edited), 20, api_name="/blend_encode")
    client.predict("futuristic", 1, 20, api_name="/blend_sample")
    blended, novelty = client.predict(0.5, api_name="/blend")
    assert pixels(blended).std() > 0 and "training" in novelty
    designs, _ = exported(client)
    assert [d["action"] for d in designs] == ["blend", "region_edit", "sketch_generate"]  # newest first


def test_exported_settings_reproduce_their_pictures(client, tmp_path):
    """Each design's JSON settings (and input pictures, from the zip) sent again give the same
    pictures, bit for bit; another seed does not."""
    client.predict(sketch_value(draw_outline(tmp_path / "outline.png")), 2, 9, True, api_name="/sketch_generate")
    region = {"background": handle_file(str(REGIONS / "door.png")),
              "layers": [handle_file(str(REGIONS / "door_mask.png"))], "composite": None}
    client.predict(region, 2, 4, 0.3, -0.2, 0.0, 0.6, api_name="/region_edit")
    client.predict(5, 0.7, True, 2, 3, 11, 2, api_name="/layout_generate")
    first, archive = exported(client)
    by_action = {d["action"]: d for d in first}
    inputs = tmp_path / "inputs"
    archive.extractall(inputs)

    s = by_action["sketch_generate"]["settings"]
    sketch = str(inputs / by_action["sketch_generate"]["inputs"]["sketch"])
    client.predict({"background": None, "layers": [], "composite": handle_file(sketch)}, s["variations"],
                   s["style_seed"], s["show_sfm"], api_name="/sketch_generate")
    r = by_action["region_edit"]
    s = r["settings"]
    client.predict({"background": handle_file(str(inputs / r["inputs"]["image"])),
                    "layers": [handle_file(str(inputs / r["inputs"]["region"]))], "composite": None},
                   s["variant"], s["seed"], *[s[f"control_{k}"] for k in range(1, 5)], api_name="/region_edit")
    s = by_action["layout_generate"]["settings"]
    client.predict(s["seed"], s["psi"], s["mix"], s["mix_seed"], s["mix_layer"], s["style_seed"], s["variations"],
                   api_name="/layout_generate")
    client.predict(s["seed"], s["psi"], s["mix"], s["mix_seed"], s["mix_layer"], s["style_seed"] + 1,
                   s["variations"], api_name="/layout_generate")

    again, archive_again = exported(client)
    other_seed, *repeats = again[:4]
    assert [d["action"] for d in repeats] == ["layout_generate", "region_edit", "sketch_generate"]
    for repeat in repeats:
        original = by_action[repeat["action"]]
        assert repeat["settings"] == original["settings"]
        assert len(repeat["pictures"]) == len(original["pictures"])
        for new, old in zip(repeat["pictures"], original["pictures"]):
            assert np.array_equal(zip_pixels(archive_again, new), zip_pixels(archive, old)), repeat["action"]
    assert not np.array_equal(zip_pixels(archive_again, other_seed["pictures"][0]),
                              zip_pixels(archive, by_action["layout_generate"]["pictures"][0]))
    # the pictures are at the model's resolution (64 px), not the 256-px display size
    assert zip_pixels(archive, by_action["layout_generate"]["pictures"][0]).shape == (64, 64, 3)


def test_designs_are_private_and_go_with_the_session(app_url, tmp_path):
    alice = Client(app_url, verbose=False, download_files=str(tmp_path / "alice"))
    bob = Client(app_url, verbose=False, download_files=str(tmp_path / "bob"))
    try:
        alice.predict(1, 0.8, False, 1, 4, 0, 1, api_name="/layout_generate")
        assert len(DESIGNS.list(alice)) == 1
        with pytest.raises(AppError, match="No designs yet"):
            bob.predict(api_name="/designs_export")
        files = DESIGNS.list(alice)[0].pictures
        assert all(Path(p).is_relative_to(SESSION_FILES.folder(alice)) for p in files)
    finally:
        alice.close()
    assert wait_until(lambda: not DESIGNS.list(alice) and not any(Path(p).exists() for p in files))
    bob.close()


def test_only_the_newest_designs_are_kept(tmp_path):
    designs = Designs(SessionFiles(tmp_path / "sessions", upload_root=tmp_path), limit=3)
    session = type("Request", (), {"session_hash": "alice"})()
    for seed in range(5):
        designs.add(session, "layout", "layout_generate", {"seed": seed}, [Image.new("RGB", (4, 4), (seed, 0, 0))])
    kept = designs.list(session)
    assert [d.settings["seed"] for d in kept] == [4, 3, 2]
    assert len(list((tmp_path / "sessions" / "alice").glob("*.png"))) == 3  # the dropped ones' files are gone
    assert designs.add(None, "layout", "layout_generate", {}, [Image.new("RGB", (4, 4))]) is None
