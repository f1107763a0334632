"""StyleGAN2 (Karras et al., 2020) generator and residual discriminator, sized for 64 px on a CPU.

Issue 7's first stage (seed 003): an unconditional GAN that draws car *part layouts*, later
textured by a SPADE renderer; the same networks on RGB renders are the seed's one-stage baseline.

Generator: z -> pixel norm -> mapping MLP (equalized lr, lr multiplier 0.01) -> w, with a
tracked average w_avg for truncation. Synthesis starts from a learned 4x4 constant; every
resolution has modulated/demodulated 3x3 convs (the first one of each block after 4x4 upsamples)
with per-pixel noise scaled by a learned per-channel strength, bias and leaky ReLU, and a styled
1x1 `to_out` whose outputs are summed over resolutions (skip architecture, upsampled
bilinearly). `out_channels` is NUM_PARTS logits for layouts (output "labels") or 3 for images
(output "image", unbounded around [-1, 1] as in StyleGAN2).

Styles: there are num_ws = 2 * log2(resolution / 4) + 2 w's, one per modulated conv in order and
one for the last to_out; the to_out of a resolution shares the w of the next conv (as in
StyleGAN2). Style mixing takes the second code's w from layer `mix_layer` on.

Discriminator: residual (StyleGAN2's 'resnet' D): a 1x1 input conv, per resolution two 3x3 convs
(the second after 2x average pooling) plus a pooled 1x1 skip, (x + skip) / sqrt(2); at 4x4
minibatch stddev, a 3x3 conv, a dense layer and the score. `widths` for both networks are one per
resolution from 4x4 up, e.g. 64 px: (256, 192, 128, 64, 32) (4, 8, 16, 32, 64).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from carstudio.data.parts import NUM_PARTS, snap_colors

from .layers import (
    EqualizedConv2d,
    EqualizedLinear,
    ModulatedConv2d,
    lrelu_gain,
    minibatch_stddev,
)
from .sngan import num_resamplings

OUTPUTS = ("labels", "image")
NOISE_MODES = ("random", "const", "none")


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x / sqrt(mean(x^2)) over the feature dimension: every code gets the same length."""
    return x * (x.square().mean(1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z (N, z_dim) -> w (N, w_dim): pixel norm, then `layers` equalized-lr dense layers with leaky
    ReLU and a learning-rate multiplier (StyleGAN: 0.01)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_mul: float = 0.01):
        super().__init__()
        dims = [z_dim] + [w_dim] * layers
        self.net = nn.Sequential(*(EqualizedLinear(a, b, lr_mul=lr_mul, activation="lrelu")
                                   for a, b in zip(dims[:-1], dims[1:])))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_norm(z))


