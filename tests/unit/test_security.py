"""Static check of a security rule: no pickle, and torch.load only with weights_only=True (weights
themselves are safetensors, see carstudio.hub). That model paths never come from a request is
checked through the API (tests/e2e/test_singan_api.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted([REPO / "app.py", *(REPO / "carstudio").rglob("*.py"), *(REPO / "spaces").rglob("*.py")])
UNSAFE_CALLS = {("pickle", "load"), ("pickle", "loads"), ("dill", "load"), ("joblib", "load"),
                ("marshal", "loads"), ("np", "load"), ("numpy", "load")}


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            yield node.func.value.id, node.func.attr, node


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_pickle_and_torch_load_is_weights_only(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert not imported & {"pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}, path
    for module, name, node in calls(tree):
        assert (module, name) not in UNSAFE_CALLS, f"{path}:{node.lineno}: {module}.{name}"
        if (module, name) == ("torch", "load"):
            weights_only = {k.arg: k.value for k in node.keywords}.get("weights_only")
            assert isinstance(weights_only, ast.Constant) and weights_only.value is True, \
                f"{path}:{node.lineno}: torch.load without weights_only=True"

