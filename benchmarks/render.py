"""Renderer throughput and memory: samples/s with all four outputs (image, part map, sketch,
paint) at 64x64 and 128x128, rendered only and rendered + written as PNG dataset files.

    python benchmarks/render.py --json docs/bench_render.json   # markdown table and JSON (docs/data.md)
    python benchmarks/render.py --count 300 --sizes 64,128,250x150

Each configuration runs in a fresh process so that its peak RSS (ru_maxrss) is its own.
`run()` returns the rows for the project-wide benchmark script.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks.timing import write_report  # noqa: E402


def _one(width: int, height: int, count: int, write: bool) -> dict:
    """Measure one configuration in this process (all 26 catalogue cars, seed 0)."""
    from carstudio.data.cars import CATALOGUE, find_car_models, load_cars
    from carstudio.data.render import Renderer
    from carstudio.data.scene import sample_scene
    from carstudio.data.writer import render_dataset

    sources = find_car_models()
    cars, _ = load_cars(sources.available([c.name for c in CATALOGUE]), sources)
    names = list(cars)
    renderer = Renderer(width, height)
    for name in names:  # upload every car and compile the shaders before timing
        scene = sample_scene(0, 0, [name])
        renderer.render(cars[name], scene.camera, scene.style)
    if write:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            render_dataset(Path(tmp) / "ds", count, width, height, cars, progress=False,
                           renderer=renderer)
            seconds = time.perf_counter() - start
    else:
        scenes = [sample_scene(0, i, names) for i in range(count)]
        start = time.perf_counter()
        for scene in scenes:
            renderer.render(cars[scene.car], scene.camera, scene.style)
        seconds = time.perf_counter() - start
    return {"size": f"{width}x{height}", "mode": "render + write PNGs" if write else "render",
            "samples": count, "samples_per_s": round(count / seconds, 1),
            "ms_per_sample": round(1000 * seconds / count, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def run(sizes: Sequence[tuple[int, int]] = ((64, 64), (128, 128)), count: int = 500) -> list[dict]:
    rows = []
    for width, height in sizes:
        for write in (False, True):
            cmd = [sys.executable, __file__, "--one", f"{width}x{height}", "--count", str(count)]
            if write:
                cmd.append("--write")
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.partition("x")
    return int(w), int(h or w)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="64,128")
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    if args.one:
        print(json.dumps(_one(*_size(args.one), args.count, args.write)))
        return
    load = os.getloadavg()[0]
    rows = run([_size(s) for s in args.sizes.split(",")], args.count)
    print(f"{os.cpu_count()} CPU cores, 1-min load average {load:.2f} before the runs")
    print("| size | mode | samples/s | ms/sample | peak RSS (MiB) |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['size']} | {r['mode']} | {r['samples_per_s']} | {r['ms_per_sample']} | "
              f"{r['peak_rss_mib']} |")
    write_report({"cars": "all 26 catalogue cars, seed 0", "load_average_1min_before": round(load, 2),
                  "rows": rows}, args.json)


if __name__ == "__main__":
    main()
