"""Where model weights come from, and loading each model once, lazily.

By default a model named `name` is read from `weights/<name>/`. Setting
`CARSTUDIO_HUB_<NAME>` (name upper-cased, `-` -> `_`) to `org/repo` or `org/repo@revision`
fetches it from the Hugging Face Hub instead (only then is the network used).
Each model card lists the sha256 of its files; they are checked before loading, so a
truncated or tampered file gives a clear error instead of garbage.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
CARD_NAME = "README.md"
_CHECKSUM_LINE = re.compile(r"^- `([^`]+)`: sha256 `([0-9a-f]{64})`", re.MULTILINE)

T = TypeVar("T")


class ModelUnavailable(RuntimeError):
    """A model's weights are missing, corrupt or fail their checksum; the message says which."""


def hub_env_var(name: str) -> str:
    return "CARSTUDIO_HUB_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def model_dir(name: str) -> Path:
    """Local folder holding model `name`: a hub snapshot when configured, else weights/<name>."""
    spec = os.environ.get(hub_env_var(name))
    if not spec:
        return WEIGHTS_DIR / name
    from huggingface_hub import snapshot_download

    repo_id, _, revision = spec.partition("@")
    try:
        return Path(snapshot_download(repo_id=repo_id, revision=revision or None))
    except Exception as error:  # offline, unknown repo, ...: report as unavailable
        raise ModelUnavailable(f"Model '{name}' could not be fetched from the hub repo '{spec}': {error}") from error


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_lines(directory: Path) -> str:
    """The model card's file list: one `- `file`: sha256 `hex`` line per weights/config file."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in {".json", ".safetensors"})
    return "\n".join(f"- `{p.relative_to(directory).as_posix()}`: sha256 `{sha256_of(p)}`" for p in files)


def verify_checksums(directory: Path, name: str) -> None:
    card = directory / CARD_NAME
    if not card.is_file():
        raise ModelUnavailable(f"Model '{name}' has no model card ({card}); its files cannot be verified.")
    listed = _CHECKSUM_LINE.findall(card.read_text(encoding="utf-8"))
    if not listed:
        raise ModelUnavailable(f"Model '{name}': the model card lists no checksums.")
    for relative, expected in listed:
        path = directory / relative
        if not path.is_file():
            raise ModelUnavailable(f"Model '{name}' is incomplete: {relative} is missing.")
        if sha256_of(path) != expected:
            raise ModelUnavailable(f"Model '{name}' is damaged: {relative} does not match its checksum.")


def load_pretrained(model_class: type[T], name: str, subfolder: str | None = None) -> T:
    """`model_class.from_pretrained` on a verified model folder, errors as ModelUnavailable."""
    directory = model_dir(name)
    if not directory.is_dir():
        raise ModelUnavailable(f"Model '{name}' is not installed (expected {directory}).")
    verify_checksums(directory, name)
    path = directory / subfolder if subfolder else directory
    try:
        return model_class.from_pretrained(path)
    except Exception as error:
        raise ModelUnavailable(f"Model '{name}' could not be loaded: {error}") from error


class LazyModel(Generic[T]):
    """Loads on first use (then runs a warm-up pass), once, thread-safely. A failed load is
    not cached: the next call tries again, so fixing the files needs no restart."""

    def __init__(self, load: Callable[[], T], warm_up: Callable[[T], object] | None = None):
        self._load = load
        self._warm_up = warm_up
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    value = self._load()
                    if self._warm_up is not None:
                        self._warm_up(value)
                    self._value = value
        return self._value


def load_model(model_class: type[T], name_or_path: str | Path) -> T:
    """A model from a local folder (a run's output, a test's tiny model), or by name from
    weights/ (checksum-verified, see load_pretrained)."""
    path = Path(name_or_path)
    return model_class.from_pretrained(path) if path.is_dir() else load_pretrained(model_class, str(name_or_path))


def write_model_card(directory: Path, body: str) -> Path:
    """Write `directory/README.md`: `body` (data, licences, command, metrics) followed by the
    checksum list that `verify_checksums` checks at load time."""
    card = directory / CARD_NAME
    card.write_text(body.rstrip() + "\n\n## Files\n\n" + checksum_lines(directory) + "\n", encoding="utf-8")
    return card
