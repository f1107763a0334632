"""The app makes no outbound network call: not at start-up, not while serving requests.

The app runs in a child process that first installs an audit hook (PEP 578) recording every
socket connect and DNS look-up to a non-loopback host; the test (another process, so that
gradio_client's own calls are not counted) sends requests to each tab over loopback, then asks
the child what it recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import json, sys

    LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")
    outbound = []

    def hook(event, args):
        if event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple) and not str(address[0]).startswith(LOOPBACK):  # not AF_UNIX
                outbound.append(f"connect {address[0]}")
        elif event == "socket.getaddrinfo":
            if args[0] and not str(args[0]).startswith(LOOPBACK):
                outbound.append(f"dns {args[0]}")

    sys.addaudithook(hook)

    import app
    from spaces.common import launch_kwargs

    demo = app.build_demo()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs())
    print("URL " + url, flush=True)
    sys.stdin.readline()  # the test has finished its requests
    demo.close()
    print("RESULT " + json.dumps(outbound), flush=True)
    """
)


def test_no_outbound_network_calls_at_start_up_or_request_time(tmp_path):
    from gradio_client import Client, handle_file
    from PIL import Image, ImageDraw

    env = {key: value for key, value in os.environ.items() if not key.startswith(("CARSTUDIO_HUB_", "HF_HUB_OFFLINE"))}
    env["PYTHONPATH"] = str(ROOT)
    log = tmp_path / "server.log"
    with open(log, "w") as stderr:
        server = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        url = next((line.split()[1] for line in server.stdout if line.startswith("URL ")), None)
        assert url, log.read_text()[-3000:]
        client = Client(url, verbose=False, download_files=str(tmp_path))
        endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
        served = []
        if "/singan_sample" in endpoints:
            from spaces.singan import shipped_models

            client.predict(next(iter(shipped_models())), 1, 0, 1.0, 0, api_name="/singan_sample")
            served.append("singan")
        if "/sketch_mask" in endpoints:
            layer = Image.new("RGBA", (256, 160), (0, 0, 0, 0))
            ImageDraw.Draw(layer).rectangle([20, 40, 230, 120], outline=(0, 0, 0, 255), width=4)
            layer.save(tmp_path / "layer.png")
            client.predict({"background": None, "layers": [handle_file(str(tmp_path / "layer.png"))],
                            "composite": None}, api_name="/sketch_mask")
            served.append("sketch")
        if "/layout_generate" in endpoints:
            client.predict(0, 0.8, False, 1, 4, 0, 1, api_name="/layout_generate")
            served.append("layout")
        if "/region_edit" in endpoints:
            from spaces.roigan import EXAMPLES_DIR, shipped_controls

            client.predict({"background": handle_file(str(EXAMPLES_DIR / "door.png")),
                            "layers": [handle_file(str(EXAMPLES_DIR / "door_mask.png"))], "composite": None},
                           0, 0, *[0.0] * shipped_controls()[0], api_name="/region_edit")
            served.append("region")
        if "/blend" in endpoints:
            client.predict("everyday", 0, 0, api_name="/blend_sample")
            client.predict("futuristic", 1, 0, api_name="/blend_sample")
            client.predict(0.5, api_name="/blend")
            served.append("blend")
        out, _ = server.communicate("done\n", timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
    assert served, "no tab was served"
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert server.returncode == 0 and lines, out[-2000:] + log.read_text()[-3000:]
    assert json.loads(lines[-1][len("RESULT "):]) == []
