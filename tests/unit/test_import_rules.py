"""Trainers are not libraries for other trainers, and evaluators import neither trainers nor each
other: what they share lives in shared modules (carstudio.data.loading, carstudio.checkpoints,
carstudio.train.runs, ...). Checked on the source with `ast`, so a new import breaks this test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "carstudio"


def imported_modules(source: str, package: str) -> set[str]:
    """Every module that `source` (a module of `package`) imports, anywhere (also inside
    functions), as dotted names; `from pkg import name` counts as pkg and pkg.name (name may be a
    module)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this file's package
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def is_command(path: Path) -> bool:
    """A module run as `python -m carstudio.<package>.<name>`: it has an `if __name__ == "__main__"` block."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            return True
    return False


def modules(folder: str) -> dict[str, Path]:
    return {f"carstudio.{folder}.{p.stem}": p for p in sorted((PACKAGE / folder).glob("*.py"))
            if p.stem not in ("__init__", "__main__")}


def imports_of(name: str, path: Path) -> set[str]:
    return imported_modules(path.read_text(encoding="utf-8"), name.rpartition(".")[0])


# Commands are the trainers and evaluators; the other modules of the two packages are shared
# (carstudio.train.runs, carstudio.train.ema, ...; the report harness's modules).
TRAINERS = {name for name, path in modules("train").items() if is_command(path)}
EVALUATORS = {name for name, path in modules("evaluate").items() if is_command(path)}


def test_the_rules_see_the_trainers_and_evaluators():
    assert {"carstudio.train.sngan", "carstudio.train.segmenter", "carstudio.train.singan"} <= TRAINERS
    assert "carstudio.train.runs" not in TRAINERS and "carstudio.train.singan_trainer" not in TRAINERS
    assert {"carstudio.evaluate.ssgan", "carstudio.evaluate.sngan"} <= EVALUATORS


def test_the_parser_finds_imports_inside_functions_and_relative_ones():
    source = "from . import ssgan\nimport carstudio.train.roigan\ndef f():\n    from carstudio.train.sngan import main\n"
    found = imported_modules(source, "carstudio.evaluate")
    assert {"carstudio.evaluate.ssgan", "carstudio.train.roigan", "carstudio.train.sngan"} <= found
    assert imported_modules("from .runs import due\n", "carstudio.train") >= {"carstudio.train.runs"}


@pytest.mark.parametrize("name", sorted(modules("train")))
def test_no_train_module_imports_a_trainer(name):
    wrong = sorted((imports_of(name, modules("train")[name]) & TRAINERS) - {name})
    assert not wrong, f"{name} imports the trainer(s) {wrong}: move what it needs into a shared module"


@pytest.mark.parametrize("name", sorted(modules("evaluate")))
def test_no_evaluate_module_imports_a_trainer_and_no_evaluator_another(name):
    imports = imports_of(name, modules("evaluate")[name])
    wrong = sorted((imports & TRAINERS) | ((imports & EVALUATORS) - {name} if name in EVALUATORS else set()))
    assert not wrong, f"{name} imports {wrong}: move what it needs into a shared module"
