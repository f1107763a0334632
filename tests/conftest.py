"""Every test starts from the same global random state, so that tests drawing unseeded tensors
(shape checks, known-input losses) give the same draws on every run and in any order."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def seed_global_random_state():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
