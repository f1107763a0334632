"""Region edit (issue 6): RoI-GAN inpainting with control codes, next to OpenCV's Telea inpainting.

A person brushes a region of a car image; RoI-GAN (seed 002, `carstudio.models.roigan`) fills it,
steered by its continuous control codes (sliders in [-1, 1]), its categorical code (a dropdown)
and a seed (the noise z0). Both results come back at the user's resolution, and only the brushed
pixels change: every pixel outside the mask is bit-identical to the input.

How an image of any size meets the model's fixed resolution R:
1. the image is letterboxed to a centred square (side max(H, W)) by replicating its border
   pixels -- the training renders have the car in the middle -- and the mask padded with "keep";
2. image and mask are shrunk to R x R with area averaging; a model pixel belongs to the region
   when any part of it was brushed (so thin strokes are not lost, and the model regenerates a
   little more than was brushed, never less);
3. the generator fills the region and the model-resolution completion x_c (eq. 3.9) is enlarged
   back (bicubic) and cropped to H x W;
4. the result is composited into the user's pixels inside the brushed mask only.

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

from carstudio.hub import load_model
from carstudio.inputs import InvalidInput, check_number
from carstudio.models.roigan import RoIGANGenerator, complete

GENERATOR_WEIGHTS = "roigan-64"
TELEA_RADIUS = 3
TELEA_MAX_SIDE = 1024
SWEEP_VALUES = tuple(np.linspace(-1.0, 1.0, 7).tolist())
MAX_SEED = 2**63 - 1


@dataclass
class RegionEditOutput:
    roigan: Image.Image  # RoI-GAN's fill, composited at the user's resolution
    telea: Image.Image  # OpenCV Telea's fill, the same way
    mask: np.ndarray  # (H, W) bool: the pixels that may differ from the input


@dataclass
class _Prepared:
    """An image and mask brought to the model: the user's pixels and the square model view."""

    rgb: np.ndarray  # (H, W, 3) uint8, the user's image
    mask: np.ndarray  # (H, W) bool
    side: int  # letterbox side, max(H, W)
    offset: tuple[int, int]  # (top, left) of the user's image in the letterbox
    image: torch.Tensor  # (1, 3, R, R) in [-1, 1]
    model_mask: torch.Tensor  # (1, 1, R, R) in {0, 1}


def _offset(shape: tuple[int, ...], side: int) -> tuple[int, int]:
    """(top, left) that centres an (H, W) image in a side x side square."""
    return (side - shape[0]) // 2, (side - shape[1]) // 2


def _letterbox(array: np.ndarray, side: int, replicate: bool) -> np.ndarray:
    """Pad (H, W[, C]) to a centred side x side square: border pixels repeated, or zeros."""
    (h, w), (top, left) = array.shape[:2], _offset(array.shape, side)
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    return cv2.copyMakeBorder(array, top, side - h - top, left, side - w - left, border, value=0)


def _shrink_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """bool mask -> bool mask of `size` (w, h): a cell is in the region if any of it was."""
    if mask.shape[::-1] == size:
        return mask.copy()
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0


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
        small_fill = cv2.inpaint(small, _shrink_mask(mask, size).astype(np.uint8), radius, cv2.INPAINT_TELEA)
        fill = cv2.resize(small_fill, (w, h), interpolation=cv2.INTER_CUBIC)
    return _composite(rgb, fill, mask)


class RegionEditPipeline:
    def __init__(self, generator: RoIGANGenerator):
        self.generator = generator.eval()

    @classmethod
    def from_pretrained(cls, generator: str | Path = GENERATOR_WEIGHTS) -> "RegionEditPipeline":
        """A name under weights/ (checksum-verified) or a local folder."""
        return cls(load_model(RoIGANGenerator, generator))

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

    def prepare(self, image: Image.Image, mask: np.ndarray) -> _Prepared:
        """The user's pixels, and the square, model-resolution image and region."""
        rgb, mask = check_image_and_mask(image, mask)
        side, size = max(mask.shape), (self.resolution, self.resolution)
        square = cv2.resize(_letterbox(rgb, side, True), size, interpolation=cv2.INTER_AREA)
        model_mask = _shrink_mask(_letterbox(mask.astype(np.uint8), side, False).astype(bool), size)
        tensor = torch.from_numpy(square).permute(2, 0, 1)[None].float() / 127.5 - 1.0
        return _Prepared(rgb, mask, side, _offset(mask.shape, side), tensor,
                         torch.from_numpy(model_mask)[None, None].float())

    # --- generation ------------------------------------------------------------------------------
    def latents(self, codes: list[list[float]], categories: list[int], seed: int) -> torch.Tensor:
        """One z per (codes, category) pair, all with the noise drawn from `seed`."""
        seed = check_number(seed, "The seed", low=0, high=MAX_SEED, integer=True)
        noise = torch.randn(1, self.generator.config.noise_dim, generator=torch.Generator().manual_seed(seed))
        return self.generator.latent(noise.expand(len(codes), -1), torch.tensor(codes, dtype=torch.float32),
                                     torch.tensor(categories))

    @torch.inference_mode()
    def _fill(self, prepared: _Prepared, z: torch.Tensor) -> list[Image.Image]:
        """RoI-GAN for each z -> composited images at the user's resolution."""
        n = z.shape[0]
        image, mask = prepared.image.expand(n, -1, -1, -1), prepared.model_mask.expand(n, -1, -1, -1)
        fake, _, _ = self.generator(image, mask, z)
        completed = ((complete(fake, image, mask).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        (h, w), (top, left) = prepared.mask.shape, prepared.offset
        results = []
        for array in completed.permute(0, 2, 3, 1).numpy():
            big = cv2.resize(array, (prepared.side, prepared.side), interpolation=cv2.INTER_CUBIC)[top:top + h, left:left + w]
            results.append(_composite(prepared.rgb, big, prepared.mask))
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
