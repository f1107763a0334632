"""Time from `python app.py` to the first HTTP 200, and the server's idle RSS 2 s later, before
any request (tabs load their models on first use, so no model is loaded yet).

    python benchmarks/startup.py [--runs 3] [--python /path/to/venv/bin/python] [--json docs/bench_startup.json]
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
sys.path.insert(0, str(REPO))  # run as a script from anywhere
from benchmarks.timing import write_report  # noqa: E402


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
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    load_before = round(os.getloadavg()[0], 2)
    runs = [one_start(args.python) for _ in range(args.runs)]
    report = {"runs": [{k: round(v, 2) for k, v in r.items()} for r in runs],
              "median_seconds_to_http_200": round(statistics.median(r["seconds_to_http_200"] for r in runs), 2),
              "median_idle_rss_mb": round(statistics.median(r["idle_rss_mb"] for r in runs)),
              "load_average_1min_before": load_before}
    print(json.dumps(report, indent=1))
    write_report(report, args.json)


if __name__ == "__main__":
    main()
