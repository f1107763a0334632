"""What the dataset trainers share around their training steps: the bookkeeping options, the
command line, the run set-up (threads, the Accelerator, the run folder with the options saved
next to it, the same initial weights on every process), step seeds, the GAN trainers' logging,
sample grids and checkpoints after each step, and the end of a run. Reading checkpoints is
`carstudio.checkpoints`' (evaluators use it too)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from carstudio.checkpoints import STATE_FILE, checkpoint_dir, complete_checkpoints, latest_checkpoint, read_options

SAMPLES = "samples"


@dataclass
class RunConfig:
    """Where the segmenter, SSGAN and RoI-GAN trainers read and write; `val_data` (held-out
    render folders) is the segmenter's, the others leave it empty."""

    data: list[Path]
    out: Path
    val_data: list[Path] = field(default_factory=list)
    export: Path | None = None
    threads: int = 1
    command: str = ""


@dataclass
class BookkeepingOptions:
    """Samples, checkpoints, logs and the seed of a GAN trainer's run. An options class lists it as
    its first base and its hyperparameters' class as the second: dataclasses take the fields of
    the last base first, so these stay last in --help and in options.json. A trainer with other
    defaults redeclares those fields in its class body (a field keeps its place)."""

    sample_every: int = 500
    sample_count: int = 64
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 50
    seed: int = 0


@dataclass
class TrainState:
    """What every trainer's checkpoints record (a trainer adds its own fields after these), saved
    as the checkpoint's state file."""

    step: int = 0
    seconds: float = 0.0  # training wall time, summed over restarts


def due(step: int, every: int, last_step: int) -> bool:
    """Whether what is done every `every` steps (samples, checkpoints, evaluations) is due after
    `step`: the last step always is."""
    return step % every == 0 or step == last_step


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """Codes and augmentations of one step: reproducible across restarts, distinct per process."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step * 101 + rank)


# --- command line ----------------------------------------------------------------------------
def trainer_parser(doc: str) -> argparse.ArgumentParser:
    """A trainer's parser, its module docstring shown as written."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_data_argument(parser: argparse.ArgumentParser, required: bool = True) -> None:
    kwargs = {"required": True} if required else {"default": []}
    parser.add_argument("--data", nargs="+", type=Path, help="render folders to train on", **kwargs)


def add_out_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="run folder (resumes when it has checkpoints)")


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def option_type(f: dataclasses.Field):
    """The argparse type of an options dataclass field."""
    name = f.type if isinstance(f.type, str) else f.type.__name__
    if name == "bool":
        return parse_bool
    return float if name == "float" else int if name.startswith(("int", "tuple")) else str


def add_option_arguments(parser: Any, options_class: type, tuple_options: tuple[str, ...] = (),
                         text_tuples: tuple[str, ...] = ()) -> None:
    """One `--field-name` argument per field of an options dataclass: tuples take several values
    (ints, or strings for the fields in `text_tuples`), bools are parsed strictly."""
    for f in dataclasses.fields(options_class):
        nargs = "+" if f.name in tuple_options else None
        kind = str if f.name in text_tuples else option_type(f)
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, nargs=nargs)


def options_from_args(args: Any, options_class: type, tuple_options: tuple[str, ...] = ()) -> Any:
    """The defaults of `options_class` with every argument that was given (lists -> tuples)."""
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(options_class)
                 if getattr(args, f.name) is not None}
    for name in tuple_options:
        if name in overrides:
            overrides[name] = tuple(overrides[name])
    return dataclasses.replace(options_class(), **overrides)


