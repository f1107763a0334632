"""SN-GAN training throughput on this machine (issue 5's target): real images through D per second
for the shipped 64-px configuration, in one process (1 and 2 torch threads) and in two
data-parallel processes through `accelerate launch` (1 thread each, the same per-process batch).

    python benchmarks/train_sngan.py --json docs/bench_sngan_training.json

Each setting trains --steps steps from scratch in a temporary run folder; the rate is taken
between the checkpoints at half and all of the steps (the trainer's own counters in
trainer_state.json), so start-up and the first steps' allocation do not count. Run it on an idle
machine: anything else on the two cores lowers every row.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from benchmarks.startup import REPO, free_port  # noqa: E402
from benchmarks.timing import write_report  # noqa: E402
from carstudio.train import runs  # noqa: E402
from carstudio.train.sngan import TrainState  # noqa: E402

D_STEPS = 2
SHIPPED = ["--d-widths", "32", "64", "128", "256", "256", "--batch-size", "32", "--d-steps", str(D_STEPS),
           "--g-lr", "2e-4", "--d-lr", "2e-4", "--beta1", "0", "--beta2", "0.9", "--lecam-weight", "0.01"]


def rate(run: Path, half: int, steps: int) -> dict:
    """Images through D per second and G steps per second between two checkpoints."""
    first, last = (runs.read_train_state(runs.checkpoint_dir(run, s), TrainState) for s in (half, steps))
    seconds = last.seconds - first.seconds
    images = last.images_seen - first.images_seen
    return {"images_per_s": round(images / seconds, 1), "g_steps_per_s": round((steps - half) / seconds, 3),
            "real_images_per_g_step": images // (steps - half), "d_steps_per_g_step": D_STEPS}


def train(data: Path, run: Path, steps: int, threads: int, processes: int) -> None:
    args = ["--data", str(data), "--out", str(run), "--steps", str(steps), "--checkpoint-every", str(steps // 2),
            "--keep-checkpoints", "2", "--sample-every", str(10 * steps), "--log-every", str(steps),
            "--threads", str(threads), *SHIPPED]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(REPO)}
    if processes == 1:
        command = [sys.executable, "-m", "carstudio.train.sngan", *args]
    else:
        env["ACCELERATE_USE_CPU"] = "true"
        command = runs.accelerate_cpu_command("carstudio.train.sngan", args, processes, free_port())
    subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=REPO)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/sngan64_side"), help="a render folder (64 px)")
    parser.add_argument("--steps", type=int, default=40, help="G steps per setting (the rate uses the second half)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"{args.data} is not a render folder: render one first (see docs/sngan.md)")
    settings = {"1 process, 1 thread": (1, 1), "1 process, 2 threads": (2, 1), "2 processes, 1 thread each": (1, 2)}
    report = {"config": "shipped everyday SN-GAN: 64 px, G widths 256..16, D widths 32..256, batch 32 per "
                        "process, 2 D steps per G step, DiffAugment, LeCam", "steps": args.steps,
              "cpu_count": os.cpu_count(), "rows": {}}
    for name, (threads, processes) in settings.items():
        with tempfile.TemporaryDirectory() as tmp:
            train(args.data.resolve(), Path(tmp) / "run", args.steps, threads, processes)
            report["rows"][name] = rate(Path(tmp) / "run", args.steps // 2, args.steps)
        print(f"{name}: {report['rows'][name]}", flush=True)
    write_report(report, args.json)


if __name__ == "__main__":
    main()
