"""Fixtures every training smoke test uses: a tiny render folder and a clean torch/Accelerate state."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.register_assert_rewrite("tests.smoke.helpers")  # before its import, so that its asserts show the values

from tests.smoke.helpers import write_render_folder  # noqa: E402


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> Path:
    return write_render_folder(tmp_path_factory.mktemp("renders"))


@pytest.fixture
def restore_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)  # leave no process-wide Accelerate state to other tests
