"""The car catalogue (domain, held-out split, licence of every car) and where the models live.

One table assigns every car to a design domain (`everyday` or `futuristic`) and to a split
(`train` or `test`). The split is held out by body shape (`model`): all liveries of a shape are
on the same side, so evaluation can use cars never seen in training.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from carstudio.data.ac3d import load_torcs_car
from carstudio.data.mesh import CarModel, ModelError
from carstudio.data.obj import load_trigger_car

Domain = Literal["everyday", "futuristic"]
Split = Literal["train", "test"]
DOMAINS: tuple[Domain, ...] = ("everyday", "futuristic")
SPLITS: tuple[Split, ...] = ("train", "test")

FAL = "Free Art License"
GPL = "GPL-2+"
INSTALL_HINT = "apt-get install torcs-data trigger-rally-data"


@dataclass(frozen=True)
class CarEntry:
    name: str
    source: Literal["torcs", "trigger"]
    model: str  # body shape; the split is decided per shape
    kind: str
    domain: Domain
    split: Split
    licence: str
    credit: str
    wheel_set: str | None = None  # TORCS stand-in wheels for cars whose XML names none
    texel_glass: bool = True  # one-mesh bodies: windows painted in the texture (not: formula car)


_TRIGGER_CREDIT = "Jasmine Langridge, Richard Langridge and the Trigger Rally contributors"
_TRIGGER = {
    "cordo": ("rally hatchback", "everyday", "train"),
    "evo": ("rally sedan", "everyday", "test"),
    "fox": ("rally hatchback", "everyday", "train"),
}

CATALOGUE: tuple[CarEntry, ...] = (
    CarEntry("p406", "torcs", "p406", "road sedan", "everyday", "train", GPL,
             "TORCS (Eric Espié et al.)", wheel_set="trb1-3"),
    CarEntry("155-DTM", "torcs", "155-DTM", "touring sedan", "everyday", "train", GPL,
             "Andrea Alfieri (2000)", wheel_set="trb1-1"),
    CarEntry("car1-stock1", "torcs", "car1-stock1", "stock car", "everyday", "train", FAL,
             "Bernhard Wymann (2012)"),
    CarEntry("car1-stock2", "torcs", "car1-stock2", "stock car", "everyday", "test", FAL,
             "Bernhard Wymann (2013)"),
    CarEntry("baja-bug", "torcs", "baja-bug", "Beetle (baja bug)", "everyday", "train", FAL,
             "Jean-Christophe Durieu (2002)", wheel_set="stock1-1"),
    *(CarEntry(f"{body}_{livery}", "trigger", body, kind, domain, split, GPL, _TRIGGER_CREDIT)
      for body, (kind, domain, split) in _TRIGGER.items()
      for livery in ("kitcar", "super500", "wrc")),
    CarEntry("car1-trb1", "torcs", "car1-trb", "GT sports car", "futuristic", "train", FAL,
             "Eric Espié, Jean-Christophe Durieu (2002), Bernhard Wymann (2006), "
             "parts by Olaf Saßnick"),
    CarEntry("car1-trb3", "torcs", "car1-trb", "GT sports car", "futuristic", "train", FAL,
             "Eric Espié, Jean-Christophe Durieu (2002), Bernhard Wymann (2006), "
             "parts by Olaf Saßnick"),
    CarEntry("car2-trb1", "torcs", "car2-trb1", "GT sports car", "futuristic", "train", FAL,
             "Eric Espié, Jean-Christophe Durieu (2002), Olaf Saßnick (2005), "
             "Bernhard Wymann (2007)"),
    CarEntry("car3-trb1", "torcs", "car3-trb1", "GT sports car", "futuristic", "train", FAL,
             "ViPeR (2000), Jean-Christophe Durieu (2002), Olaf Sassnick, Andrew Sumner, "
             "Bernhard Wymann (2006)"),
    CarEntry("car4-trb1", "torcs", "car4-trb1", "GT sports car", "futuristic", "test", FAL,
             "ViPeR (2000), Eric Espié (2002), Andrew Sumner (2005), Bernhard Wymann (2006)"),
    CarEntry("car5-trb1", "torcs", "car5-trb1", "GT sports car", "futuristic", "train", FAL,
             "Christophe Guionneau (2002), Eliam Speedychonchon (2005), Bernhard Wymann (2007)"),
    CarEntry("car6-trb1", "torcs", "car6-trb1", "GT racing car", "futuristic", "train", FAL,
             "Wolf-Dieter Beelitz, Bernhard Wymann (2007), parts by other TORCS authors"),
    CarEntry("car7-trb1", "torcs", "car7-trb1", "GT racing car", "futuristic", "test", FAL,
             "Bernhard Wymann (2007), parts by Olaf Saßnick, Andrew Sumner, Wolf-Dieter Beelitz"),
    CarEntry("car8-trb1", "torcs", "car8-trb1", "GT sports car", "futuristic", "train", FAL,
             "Bernhard Wymann (2009), parts by Olaf Saßnick, Andrew Sumner"),
    CarEntry("acura-nsx-sz", "torcs", "acura-nsx-sz", "supercar", "futuristic", "test", FAL,
             "ViPeR (2000, model), Jean-Christophe Durieu (2002, texture)", wheel_set="trb1-2"),
    CarEntry("car1-ow1", "torcs", "car1-ow1", "formula (open-wheel) car", "futuristic", "train",
             FAL, "SpeedyChonChon (2004)", texel_glass=False),
    CarEntry("buggy", "torcs", "buggy", "dune buggy", "futuristic", "train", GPL,
             "TORCS (Eric Espié et al.)", wheel_set="stock1-1"),
)
CARS: dict[str, CarEntry] = {c.name: c for c in CATALOGUE}
WHEELS_CREDIT = "TORCS wheel sets: Bernhard Wymann, Eric Espié (2008-2012), Free Art License"


def select_cars(domain: str | None = None, split: str | None = None,
                names: list[str] | None = None) -> list[str]:
    """Catalogue names matching a domain/split ("all" or None: any), optionally only `names`."""
    for value, allowed, what in ((domain, DOMAINS, "domain"), (split, SPLITS, "split")):
        if value not in (None, "all", *allowed):
            raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(allowed)} or all")
    unknown = sorted(set(names or []) - set(CARS))
    if unknown:
        raise ValueError(f"unknown car(s) {', '.join(unknown)}; known: {', '.join(CARS)}")
    return [c.name for c in CATALOGUE
            if domain in (None, "all", c.domain) and split in (None, "all", c.split)
            and (names is None or c.name in names)]


@dataclass(frozen=True)
class ModelSources:
    """Where the installed (or unpacked) model files are."""

    torcs: Path | None  # folder holding cars/ and wheels/
    trigger: Path | None  # Trigger Rally data.zip, or a folder holding vehicles/

    def available(self, names: list[str]) -> list[str]:
        return [n for n in names if (CARS[n].source == "torcs" and self.torcs is not None)
                or (CARS[n].source == "trigger" and self.trigger is not None)]


_DEBIAN_TORCS = Path("/usr/share/games/torcs")
_DEBIAN_TRIGGER = Path("/usr/share/games/trigger-rally")


def find_car_models(root: str | Path | None = None) -> ModelSources:
    """Locate the TORCS and Trigger Rally models.

    With `root`, look there (a folder with cars/ and wheels/ and/or data.zip or vehicles/, or
    the tree `dpkg-deb -x` unpacks); without, in the installed Debian packages. Raises
    FileNotFoundError naming the apt-get command when neither set is found.
    """
    if root is not None:
        base = Path(root)
        torcs_dirs = [base, base / "torcs", base / "usr/share/games/torcs"]
        trigger_dirs = [base, base / "trigger-rally", base / "usr/share/games/trigger-rally"]
    else:
        torcs_dirs, trigger_dirs = [_DEBIAN_TORCS], [_DEBIAN_TRIGGER]
    torcs = next((d for d in torcs_dirs if (d / "cars").is_dir() and (d / "wheels").is_dir()), None)
    trigger = None
    for d in trigger_dirs:
        if (d / "data.zip").is_file():
            trigger = d / "data.zip"
            break
        if (d / "vehicles").is_dir():
            trigger = d
            break
    if torcs is None and trigger is None:
        where = f"in {root}" if root is not None else f"in {_DEBIAN_TORCS} or {_DEBIAN_TRIGGER}"
        raise FileNotFoundError(
            f"no TORCS or Trigger Rally car models found {where}. Install them with "
            f"`{INSTALL_HINT}` (after apt-get update), or unpack the .deb files with "
            "`apt-get download torcs-data trigger-rally-data` and `dpkg-deb -x <deb> <dir>` and "
            "pass that folder with --models-dir.")
    return ModelSources(torcs=torcs, trigger=trigger)


def load_car(name: str, sources: ModelSources) -> CarModel:
    """Load one catalogue car; ModelError if its files are missing or unreadable."""
    entry = CARS[name]
    if entry.source == "torcs":
        if sources.torcs is None:
            raise ModelError(f"{name}: TORCS models not available ({INSTALL_HINT})")
        car = load_torcs_car(sources.torcs / "cars" / name, sources.torcs / "wheels",
                             fallback_wheel_set=entry.wheel_set or "trb1-1")
    else:
        if sources.trigger is None:
            raise ModelError(f"{name}: Trigger Rally models not available ({INSTALL_HINT})")
        car = load_trigger_car(sources.trigger, name)
    if not entry.texel_glass:
        car.glass_above_z, car.window_texels = None, {}
    return car


def load_cars(names: list[str],
              sources: ModelSources) -> tuple[dict[str, CarModel], dict[str, str]]:
    """Load several cars; a corrupt or missing one is skipped with a warning, not fatal.

    Returns (loaded cars by name, {skipped name: reason}). Texture problems of loaded cars are
    warned about too (they render with a flat material).
    """
    loaded, skipped = {}, {}
    for name in names:
        try:
            car = load_car(name, sources)
        except (ModelError, OSError) as exc:
            skipped[name] = str(exc)
            warnings.warn(f"skipping car {name}: {exc}", stacklevel=2)
            continue
        for problem in car.problems:
            warnings.warn(f"{name}: {problem}", stacklevel=2)
        loaded[name] = car
    return loaded, skipped
