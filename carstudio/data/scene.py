"""What one render looks like (camera, paint, background, light) and the ranges it is drawn from.

Everything here is plain data: the renderer turns it into pixels, the dataset writer stores it
in the manifest (`dataclasses.asdict`), and `sample_scene(seed, index, ...)` makes sample
`index` a pure function of the seed and the index, so datasets are reproducible and resumable.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

View = Literal["side", "three-quarter", "any"]
VIEWS: tuple[View, ...] = ("side", "three-quarter", "any")


@dataclass(frozen=True)
class Camera:
    """Orbit camera around the car's bounding-box centre.

    azimuth: degrees around the car, 0 = in front of it, 90 = its left side, 180 = behind,
      270 = its right side. elevation: degrees above the horizon. fov: vertical field of view,
      which sets how strong the perspective is (the camera backs off to fit the car).
    fill: fraction of the frame the car's projected extent spans along the tighter side.
    shift: framing offset of the car's centre, as fractions of the frame (x right, y up).
    """

    azimuth: float = 90.0
    elevation: float = 8.0
    fov: float = 30.0
    fill: float = 0.88
    shift: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Paint:
    """Recolouring of body texels: saturated ones turn by `hue_shift` (turns), white and grey
    ones are multiplied by `tint`. `recolour=False` keeps the original livery."""

    recolour: bool = False
    hue_shift: float = 0.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Background:
    """plain: one colour; gradient: `top` to `bottom`; ground: gradient sky over a ground plane."""

    kind: Literal["plain", "gradient", "ground"] = "plain"
    top: tuple[float, float, float] = (0.92, 0.92, 0.92)
    bottom: tuple[float, float, float] = (0.92, 0.92, 0.92)
    ground: tuple[float, float, float] = (0.45, 0.45, 0.45)


@dataclass(frozen=True)
class Lighting:
    """Key light direction (degrees, azimuth as for the camera), strengths and colour."""

    azimuth: float = 60.0
    elevation: float = 55.0
    key: float = 0.75
    ambient: float = 0.5
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    shadow: float = 0.5  # darkness of the ground shadow, 0..1


@dataclass(frozen=True)
class Style:
    paint: Paint = field(default_factory=Paint)
    background: Background = field(default_factory=Background)
    lighting: Lighting = field(default_factory=Lighting)


@dataclass(frozen=True)
class Scene:
    car: str
    camera: Camera
    style: Style


# Azimuth ranges (degrees) per view preset; a range is picked uniformly, then a value in it.
_AZIMUTHS: dict[str, list[tuple[float, float]]] = {
    "side": [(84.0, 96.0), (264.0, 276.0)],
    "three-quarter": [(30.0, 60.0), (120.0, 150.0), (210.0, 240.0), (300.0, 330.0)],
}
_ELEVATIONS: dict[str, tuple[float, float]] = {
    "side": (0.0, 12.0),
    "three-quarter": (4.0, 25.0),
    "any": (2.0, 30.0),
}


def sample_camera(rng: np.random.Generator, view: View = "any") -> Camera:
    if view == "any":
        azimuth = rng.uniform(0.0, 360.0)
    else:
        ranges = _AZIMUTHS[view]
        low, high = ranges[rng.integers(len(ranges))]
        azimuth = rng.uniform(low, high)
    elevation = rng.uniform(*_ELEVATIONS[view])
    return Camera(
        azimuth=round(float(azimuth), 3),
        elevation=round(float(elevation), 3),
        fov=round(float(rng.uniform(20.0, 50.0)), 3),
        fill=round(float(rng.uniform(0.75, 0.95)), 3),
        shift=(round(float(rng.uniform(-0.04, 0.04)), 4),
               round(float(rng.uniform(-0.04, 0.04)), 4)),
    )


def _rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (round(r, 4), round(g, 4), round(b, 4))


def sample_style(rng: np.random.Generator) -> Style:
    recolour = bool(rng.random() < 0.65)
    paint = Paint(
        recolour=recolour,
        hue_shift=round(float(rng.uniform(0.0, 1.0)), 4) if recolour else 0.0,
        # Half the recoloured cars keep white parts white; the rest tint them.
        tint=_rgb(rng.random(), rng.uniform(0.25, 0.8), rng.uniform(0.55, 1.0))
        if recolour and rng.random() < 0.5 else (1.0, 1.0, 1.0),
    )
    kind = ("plain", "gradient", "ground")[rng.choice(3, p=[0.3, 0.35, 0.35])]
    hue = rng.random()
    top = _rgb(hue, rng.uniform(0.0, 0.35), rng.uniform(0.55, 1.0))
    bottom = top if kind == "plain" else _rgb(hue + rng.uniform(-0.1, 0.1), rng.uniform(0.0, 0.3),
                                              rng.uniform(0.35, 0.95))
    background = Background(
        kind=kind, top=top, bottom=bottom,
        ground=_rgb(rng.uniform(0.05, 0.15), rng.uniform(0.0, 0.35), rng.uniform(0.25, 0.65)),
    )
    warm = rng.uniform(-0.06, 0.06)
    lighting = Lighting(
        azimuth=round(float(rng.uniform(0.0, 360.0)), 3),
        elevation=round(float(rng.uniform(35.0, 75.0)), 3),
        key=round(float(rng.uniform(0.55, 0.9)), 4),
        ambient=round(float(rng.uniform(0.4, 0.6)), 4),
        color=(round(1.0 + warm, 4), 1.0, round(1.0 - warm, 4)),
        shadow=round(float(rng.uniform(0.35, 0.65)), 4),
    )
    return Style(paint=paint, background=background, lighting=lighting)


def sample_scene(seed: int, index: int, cars: list[str], view: View = "any") -> Scene:
    """Scene of sample `index`: depends only on (seed, index) and the car list, never on order
    of generation, so any subset of a dataset can be (re)rendered independently."""
    if not cars:
        raise ValueError("no cars to sample from")
    rng = np.random.default_rng([seed, index])
    car = cars[int(rng.integers(len(cars)))]
    return Scene(car=car, camera=sample_camera(rng, view), style=sample_style(rng))
