"""A session's outputs and uploads live in its own folder and go when the session ends."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

from spaces.common import SESSION_FILES, TEMP_DIR
from tests.e2e.conftest import gallery_paths


def sketch_value(path: Path) -> dict:
    return {"background": None, "layers": [handle_file(str(path))], "composite": None}


def draw_outline(path: Path) -> Path:
    rgba = np.zeros((256, 256, 4), np.uint8)
    rgba[100:104, 30:226, 3] = 255  # roof line
    rgba[160:164, 20:236, 3] = 255  # sill
    rgba[100:164, 30:34, 3] = rgba[100:164, 222:226, 3] = 255
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def wait_until(condition, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_outputs_and_uploads_are_deleted_when_the_session_ends(app_url, tmp_path):
    alice = Client(app_url, verbose=False, download_files=str(tmp_path / "alice"))
    bob = Client(app_url, verbose=False, download_files=str(tmp_path / "bob"))
    sketch = draw_outline(tmp_path / "outline.png")
    _, _, cars = alice.predict(sketch_value(sketch), 2, 7, False, api_name="/sketch_generate")
    bob_cars = bob.predict(sketch_value(sketch), 2, 7, False, api_name="/sketch_generate")[2]
    alice_folder = SESSION_FILES.folder(alice)
    served = sorted(p.name for p in alice_folder.glob("*.png"))
    assert len(served) == 3  # mask + two cars, each under its own name
    # what the client downloaded is exactly what is in the session's folder
    for got in gallery_paths(cars):
        assert any(np.array_equal(np.asarray(Image.open(got)), np.asarray(Image.open(alice_folder / name)))
                   for name in served)
    uploads = SESSION_FILES.uploads(alice)
    assert uploads and all(p.exists() and p.resolve().is_relative_to(TEMP_DIR.resolve()) for p in uploads)

    alice.close()  # the heartbeat stops: Gradio runs demo.unload for this session

    assert wait_until(lambda: not alice_folder.exists()), "outputs of an ended session were kept"
    assert not any(p.exists() for p in uploads)
    assert SESSION_FILES.folder(bob).exists()  # another session is untouched and still served
    again = bob.predict(sketch_value(sketch), 2, 7, False, api_name="/sketch_generate")[2]
    assert [np.asarray(Image.open(p)).tolist() for p in gallery_paths(again)] == \
        [np.asarray(Image.open(p)).tolist() for p in gallery_paths(bob_cars)]
    bob.close()
