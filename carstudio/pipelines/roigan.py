"""Region edit (issue 6): RoI-GAN inpainting with control codes, next to OpenCV's Telea inpainting.

A person brushes a region of a car image; RoI-GAN (seed 002, `carstudio.models.roigan`) fills it,
steered by its continuous control codes (sliders in [-1, 1]), its categorical code (a dropdown)
and a seed (the noise z0). Both results come back at the user's resolution, and only the brushed
pixels change: every pixel outside the mask is bit-identical to the input.

How an image of any size meets the model's fixed resolution R (`carstudio.data.region_windows`):
1. windows: with `window="crop"` ("inpaint only masked", as Automatic1111 and
   lama-cleaner do it) one square window per separate brushed region, its side the region's
   bounding box x `context` (at least R user pixels, at most the picture's longer side), shifted
   inward at the picture's borders; regions whose windows overlap share one. With
   `window="whole"` (the default while the shipped model is `roigan-64`) one window: the whole
   picture letterboxed to a centred square. Where a window reaches past the picture (only when the picture
   is smaller than it) the border pixels are repeated, and the mask says "keep" there;
2. each window's pixels and mask are resized to R x R (area averaging down, bicubic up); a model
   pixel belongs to the region when any part of it was brushed (so thin strokes are not lost,
   and the model regenerates a little more than was brushed, never less);
3. the generator fills every window in one batch, and each model-resolution completion x_c
   (eq. 3.9) is resized back to its window;
4. the result is pasted into the user's pixels inside the brushed mask only.
A region brushed on a 512-px photo is so filled at up to the photo's own detail, where the whole-
picture letterbox fills it at R / 512 of it and enlarges the fill. The default stays "whole" until a
model trained on window crops ships: `roigan-64` was trained on whole cars, and in crop windows its
fills of 48 small ellipses on 512-px held-out renders were worse (L1 39.5 vs 31.3 of 255, PSNR 13.8
vs 17.1 dB; docs/roigan-window-progress.md): its speckle is no longer blurred away by enlarging.

Telea (`cv2.inpaint(..., cv2.INPAINT_TELEA)`, radius 3 px) runs at the user's resolution, capped
at TELEA_MAX_SIDE = 1024 px on the longest side: larger images are inpainted at that size, the
fill enlarged and composited back the same way (Telea's cost grows with the number of masked
pixels, and a 4000 px photo would take seconds for no visible gain).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from carstudio.data.region_windows import (DEFAULT_CONTEXT, Window, crop_window, paste_window, region_windows,
                                           resize_square, shrink_mask, whole_window, window_mask)
from carstudio.hub import load_model
from carstudio.inputs import InvalidInput, check_number
from carstudio.models.roigan import RoIGANGenerator, complete

GENERATOR_WEIGHTS = "roigan-64"
TELEA_RADIUS = 3
TELEA_MAX_SIDE = 1024
SWEEP_VALUES = tuple(np.linspace(-1.0, 1.0, 7).tolist())
MAX_SEED = 2**63 - 1
WINDOW_MODES = ("crop", "whole")  # a window per brushed region | the whole picture letterboxed


@dataclass
class RegionEditOutput:
    roigan: Image.Image  # RoI-GAN's fill, composited at the user's resolution
    telea: Image.Image  # OpenCV Telea's fill, the same way
    mask: np.ndarray  # (H, W) bool: the pixels that may differ from the input


@dataclass
class _Prepared:
    """An image and mask brought to the model: the user's pixels and one R x R view per window."""

    rgb: np.ndarray  # (H, W, 3) uint8, the user's image
    mask: np.ndarray  # (H, W) bool
    windows: list[Window]  # disjoint squares of the picture, together holding every brushed pixel
    images: torch.Tensor  # (K, 3, R, R) in [-1, 1], one per window
    model_masks: torch.Tensor  # (K, 1, R, R) in {0, 1}


def _composite(rgb: np.ndarray, fill: np.ndarray, mask: np.ndarray) -> Image.Image:
    out = rgb.copy()
    out[mask] = fill[mask]
    return Image.fromarray(out)


