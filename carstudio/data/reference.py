"""Single clean reference renders: the training image of the single-image GAN (SinGAN).

A reference is one car, original livery, in a studio look (soft gradient backdrop, ground
plane, gentle key light), 4x supersampled, from a canonical view. `seed` only nudges the light
and backdrop, so seed 0 is the canonical image.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from carstudio.data.mesh import CarModel
from carstudio.data.render import Renderer, Sample
from carstudio.data.scene import Background, Camera, Lighting, Paint, Style

ReferenceView = Literal["side", "three-quarter", "rear-three-quarter"]
REFERENCE_VIEWS: dict[str, Camera] = {
    "side": Camera(azimuth=90.0, elevation=4.0, fov=22.0, fill=0.92),
    "three-quarter": Camera(azimuth=40.0, elevation=12.0, fov=30.0, fill=0.9),
    "rear-three-quarter": Camera(azimuth=140.0, elevation=12.0, fov=30.0, fill=0.9),
}


def reference_style(seed: int = 0) -> Style:
    rng = np.random.default_rng(seed)
    jitter = 0.0 if seed == 0 else 1.0
    return Style(
        paint=Paint(recolour=False),
        background=Background(kind="ground", top=(0.82, 0.86, 0.92), bottom=(0.93, 0.93, 0.92),
                              ground=(0.52, 0.52, 0.5)),
        lighting=Lighting(azimuth=float(70.0 + jitter * rng.uniform(-25, 25)),
                          elevation=float(60.0 + jitter * rng.uniform(-10, 10)),
                          key=0.75, ambient=0.55, shadow=0.5),
    )


def render_reference(car: CarModel, view: ReferenceView = "side", width: int = 250,
                     height: int = 150, seed: int = 0, supersample: int = 4) -> Sample:
    """One high-quality render of `car` (image, part map, sketch and paint)."""
    if view not in REFERENCE_VIEWS:
        raise ValueError(f"unknown view {view!r}; choose from {', '.join(REFERENCE_VIEWS)}")
    renderer = Renderer(width, height, supersample=supersample)
    try:
        return renderer.render(car, REFERENCE_VIEWS[view], reference_style(seed))
    finally:
        renderer.release()
