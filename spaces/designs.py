"""A session's designs: every result it generated, with the tab, the seed and every setting that
made it, newest first and capped, so that a result can be restored, reproduced or varied, and
exported (the pictures at the resolution the model made them plus a JSON of their settings).

Kept in memory per session, with the pictures in the session's own folder (spaces.session_files):
both go when the session ends, like every other file of the session.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import zipfile
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from spaces.session_files import SessionFiles, session_key

MAX_DESIGNS = 50


@dataclass
class Design:
    id: str
    tab: str  # the tab's key (spaces.studio.TAB_KEYS)
    action: str  # the endpoint that made it (its api_name)
    settings: dict[str, Any]  # the seed and every other setting, JSON values
    pictures: list[str]  # paths of the results, at the model's resolution
    inputs: dict[str, str] = field(default_factory=dict)  # input pictures (a sketch, a photo), by setting name
    created: float = field(default_factory=time.time)

    @property
    def title(self) -> str:
        seed = next((f"{k.replace('_', ' ')} {v}" for k, v in self.settings.items() if k.endswith("seed")), "")
        return " · ".join(p for p in (self.action.replace("_", " "), seed, time.strftime("%H:%M:%S",
                                                                                     time.localtime(self.created))) if p)


class Designs:
    """Per-session lists of Design, newest first, at most `limit` each (the oldest go, files too)."""

    def __init__(self, files: SessionFiles, limit: int = MAX_DESIGNS):
        self.files, self.limit = files, limit
        self._designs: dict[str, deque[Design]] = {}
        self._lock = threading.Lock()

    def add(self, request: Any, tab: str, action: str, settings: dict[str, Any], pictures: list[Image.Image],
            inputs: dict[str, Image.Image] | None = None) -> Design | None:
        """Record a result; without a request (cached examples, shared by every session) nothing is kept."""
        if request is None or not pictures:
            return None
        design = Design(id=uuid.uuid4().hex[:12], tab=tab, action=action, settings=_json_values(settings),
                        pictures=[self.files.save_image(request, p) for p in pictures],
                        inputs={k: self.files.save_image(request, p) for k, p in (inputs or {}).items()})
        with self._lock:
            kept = self._designs.setdefault(session_key(request), deque())
            kept.appendleft(design)
            dropped = [kept.pop() for _ in range(len(kept) - self.limit)]
        for old in dropped:
            for path in (*old.pictures, *old.inputs.values()):
                Path(path).unlink(missing_ok=True)
        return design

    def list(self, request: Any) -> list[Design]:
        with self._lock:
            return list(self._designs.get(session_key(request), ()))

    def get(self, request: Any, design_id: str) -> Design | None:
        return next((d for d in self.list(request) if d.id == design_id), None)

    def end(self, request: Any) -> None:
        """Forget the session's designs (their files go with the session's folder)."""
        with self._lock:
            self._designs.pop(session_key(request), None)

    def export(self, request: Any) -> str | None:
        """A zip in the session's folder: pictures/ and inputs/ as PNG, and designs.json, which names
        each design's files -> its path (None without designs)."""
        designs = self.list(request)
        if not designs:
            return None
        folder = self.files.folder(request)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"carstudio-designs-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}.zip"
        manifest = []
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs are compressed
            for number, design in enumerate(designs, start=1):
                stem = f"{number:02d}-{design.tab}-{design.action}"
                entry = asdict(design)
                entry["pictures"] = [f"pictures/{stem}-{k + 1}.png" for k in range(len(design.pictures))]
                entry["inputs"] = {name: f"inputs/{stem}-{name}.png" for name in design.inputs}
                for source, target in zip((*design.pictures, *design.inputs.values()),
                                          (*entry["pictures"], *entry["inputs"].values())):
                    archive.write(source, target)
                entry["created"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(design.created))
                manifest.append(entry)
            archive.writestr("designs.json", json.dumps(manifest, indent=2))
        return str(path)


def _json_values(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as plain JSON values (numpy numbers and tuples become numbers and lists)."""
    return json.loads(json.dumps(settings, default=lambda v: v.item() if hasattr(v, "item") else list(v)))