def parse_trainer_args(parser: argparse.ArgumentParser, argv: list[str] | None, options_class: type,
                       tuple_options: tuple[str, ...] = (), text_tuples: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """Adds --threads and the options' arguments after the trainer's own, parses `argv`
    (None: sys.argv) -> (args, options)."""
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per process (0: torch's default)")
    add_option_arguments(parser, options_class, tuple_options, text_tuples)
    args = parser.parse_args(argv)
    return args, options_from_args(args, options_class, tuple_options)


def parse_render_run(doc: str, module: str, options_class: type, argv: list[str] | None, val_help: str,
                     tuple_options: tuple[str, ...] = ("widths",)) -> tuple[RunConfig, Any]:
    """The command line of a trainer on render folders with held-out ones (--data, --val-data,
    --out, --export, --threads and the options) -> (RunConfig, options)."""
    parser = trainer_parser(doc)
    add_data_argument(parser)
    parser.add_argument("--val-data", nargs="+", type=Path, default=[], help=val_help)
    add_out_argument(parser)
    parser.add_argument("--export", type=Path, help="write the final (or best) model and its card here at the end")
    args, options = parse_trainer_args(parser, argv, options_class, tuple_options=tuple_options)
    command = command_line(module, argv)
    return RunConfig(args.data, args.out, args.val_data, args.export, args.threads, command), options


def command_line(module: str, argv: list[str] | None) -> str:
    """The command that started the run, for options.json and the model card."""
    return f"python -m {module} " + shlex.join(sys.argv[1:] if argv is None else argv)


def accelerate_cpu_command(module: str, args: list[str], num_processes: int, port: int) -> list[str]:
    """`python -m module args` as `num_processes` data-parallel CPU processes: needs the
    environment ACCELERATE_USE_CPU=true (`accelerate launch --cpu --num_processes N` silently
    runs one process)."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(num_processes),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(port), "-m", module, *args]


def print_now(msg: str) -> None:
    """The trainers' log on the command line: flushed, so that it shows in a redirected log file at once."""
    print(msg, flush=True)


# --- run set-up ------------------------------------------------------------------------------
def write_options(run: Any, options: Any, num_processes: int) -> None:
    """run.out/options.json: the run's paths and command, the process count and every option."""
    record = {**dataclasses.asdict(run), "num_processes": num_processes, "options": dataclasses.asdict(options)}
    record.pop("out", None)
    (run.out / "options.json").write_text(json.dumps(record, indent=1, default=str))


def read_run(run_dir: Path, options_class: type) -> tuple[dict, Any]:
    """A run folder's options.json -> (the whole record, its options as `options_class`, lists
    back to tuples)."""
    record, values = read_options(run_dir)
    return record, options_class(**values)


def start_run(run: Any, options: Any, log: Callable[[str], None], seedable_sampler: bool = True):
    """-> (accelerator, say): `say` logs on the main process only. `run` needs `out` and
    `threads`; `options` needs `seed`."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration

    if run.threads > 0:
        torch.set_num_threads(run.threads)
    config = DataLoaderConfiguration(use_seedable_sampler=True) if seedable_sampler else None
    accelerator = Accelerator(dataloader_config=config) if config else Accelerator()
    say = log if accelerator.is_main_process else (lambda msg: None)
    run.out.mkdir(parents=True, exist_ok=True)
    if accelerator.is_main_process:
        write_options(run, options, accelerator.num_processes)
    torch.manual_seed(options.seed)  # same initial weights on every process
    return accelerator, say


# --- checkpoints -----------------------------------------------------------------------------
def save_checkpoint(accelerator, run_dir: Path, state: TrainState, keep: int) -> None:
    """accelerator.save_state to checkpoints/step_NNNNNNN, then the train state as its state file;
    only the last `keep` complete checkpoints are kept."""
    directory = checkpoint_dir(run_dir, state.step)
    accelerator.save_state(str(directory))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (directory / STATE_FILE).write_text(json.dumps(dataclasses.asdict(state), indent=1))
        for old in complete_checkpoints(run_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def read_train_state(checkpoint: Path, state_class: type[TrainState]) -> TrainState:
    """The checkpoint's state file as `state_class`; fields it does not have are dropped (the
    RoI-GAN and SSGAN checkpoints of before carry the segmenter's validation fields)."""
    names = {f.name for f in dataclasses.fields(state_class)}
    saved = json.loads((checkpoint / STATE_FILE).read_text())
    return state_class(**{k: v for k, v in saved.items() if k in names})


def resume(accelerator, run_dir: Path, fresh_state: TrainState, say: Callable[[str], None]) -> TrainState:
    """The train state of run_dir's latest complete checkpoint, whose saved objects are loaded
    into the accelerator's; `fresh_state` when there is none yet."""
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        return fresh_state
    accelerator.load_state(str(checkpoint))
    state = read_train_state(checkpoint, type(fresh_state))
    say(f"resumed from {checkpoint} (step {state.step})")
    return state


# --- after each step of a GAN with an EMA generator (SN-GAN, StyleGAN) -----------------------
def batches_from(accelerator, loader, position: int):
    """The loader's batches from `position` (batches the run has drawn so far): the epoch is set so
    a resumed run shuffles as an uninterrupted one would, and the batches this epoch already gave
    are skipped."""
    epoch, offset = divmod(position, len(loader))
    loader.set_epoch(epoch)
    return accelerator.skip_first_batches(loader, offset) if offset else loader


def export_weights(model_class: type, source: Path, export: Path):
    """The model saved at `source` (a run's final weights) copied to `export` as safetensors;
    returned for the model card."""
    model = model_class.from_pretrained(source)
    export.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(export, safe_serialization=True)
    return model


def fixed_latents(o: Any) -> torch.Tensor:
    """The sample grids' codes: `o.sample_count` of them, `o.z_dim` wide, from `o.seed`."""
    return torch.randn(o.sample_count, o.z_dim, generator=torch.Generator().manual_seed(o.seed + 12345))


def after_gan_step(accelerator, run: Any, o: Any, state: Any, ema: torch.nn.Module, z_fixed: torch.Tensor,
                   say: Callable[[str], None], save_grid: Callable[[torch.nn.Module, torch.Tensor, Path], Path]) -> None:
    """Logging (`state.last`, images per second), sample grids of the EMA generator on fixed codes
    (`save_grid`) and checkpoints; the run, options and train state need the fields SN-GAN's and
    StyleGAN's share."""
    if state.step % o.log_every == 0:
        rate = state.images_seen / max(state.seconds, 1e-9)
        say(f"step {state.step}/{o.steps} " + " ".join(f"{k} {v:.4f}" for k, v in state.last.items())
            + f" {rate:.1f} img/s {state.seconds / 60:.1f} min")
    if accelerator.is_main_process and due(state.step, o.sample_every, o.steps):
        save_grid(ema, z_fixed, run.out / SAMPLES / f"step_{state.step:07d}.png")
    if due(state.step, o.checkpoint_every, o.steps):
        save_checkpoint(accelerator, run.out, state, o.keep_checkpoints)


# --- end of a run ----------------------------------------------------------------------------
def finish_run(accelerator, run: Any, models: dict[Path, torch.nn.Module], export: Callable[[], Any]) -> None:
    """After the last step, on the main process: every model (unwrapped) saved with
    save_pretrained to its folder, then `export` called when the run asks for it (`run.export`
    set); every process waits for that."""
    if accelerator.is_main_process:
        for folder, model in models.items():
            accelerator.unwrap_model(model).save_pretrained(folder, safe_serialization=True)
        if run.export:
            export()
    accelerator.wait_for_everyone()
