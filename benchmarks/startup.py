"""Time from `python app.py` to the first HTTP 200, and the server's idle RSS (after start and
after one warm request per tab).

    python benchmarks/startup.py [--runs 3] [--python /path/to/venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_start(python: str) -> dict:
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port)}
    start = time.perf_counter()
    process = subprocess.Popen([python, "app.py"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
            if process.poll() is not None:
                raise RuntimeError("app.py exited before serving")
        seconds = time.perf_counter() - start
        time.sleep(2)
        return {"seconds_to_http_200": seconds, "idle_rss_mb": rss_mb(process.pid)}
    finally:
        process.terminate()
        process.wait(10)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=sys.executable, help="interpreter, e.g. a fresh venv's")
    args = parser.parse_args(argv)
    runs = [one_start(args.python) for _ in range(args.runs)]
    print(json.dumps({"runs": runs,
                      "median_seconds_to_http_200": statistics.median(r["seconds_to_http_200"] for r in runs),
                      "median_idle_rss_mb": statistics.median(r["idle_rss_mb"] for r in runs)}, indent=1))


if __name__ == "__main__":
    main()
