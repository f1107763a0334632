"""Per-session outputs and uploads (spaces.session_files), without a server."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

import pytest

from spaces import session_files
from spaces.session_files import SessionFiles


@pytest.fixture(autouse=True)
def no_recent_upload_grace(monkeypatch):
    monkeypatch.setattr(session_files, "RECENT_UPLOAD_S", 0)


def request(session: str) -> SimpleNamespace:
    return SimpleNamespace(session_hash=session)


def upload(root, digest: str, name: str = "image.png"):
    path = root / digest / name
    path.parent.mkdir(parents=True)
    Image.new("RGB", (4, 4), "red").save(path)
    return path


def test_outputs_are_saved_under_unique_names_in_the_session_folder(tmp_path):
    files = SessionFiles(tmp_path / "sessions", upload_root=tmp_path)
    image = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    value = (image, [(image, "first"), (image, "second")], {"background": image, "layers": []}, "text", 3)
    out = files.outputs(request("alice"), value)
    paths = [out[0], out[1][0][0], out[1][1][0], out[2]["background"]]
    assert len(set(paths)) == 4  # identical images never share (or rewrite) a file
    for p in paths:
        assert p.startswith(str(tmp_path / "sessions" / "alice"))
        assert np.array_equal(np.asarray(Image.open(p)), np.asarray(image))
    assert out[1][0][1] == "first" and out[2]["layers"] == [] and out[3:] == ("text", 3)
    assert not list((tmp_path / "sessions" / "alice").glob(".*"))  # no staging files left


def test_session_names_cannot_escape_the_folder(tmp_path):
    files = SessionFiles(tmp_path / "sessions", upload_root=tmp_path)
    path = files.save_image(request("../../etc"), Image.new("RGB", (2, 2)))
    assert Path(path).resolve().is_relative_to((tmp_path / "sessions").resolve())


def test_ending_a_session_deletes_its_outputs_and_uploads_only(tmp_path):
    files = SessionFiles(tmp_path / "sessions", upload_root=tmp_path)
    mine, theirs, shared = upload(tmp_path, "a" * 8), upload(tmp_path, "b" * 8), upload(tmp_path, "c" * 8)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.png"
    Image.new("RGB", (2, 2)).save(outside)
    files.shared = lambda: {str(shared)}
    files.note_uploads(request("alice"), ({"path": str(mine)}, {"background": {"path": str(shared)},
                                                                  "layers": [{"path": str(outside)}]}))
    files.note_uploads(request("bob"), [{"path": str(theirs)}])
    alice_out = files.save_image(request("alice"), Image.new("RGB", (2, 2)))
    bob_out = files.save_image(request("bob"), Image.new("RGB", (2, 2)))

    files.end(request("alice"))

    assert not mine.exists() and not mine.parent.exists()
    assert not os.path.exists(alice_out)
    assert theirs.exists() and shared.exists() and outside.exists()  # others', examples', not an upload
    assert os.path.exists(bob_out)
    assert files.sessions() == ["bob"]
    files.end(request("alice"))  # ending twice is harmless


def test_an_upload_two_sessions_sent_stays_until_both_end(tmp_path):
    files = SessionFiles(tmp_path / "sessions", upload_root=tmp_path)
    same = upload(tmp_path, "d" * 8)  # Gradio stores byte-identical uploads once
    files.note_uploads(request("alice"), {"path": str(same)})
    files.note_uploads(request("bob"), {"path": str(same)})
    files.end(request("alice"))
    assert same.exists()
    files.end(request("bob"))
    assert not same.exists()


def test_a_just_rewritten_upload_is_left_to_the_sweep(tmp_path, monkeypatch):
    monkeypatch.setattr(session_files, "RECENT_UPLOAD_S", 120)
    files = SessionFiles(tmp_path / "sessions", upload_root=tmp_path)
    fresh = upload(tmp_path, "e" * 8)  # another session may have just uploaded the same bytes
    files.note_uploads(request("alice"), {"path": str(fresh)})
    files.end(request("alice"))
    assert fresh.exists()


def test_the_app_tracks_uploads_in_the_folder_the_environment_chose(tmp_path):
    """GRADIO_TEMP_DIR set before the app starts (as Docker deployments do) is where Gradio stores
    uploads: the session tracker must look there, and write outputs there, not in the app's folder."""
    import json
    import subprocess
    import sys

    app_dir = Path(__file__).resolve().parents[2]
    chosen = tmp_path / "gradio-files"
    code = ("import json; from spaces.common import SESSION_FILES as f; "
            "print(json.dumps([str(f.upload_root), str(f.root)]))")
    for chosen_dir, expected in ((chosen, chosen.resolve()), (None, app_dir / ".gradio_tmp")):
        env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}
        if chosen_dir:
            env["GRADIO_TEMP_DIR"] = str(chosen_dir)
        out = subprocess.run([sys.executable, "-c", code], cwd=app_dir, env=env, capture_output=True, text=True,
                             check=True).stdout
        upload_root, root = map(Path, json.loads(out.strip().splitlines()[-1]))
        assert upload_root == expected and root.parent == expected
