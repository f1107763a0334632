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


def draw_outline(path: Path, roof: int = 100) -> Path:
    rgba = np.zeros((256, 256, 4), np.uint8)
    rgba[roof:roof + 4, 30:226, 3] = 255  # roof line
    rgba[160:164, 20:236, 3] = 255  # sill
    rgba[roof:164, 30:34, 3] = rgba[roof:164, 222:226, 3] = 255
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def wait_until(condition, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_outputs_and_uploads_are_deleted_when_the_session_ends(app_url, tmp_path, monkeypatch):
    from spaces import session_files

    monkeypatch.setattr(session_files, "RECENT_UPLOAD_S", 0)  # no grace period for fresh uploads here
    alice = Client(app_url, verbose=False, download_files=str(tmp_path / "alice"))
    bob = Client(app_url, verbose=False, download_files=str(tmp_path / "bob"))
    shared = draw_outline(tmp_path / "outline.png")  # both send this file: Gradio stores it once
    own = draw_outline(tmp_path / "own.png", roof=90)
    _, _, cars = alice.predict(sketch_value(shared), 2, 7, False, api_name="/sketch_generate")
    alice.predict(sketch_value(own), api_name="/sketch_mask")
    bob_cars = bob.predict(sketch_value(shared), 2, 7, False, api_name="/sketch_generate")[2]
    alice_folder = SESSION_FILES.folder(alice)
    served = sorted(p.name for p in alice_folder.glob("*.png"))
    assert len(served) == 4  # mask + two cars + mask, each under its own name
    # what the client downloaded is exactly what is in the session's folder
    for got in gallery_paths(cars):
        assert any(np.array_equal(np.asarray(Image.open(got)), np.asarray(Image.open(alice_folder / name)))
                   for name in served)
    alice_uploads, bob_uploads = SESSION_FILES.uploads(alice), SESSION_FILES.uploads(bob)
    assert len(alice_uploads) == 2 and len(bob_uploads) == 1 and bob_uploads < alice_uploads
    assert all(p.exists() and p.resolve().is_relative_to(TEMP_DIR.resolve()) for p in alice_uploads)

    alice.close()  # the heartbeat stops: Gradio runs demo.unload for this session

    assert wait_until(lambda: not alice_folder.exists()), "outputs of an ended session were kept"
    own_upload = alice_uploads - bob_uploads
    assert len(own_upload) == 1
    # end() removes the folder first, then the uploads: wait for both
    assert wait_until(lambda: not any(p.exists() for p in own_upload)), "alice's own upload was kept"
    assert all(p.exists() for p in bob_uploads)  # the file bob sent too stays while bob's session lives
    assert SESSION_FILES.folder(bob).exists()
    again = bob.predict(sketch_value(shared), 2, 7, False, api_name="/sketch_generate")[2]
    assert [np.asarray(Image.open(p)).tolist() for p in gallery_paths(again)] == \
        [np.asarray(Image.open(p)).tolist() for p in gallery_paths(bob_cars)]

    bob.close()
    assert wait_until(lambda: not SESSION_FILES.folder(bob).exists())
    assert wait_until(lambda: not any(p.exists() for p in bob_uploads))
