"""Launch the real app once per test session and talk to it like a user would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Seconds-long "train on your car" runs; everything else uses the shipped weights.
os.environ.setdefault("CARSTUDIO_SINGAN_TRAIN_PRESET", "smoke")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Gradio notices a closed session one heartbeat later (15 s by default): session-end tests wait less
os.environ.setdefault("GRADIO_HEARTBEAT_INTERVAL", "2")


@pytest.fixture(scope="session")
def app_url():
    import app

    from spaces.common import launch_kwargs

    demo = app.build_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs())
    yield url
    demo.close()


@pytest.fixture
def client(app_url, tmp_path):
    from gradio_client import Client

    client = Client(app_url, verbose=False, download_files=str(tmp_path))
    yield client
    client.close()  # ends the session, so the app deletes its files


def serve_tab(demo):
    """For a module-scoped fixture: one tab run alone (with the app's settings) -> its URL; closed after."""
    from spaces.common import configure_app

    _, url, _ = configure_app(demo).launch(prevent_thread_lock=True, quiet=True, show_error=True)
    yield url
    demo.close()


def tab_client(url: str, folder):
    """For a fixture: a client of `url` downloading into `folder`; closing it ends its session."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=str(folder))
    yield client
    client.close()


def gallery_paths(result) -> list[str]:
    """gradio_client returns a Gallery as a list of {"image": path, "caption": ...}."""
    return [item["image"] if isinstance(item, dict) else item for item in result]


def raw_call(app_url: str, api_name: str, data: list, timeout: float = 60.0) -> tuple[str, str]:
    """Call an endpoint over Gradio's HTTP API with a hand-written JSON body, so values that
    gradio_client refuses to encode (NaN, ±inf) reach the server as a stranger could send them.
    Returns (event, data) of the final server-sent event: ("complete", ...) or ("error", message)."""
    import json

    import httpx

    body = json.dumps({"data": data}, allow_nan=True)  # emits NaN / Infinity literals
    base = app_url.rstrip("/") + "/gradio_api/call/" + api_name.lstrip("/")
    with httpx.Client(timeout=timeout) as http:
        event_id = http.post(base, content=body, headers={"Content-Type": "application/json"}).json()["event_id"]
        event, payload = "", ""
        with http.stream("GET", f"{base}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    payload = line.split(":", 1)[1].strip()
                    if event in ("complete", "error"):
                        return event, payload
    return event, payload


def raw_upload(app_url: str, path) -> dict:
    """Upload a file over Gradio's HTTP API -> the FileData a raw call can send for it."""
    import httpx

    with open(path, "rb") as handle:
        response = httpx.post(app_url.rstrip("/") + "/gradio_api/upload",
                              files={"files": (Path(path).name, handle)}, timeout=30)
    response.raise_for_status()
    return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}}
