"""Export a finished SinGAN run to weights/<name>/ with its model card.

    python -m carstudio.train.singan_export --run runs/singan-ship/car1-trb1_side_250x150 \
        --name singan-car1-trb1-side --car car1-trb1 --view side --command "accelerate launch ..."
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from carstudio.data.cars import CARS
from carstudio.hub import WEIGHTS_DIR, write_model_card
from carstudio.models.singan import SinGANGenerator

CARD = """# {name}

SinGAN generator pyramid (Shaham et al. 2019) trained on one image: a {view} view of the
`{car}` model ({kind}), rendered by this project (`python -m carstudio.data reference --car {car}
--view {view} --width 250 --height 150`). Used by the SinGAN paint-to-car tab.

- Scales (H x W, coarsest first): {sizes}
- Noise amplitudes: {amps}
- Options: {options}

## Data and licence
The training image is a render of the 3D model `{car}` from Debian's `{package}` package,
{licence}; credit: {credit}. This model is a derivative of that render and is distributed under
the same licence, with this attribution.

## Training
Command (this machine: 2 CPU cores, 1 thread per process, two cars trained in parallel):

    {command}

Training time: {minutes:.1f} min on this machine ({seconds_per_scale}).

## Metrics
{metrics}
"""


def export(run: Path, name: str, car: str, view: str, command: str, metrics: str) -> Path:
    summary = json.loads((run / "summary.json").read_text())
    options = json.loads((run.parent / "options.json").read_text())
    target = WEIGHTS_DIR / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(run / "model", target)
    model = SinGANGenerator.from_pretrained(target)
    entry = CARS[car]
    body = CARD.format(
        name=name, view=view, car=car, kind=entry.kind,
        package="torcs-data" if entry.source == "torcs" else "trigger-rally-data",
        licence=entry.licence, credit=entry.credit, command=command,
        sizes=", ".join(f"{h}x{w}" for h, w in model.sizes),
        amps=", ".join(f"{a:.4f}" for a in model.noise_amps.tolist()),
        options=", ".join(f"{k}={v}" for k, v in options.items() if k != "images"),
        minutes=summary["seconds"] / 60,
        seconds_per_scale="; ".join(f"scale {s['scale']}: {s['seconds'] / s['iterations']:.2f} s/it"
                                    for s in summary["scales"]),
        metrics=metrics,
    )
    write_model_card(target, body)
    return target


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="runs/<out>/<image stem>")
    parser.add_argument("--name", required=True)
    parser.add_argument("--car", required=True, choices=sorted(CARS))
    parser.add_argument("--view", required=True)
    parser.add_argument("--command", required=True, help="the training command, for the card")
    parser.add_argument("--metrics", default="See docs/singan.md.")
    args = parser.parse_args(argv)
    print(export(args.run, args.name, args.car, args.view, args.command, args.metrics))


if __name__ == "__main__":
    main()
