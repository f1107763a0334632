"""What every dataset trainer does before its first step: threads, the Accelerator, the run
folder with the options saved next to it, and the same initial weights on every process."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import torch


def write_options(run: Any, options: Any, num_processes: int) -> None:
    """run.out/options.json: the run's paths and command, the process count and every option."""
    record = {**dataclasses.asdict(run), "num_processes": num_processes, "options": dataclasses.asdict(options)}
    record.pop("out", None)
    (run.out / "options.json").write_text(json.dumps(record, indent=1, default=str))


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


def add_option_arguments(parser: Any, options_class: type, tuple_options: tuple[str, ...] = (),
                         text_tuples: tuple[str, ...] = ()) -> None:
    """One `--field-name` argument per field of an options dataclass: tuples take several values
    (ints, or strings for the fields in `text_tuples`), bools are parsed strictly."""
    from carstudio.train.segmenter import option_type  # segmenter imports this module

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
