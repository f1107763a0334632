"""Launch the real app once per test session and talk to it like a user would."""

from __future__ import annotations

import os

import pytest

# Seconds-long "train on your car" runs; everything else uses the shipped weights.
os.environ.setdefault("CARSTUDIO_SINGAN_TRAIN_PRESET", "smoke")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def app_url():
    import app

    demo = app.build_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield url
    demo.close()


@pytest.fixture
def client(app_url, tmp_path):
    from gradio_client import Client

    return Client(app_url, verbose=False, download_files=str(tmp_path))


def gallery_paths(result) -> list[str]:
    """gradio_client returns a Gallery as a list of {"image": path, "caption": ...}."""
    return [item["image"] if isinstance(item, dict) else item for item in result]
