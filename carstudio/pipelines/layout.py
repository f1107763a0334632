"""Layout to car (seed 003): a StyleGAN draws a car part layout, SPADE renders it as a car.

Two stages, each a shipped model: the layout generator (`StyleGANGenerator` with output
"labels": K part logits per pixel, snapped to a label map by argmax, the seed's "conversion of
each pixel to the closest segmentation colour") and the renderer (`SPADEGenerator` on one-hot
part maps, trained on (part map, render) pairs; its optional style encoder maps a car image to
a style code). Layouts can also come from a person (edited or uploaded label maps, see
`carstudio.inputs.part_layout`): any square size is brought to the renderer's resolution by
area-averaging the one-hot map and taking the majority part of each cell.

A renderer with a higher resolution than the layout generator gets the layouts at its own
resolution with smooth part boundaries: the part logits are upsampled before the argmax
(`layouts_from_logits`).

The layout seed, truncation psi and style mixing choose the layout; the style seed draws the
renderer's z (paint, lighting, background). A palette-conditioned renderer (issue 19) is also
styled by a palette (one colour per part): drawn by the style seed from its training palettes
unless `palettes=` (e.g. `palette_of` an example car) is given; `body_colour=` sets the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from carstudio.data.parts import NUM_PARTS, PART_COLORS, colorize
from carstudio.hub import load_model, load_pretrained, model_dir
from carstudio.imaging import pil_to_tensor, tensor_to_pil
from carstudio.models.ssgan import SPADEGenerator, StyleEncoder, one_hot_masks, reparameterize
from carstudio.models.stylegan import StyleGANGenerator
from carstudio.pipelines.palettes import Colour, choose_palettes, palette_of

LAYOUT_WEIGHTS = "layout-stylegan-64"
RENDERER_WEIGHTS = "layout-spade-64"
STYLE_ENCODER = "style_encoder"


@dataclass
class LayoutToCarOutput:
    parts: np.ndarray  # (N, R, R) part ids, one layout per image
    layouts: list[Image.Image]  # colourised layouts
    images: list[Image.Image]


class LayoutToCarPipeline:
    def __init__(self, layout_generator: StyleGANGenerator, renderer: SPADEGenerator,
                 style_encoder: StyleEncoder | None = None):
        if layout_generator.config.output != "labels":
            raise ValueError("the layout generator must output part labels (output='labels')")
        if layout_generator.config.out_channels != renderer.config.num_classes:
            raise ValueError(f"the layout generator draws {layout_generator.config.out_channels} parts, the "
                             f"renderer takes {renderer.config.num_classes}")
        self.layout_generator = layout_generator.eval()
        self.renderer = renderer.eval()
        self.style_encoder = style_encoder.eval() if style_encoder is not None else None

    @classmethod
    def from_pretrained(cls, layout: str | Path = LAYOUT_WEIGHTS,
                        renderer: str | Path = RENDERER_WEIGHTS) -> "LayoutToCarPipeline":
        """Names under weights/ (checksum-verified) or local folders."""
        spade, encoder = load_renderer(renderer)
        return cls(load_layout_generator(layout), spade, encoder)

    @property
    def resolution(self) -> int:
        return self.renderer.config.resolution

    @property
    def num_style_layers(self) -> int:
        """Valid `mix_layer` values are 0..num_style_layers (0: every layer from the second seed)."""
        return self.layout_generator.num_ws

    @torch.inference_mode()
    def sample_layouts(self, num_layouts: int = 1, seed: int = 0, psi: float = 1.0,
                       mix_seed: int | None = None, mix_layer: int | None = None) -> torch.Tensor:
        """-> (N, R, R) part ids. The seed draws z and the noise maps; `mix_seed` gives the styles
        from `mix_layer` on (coarse layers set the pose and shape, fine ones the details)."""
        g = torch.Generator().manual_seed(seed)
        z = self.layout_generator.sample_latents(num_layouts, g)
        mix_z = None
        if mix_seed is not None:
            mix_z = self.layout_generator.sample_latents(num_layouts, torch.Generator().manual_seed(mix_seed))
        logits = self.layout_generator(z, psi=psi, mix_z=mix_z, mix_layer=mix_layer, noise_generator=g)
        return self.layouts_from_logits(logits)

    def layouts_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """The layout generator's part logits (N, K, r, r) -> (N, R, R) part ids at the renderer's
        resolution. A renderer larger than the layouts gets the logits upsampled bilinearly before
        the argmax, so part boundaries fall between the generator's pixels instead of on the
        2-pixel staircases of an upsampled label map (200 layouts 64 -> 128 px: boundary pixels
        jagged under a light smoothing 1.5% vs 3.9%, true 128-px part maps 2.9%; on true maps
        brought to 64 px and back, 98.4% vs 90.3% of the pixels near a boundary right:
        docs/layout128-progress.md). Otherwise `fit`'s majority of the label map."""
        if logits.shape[-1] < self.resolution:
            size = (self.resolution,) * 2
            return F.interpolate(logits, size=size, mode="bilinear", align_corners=False).argmax(1)
        return self.fit(self.layout_generator.label_maps(logits))

    def fit(self, parts: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(N, H, W) or (H, W) square part ids of any size -> (N, R, R) at the renderer's
        resolution: the majority part of each cell (area-averaged one-hot, then argmax)."""
        parts = torch.as_tensor(np.asarray(parts) if not isinstance(parts, torch.Tensor) else parts).long()
        if parts.ndim == 2:
            parts = parts[None]
        if parts.shape[-1] != parts.shape[-2]:
            raise ValueError(f"layouts must be square, got {tuple(parts.shape[-2:])}")
        if parts.shape[-1] == self.resolution:
            return parts
        one_hot = one_hot_masks(parts, NUM_PARTS)
        mode = "area" if parts.shape[-1] > self.resolution else "nearest"
        return F.interpolate(one_hot, size=(self.resolution,) * 2, mode=mode).argmax(1)

    @torch.inference_mode()
    def style_of(self, image: Image.Image, count: int = 1, seed: int = 0) -> torch.Tensor:
        """A car image -> `count` style codes (count, z_dim): the mean of the encoder's Gaussian,
        then draws from that Gaussian with the seed (SPADE's multimodal synthesis guided by an
        example: variations of the example's style rather than copies of one car)."""
        if self.style_encoder is None:
            raise ValueError("this renderer has no style encoder")
        x = pil_to_tensor(image.convert("RGB").resize((self.resolution,) * 2, Image.Resampling.BICUBIC))
        mu, logvar = self.style_encoder(x)
        if count == 1:
            return mu
        g = torch.Generator().manual_seed(seed)
        draws = reparameterize(mu.expand(count - 1, -1), logvar.expand(count - 1, -1), g)
        return torch.cat([mu, draws])

    def palette_of(self, image: Image.Image, parts: np.ndarray | None = None) -> torch.Tensor:
        """The (1, C, 3) palette of an example car picture (palette renderers, see
        `carstudio.pipelines.palettes`)."""
        return palette_of(self.renderer, image, parts)

    @torch.inference_mode()
    def render(self, parts: torch.Tensor | np.ndarray, style_seed: int = 0, style: torch.Tensor | None = None,
               palettes: torch.Tensor | None = None, body_colour: Colour | None = None) -> list[Image.Image]:
        """(N, R, R) part ids -> N car images; z from the style seed (one per layout) unless a
        style code (1 or N, z_dim) is given; palette renderers also draw their palettes from the
        style seed unless given (1 or N)."""
        parts = self.fit(parts)
        n = parts.shape[0]
        g = torch.Generator().manual_seed(style_seed)
        if style is None:
            z = torch.randn(n, self.renderer.config.z_dim, generator=g)
        else:
            z = style.expand(n, -1) if style.shape[0] == 1 else style
        chosen = choose_palettes(self.renderer, n, g, palettes, body_colour)
        images, _ = self.renderer(one_hot_masks(parts, NUM_PARTS), z=z,
                                  **({} if chosen is None else {"palettes": chosen}))
        return tensor_to_pil(images)

    def __call__(self, num_images: int = 1, seed: int = 0, psi: float = 1.0, style_seed: int = 0,
                 mix_seed: int | None = None, mix_layer: int | None = None) -> LayoutToCarOutput:
        parts = self.sample_layouts(num_images, seed, psi, mix_seed, mix_layer)
        return LayoutToCarOutput(parts=parts.numpy(), layouts=[layout_image(p) for p in parts.numpy()],
                                 images=self.render(parts, style_seed))


def layout_image(parts: np.ndarray) -> Image.Image:
    """(H, W) part ids -> RGB image in the part palette."""
    return Image.fromarray(colorize(np.asarray(parts)))


def label_map_image(parts: np.ndarray) -> Image.Image:
    """(H, W) part ids -> a palette image: pixel values are the ids (saved as PNG, a label map any
    SPADE-style loader reads), the palette shows them in the part colours."""
    image = Image.fromarray(np.asarray(parts).astype(np.uint8), mode="P")
    palette = np.zeros((256, 3), np.uint8)
    palette[: len(PART_COLORS)] = PART_COLORS
    image.putpalette(palette.flatten().tolist())
    return image


def label_map_file(parts: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    label_map_image(parts).save(path)
    return path


def load_layout_generator(name_or_path: str | Path) -> StyleGANGenerator:
    """A local folder, or a name under weights/ (checksum-verified)."""
    return load_model(StyleGANGenerator, name_or_path).eval()


def load_style_encoder(name_or_path: str | Path) -> StyleEncoder | None:
    """The style encoder saved beside a SPADE/SSGAN generator (its `style_encoder/` subfolder), from
    a local folder or a name under weights/ (checksum-verified); None when it has none."""
    path = Path(name_or_path)
    if path.is_dir():
        return StyleEncoder.from_pretrained(path / STYLE_ENCODER).eval() if (path / STYLE_ENCODER).is_dir() else None
    name = str(name_or_path)
    if not (model_dir(name) / STYLE_ENCODER).is_dir():
        return None
    return load_pretrained(StyleEncoder, name, subfolder=STYLE_ENCODER).eval()


def load_renderer(name_or_path: str | Path) -> tuple[SPADEGenerator, StyleEncoder | None]:
    """(SPADE generator, its style encoder when the folder has one) from a local folder or a
    name under weights/ (checksum-verified)."""
    path = Path(name_or_path)
    spade = SPADEGenerator.from_pretrained(path) if path.is_dir() else load_pretrained(SPADEGenerator, str(name_or_path))
    return spade.eval(), load_style_encoder(name_or_path)
