"""Futuristic blend (issue 5, seed 001): the latent code of an everyday car and that of a
futuristic car are averaged, w = alpha * x + (1 - alpha) * y, and decoded by the fine-tuned GAN.

x is the everyday car's code, y the futuristic car's, so alpha = 1 is the everyday car's code
and alpha = 0 the futuristic car's: alpha is the weight of the existing design (the seed's
0 < alpha < 1 blends; both ends are allowed here so the strip can show them).

Three models:
- the futuristic generator G_f (the everyday SN-GAN fine-tuned on futuristic renders with
  FreezeD) decodes every code: reconstructions, blends and strips, as in the seed, where the
  weighted average "is fed into SN-GAN" fine-tuned on concept cars;
- the everyday generator G_e only draws an everyday car by seed;
- the ResNet-18 encoder E, trained on G_f's (G_f(z), z) pairs, maps a car image to a code of G_f.
  `refine_steps` then lowers the reconstruction error ||G_f(z) - image||^2 by Adam steps on z
  (neither network changes): slower, closer reconstructions.

Where the codes come from:
- an image (an upload): E(image), refined on request. With the part segmenter (`CarPlacer`,
  `carstudio.pipelines.car_placement`) the car is found, framed as the training renders frame
  their cars and put on their median backdrop (issue 21: a designer's photo or drawing on any
  background, at any size and position). Without it, or when no car is found, the whole
  picture is letterboxed to a square (its border pixels repeated: renders have the car in the
  middle of a plain backdrop). Either way it is resized to the models' resolution;
- an everyday car sampled by seed: G_e(z) is a picture of the *everyday* GAN, whose z means
  nothing to G_f, so its code is E(G_e(z)) like any image's;
- a futuristic car sampled by seed: y = z exactly (G_f drew it; its reconstruction is itself).

Novelty (optional, `carstudio.metrics.novelty`): the distance from a blend to its nearest
training image in the part segmenter's features, and that distance over the usual gap between
training images. Without a bank (or its segmenter) the pipeline works and says novelty is
unavailable.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from carstudio.data.region_windows import whole_window
from carstudio.hub import ModelUnavailable, load_model
from carstudio.imaging import pil_to_tensor, tensor_to_pil
from carstudio.inputs import InvalidInput, check_choice, check_has_content, check_number
from carstudio.metrics.novelty import DEFAULT_SEGMENTER, NOVELTY_WEIGHTS, NoveltyMeter, load_segmenter
from carstudio.models.encoder import ResNet18Encoder
from carstudio.models.sngan import SNGANGenerator
from carstudio.pipelines.car_placement import BLANK_SHARE, CarPlacer, PreparedUpload
from carstudio.pipelines.segmenter import SegmenterPipeline

LOG = logging.getLogger("carstudio")

EVERYDAY_WEIGHTS = "sngan-everyday-64"  # everyday G (EMA weights)
FUTURISTIC_WEIGHTS = "sngan-futuristic-64"  # G fine-tuned on futuristic renders with FreezeD
ENCODER_WEIGHTS = "encoder-futuristic-64"  # ResNet-18 on the fine-tuned G's (G(z), z) pairs
EVERYDAY, FUTURISTIC = "everyday", "futuristic"
DOMAINS = (EVERYDAY, FUTURISTIC)
MAX_SEED = 2**63 - 1
MAX_REFINE_STEPS = 100  # ~1 s on this CPU; also the cap on what an API caller can ask for
REFINE_LR = 0.05
MIN_FRAMES, MAX_FRAMES = 2, 16
NO_CODE = {EVERYDAY: "Sample or encode an everyday car first.",
           FUTURISTIC: "Sample or encode a futuristic car first."}


@dataclass
class CarCode:
    """A car brought to the blend: the picture, its code in G_f, and G_f(code)."""

    image: Image.Image  # the sampled car, or the upload prepared at model resolution (what E saw)
    reconstruction: Image.Image  # G_f(code): what the blend shows at this end
    code: torch.Tensor  # (1, z_dim)
    prepared: PreparedUpload | None = None  # an upload's preparation: its window, car box and note


@dataclass
class FuturisticBlendOutput:
    everyday: CarCode
    futuristic: CarCode
    alpha: float
    blend: Image.Image
    strip: list[Image.Image] = field(default_factory=list)  # alpha from 1 (everyday) to 0 (futuristic)
    novelty: tuple[float, int] | None = None  # (distance, index of the nearest training image)


def strip_alphas(frames: int) -> list[float]:
    """alpha of each strip frame: 1 (the everyday car) down to 0 (the futuristic car), evenly;
    the ends are exactly 1 and 0."""
    return [1.0 - i / (frames - 1) for i in range(frames)]


def mix(x: torch.Tensor, y: torch.Tensor, alphas: Sequence[float]) -> torch.Tensor:
    """(1, z) x, (1, z) y -> (len(alphas), z): alpha * x + (1 - alpha) * y per alpha."""
    a = torch.tensor(alphas, dtype=x.dtype)[:, None]
    return a * x + (1 - a) * y


def letterbox(image: Image.Image, side: int) -> Image.Image:
    """Fit the longest side to `side`, then pad to a centred square by repeating the border pixels."""
    image = image.convert("RGB")
    scale = side / max(image.size)
    if scale != 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)
    rgb = np.asarray(image)
    (h, w), top, left = rgb.shape[:2], (side - rgb.shape[0]) // 2, (side - rgb.shape[1]) // 2
    return Image.fromarray(np.pad(rgb, ((top, side - h - top), (left, side - w - left), (0, 0)), mode="edge"))


def refine_code(generator: SNGANGenerator, image: torch.Tensor, code: torch.Tensor, steps: int,
                lr: float = REFINE_LR) -> torch.Tensor:
    """`steps` Adam steps on the code to lower the reconstruction MSE ||G(z) - image||^2 from
    `code`; the generator is not changed (nor put in train mode: keep it in eval)."""
    z = code.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            (z.grad,) = torch.autograd.grad(F.mse_loss(generator(z), image), z)
            optimizer.step()
    return z.detach()


def refine_latent(generator: SNGANGenerator, encoder: ResNet18Encoder, image: torch.Tensor, steps: int = 50,
                  lr: float = REFINE_LR) -> torch.Tensor:
    """E(image), then `refine_code`; both networks in eval mode meanwhile (their modes are
    restored). (N, 3, R, R) in [-1, 1] -> refined codes (N, z_dim)."""
    modes = generator.training, encoder.training
    generator.eval(), encoder.eval()
    try:
        with torch.no_grad():
            z = encoder(image)
        return refine_code(generator, image, z, steps, lr)
    finally:
        generator.train(modes[0]), encoder.train(modes[1])


class FuturisticBlendPipeline:
    def __init__(self, generator: SNGANGenerator, everyday_generator: SNGANGenerator, encoder: ResNet18Encoder,
                 novelty: NoveltyMeter | None = None, novelty_note: str = "no novelty bank was given",
                 placer: CarPlacer | None = None, placement_note: str = ""):
        """`generator`: the fine-tuned (futuristic) G, which decodes every code; `novelty_note`
        says why novelty is unavailable when `novelty` is None; `placer` prepares uploads (None:
        letterboxed whole, with `placement_note` as the note)."""
        z_dims = {generator.config.z_dim, everyday_generator.config.z_dim, encoder.config.z_dim}
        if len(z_dims) != 1:
            raise ValueError(f"the generators and the encoder must share z_dim, got {sorted(z_dims)}")
        if everyday_generator.config.resolution != generator.config.resolution:
            raise ValueError("the everyday and futuristic generators must have the same resolution")
        # inference only: no weight gradients, even while a code is refined
        self.generator = generator.eval().requires_grad_(False)
        self.everyday_generator = everyday_generator.eval().requires_grad_(False)
        self.encoder = encoder.eval().requires_grad_(False)
        self.novelty_meter = novelty
        self.novelty_note = novelty_note
        self.placer = placer
        self.placement_note = placement_note

    @classmethod
    def from_pretrained(cls, generator: str | Path = FUTURISTIC_WEIGHTS, everyday: str | Path = EVERYDAY_WEIGHTS,
                        encoder: str | Path = ENCODER_WEIGHTS, novelty: str | Path | None = NOVELTY_WEIGHTS,
                        segmenter: str | Path | None = None) -> "FuturisticBlendPipeline":
        """Names under weights/ (checksum-verified) or local folders. A missing or unusable
        novelty bank (or segmenter) leaves novelty unavailable, with the reason kept; a missing
        segmenter leaves uploads unprepared (letterboxed whole), with a note saying so. The
        segmenter (the bank's unless one is named) serves both."""
        meter, note = None, "no novelty bank was given"
        if novelty is not None:
            try:
                meter = NoveltyMeter.from_pretrained(novelty, segmenter)
            except ModelUnavailable as error:
                LOG.warning("futuristic blend without novelty: %s", error)
                note = str(error)
        placer, placement_note = None, ""
        try:
            parts = meter.extractor.segmenter if meter is not None else load_segmenter(segmenter or DEFAULT_SEGMENTER)
            placer = CarPlacer(SegmenterPipeline(parts))
        except ModelUnavailable as error:
            LOG.warning("futuristic blend without upload preparation: %s", error)
            placement_note = ("The car could not be found and framed (the part segmenter is not installed), so the "
                              "whole picture was used, centred.")
        return cls(load_model(SNGANGenerator, generator), load_model(SNGANGenerator, everyday),
                   load_model(ResNet18Encoder, encoder), meter, note, placer, placement_note)

    @property
    def resolution(self) -> int:
        return self.generator.config.resolution

    @property
    def z_dim(self) -> int:
        return self.generator.config.z_dim

    # --- inputs ----------------------------------------------------------------------------------
    def check_code(self, code, domain: str) -> torch.Tensor:
        """A code as a (1, z_dim) float tensor: None means that car was never picked."""
        if code is None:
            raise InvalidInput(NO_CODE[domain])
        z = torch.as_tensor(np.asarray(code, dtype=np.float32) if not isinstance(code, torch.Tensor) else code)
        z = z.detach().float().reshape(1, -1)
        if z.shape[1] != self.z_dim:
            raise InvalidInput(f"The {domain} car's code has {z.shape[1]} numbers but this model takes {self.z_dim}: "
                               f"sample or encode the {domain} car again.")
        if not torch.isfinite(z).all():
            raise InvalidInput(f"The {domain} car's code contains invalid numbers: sample or encode it again.")
        return z

    @staticmethod
    def check_domain(domain) -> str:
        return check_choice(domain, "The domain", DOMAINS)

    @staticmethod
    def check_alpha(alpha) -> float:
        return check_number(alpha, "α (the everyday car's weight)", low=0.0, high=1.0)

    @staticmethod
    def check_frames(frames) -> int:
        return check_number(frames, "The number of frames", low=MIN_FRAMES, high=MAX_FRAMES, integer=True)

    @staticmethod
    def check_refine_steps(steps) -> int:
        return check_number(steps, "Refinement steps", low=0, high=MAX_REFINE_STEPS, integer=True)

    @staticmethod
    def check_seed(seed) -> int:
        return check_number(seed, "The seed", low=0, high=MAX_SEED, integer=True)

    def prepare(self, image: Image.Image) -> PreparedUpload:
        """A picture of any size -> what the encoder sees (`CarPlacer`; letterboxed whole without one)."""
        if not isinstance(image, Image.Image):
            raise InvalidInput("The car must be a picture (PIL image).")
        if self.placer is not None:
            return self.placer(image, self.resolution)  # refuses a blank picture itself
        check_has_content(image, "The car picture", min_fraction=BLANK_SHARE)
        return PreparedUpload(letterbox(image, self.resolution), whole_window((image.height, image.width)), None, None,
                              self.placement_note)

    def model_view(self, image: Image.Image) -> torch.Tensor:
        """A picture of any size -> (1, 3, R, R) in [-1, 1], as `prepare` makes it."""
        return pil_to_tensor(self.prepare(image).image)

    # --- generation ------------------------------------------------------------------------------
    @torch.inference_mode()
    def decode(self, codes: torch.Tensor, generator: SNGANGenerator | None = None) -> list[Image.Image]:
        """(N, z_dim) codes -> N pictures, by G_f unless another generator is given; one pass."""
        return tensor_to_pil((generator or self.generator)(codes))

    def sample(self, domain: str, seed: int = 0, generator: torch.Generator | None = None
               ) -> tuple[Image.Image, torch.Tensor]:
        """A car of `domain` drawn by that domain's GAN -> (picture, its z in that GAN). The code
        comes from `generator` when given, else from `seed`."""
        domain = self.check_domain(domain)
        if generator is None:
            generator = torch.Generator().manual_seed(self.check_seed(seed))
        network = self.everyday_generator if domain == EVERYDAY else self.generator
        z = network.sample_latents(1, generator)
        return self.decode(z, network)[0], z

    def encode(self, image: Image.Image, refine_steps: int = 0) -> tuple[Image.Image, torch.Tensor]:
        """A car picture -> (G_f's reconstruction, code (1, z_dim)): E(image), then
        `refine_steps` steps lowering the reconstruction error."""
        return self.encode_view(self.model_view(image), self.check_refine_steps(refine_steps))

    def encode_view(self, x: torch.Tensor, steps: int) -> tuple[Image.Image, torch.Tensor]:
        """A prepared (1, 3, R, R) picture in [-1, 1] -> (G_f's reconstruction, code), refined `steps` steps."""
        with torch.no_grad():  # not inference_mode: a refined code needs autograd afterwards
            z = self.encoder(x)
        if steps:
            z = refine_code(self.generator, x, z, steps)
        return self.decode(z)[0], z

    def car_from_image(self, image: Image.Image, refine_steps: int = 0) -> CarCode:
        steps = self.check_refine_steps(refine_steps)
        prepared = self.prepare(image)
        reconstruction, z = self.encode_view(pil_to_tensor(prepared.image), steps)
        return CarCode(prepared.image, reconstruction, z, prepared)

    def car_from_seed(self, domain: str, seed: int = 0, refine_steps: int = 0,
                      generator: torch.Generator | None = None) -> CarCode:
        """A sampled car and its code in G_f: z itself for a futuristic car, E(picture) (refined
        on request) for an everyday one (G_e's z is not a code of G_f)."""
        steps = self.check_refine_steps(refine_steps)
        image, z = self.sample(domain, seed, generator)
        if domain == FUTURISTIC:
            return CarCode(image, image, z)
        # the GAN's own picture is already at the model's size and framed as the renders: it is
        # encoded as it is, not prepared as an upload (whose blank check could refuse a dark sample)
        reconstruction, code = self.encode_view(pil_to_tensor(image), steps)
        return CarCode(image, reconstruction, code)

    def blend(self, z_everyday, z_futuristic, alpha: float) -> Image.Image:
        """G_f(alpha * x + (1 - alpha) * y): alpha = 1 is the everyday car, 0 the futuristic one."""
        alpha = self.check_alpha(alpha)
        x, y = self.check_code(z_everyday, EVERYDAY), self.check_code(z_futuristic, FUTURISTIC)
        return self.decode(mix(x, y, [alpha]))[0]

    def strip(self, z_everyday, z_futuristic, frames: int = 8) -> list[Image.Image]:
        """`frames` blends at strip_alphas(frames) (from the everyday car to the futuristic one),
        in one generator pass."""
        frames = self.check_frames(frames)
        x, y = self.check_code(z_everyday, EVERYDAY), self.check_code(z_futuristic, FUTURISTIC)
        return self.decode(mix(x, y, strip_alphas(frames)))

    # --- novelty ---------------------------------------------------------------------------------
    @property
    def novelty_available(self) -> bool:
        return self.novelty_meter is not None

    def novelty(self, image: Image.Image) -> tuple[float, int] | None:
        """(distance, index of the nearest training image) in the bank's feature space, or None
        when no bank is installed (see `novelty_note`)."""
        if self.novelty_meter is None:
            return None
        distances, indices = self.novelty_meter(image)
        return float(distances[0]), int(indices[0])

    def describe_novelty(self, image: Image.Image) -> str:
        """The novelty figure of `image` as a sentence (Markdown), or why it is unavailable."""
        found = self.novelty(image)
        if found is None:
            return f"**Novelty:** unavailable. {self.novelty_note.rstrip('.')}."
        return self.novelty_meter.describe(*found)

    def __call__(self, alpha: float = 0.5, everyday_seed: int = 0, futuristic_seed: int = 0, refine_steps: int = 0,
                 frames: int = 0, generator: torch.Generator | None = None) -> FuturisticBlendOutput:
        """An everyday and a futuristic car sampled as the tab does (by their seeds, or both
        codes drawn in turn from `generator`), their blend at `alpha`, a strip of `frames`
        frames (0: none) and the blend's novelty."""
        alpha = self.check_alpha(alpha)
        frames = 0 if frames == 0 else self.check_frames(frames)
        everyday = self.car_from_seed(EVERYDAY, everyday_seed, refine_steps, generator)
        futuristic = self.car_from_seed(FUTURISTIC, futuristic_seed, refine_steps, generator)
        blend = self.blend(everyday.code, futuristic.code, alpha)
        strip = self.strip(everyday.code, futuristic.code, frames) if frames else []
        return FuturisticBlendOutput(everyday, futuristic, alpha, blend, strip, self.novelty(blend))
