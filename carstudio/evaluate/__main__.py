"""python -m carstudio.evaluate {render-sets,report}: the fixed render sets and the quality report."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from carstudio.evaluate.heldout import DATA_ROOT, render_all
from carstudio.evaluate.report import TABS, Context, markdown, run_report

DOCS = Path("docs")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m carstudio.evaluate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render-sets", help="render the fixed held-out and floor sets (resumable)")
    r.add_argument("--data-root", type=Path, default=DATA_ROOT)
    q = sub.add_parser("report", help="score the shipped models; write docs/quality.md, JSON and grids")
    q.add_argument("--tabs", nargs="+", choices=list(TABS), default=list(TABS))
    q.add_argument("--count", type=int, default=1000, help="outputs and held-out renders per distribution figure")
    q.add_argument("--data-root", type=Path, default=DATA_ROOT)
    q.add_argument("--evalnet", default="evalnet-128", help="weights name or folder of the evaluation network")
    q.add_argument("--docs", type=Path, default=DOCS)
    q.add_argument("--label", default="current",
                   help="'current' (default) or a name such as 'before' to freeze a column others compare with")
    q.add_argument("--before", default="before", help="label of the frozen column shown beside (if it exists)")
    q.add_argument("--model", action="append", default=[], metavar="TAB.ARGUMENT=PATH",
                   help="score a candidate instead of a shipped model, e.g. sketch.generator=runs/x/export "
                        "(an argument of the tab pipeline's from_pretrained); repeatable")
    q.add_argument("--cache", type=Path, default=Path("runs/quality-cache"),
                   help="where the render sets' features are cached (keyed by the network's checksum)")
    q.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.command == "render-sets":
        render_all(args.data_root)
        return
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    models: dict[str, dict[str, str]] = {}
    for spec in args.model:
        key, _, path = spec.partition("=")
        tab, _, argument = key.partition(".")
        if tab not in TABS or not argument or not path:
            parser.error(f"--model takes TAB.ARGUMENT=PATH with TAB one of {list(TABS)}, got {spec!r}")
        models.setdefault(tab, {})[argument] = path
    ctx = Context(count=args.count, data_root=args.data_root, cache=args.cache, evalnet=args.evalnet, models=models)
    json_path = args.docs / "quality" / f"{args.label}.json"
    grid_dir = args.docs / "img" / "quality" / ("" if args.label == "current" else args.label)
    if models and args.label in ("current", args.before):
        parser.error("a candidate (--model) is scored under its own --label, never as the shipped models' figures")
    report = run_report(ctx, args.tabs, json_path, grid_dir)
    before_path = args.docs / "quality" / f"{args.before}.json"
    if args.label not in ("current", args.before):  # a candidate: its tables on stdout, docs untouched
        before = json.loads(before_path.read_text()) if before_path.is_file() else None
        print(markdown(report, before, before_path.as_posix() if before else None))
        print(f"wrote {json_path}")
        return
    if args.label == args.before:
        # a frozen column is also the current state until a model changes
        shutil.copyfile(json_path, args.docs / "quality" / "current.json")
        for picture in grid_dir.glob("*.png"):
            shutil.copyfile(picture, args.docs / "img" / "quality" / picture.name)
        report = json.loads((args.docs / "quality" / "current.json").read_text())
    before = json.loads(before_path.read_text()) if before_path.is_file() else None
    (args.docs / "quality.md").write_text(
        markdown(report, before, before_path.as_posix() if before else None), encoding="utf-8")
    print(f"wrote {args.docs / 'quality.md'} and {json_path}")


if __name__ == "__main__":
    main()
