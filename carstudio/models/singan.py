"""SinGAN: a pyramid of fully convolutional generator/discriminator pairs trained on one image.

Scale 0 is the coarsest. Each scale's generator refines the upsampled output of the scale
below: x_n = G_n(z_n * amp_n + up(x_{n-1})) + up(x_{n-1}) (Shaham et al., 2019).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .layers import ConvNormLReLU


def pyramid_sizes(
    height: int, width: int, scale_factor: float = 0.75, min_size: int = 25, max_size: int = 250
) -> list[tuple[int, int]]:
    """(H, W) of every scale, coarsest first, as in the paper: the finest side is capped at
    `max_size`, the coarsest short side is `min_size`, and the factor is adjusted so the number
    of scales is whole."""
    if not 0.0 < scale_factor < 1.0:
        raise ValueError(f"scale_factor must lie in (0, 1), got {scale_factor}")
    shrink = min(1.0, max_size / max(height, width))
    height, width = round(height * shrink), round(width * shrink)
    short = min(height, width)
    if short <= min_size:
        return [(height, width)]
    num_scales = math.ceil(math.log(min_size / short) / math.log(scale_factor)) + 1
    factor = (min_size / short) ** (1.0 / (num_scales - 1))
    return [
        (round(height * factor ** (num_scales - 1 - n)), round(width * factor ** (num_scales - 1 - n)))
        for n in range(num_scales)
    ]


def scale_channels(scale: int, nfc: int, max_nfc: int, double_every: int) -> int:
    """Width of scale `scale`: the paper's code doubles nfc every 4 scales up to 128."""
    if double_every <= 0:
        return nfc
    return min(nfc * 2 ** (scale // double_every), max_nfc)


def conv_body(channels: int, kernel_size: int, num_layers: int, image_channels: int = 3) -> nn.Sequential:
    """Head and body of a scale's network: num_layers - 1 conv-norm-LReLU blocks (the tail
    conv is the num_layers-th layer)."""
    layers = [ConvNormLReLU(image_channels, channels, kernel_size)]
    layers += [ConvNormLReLU(channels, channels, kernel_size) for _ in range(num_layers - 2)]
    return nn.Sequential(*layers)


class ScaleGenerator(nn.Module):
    """One scale: head, body and a tanh tail that predicts a residual over the upsampled input."""

    def __init__(self, channels: int, kernel_size: int, num_layers: int, image_channels: int = 3):
        super().__init__()
        self.body = conv_body(channels, kernel_size, num_layers, image_channels)
        self.tail = nn.Conv2d(channels, image_channels, kernel_size, padding="same")

    def forward(self, noisy: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.tail(self.body(noisy))) + prev


class ScaleDiscriminator(nn.Module):
    """One scale's patch critic: no fully connected layer, one output map of `out_channels`
    (1 for WGAN-GP scores; N_embed for the Sinkhorn variant's patch embeddings)."""

    def __init__(self, channels: int, kernel_size: int, num_layers: int, out_channels: int = 1):
        super().__init__()
        self.body = conv_body(channels, kernel_size, num_layers)
        self.tail = nn.Conv2d(channels, out_channels, kernel_size, padding="same")

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(image))


def upsample_to(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def resize_image(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize with antialiasing when shrinking, so downsampled reals are not aliased."""
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(-1, 1)


class SinGANGenerator(ModelMixin, ConfigMixin):
    """The generator pyramid of one trained image, with what sampling needs: the per-scale noise
    amplitudes, the fixed reconstruction noise and the training image itself (for the palette
    and for showing the user what the model was trained on)."""

    @register_to_config
    def __init__(
        self,
        scale_sizes: list[list[int]] = ((25, 40), (33, 53)),
        nfc: int = 32,
        max_nfc: int = 128,
        nfc_double_every: int = 4,
        kernel_size: int = 3,
        num_layers: int = 5,
    ):
        super().__init__()
        self.generators = nn.ModuleList(
            ScaleGenerator(scale_channels(n, nfc, max_nfc, nfc_double_every), kernel_size, num_layers)
            for n in range(len(scale_sizes))
        )
        coarse_h, coarse_w = scale_sizes[0]
        fine_h, fine_w = scale_sizes[-1]
        self.register_buffer("noise_amps", torch.ones(len(scale_sizes)))
        self.register_buffer("z_rec", torch.zeros(1, 3, coarse_h, coarse_w))
        self.register_buffer("reference", torch.zeros(1, 3, fine_h, fine_w))

    @property
    def sizes(self) -> list[tuple[int, int]]:
        return [tuple(s) for s in self.config.scale_sizes]

    @property
    def num_scales(self) -> int:
        return len(self.config.scale_sizes)

    def scale_step(
        self, scale: int, prev: torch.Tensor, noise: torch.Tensor | None
    ) -> torch.Tensor:
        """Run generator `scale` on `prev` (already at this scale's size) plus scaled noise."""
        noisy = prev if noise is None else prev + self.noise_amps[scale] * noise
        return self.generators[scale](noisy, prev)

    def reconstruct(self, up_to: int | None = None) -> list[torch.Tensor]:
        """Outputs of every scale for the fixed reconstruction noise (zero noise above scale 0);
        the last one approximates the training image."""
        last = self.num_scales - 1 if up_to is None else up_to
        outputs = []
        x = torch.zeros_like(self.z_rec)
        for n in range(last + 1):
            size = self.sizes[n]
            prev = upsample_to(x, size) if n else x
            x = self.scale_step(n, prev, self.z_rec if n == 0 else None)
            outputs.append(x)
        return outputs

    def forward(
        self,
        batch_size: int = 1,
        generator: torch.Generator | None = None,
        start_scale: int = 0,
        start_image: torch.Tensor | None = None,
        size_multiplier: tuple[float, float] = (1.0, 1.0),
    ) -> torch.Tensor:
        """Sample images in [-1, 1].

        start_scale 0: random samples from noise. start_scale n > 0 with `start_image`
        (a painting, or the reference for the paper's gen_start_scale variations): the image is
        brought to scale n-1, upsampled to scale n (as the paper's paint2image does, so only
        coarse structure is kept) and the scales n.. add detail. `size_multiplier` stretches
        the noise maps (and the start image) for other output sizes.
        """
        if not 0 <= start_scale < self.num_scales:
            raise ValueError(f"start_scale must lie in [0, {self.num_scales - 1}], got {start_scale}")
        if start_scale > 0 and start_image is None:
            raise ValueError("start_scale > 0 needs a start_image")
        sizes = [(max(1, round(h * size_multiplier[0])), max(1, round(w * size_multiplier[1]))) for h, w in self.sizes]
        device, dtype = self.noise_amps.device, self.noise_amps.dtype

        def noise(n: int) -> torch.Tensor:
            shape = (batch_size, 3, *sizes[n])
            return torch.randn(shape, generator=generator, device=device, dtype=dtype)

        if start_scale == 0:
            x = self.scale_step(0, torch.zeros(batch_size, 3, *sizes[0], device=device, dtype=dtype), noise(0))
            first = 1
        else:
            image = start_image.to(device=device, dtype=dtype).expand(batch_size, -1, -1, -1)
            x = resize_image(image, sizes[start_scale - 1])
            first = start_scale
        for n in range(first, self.num_scales):
            x = self.scale_step(n, upsample_to(x, sizes[n]), noise(n))
        return x


class SinGANDiscriminator(ModelMixin, ConfigMixin):
    """The critics of every scale (training only; kept in resume state, not shipped)."""

    @register_to_config
    def __init__(
        self,
        num_scales: int = 2,
        nfc: int = 32,
        max_nfc: int = 128,
        nfc_double_every: int = 4,
        kernel_size: int = 3,
        num_layers: int = 5,
        out_channels: int = 1,
    ):
        super().__init__()
        self.critics = nn.ModuleList(
            ScaleDiscriminator(
                scale_channels(n, nfc, max_nfc, nfc_double_every), kernel_size, num_layers, out_channels
            )
            for n in range(num_scales)
        )

    def forward(self, image: torch.Tensor, scale: int) -> torch.Tensor:
        return self.critics[scale](image)
