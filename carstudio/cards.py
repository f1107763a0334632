"""Model card text that every trainer's export shares: the render folders a model learnt from
and the licences of the cars in them."""

from __future__ import annotations

import json
from pathlib import Path

from carstudio.data.cars import CATALOGUE


def data_summary(roots: list[Path]) -> tuple[list[str], list[str]]:
    """One line per render folder, and the names of the cars it shows."""
    lines, cars = [], []
    for root in roots:
        settings_file = root / "dataset.json"
        settings = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
        count = sum(1 for _ in (root / "images").glob("*.png"))
        cars += [c for c in settings.get("cars", []) if c not in cars]
        lines.append(f"- `{root.as_posix()}`: {count} renders, {settings.get('width', '?')}x"
                     f"{settings.get('height', '?')}, views `{settings.get('view', '?')}`, "
                     f"seed {settings.get('seed', '?')}, {len(settings.get('cars', []))} cars")
    return lines, cars


def licence_table(train_cars: list[str], val_cars: list[str]) -> list[str]:
    """A markdown table of the cars (training first, then held-out), their kind and licence."""
    by_name = {c.name: c for c in CATALOGUE}
    lines = ["| car | kind | domain | used for | licence | credit |", "| --- | --- | --- | --- | --- | --- |"]
    for name in train_cars + [c for c in val_cars if c not in train_cars]:
        use = "training" if name in train_cars else "held-out evaluation"
        entry = by_name.get(name)
        if entry is None:
            lines.append(f"| {name} | ? | ? | {use} | unknown | unknown |")
        else:
            lines.append(f"| {name} | {entry.kind} | {entry.domain} | {use} | {entry.licence} | {entry.credit} |")
    return lines
