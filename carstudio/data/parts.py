"""Car part labels: the one table of class ids, names and display colours.

The renderer writes these ids into part maps; the segmenters, the layout GAN, SSGAN,
the UI palettes and the mIoU metric all read them from here.
"""

from __future__ import annotations

import numpy as np

PART_NAMES: tuple[str, ...] = ("background", "body", "glass", "wheel", "lights", "other")
BACKGROUND, BODY, GLASS, WHEEL, LIGHTS, OTHER = range(len(PART_NAMES))
NUM_PARTS = len(PART_NAMES)

# Display colours (RGB). Chosen far apart so that colours snapped from a JPEG or a
# brush with anti-aliasing still map back to the right id.
PART_COLORS: np.ndarray = np.array(
    [
        [255, 255, 255],  # background: white, so a blank canvas reads as background
        [220, 40, 40],  # body: red
        [60, 140, 230],  # glass: blue
        [30, 30, 30],  # wheel: near black
        [250, 210, 40],  # lights: yellow
        [60, 180, 90],  # other: green
    ],
    dtype=np.uint8,
)


def colorize(part_map: np.ndarray) -> np.ndarray:
    """HxW integer part ids -> HxWx3 uint8 display image."""
    ids = np.asarray(part_map)
    if ids.min(initial=0) < 0 or ids.max(initial=0) >= NUM_PARTS:
        raise ValueError(f"part ids must lie in [0, {NUM_PARTS - 1}], got {ids.min()}..{ids.max()}")
    return PART_COLORS[ids]


def snap_colors(image: np.ndarray, max_distance: float = 80.0) -> tuple[np.ndarray, float]:
    """HxWx3 colours -> (HxW part ids of the nearest palette colour, fraction of unknown pixels).

    A pixel whose nearest palette colour is farther than `max_distance` (RGB Euclidean) counts
    as unknown; it still gets the nearest id, and the caller decides whether to refuse.
    """
    rgb = np.asarray(image)[..., :3].astype(np.float32)
    dist = np.linalg.norm(rgb[..., None, :] - PART_COLORS[None, None].astype(np.float32), axis=-1)
    ids = dist.argmin(-1).astype(np.int64)
    unknown = float((dist.min(-1) > max_distance).mean())
    return ids, unknown
