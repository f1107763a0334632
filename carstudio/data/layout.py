"""The dataset folder layout, shared by the writer and the loaders (no heavy imports here)."""

from __future__ import annotations

# Sample field -> sub-folder holding one PNG per sample.
FOLDERS: dict[str, str] = {"image": "images", "parts": "parts", "sketch": "sketches",
                           "paint": "paints"}
MANIFEST = "manifest.jsonl"  # one JSON line per sample
SETTINGS = "dataset.json"  # the render settings; a resumed run must match them


def sample_name(index: int) -> str:
    return f"{index:06d}.png"
