"""Files that belong to one browser or API session: its outputs and its uploads.

Every image an endpoint returns is written here, atomically and under a fresh random name, in a
folder of its own session inside Gradio's cache folder (so Gradio serves it as is, without a
copy). Uploads a session sends are recorded. When the session ends (the browser tab closes, or a
`gradio_client.Client` is closed: Gradio's heartbeat stops and `demo.unload` runs) its folder and
its uploads are deleted; `Blocks(delete_cache=...)` removes whatever a session that never ends
cleanly leaves behind once it is older than `DELETE_CACHE`'s age.

Why not let Gradio encode PIL outputs: `gradio.processing_utils.save_pil_to_cache` names a file
by the hash of its bytes and rewrites it in place, so two requests that produce the same image
(same input and seed: every new visitor's first reference picture) truncate a file another
request may be streaming, and that download fails ("peer closed connection"). Unique names here
cannot collide.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PIL import Image

LOG = logging.getLogger("carstudio")
# Gradio's session hashes are client-chosen strings; only these characters name a folder.
_SAFE_SESSION = re.compile(r"[^A-Za-z0-9_-]")


def session_key(request: Any) -> str:
    session = getattr(request, "session_hash", None) or "no-session"
    return _SAFE_SESSION.sub("_", str(session))[:64] or "no-session"


class SessionFiles:
    """Per-session output folders under `root` and a record of each session's uploads."""

    def __init__(self, root: Path, upload_root: Path):
        self.root, self.upload_root = Path(root), Path(upload_root)
        self._uploads: dict[str, set[Path]] = {}
        self._lock = threading.Lock()
        # Files every session shares (Gradio's cached examples): never deleted with a session.
        self.shared: Callable[[], set[str]] = set

    def folder(self, request: Any) -> Path:
        return self.root / session_key(request)

    def save_image(self, request: Any, image: Image.Image) -> str:
        """Write `image` as PNG into the session's folder (temp name, then rename) -> its path."""
        folder = self.folder(request)
        folder.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=folder, prefix=".", suffix=".png")
        try:
            with os.fdopen(fd, "wb") as f:
                image.save(f, format="PNG")
            final = folder / f"{uuid.uuid4().hex}.png"
            os.replace(staging, final)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
        return str(final)

    def outputs(self, request: Any, value: Any) -> Any:
        """`value` with every PIL image (also inside lists, tuples and dicts, e.g. gallery
        (image, caption) pairs or an editor's background) replaced by its saved path."""
        if isinstance(value, Image.Image):
            return self.save_image(request, value)
        if isinstance(value, tuple):
            return tuple(self.outputs(request, v) for v in value)
        if isinstance(value, list):
            return [self.outputs(request, v) for v in value]
        if isinstance(value, dict):
            return {k: self.outputs(request, v) for k, v in value.items()}
        return value

    def note_uploads(self, request: Any, *values: Any) -> None:
        """Record the uploaded files among raw event inputs (FileData dicts, editor dicts)."""
        paths = {p for v in values for p in _file_paths(v) if _is_within(p, self.upload_root)
                 and not _is_within(p, self.root)}
        if paths:
            with self._lock:
                self._uploads.setdefault(session_key(request), set()).update(paths)

    def end(self, request: Any) -> None:
        """Delete the session's outputs and uploads (`demo.unload`)."""
        key = session_key(request)
        with self._lock:
            uploads = self._uploads.pop(key, set())
            # Gradio stores uploads by content: a file another live session sent too stays
            uploads -= {p for other in self._uploads.values() for p in other}
        shutil.rmtree(self.folder(request), ignore_errors=True)
        shared = {str(Path(p).resolve()) for p in self.shared()}
        uploads = {p for p in uploads if str(p.resolve()) not in shared and not _recently_written(p)}
        for path in uploads:
            # uploads live in a folder named by their content hash; drop the folder once empty
            path.unlink(missing_ok=True)
            try:
                path.parent.rmdir()
            except OSError:
                pass
        LOG.info("session ended: deleted its outputs and %d uploads", len(uploads))

    def uploads(self, request: Any) -> set[Path]:
        with self._lock:
            return set(self._uploads.get(session_key(request), set()))

    def sessions(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir()) if self.root.exists() else []


RECENT_UPLOAD_S = 120


def _recently_written(path: Path) -> bool:
    """An identical upload by a new session lands on the same content-addressed path before that
    session's request records it: a file (re)written in the last two minutes is left to the
    hourly sweep instead."""
    try:
        return time.time() - path.stat().st_ctime < RECENT_UPLOAD_S
    except OSError:
        return False


def _file_paths(value: Any) -> list[Path]:
    if isinstance(value, Mapping):
        found = [Path(value["path"])] if isinstance(value.get("path"), str) else []
        return found + [p for v in value.values() if isinstance(v, (Mapping, list, tuple)) for p in _file_paths(v)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _file_paths(v)]
    return []


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (OSError, ValueError):
        return False
    return True
