"""A session's outputs and uploads live in its own folder and go when the session ends, wherever
Gradio keeps its files: the app's own folder, or one the environment chose with GRADIO_TEMP_DIR."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from spaces.common import APP_DIR, SESSION_FILES, TEMP_DIR
from tests.e2e.conftest import gallery_paths

# The sketch tab alone, as a deployment would start it, with no grace period for fresh uploads.
LAUNCHER = """
import sys
from spaces import session_files
session_files.RECENT_UPLOAD_S = 0
from spaces import sketch
from spaces.common import configure_app
configure_app(sketch.create_demo()).launch(server_port=int(sys.argv[1]), quiet=True, show_error=True)
"""


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


def stored_uploads(temp_root: Path, name: str) -> set[Path]:
    """Gradio stores an upload as <temp root>/<content hash>/<its file name>."""
    return {p for p in temp_root.glob(f"*/{name}") if p.parent.name != "sessions"}


def check_session_files(url: str, temp_root: Path, tmp_path: Path) -> None:
    """Two clients send a shared and an own sketch; each one's outputs and uploads are deleted when
    it closes, and not before: read from the disk, so it holds for an app in another process too."""
    alice = Client(url, verbose=False, download_files=str(tmp_path / "alice"))
    bob = Client(url, verbose=False, download_files=str(tmp_path / "bob"))
    # names no other test uses: uploads of other tests' clients may still be on the disk
    shared = draw_outline(tmp_path / "session-files-shared.png")  # both send this file: Gradio stores it once
    own = draw_outline(tmp_path / "session-files-own.png", roof=90)
    mask, _, cars = alice.predict(sketch_value(shared), 2, 7, False, api_name="/sketch_generate")
    own_mask = alice.predict(sketch_value(own), api_name="/sketch_mask")
    bob_cars = bob.predict(sketch_value(shared), 2, 7, False, api_name="/sketch_generate")[2]
    alice_folder, bob_folder = temp_root / "sessions" / alice.session_hash, temp_root / "sessions" / bob.session_hash
    stored = {p.name for p in alice_folder.glob("*.png")}
    # every file the client was served (mask + two cars + mask) is the session's own, under its own name,
    # and is exactly what the client downloaded
    downloaded = [Path(p) for p in (mask, *gallery_paths(cars), own_mask)]
    assert len({p.name for p in downloaded}) == 4 and {p.name for p in downloaded} <= stored
    for got in downloaded:
        assert np.array_equal(np.asarray(Image.open(got)), np.asarray(Image.open(alice_folder / got.name)))
    # besides them, only the session's Designs record: the two cars at the model's resolution and the sketch
    assert len(stored) == 4 + 3
    shared_uploads, own_uploads = (stored_uploads(temp_root, shared.name),
                                   stored_uploads(temp_root, own.name))
    assert len(shared_uploads) == 1 and len(own_uploads) == 1

    alice.close()  # the heartbeat stops: Gradio runs demo.unload for this session

    assert wait_until(lambda: not alice_folder.exists()), "outputs of an ended session were kept"
    # end() removes the folder first, then the uploads: wait for both
    assert wait_until(lambda: not any(p.exists() for p in own_uploads)), "alice's own upload was kept"
    assert all(p.exists() for p in shared_uploads)  # the file bob sent too stays while bob's session lives
    assert bob_folder.exists()
    again = bob.predict(sketch_value(shared), 2, 7, False, api_name="/sketch_generate")[2]
    assert [np.asarray(Image.open(p)).tolist() for p in gallery_paths(again)] == \
        [np.asarray(Image.open(p)).tolist() for p in gallery_paths(bob_cars)]

    bob.close()
    assert wait_until(lambda: not bob_folder.exists())
    assert wait_until(lambda: not any(p.exists() for p in shared_uploads)), "bob's upload was kept"


def test_outputs_and_uploads_are_deleted_when_the_session_ends(app_url, tmp_path, monkeypatch):
    from spaces import session_files

    monkeypatch.setattr(session_files, "RECENT_UPLOAD_S", 0)  # no grace period for fresh uploads here
    assert SESSION_FILES.upload_root == TEMP_DIR and SESSION_FILES.root.parent == TEMP_DIR
    check_session_files(app_url, TEMP_DIR, tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_with_its_own_temp_dir(tmp_path):
    """The sketch tab in a child process whose environment sets GRADIO_TEMP_DIR to another folder."""
    temp_root = (tmp_path / "elsewhere").resolve()
    port = free_port()
    env = {**os.environ, "GRADIO_TEMP_DIR": str(temp_root), "GRADIO_HEARTBEAT_INTERVAL": "2",
           "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)], cwd=APP_DIR, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"

    def answers() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_until(answers, timeout=90), server.stderr.read1().decode() if server.poll() is not None else "no answer"
        yield url, temp_root
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_uploads_are_tracked_where_the_environment_keeps_gradio_files(app_with_its_own_temp_dir, tmp_path):
    url, temp_root = app_with_its_own_temp_dir
    check_session_files(url, temp_root, tmp_path)