def check_image_and_mask(image: Image.Image, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """-> (RGB uint8 (H, W, 3), bool (H, W)); the mask must match the image and select something."""
    if not isinstance(image, Image.Image):
        raise InvalidInput("The image must be a picture (PIL image).")
    rgb = np.asarray(image.convert("RGB"))
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.shape != rgb.shape[:2]:
        raise InvalidInput(f"The mask is {'x'.join(map(str, mask.shape[::-1]))} but the image is "
                           f"{rgb.shape[1]}x{rgb.shape[0]}: they must be the same size.")
    mask = mask.astype(bool)
    if not mask.any():
        raise InvalidInput("Brush over the region to regenerate.")
    return rgb, mask


def telea(image: Image.Image, mask: np.ndarray, radius: int = TELEA_RADIUS,
          max_side: int = TELEA_MAX_SIDE) -> Image.Image:
    """OpenCV's Telea inpainting of the masked pixels, composited so the rest is untouched."""
    rgb, mask = check_image_and_mask(image, mask)
    h, w = mask.shape
    scale = min(1.0, max_side / max(h, w))
    if scale == 1.0:
        fill = cv2.inpaint(rgb, mask.astype(np.uint8), radius, cv2.INPAINT_TELEA)
    else:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        small_fill = cv2.inpaint(small, shrink_mask(mask, size).astype(np.uint8), radius, cv2.INPAINT_TELEA)
        fill = cv2.resize(small_fill, (w, h), interpolation=cv2.INTER_CUBIC)
    return _composite(rgb, fill, mask)


class RegionEditPipeline:
    """`window`: "crop" (a window around each brushed region) or "whole" (the whole picture
    letterboxed, as before windows); `context`: a crop window's side over its region's box side."""

    def __init__(self, generator: RoIGANGenerator, window: str = "whole", context: float = DEFAULT_CONTEXT):
        if window not in WINDOW_MODES:
            raise ValueError(f"window must be one of {WINDOW_MODES}, got {window!r}")
        if not context >= 1:
            raise ValueError(f"context must be at least 1 (the window holds the region's box), got {context}")
        self.generator = generator.eval()
        self.window, self.context = window, context

    @classmethod
    def from_pretrained(cls, generator: str | Path = GENERATOR_WEIGHTS, **kwargs) -> "RegionEditPipeline":
        """A name under weights/ (checksum-verified) or a local folder; `kwargs` as for __init__."""
        return cls(load_model(RoIGANGenerator, generator), **kwargs)

    @property
    def resolution(self) -> int:
        return self.generator.config.resolution

    @property
    def num_codes(self) -> int:
        """Continuous control codes: sliders in [-1, 1], default 0."""
        return self.generator.config.num_codes

    @property
    def num_categories(self) -> int:
        """Values of the categorical code: 0 .. num_categories - 1."""
        return self.generator.config.num_categories

    # --- inputs ----------------------------------------------------------------------------------
    def check_codes(self, codes: list[float] | None) -> list[float]:
        if codes is None:
            return [0.0] * self.num_codes
        codes = list(codes)
        if len(codes) != self.num_codes:
            raise InvalidInput(f"This model has {self.num_codes} control sliders; got {len(codes)} values.")
        return [check_number(c, f"Control {i + 1}", low=-1.0, high=1.0) for i, c in enumerate(codes)]

    def check_category(self, category: int) -> int:
        return check_number(category, "The variant", low=0, high=self.num_categories - 1, integer=True)

    def windows(self, mask: np.ndarray) -> list[Window]:
        """The squares of the picture that the model sees (`window` mode)."""
        if self.window == "whole":
            return [whole_window(mask.shape)]
        return region_windows(mask, self.resolution, self.context)

    def prepare(self, image: Image.Image, mask: np.ndarray) -> _Prepared:
        """The user's pixels, their windows and each window's model-resolution image and region."""
        rgb, mask = check_image_and_mask(image, mask)
        windows, r = self.windows(mask), self.resolution
        squares = np.stack([resize_square(crop_window(rgb, w), r) for w in windows])
        masks = np.stack([window_mask(mask, w, r) for w in windows])
        images = torch.from_numpy(squares).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return _Prepared(rgb, mask, windows, images, torch.from_numpy(masks)[:, None].float())

    # --- generation ------------------------------------------------------------------------------
    def latents(self, codes: list[list[float]], categories: list[int], seed: int) -> torch.Tensor:
        """One z per (codes, category) pair, all with the noise drawn from `seed`."""
        seed = check_number(seed, "The seed", low=0, high=MAX_SEED, integer=True)
        noise = torch.randn(1, self.generator.config.noise_dim, generator=torch.Generator().manual_seed(seed))
        return self.generator.latent(noise.expand(len(codes), -1), torch.tensor(codes, dtype=torch.float32),
                                     torch.tensor(categories))

    @torch.inference_mode()
    def _fill(self, prepared: _Prepared, z: torch.Tensor) -> list[Image.Image]:
        """RoI-GAN for each z -> composited images at the user's resolution: every window with
        every z in one generator pass (window-major), each fill pasted through the brushed mask."""
        n, k = z.shape[0], len(prepared.windows)
        images = prepared.images.repeat_interleave(n, 0)
        masks = prepared.model_masks.repeat_interleave(n, 0)
        fake, _, _ = self.generator(images, masks, z.repeat(k, 1))
        completed = ((complete(fake, images, masks).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        completed = completed.permute(0, 2, 3, 1).numpy().reshape(k, n, *completed.shape[2:], 3)
        results = []
        for j in range(n):
            out = prepared.rgb.copy()
            for window, fills in zip(prepared.windows, completed):
                paste_window(out, resize_square(fills[j], window.side), window, prepared.mask)
            results.append(Image.fromarray(out))
        return results

    def inpaint(self, image: Image.Image, mask: np.ndarray, codes: list[float] | None = None, category: int = 0,
                seed: int = 0) -> Image.Image:
        """RoI-GAN's fill at the user's resolution; pixels outside `mask` are the input's."""
        z = self.latents([self.check_codes(codes)], [self.check_category(category)], seed)
        return self._fill(self.prepare(image, mask), z)[0]

    def telea(self, image: Image.Image, mask: np.ndarray) -> Image.Image:
        return telea(image, mask)

    def __call__(self, image: Image.Image, mask: np.ndarray, codes: list[float] | None = None, category: int = 0,
                 seed: int = 0) -> RegionEditOutput:
        """Both fills: RoI-GAN (codes, category, seed) and Telea."""
        prepared = self.prepare(image, mask)
        z = self.latents([self.check_codes(codes)], [self.check_category(category)], seed)
        return RegionEditOutput(roigan=self._fill(prepared, z)[0], telea=telea(image, prepared.mask),
                                mask=prepared.mask)

    def sweep(self, image: Image.Image, mask: np.ndarray, code_index: int, values: list[float] | None = None,
              seed: int = 0, codes: list[float] | None = None, category: int = 0) -> list[Image.Image]:
        """One fill per value of control `code_index` (default -1 .. 1 in 7 steps), the other
        controls, the category and the noise fixed: one generator pass for all frames."""
        index = check_number(code_index, "The control to sweep", low=0, high=self.num_codes - 1, integer=True)
        base = self.check_codes(codes)
        values = [check_number(v, "A sweep value", low=-1.0, high=1.0) for v in (values or SWEEP_VALUES)]
        rows = [base[:index] + [v] + base[index + 1:] for v in values]
        z = self.latents(rows, [self.check_category(category)] * len(rows), seed)
        return self._fill(self.prepare(image, mask), z)

    def category_sweep(self, image: Image.Image, mask: np.ndarray, seed: int = 0,
                       codes: list[float] | None = None) -> list[Image.Image]:
        """One fill per value of the categorical code, everything else fixed."""
        base = self.check_codes(codes)
        z = self.latents([base] * self.num_categories, list(range(self.num_categories)), seed)
        return self._fill(self.prepare(image, mask), z)
