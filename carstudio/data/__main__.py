"""Command line: render datasets, reference images and contact sheets.

    python -m carstudio.data render --out data/cars64 --size 64 --count 20000 \\
        --domain everyday --split train --seed 0
    python -m carstudio.data reference --car car1-trb1 --view side --width 250 --height 150 \\
        --out data/ref
    python -m carstudio.data contact-sheet --data data/cars64 --out sheet.png
    python -m carstudio.data cars          # the catalogue and which models are installed
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from PIL import Image

from carstudio.data.cars import (
    CATALOGUE,
    DOMAINS,
    SPLITS,
    find_car_models,
    load_car,
    load_cars,
    select_cars,
)
from carstudio.data.mesh import ModelError
from carstudio.data.parts import colorize
from carstudio.data.reference import REFERENCE_VIEWS, render_reference
from carstudio.data.scene import VIEWS
from carstudio.data.writer import contact_sheet, render_dataset


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m carstudio.data", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("render", help="render a dataset folder (resumable)")
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--size", type=int, default=64, help="square size (default 64)")
    r.add_argument("--width", type=int, help="overrides --size")
    r.add_argument("--height", type=int, help="overrides --size")
    r.add_argument("--domain", choices=[*DOMAINS, "all"], default="all")
    r.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    r.add_argument("--cars", help="comma-separated catalogue names (still filtered by "
                                  "--domain/--split)")
    r.add_argument("--views", choices=VIEWS, default="any")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--supersample", type=int, default=2)
    r.add_argument("--models-dir", type=Path, help="folder with the TORCS/Trigger models "
                                                   "(default: the installed Debian packages)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    f = sub.add_parser("reference", help="one clean reference render (SinGAN training image)")
    f.add_argument("--car", required=True)
    f.add_argument("--view", choices=list(REFERENCE_VIEWS), default="side")
    f.add_argument("--width", type=int, default=250)
    f.add_argument("--height", type=int, default=150)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--out", type=Path, default=Path("data/ref"))
    f.add_argument("--models-dir", type=Path)

    c = sub.add_parser("contact-sheet", help="PNG grid of a dataset's samples")
    c.add_argument("--data", required=True, type=Path)
    c.add_argument("--out", required=True, type=Path)
    c.add_argument("--count", type=int, default=16)
    c.add_argument("--per-row", type=int, default=4)

    k = sub.add_parser("cars", help="list the catalogue and the installed models")
    k.add_argument("--models-dir", type=Path)
    return p


def _render(args: argparse.Namespace) -> int:
    width, height = args.width or args.size, args.height or args.size
    names = [n.strip() for n in args.cars.split(",")] if args.cars else None
    wanted = select_cars(args.domain, args.split, names)
    if not wanted:
        raise ValueError(f"no catalogue car matches --domain {args.domain} --split {args.split}"
                         + (f" --cars {args.cars}" if args.cars else ""))
    sources = find_car_models(args.models_dir)
    cars, skipped = load_cars(sources.available(wanted), sources)
    for name in wanted:
        if name not in cars and name not in skipped:
            skipped[name] = "model files not installed"
    if not cars:
        raise ValueError(f"none of the requested cars could be loaded: {skipped}")
    report = render_dataset(args.out, args.count, width, height, cars, args.views, args.seed,
                            args.supersample, progress=not args.quiet)
    flawed = {n: c.problems for n, c in cars.items() if c.problems}
    print(f"{args.out}: {report.rendered} rendered, {report.already_done} already there, "
          f"{len(skipped)} car(s) skipped, {len(flawed)} with texture problems")
    for name, reason in skipped.items():
        print(f"  skipped {name}: {reason}")
    for name, problems in flawed.items():
        for problem in problems:
            print(f"  {name}: {problem}")
    return 0


def _reference(args: argparse.Namespace) -> int:
    if args.car not in {c.name for c in CATALOGUE}:
        raise SystemExit(f"unknown car {args.car!r}; see `python -m carstudio.data cars`")
    car = load_car(args.car, find_car_models(args.models_dir))
    for problem in car.problems:
        warnings.warn(f"{args.car}: {problem}", stacklevel=1)
    sample = render_reference(car, args.view, args.width, args.height, args.seed)
    stem = f"{args.car}_{args.view}_{args.width}x{args.height}"
    if args.seed:
        stem += f"_seed{args.seed}"
    args.out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sample.image).save(args.out / f"{stem}.png")
    Image.fromarray(sample.parts).save(args.out / f"{stem}_parts.png")
    Image.fromarray(colorize(sample.parts)).save(args.out / f"{stem}_parts_color.png")
    Image.fromarray(sample.sketch).save(args.out / f"{stem}_sketch.png")
    Image.fromarray(sample.paint).save(args.out / f"{stem}_paint.png")
    print(args.out / f"{stem}.png")
    return 0


def _cars(args: argparse.Namespace) -> int:
    try:
        sources = find_car_models(args.models_dir)
        installed = set(sources.available([c.name for c in CATALOGUE]))
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        installed = set()
    print(f"{'car':15} {'domain':10} {'split':5} {'installed':9} kind")
    for c in CATALOGUE:
        print(f"{c.name:15} {c.domain:10} {c.split:5} {'yes' if c.name in installed else 'no':9} "
              f"{c.kind}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "render":
            return _render(args)
        if args.command == "reference":
            return _reference(args)
        if args.command == "contact-sheet":
            print(contact_sheet(args.data, args.out, args.count, args.per_row))
            return 0
        return _cars(args)
    except (FileNotFoundError, ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
