"""Window texels of one-mesh car bodies, whose windows exist only as paint in the texture.

Windows are painted neutral grey (dark to mid, often a gradient). A texel counts as window when
it is grey in every livery of the body: Trigger Rally ships three liveries per body on one UV
layout, so grey paint of one livery is not mistaken for glass; a single-livery TORCS car gets
the plain grey rule. The renderer applies the mask only above the belt line and off the roof.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

MAX_SATURATION = 0.2
VALUE_RANGE = (0.03, 0.8)  # pure black outlines and white paint are not glass


def grey_texels(rgba: np.ndarray) -> np.ndarray:
    """HxW bool: low-saturation texels of dark-to-mid value."""
    rgb = rgba[..., :3].astype(np.float32) / 255.0
    value = rgb.max(-1)
    saturation = (value - rgb.min(-1)) / np.maximum(value, 1e-6)
    return (saturation < MAX_SATURATION) & (value > VALUE_RANGE[0]) & (value < VALUE_RANGE[1])


def window_texels(texture: np.ndarray, other_liveries: Sequence[np.ndarray] = ()) -> np.ndarray:
    """HxW bool mask over `texture`: grey there and at the same texel of every other livery."""
    mask = grey_texels(texture)
    h, w = mask.shape
    for livery in other_liveries:
        if livery.shape[:2] != (h, w):
            livery = np.asarray(Image.fromarray(livery).resize((w, h), Image.Resampling.NEAREST))
        mask &= grey_texels(livery)
    return mask
