"""A model with missing or damaged weights fails clearly in its own tab; the rest keeps working."""

from __future__ import annotations

import shutil

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from carstudio import hub
from carstudio.hub import LazyModel
from carstudio.pipelines.singan import SinGANPipeline
from spaces.singan import create_demo, shipped_models

GOOD = next(iter(shipped_models()), None)
pytestmark = pytest.mark.skipif(GOOD is None, reason="no SinGAN weights under weights/singan-*")


@pytest.fixture
def broken_app(tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    shutil.copytree(hub.WEIGHTS_DIR / GOOD, weights / GOOD)
    shutil.copytree(hub.WEIGHTS_DIR / GOOD, weights / "singan-tampered")
    data = next((weights / "singan-tampered").glob("*.safetensors"))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte: loads as garbage without the checksum
    data.write_bytes(bytes(raw))
    monkeypatch.setattr(hub, "WEIGHTS_DIR", weights)
    models = {name: LazyModel(lambda n=name: SinGANPipeline.from_pretrained(n))
              for name in (GOOD, "singan-tampered", "singan-missing")}
    demo = create_demo(models)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, show_error=True)
    yield Client(url, verbose=False, download_files=str(tmp_path / "dl"))
    demo.close()


def test_damaged_and_missing_weights_are_reported_and_others_still_serve(broken_app):
    with pytest.raises(AppError, match="damaged"):
        broken_app.predict("singan-tampered", 1, 0, 1.0, 0, api_name="/singan_sample")
    with pytest.raises(AppError, match="not installed"):
        broken_app.predict("singan-missing", 1, 0, 1.0, 0, api_name="/singan_sample")
    assert len(broken_app.predict(GOOD, 1, 0, 1.0, 0, api_name="/singan_sample")) == 1
