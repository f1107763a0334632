"""Load and soak the served app over loopback with gradio_client.

    python benchmarks/load.py --users 8 32 64 --requests 6 --soak 1000 --json docs/load.json
    python benchmarks/load.py --short          # a smoke-sized run (CI)

Starts `python app.py` on a free port (or uses --url), then:
- load: for each N in --users, N client threads each send --requests mixed requests (every
  named image endpoint of every tab) at once; per endpoint p50/p95 latency, errors by message
  (a full queue answers with Gradio's "queue is full" message past the queue's max_size), and
  throughput;
- soak: --soak sequential mixed requests from one client; server RSS after a warm-up and at the
  end, and the number of files in the app's temp folder before, at the end while the session is
  open, and after the client closed its session (the app then deletes the session's files);
- training (--training): one client trains a car, a second client's training request waits in
  the queue (its place and estimated wait are recorded), the first cancels its job, the queued one
  starts and runs to the end; meanwhile a third client's requests to the other endpoints (latency).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.startup import free_port, rss_mb  # noqa: E402
from benchmarks.timing import write_report  # noqa: E402

TEMP_DIR = REPO / ".gradio_tmp"
TRAINING_PHOTO = REPO / "examples" / "car5-trb1_side.png"
SESSIONS_DIR = TEMP_DIR / "sessions"  # spaces.common.SESSION_FILES
SESSION_END_TIMEOUT_S = 60  # Gradio notices a closed heartbeat within its 15 s heartbeat period


def write_inputs(folder: Path) -> dict[str, Path]:
    """A sketch layer (black strokes on transparency), a painting and a label map (part ids), as a
    browser or an API user would send."""
    layer = Image.new("RGBA", (512, 320), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.line([(50, 220), (50, 160), (150, 145), (200, 95), (330, 95), (400, 145), (460, 160), (460, 220),
               (50, 220)], fill=(0, 0, 0, 255), width=4)
    for cx in (130, 380):
        draw.ellipse([cx - 35, 190, cx + 35, 260], outline=(0, 0, 0, 255), width=4)
    painting = Image.new("RGB", (480, 288), (235, 235, 235))
    ImageDraw.Draw(painting).rectangle([60, 120, 420, 220], fill=(180, 30, 30))
    label_map = Image.new("L", (64, 64), 0)  # part ids: background 0, body 1, glass 2, wheel 3
    ids = ImageDraw.Draw(label_map)
    ids.rectangle([6, 26, 58, 44], fill=1)
    ids.rectangle([18, 17, 44, 26], fill=2)
    for cx in (17, 47):
        ids.ellipse([cx - 6, 38, cx + 6, 50], fill=3)
    paths = {"layer": folder / "layer.png", "painting": folder / "painting.png", "label_map": folder / "label_map.png"}
    layer.save(paths["layer"])
    painting.save(paths["painting"])
    label_map.save(paths["label_map"])
    return paths


def request_mix(client, inputs: dict[str, Path]) -> list[tuple[str, callable]]:
    """(endpoint, call(seed)) for every named image endpoint the app serves; seeds vary so that
    outputs (and the files Gradio caches for them) are not all the same."""
    from gradio_client import handle_file

    named = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    mix = []
    if "/singan_sample" in named:
        from spaces.singan import shipped_models

        car = next(iter(shipped_models()))
        painting = {"background": handle_file(str(inputs["painting"])), "layers": [],
                    "composite": handle_file(str(inputs["painting"]))}
        photo = handle_file(str(TRAINING_PHOTO))
        mix.append(("/singan_sample", lambda i: client.predict(car, 2, i, 1.0, 0, api_name="/singan_sample")))
        mix.append(("/singan_paint", lambda i: client.predict(car, painting, 3, 2, i, True, api_name="/singan_paint")))
        mix.append(("/singan_reference", lambda i: client.predict(car, api_name="/singan_reference")))
        if "/singan_paint_photo" in named:
            mix.append(("/singan_paint_photo",
                        lambda i: client.predict(car, photo, 2, 2, i, api_name="/singan_paint_photo")))
    if "/sketch_generate" in named:
        sketch = {"background": None, "layers": [handle_file(str(inputs["layer"]))], "composite": None}
        mix.append(("/sketch_generate", lambda i: client.predict(sketch, 4, i, True, api_name="/sketch_generate")))
        mix.append(("/sketch_mask", lambda i: client.predict(sketch, api_name="/sketch_mask")))
    if "/layout_generate" in named:
        label_map = {"background": handle_file(str(inputs["label_map"])), "layers": [], "composite": None}
        mix.append(("/layout_sample", lambda i: client.predict(i, 0.8, False, 1, 4, api_name="/layout_sample")))
        mix.append(("/layout_render", lambda i: client.predict(label_map, i, 4, api_name="/layout_render")))
        mix.append(("/layout_generate",
                    lambda i: client.predict(i, 0.8, i % 2 == 1, i + 1, 4, i, 4, api_name="/layout_generate")))
    if "/region_edit" in named:
        from spaces.roigan import EXAMPLES_DIR, shipped_controls

        region = {"background": handle_file(str(EXAMPLES_DIR / "door.png")),
                  "layers": [handle_file(str(EXAMPLES_DIR / "door_mask.png"))], "composite": None}
        codes = [0.0] * shipped_controls()[0]
        mix.append(("/region_edit", lambda i: client.predict(region, i % 2, i, *codes, api_name="/region_edit")))
        mix.append(("/region_sweep", lambda i: client.predict(region, 1, 0, i, *codes, api_name="/region_sweep")))
        mix.append(("/region_variants", lambda i: client.predict(region, i, *codes, api_name="/region_variants")))
    if "/blend" in named:
        # blend and strip read the cars' codes from the client's session: the first of them in a
        # session samples both cars first (its latency includes those two requests)
        session_has_cars = []

        def with_cars(call):
            def run(i):
                if not session_has_cars:
                    client.predict("everyday", 0, 0, api_name="/blend_sample")
                    client.predict("futuristic", 1, 0, api_name="/blend_sample")
                    session_has_cars.append(True)
                return call(i)
            return run

        mix.append(("/blend_sample", lambda i: client.predict("everyday" if i % 2 else "futuristic", i, 0,
                                                              api_name="/blend_sample")))
        mix.append(("/blend", with_cars(lambda i: client.predict((i % 5) / 4, api_name="/blend"))))
        mix.append(("/blend_strip", with_cars(lambda i: client.predict(8, api_name="/blend_strip"))))
    return mix


def timed_call(endpoint: str, call, arg: int) -> dict:
    """One request -> its record; an error is recorded, not raised: the report counts them."""
    start = time.perf_counter()
    try:
        call(arg)
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc)[:120]}"
    return {"endpoint": endpoint, "seconds": time.perf_counter() - start, "error": error}


def run_user(url: str, inputs, count: int, offset: int, records: list, lock: threading.Lock,
             download_dir: str) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=download_dir)
    mix = request_mix(client, inputs)
    for i in range(count):
        endpoint, call = mix[(offset + i) % len(mix)]
        record = timed_call(endpoint, call, offset * 1000 + i)
        with lock:
            records.append(record)
    client.close()  # the session ends: the app deletes its outputs and uploads


def summarize(records: list[dict], wall: float) -> dict:
    by_endpoint = defaultdict(list)
    errors = defaultdict(int)
    for r in records:
        if r["error"] is None:
            by_endpoint[r["endpoint"]].append(r["seconds"] * 1000)
        else:
            errors[r["error"]] += 1
    return {
        "requests": len(records), "ok": sum(len(v) for v in by_endpoint.values()), "errors": dict(errors),
        "wall_s": round(wall, 1), "throughput_rps": round(len(records) / wall, 2),
        "latency_ms": {e: {"n": len(v), "p50": round(statistics.median(v)), "p95": round(float(np.percentile(v, 95)))}
                       for e, v in sorted(by_endpoint.items())},
    }


def load(url: str, inputs, users: int, requests: int, download_dir: str) -> dict:
    records, lock = [], threading.Lock()
    threads = [threading.Thread(target=run_user, args=(url, inputs, requests, k, records, lock, download_dir))
               for k in range(users)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"users": users, **summarize(records, time.perf_counter() - start)}


def wait_for(condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not condition():
        time.sleep(0.5)
    return condition()


def count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def soak(url: str, inputs, total: int, pid: int, download_dir: str, warm_up: int) -> dict:
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=download_dir)
    mix = request_mix(client, inputs)
    # every endpoint once before the first RSS reading: each tab loads its models on first use
    warm_up = max(warm_up, len(mix))
    files_before = count_files(TEMP_DIR)
    records, rss_after_warm_up = [], None
    start = time.perf_counter()
    for i in range(total):
        endpoint, call = mix[i % len(mix)]
        records.append(timed_call(endpoint, call, i))
        if i + 1 == warm_up:
            rss_after_warm_up = rss_mb(pid)
    result = summarize(records, time.perf_counter() - start)
    files_during = count_files(TEMP_DIR)
    client.close()
    ended = wait_for(lambda: not (SESSIONS_DIR / client.session_hash).exists(), SESSION_END_TIMEOUT_S)
    result.update(warm_up_requests=warm_up, rss_after_warm_up_mb=round(rss_after_warm_up or rss_mb(pid), 1),
                  rss_end_mb=round(rss_mb(pid), 1),
                  temp_files_before=files_before, temp_files_before_session_end=files_during,
                  session_folder_deleted=ended, temp_files_after=count_files(TEMP_DIR))
    result["rss_growth_mb"] = round(result["rss_end_mb"] - result["rss_after_warm_up_mb"], 1)
    return result


def progress_message(job) -> str | None:
    """The latest progress description a running job has sent (None before any)."""
    progress = job.status().progress_data
    return progress[-1].desc if progress else None


def job_outcome(job, timeout: float | None = None) -> str:
    try:
        job.result(timeout=timeout)
        return "finished"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:160]}"


WAITING = re.compile(r"number (\d+) in the queue, about (\d+) minutes? to go")


def during_training(url: str, inputs, download_dir: str) -> dict:
    """The training slot under contention, as two users see it, while a third uses the other tabs.

    A first client starts training a car; a second client's training request must wait in the
    queue and be told its place and an estimated wait; the first client cannot queue a second job
    of its own (one per session). The first client then cancels its job: it must end with the
    cancellation message and the queued job must start and run to the end, while the third client
    sends the other tabs' requests one after another (their latency is the figure reported).
    """
    from gradio_client import Client, handle_file

    photo = handle_file(str(TRAINING_PHOTO))
    trainer, queued, other = (Client(url, verbose=False, download_files=download_dir) for _ in range(3))
    mix = request_mix(other, inputs)
    start = time.perf_counter()
    first = trainer.submit(photo, api_name="/singan_train")
    # the first request has reached the app (and taken the slot) before the second is sent
    wait_for(lambda: first.status().code.name in ("PROCESSING", "PROGRESS", "FINISHED"), 60)
    second = queued.submit(photo, api_name="/singan_train")
    wait_for(lambda: second.done() or (progress_message(second) or "").startswith("Waiting"), 60)
    queue_message = progress_message(second)
    same_session = job_outcome(trainer.submit(photo, api_name="/singan_train"), timeout=60)
    cancel_reply = trainer.predict(api_name="/singan_cancel")
    first_outcome = job_outcome(first, timeout=120)
    cancelled_at = time.perf_counter()
    started_at = []  # when the queued job's first message after the queue's arrived

    def watch_start():
        while not second.done():
            message = progress_message(second)
            if message is not None and not message.startswith("Waiting"):
                started_at.append(time.perf_counter())
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch_start, daemon=True)
    watcher.start()
    records, i = [], 0
    while not second.done():
        endpoint, call = mix[i % len(mix)]
        records.append(timed_call(endpoint, call, i))
        i += 1
    second_outcome = job_outcome(second)
    end = time.perf_counter()
    watcher.join()
    for client in (trainer, queued, other):
        client.close()
    waiting = WAITING.search(queue_message or "")
    return {
        "first_job": first_outcome, "cancel_reply": cancel_reply, "same_session_second_job": same_session,
        "queue_message": queue_message,
        "queue_position": int(waiting.group(1)) if waiting else None,
        "queue_estimate_min": int(waiting.group(2)) if waiting else None,
        # told its turn came (its first message after the queue's); None if never seen
        "queued_job_started_after_cancel_s": round(started_at[0] - cancelled_at, 1) if started_at else None,
        "queued_job": second_outcome,
        "training_s": round(end - cancelled_at, 1), "wall_s": round(end - start, 1),
        "requests_meanwhile": summarize(records, end - cancelled_at) if records else None,
    }


def start_app() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError("app.py exited before serving")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("app.py did not serve within 120 s")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--requests", type=int, default=6, help="requests per user in the load phase")
    parser.add_argument("--soak", type=int, default=1000, help="sequential requests in the soak phase (0: skip)")
    parser.add_argument("--warm-up", type=int, default=50, help="soak requests before the first RSS reading")
    parser.add_argument("--training", action="store_true",
                        help="also: a second training queued behind a first (cancelled), and other tabs' latency while "
                             "the queued one trains (the app's training preset; "
                             "CARSTUDIO_SINGAN_TRAIN_PRESET=smoke makes it seconds long)")
    parser.add_argument("--short", action="store_true",
                        help="users 4, 2 requests each, soak 30 (warm-up: one request per endpoint), "
                             "a smoke-preset training phase")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.short:
        args.users, args.requests, args.soak, args.warm_up, args.training = [4], 2, 30, 8, True
        os.environ.setdefault("CARSTUDIO_SINGAN_TRAIN_PRESET", "smoke")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # gradio_client: no telemetry from the load generator
    process, url = start_app()
    report = {"url": url, "load_average_1min_before": round(os.getloadavg()[0], 2), "load": [], "soak": None}
    try:
        with tempfile.TemporaryDirectory() as folder:
            inputs = write_inputs(Path(folder))
            for users in args.users:
                result = load(url, inputs, users, args.requests, folder)
                report["load"].append(result)
                print(json.dumps(result), flush=True)
            if args.soak:
                report["soak"] = soak(url, inputs, args.soak, process.pid, folder, args.warm_up)
                print(json.dumps(report["soak"]), flush=True)
            if args.training:
                report["training"] = during_training(url, inputs, folder)
                print(json.dumps(report["training"]), flush=True)
        report["server_alive"] = process.poll() is None
    finally:
        process.terminate()
        process.wait(20)
    write_report(report, args.json)
    return report


if __name__ == "__main__":
    main()