class StyledLayer(nn.Module):
    """Modulated 3x3 conv -> + noise * per-channel strength -> + bias -> gained leaky ReLU.
    Holds a fixed noise map (`noise_const`, drawn at init) for noise_mode 'const'."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(out_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.resolution = resolution
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        x = self.conv(x, w)
        if noise is not None:
            x = x + noise.to(x) * self.noise_strength[None, :, None, None]
        return lrelu_gain(x + self.bias[None, :, None, None])


class ToOut(nn.Module):
    """Styled 1x1 conv without demodulation, plus bias: features -> output channels."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> (N, out_channels, R, R). `layers[0]` runs at 4x4; then two per
    resolution (the first upsamples); `to_out[i]` after the last layer of resolution 4 * 2^i."""

    def __init__(self, resolution: int, w_dim: int, widths: tuple[int, ...], out_channels: int):
        super().__init__()
        steps = num_resamplings(resolution, widths)
        self.const = nn.Parameter(torch.randn(widths[0], 4, 4))
        layers, to_out = [StyledLayer(widths[0], widths[0], w_dim, 4)], [ToOut(widths[0], out_channels, w_dim)]
        for i in range(1, steps + 1):
            size = 4 * 2 ** i
            layers += [StyledLayer(widths[i - 1], widths[i], w_dim, size, up=True),
                       StyledLayer(widths[i], widths[i], w_dim, size)]
            to_out.append(ToOut(widths[i], out_channels, w_dim))
        self.layers, self.to_out = nn.ModuleList(layers), nn.ModuleList(to_out)
        self.num_ws = len(layers) + 1

    def noise_shapes(self, n: int) -> list[tuple[int, int, int, int]]:
        return [(n, 1, layer.resolution, layer.resolution) for layer in self.layers]

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor | None]) -> torch.Tensor:
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        out = None
        for i, (layer, layer_noise) in enumerate(zip(self.layers, noise)):
            x = layer(x, ws[:, i], layer_noise)
            if i % 2 == 0:  # the last layer of a resolution: 4x4 (i = 0), then every second one
                skip = self.to_out[i // 2](x, ws[:, i + 1])
                out = skip if out is None else skip + F.interpolate(
                    out, scale_factor=2.0, mode="bilinear", align_corners=False)
        return out


class StyleGANGenerator(ModelMixin, ConfigMixin):
    """z (N, z_dim) -> part logits (N, out_channels, R, R) (output 'labels') or an image
    (N, 3, R, R) (output 'image'). `label_maps` turns either into (N, R, R) part ids."""

    @register_to_config
    def __init__(self, resolution: int = 64, z_dim: int = 128, w_dim: int = 128, mapping_layers: int = 4,
                 widths: tuple[int, ...] = (256, 192, 128, 64, 32), out_channels: int = NUM_PARTS,
                 output: str = "labels", mapping_lr_mul: float = 0.01, w_avg_beta: float = 0.995):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if output == "image" and out_channels != 3:
            raise ValueError(f"output 'image' needs out_channels 3, got {out_channels}")
        if output == "labels" and out_channels < 2:
            raise ValueError(f"output 'labels' needs at least 2 classes, got {out_channels}")
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul)
        self.synthesis = SynthesisNetwork(resolution, w_dim, tuple(int(w) for w in widths), out_channels)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    @property
    def num_ws(self) -> int:
        return self.synthesis.num_ws

    def sample_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal codes (drawn on the CPU, moved to the model's device)."""
        return torch.randn(n, self.config.z_dim, generator=generator).to(self.device)

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """w_avg + psi * (w - w_avg): psi 1 leaves w, 0 gives the average (mean) style."""
        return w if psi == 1 else self.w_avg.to(w).lerp(w, psi)

    def styles(self, z: torch.Tensor, psi: float = 1.0, mix_z: torch.Tensor | None = None,
               mix_layer: int | None = None) -> torch.Tensor:
        """-> ws (N, num_ws, w_dim). In training mode w_avg follows the batch mean of w (EMA)."""
        w = self.mapping(z)
        if self.training and self.config.w_avg_beta < 1:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().mean(0).lerp(self.w_avg, self.config.w_avg_beta))
        ws = self.truncate(w, psi)[:, None].repeat(1, self.num_ws, 1)
        if mix_z is not None:
            if mix_layer is None or not 0 <= mix_layer <= self.num_ws:
                raise ValueError(f"style mixing needs mix_layer in 0..{self.num_ws}, got {mix_layer}")
            ws[:, mix_layer:] = self.truncate(self.mapping(mix_z), psi)[:, None]
        return ws

    def make_noise(self, n: int, noise_mode: str = "random",
                   generator: torch.Generator | None = None) -> list[torch.Tensor | None]:
        """Per-layer noise: 'random' N(0, 1) maps (from `generator` when given, drawn on the CPU
        so a seed gives the same maps on any device), 'const' the maps fixed at init, 'none'."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if noise_mode == "none":
            return [None] * len(self.synthesis.layers)
        if noise_mode == "const":
            return [layer.noise_const.expand(n, -1, -1, -1) for layer in self.synthesis.layers]
        return [torch.randn(shape, generator=generator).to(self.device) for shape in self.synthesis.noise_shapes(n)]

    def forward(self, z: torch.Tensor, psi: float = 1.0, mix_z: torch.Tensor | None = None,
                mix_layer: int | None = None, noise_generator: torch.Generator | None = None,
                noise: list[torch.Tensor | None] | None = None, noise_mode: str = "random") -> torch.Tensor:
        """Truncation psi, style mixing (mix_z's styles from layer `mix_layer` on; 0: all of them),
        noise given per layer (`noise`, see `synthesis.noise_shapes`) or made by `make_noise`."""
        ws = self.styles(z, psi, mix_z, mix_layer)
        if noise is None:
            noise = self.make_noise(z.shape[0], noise_mode, noise_generator)
        return self.synthesis(ws, noise)

    def label_maps(self, output: torch.Tensor) -> torch.Tensor:
        """Generator output -> (N, R, R) int64 part ids: the argmax of the logits for layouts; for
        colour images, each pixel snapped to the nearest part colour (`snap_colors`; seed 003's
        "conversion of each pixel to the closest segmentation colour")."""
        if self.config.output == "labels":
            return output.argmax(1)
        pixels = ((output.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        ids = [snap_colors(p.permute(1, 2, 0).cpu().numpy())[0] for p in pixels]
        return torch.from_numpy(np.stack(ids)).to(output.device)


class DBlock(nn.Module):
    """Residual block: 3x3 conv, pool + 3x3 conv (to cout), plus a pooled 1x1 skip; / sqrt(2)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(cin, cin, 3, activation="lrelu")
        self.conv1 = EqualizedConv2d(cin, cout, 3, activation="lrelu", down=True)
        self.skip = EqualizedConv2d(cin, cout, 1, bias=False, down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.skip(x) + self.conv1(self.conv0(x))) * 0.5 ** 0.5


class StyleGANDiscriminator(ModelMixin, ConfigMixin):
    """(N, in_channels, R, R) -> one unbounded score per sample. in_channels: NUM_PARTS one-hot or
    soft part maps, or 3 for images. N must be a multiple of the minibatch-stddev group (or
    smaller than it); score reals and fakes in separate calls."""

    @register_to_config
    def __init__(self, resolution: int = 64, widths: tuple[int, ...] = (256, 192, 128, 64, 32),
                 in_channels: int = NUM_PARTS, mbstd_group_size: int = 4, mbstd_channels: int = 1):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        steps = num_resamplings(resolution, widths)
        self.from_input = EqualizedConv2d(in_channels, widths[-1], 1, activation="lrelu")
        self.blocks = nn.ModuleList(DBlock(widths[i], widths[i - 1]) for i in range(steps, 0, -1))
        self.conv = EqualizedConv2d(widths[0] + mbstd_channels, widths[0], 3, activation="lrelu")
        self.dense = EqualizedLinear(widths[0] * 16, widths[0], activation="lrelu")
        self.score = EqualizedLinear(widths[0], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.from_input(x)
        for block in self.blocks:
            x = block(x)
        x = minibatch_stddev(x, self.config.mbstd_group_size, self.config.mbstd_channels)
        return self.score(self.dense(self.conv(x).flatten(1))).squeeze(1)
