"""One reader of training runs' checkpoints, for every evaluator and trainer.

A run folder (`python -m carstudio.train.<x> --out RUN`) holds options.json and
checkpoints/step_NNNNNNN/, written by `accelerator.save_state`. Accelerate names what it saves by
position: the prepared models as model.safetensors, model_1.safetensors, ... in the order they
were prepared, the objects registered for checkpointing as custom_checkpoint_0.pkl, ... So each
checkpoint also gets contents.json (see `name_checkpoint_contents`): every model's name, file,
class and config, and readers ask for a model by name. Checkpoints written before that file
existed are read with LEGACY_FILES, the order every trainer prepared its models in.

Model specs, as evaluators take them on the command line:
- `RUN@STEP`: the checkpoint of that step; `RUN@latest` or a bare run folder (one holding
  options.json): its latest complete checkpoint;
- anything else: an exported weights folder or a name under weights/ (`carstudio.hub.load_model`).

Weights are read with safetensors or `torch.load(..., weights_only=True)`, never unpickled.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

CHECKPOINTS = "checkpoints"
OPTIONS_FILE = "options.json"
STATE_FILE = "trainer_state.json"  # written last: its presence marks a complete checkpoint
CONTENTS_FILE = "contents.json"
LATEST = "latest"

# accelerate.utils' SAFE_WEIGHTS_NAME with the index of the prepared model inserted (model_1...),
# and save_custom_state's file name for the index-th registered object
_MODEL_FILE = "model{suffix}.safetensors"
_CUSTOM_FILE = "custom_checkpoint_{index}.pkl"

# Checkpoints without contents.json: every trainer prepared G (or its single model) first, then
# D, then RoI-GAN's Q head or SSGAN's style encoder; SN-GAN and StyleGAN registered their EMA G.
LEGACY_FILES = {
    "generator": "model.safetensors", "segmenter": "model.safetensors", "encoder": "model.safetensors",
    "discriminator": "model_1.safetensors", "q_head": "model_2.safetensors", "style_encoder": "model_2.safetensors",
    "generator_ema": "custom_checkpoint_0.pkl",
}

M = TypeVar("M")


# --- where checkpoints are -------------------------------------------------------------------
def checkpoint_dir(run_dir: Path, step: int) -> Path:
    """run_dir/checkpoints/step_NNNNNNN (complete once it holds the state file)."""
    return Path(run_dir) / CHECKPOINTS / f"step_{int(step):07d}"


def complete_checkpoints(run_dir: Path) -> list[Path]:
    """run_dir's checkpoints/step_NNNNNNN folders that hold a state file, oldest first."""
    return sorted(p for p in (Path(run_dir) / CHECKPOINTS).glob("step_*") if (p / STATE_FILE).is_file())


def latest_checkpoint(run_dir: Path) -> Path | None:
    complete = complete_checkpoints(run_dir)
    return complete[-1] if complete else None


def is_run_folder(path: Path) -> bool:
    return (Path(path) / OPTIONS_FILE).is_file()


def read_options(run_dir: Path) -> tuple[dict, dict]:
    """A run folder's options.json -> (the whole record, its options with lists back to tuples)."""
    record = json.loads((Path(run_dir) / OPTIONS_FILE).read_text())
    return record, {k: tuple(v) if isinstance(v, list) else v for k, v in record["options"].items()}


