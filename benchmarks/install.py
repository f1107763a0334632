"""Fresh install of the app: time of `pip install -r requirements.txt` into a new venv in a temporary
folder, the venv's size on disk, and whether any CUDA package came along.

    python benchmarks/install.py [--requirements requirements.txt] [--json docs/bench_install.json]

pip runs without its cache (`--no-cache-dir`), so every wheel is fetched from the indexes pip is
configured with on this machine (recorded in the report): a user's download speed is not measured.
Takes a few minutes; the folder is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere
from benchmarks.timing import write_report  # noqa: E402

CUDA_PREFIXES = ("nvidia-", "triton", "cuda-")


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under `folder` (links not followed, each file counted once)."""
    seen, total = set(), 0
    for root, _, files in os.walk(folder):
        for name in files:
            stat = os.lstat(Path(root) / name)
            if stat.st_ino not in seen and not os.path.islink(Path(root) / name):
                seen.add(stat.st_ino)
                total += stat.st_size
    return total


def run(command: list[str], **kwargs) -> float:
    """Seconds `command` took; raises with its output if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requirements", type=Path, default=REPO / "requirements.txt")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    pip_config = [line for line in subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                                                  capture_output=True, text=True).stdout.splitlines()
                  if any(key in line for key in ("index", "find-links", "constraint"))]  # where wheels come from
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        venv_seconds = run([sys.executable, "-m", "venv", str(venv)])
        empty_bytes = folder_bytes(venv)
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        install_seconds = run([*pip, "install", "--no-cache-dir", "-r", str(args.requirements.resolve())])
        installed = json.loads(subprocess.run([*pip, "list", "--format", "json"], capture_output=True,
                                              text=True, check=True).stdout)
        size = folder_bytes(venv)
    report = {
        "requirements": args.requirements.resolve().relative_to(REPO).as_posix()
        if args.requirements.resolve().is_relative_to(REPO) else str(args.requirements),
        "python": sys.version.split()[0],
        "venv_seconds": round(venv_seconds, 1),
        "pip_install_seconds": round(install_seconds, 1),
        "venv_mb": round(size / 1e6),
        "installed_mb": round((size - empty_bytes) / 1e6),
        "packages": len(installed),
        "cuda_packages": sorted(p["name"] for p in installed if p["name"].lower().startswith(CUDA_PREFIXES)),
        "torch": next((p["version"] for p in installed if p["name"].lower() == "torch"), None),
        "pip_options": "--no-cache-dir",
        "pip_config": pip_config,
        "load_average_1min_before": load_before,
    }
    print(json.dumps(report, indent=1))
    write_report(report, args.json)


if __name__ == "__main__":
    main()