# --- naming what a checkpoint holds ----------------------------------------------------------
def name_checkpoint_contents(accelerator, models: dict[str, torch.nn.Module],
                             custom: dict[str, torch.nn.Module] | None = None) -> None:
    """Give a run's checkpoints their contents.json. `models`: the prepared models by name (any
    order); `custom`: models to checkpoint besides them (an EMA copy), registered here, in this
    order, as the run's only custom objects."""
    custom = custom or {}
    for obj in custom.values():
        accelerator.register_for_checkpointing(obj)

    def describe(model: torch.nn.Module, file: str) -> dict:
        raw = accelerator.unwrap_model(model)
        config = {k: v for k, v in getattr(raw, "config", {}).items() if not k.startswith("_")}
        return {"file": file, "class": type(raw).__name__, "config": config}

    def write_contents(prepared: list, weights: list, output_dir: str) -> None:
        if not accelerator.is_main_process:
            return
        # matched unwrapped: what the accelerator keeps and what prepare() returned may be
        # different wrappers (DistributedDataParallel) of the same module
        position = {id(accelerator.unwrap_model(m)): i for i, m in enumerate(prepared)}
        index = {name: position.get(id(accelerator.unwrap_model(m))) for name, m in models.items()}
        missing = [name for name, i in index.items() if i is None]
        if missing:
            raise ValueError(f"not prepared by the accelerator, so not in its checkpoints: {missing}")
        contents = {name: describe(m, _MODEL_FILE.format(suffix=f"_{index[name]}" if index[name] else ""))
                    for name, m in models.items()}
        contents |= {name: describe(m, _CUSTOM_FILE.format(index=i)) for i, (name, m) in enumerate(custom.items())}
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        (Path(output_dir) / CONTENTS_FILE).write_text(json.dumps(contents, indent=1))

    accelerator.register_save_state_pre_hook(write_contents)


# --- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    """One complete checkpoint of a run."""

    run: Path
    folder: Path

    @property
    def step(self) -> int:
        return int(self.folder.name.removeprefix("step_"))

    def options(self) -> dict:
        """The run's options (lists back to tuples)."""
        return read_options(self.run)[1]

    def record(self) -> dict:
        """The run's whole options.json: paths, command, process count and options."""
        return read_options(self.run)[0]

    def train_state(self) -> dict:
        return json.loads((self.folder / STATE_FILE).read_text())

    def contents(self) -> dict[str, dict]:
        """name -> {"file", "class", "config"}; for a checkpoint written before contents.json
        existed, the LEGACY_FILES present in it, without class and config."""
        file = self.folder / CONTENTS_FILE
        if file.is_file():
            return json.loads(file.read_text())
        return {name: {"file": f} for name, f in LEGACY_FILES.items() if (self.folder / f).is_file()}

    def config(self, name: str) -> dict | None:
        """The saved config of model `name`; None for checkpoints that recorded none."""
        return self._entry(name).get("config")

    def state_dict(self, name: str) -> dict[str, torch.Tensor]:
        """Model `name`'s weights (CPU tensors)."""
        path = self.folder / self._entry(name)["file"]
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(path)
        return torch.load(path, map_location="cpu", weights_only=True)

    def load(self, model_class: type[M], name: str, config: dict | None = None) -> M:
        """Model `name` rebuilt from its saved config (or `config`, needed for checkpoints that
        recorded none) with its weights, in eval mode."""
        config = self.config(name) or config
        if config is None:
            raise ValueError(f"{self.folder} records no config for {name!r}: pass one")
        model = model_class.from_config(config)
        model.load_state_dict(self.state_dict(name))
        return model.eval()

    def _entry(self, name: str) -> dict:
        contents = self.contents()
        if name not in contents:
            raise KeyError(f"{self.folder} holds no {name!r} (it holds {sorted(contents)})")
        return contents[name]


def parse_spec(spec: str | Path) -> Checkpoint | None:
    """`RUN@STEP`, `RUN@latest` or a run folder -> its Checkpoint (FileNotFoundError when it is
    missing or incomplete); anything else (an exported folder, a weights name) -> None."""
    text = str(spec)
    run_text, at, step = text.rpartition("@") if "@" in text else (text, "", "")
    run = Path(run_text)
    if not at:
        if not is_run_folder(run):
            return None
        step = LATEST
    if step != LATEST and not step.isdigit():
        raise ValueError(f"expected RUN@STEP or RUN@{LATEST}, got {text!r}")
    folder = latest_checkpoint(run) if step == LATEST else checkpoint_dir(run, int(step))
    if folder is None or not (folder / STATE_FILE).is_file():
        raise FileNotFoundError(f"{text}: no complete checkpoint under {run / CHECKPOINTS}")
    return Checkpoint(run, folder)


def config_from_options(model_class: type, options: dict[str, Any]) -> dict:
    """For checkpoints that recorded no config: the options named like `model_class`'s
    constructor parameters (the trainers of SSGAN and RoI-GAN build their generators that way)."""
    parameters = inspect.signature(model_class.__init__).parameters
    return {name: options[name] for name in parameters if name in options}
