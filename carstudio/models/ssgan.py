"""SSGAN (seed 004): semantic sketch mask -> car image through SPADE layers and the Semantic
Fusion Module, the plain SPADE/GauGAN baseline (also the layout tab's renderer), SPADE's style
encoder (the VAE option: an image -> the mean and log-variance of its z), and GauGAN's multiscale
PatchGAN discriminator.

The sketch segmentation stage (sketch -> K-class mask M0, section 3.2) is the project's
`PartSegmenter` built with `in_channels=1`: a U-Net that takes any number of input channels, so
no second network family is needed.

Shared layout of both generators (widths and resolution from the config): z -> linear ->
widths[0] x s x s with s = resolution / 2**(len(widths) - 1); then one SPADEResBlock per entry
of `widths`, each but the last followed by a 2x nearest upsampling; then LReLU -> 3x3 conv ->
tanh to RGB in [-1, 1].

Reading of the SFM equations (3.3), in the notation of the seed:
- M0: the semantic sketch, one-hot (or soft) over C = NUM_PARTS classes, resized to the stage.
- M_f: "the foreground segmentation of the sketch, kept the same shape as M0 by padding 0": M0
  with its background channel set to zero.
- m_i = ToMask(x_i) = sigmoid(conv3x3(x_i)), C channels (eq. 2).
- F1: one small conv network (3x3 conv -> ReLU -> 3x3 conv) that encodes a C-channel label map
  into `sfm_channels` features. Its weights are shared by all three maps it encodes, which is
  what lets eq. 4 write the same F1 for M_f and for (M0, m_i).
- P_mean(F1(M0, m_i)): mean pooling over the pair of encodings, (F1(M0) + F1(m_i)) / 2 -- an
  elementwise average that keeps the sketch's layout (including its background) and the
  generator's own hallucinated mask on an equal footing; the seed prefers it to max pooling
  because it "preserves background information better".
- ⊕: elementwise addition. So f0 = F1(M_f) + (F1(M0) + F1(m_i)) / 2 (eq. 4) and
  f = f0 + F2(f0) (eq. 5), F2 another conv network of the same shape, i.e. a residual block.
  f (sfm_channels channels) is what conditions the next SPADE layer (eq. 3: M_i = SFM(m_i, M0));
  the first SPADE layer sees M0 itself. Each stage has its own ToMask and SFM weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from carstudio.data.palette import draw_palettes, paint
from carstudio.data.parts import BACKGROUND, NUM_PARTS

from .layers import SPADEResBlock, binomial_blur, corrected_in_tanh_space, maybe_spectral_norm


def foreground(masks: torch.Tensor) -> torch.Tensor:
    """M_f: the masks with the background channel zeroed (same shape as M0)."""
    keep = torch.ones(masks.shape[1], dtype=masks.dtype, device=masks.device)
    keep[BACKGROUND] = 0
    return masks * keep.view(1, -1, 1, 1)


def one_hot_masks(parts: torch.Tensor, num_classes: int = NUM_PARTS) -> torch.Tensor:
    """(B, H, W) integer part ids -> (B, num_classes, H, W) float one-hot masks."""
    return F.one_hot(parts.long(), num_classes).permute(0, 3, 1, 2).float()


def _encoder(in_channels: int, channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(channels, channels, 3, padding=1))


class ToMask(nn.Sequential):
    """Eq. 2: conv + sigmoid, features -> C soft masks in [0, 1]."""

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__(nn.Conv2d(in_channels, num_classes, 3, padding=1), nn.Sigmoid())


class SemanticFusionModule(nn.Module):
    """Eqs. 4-5 (see the module docstring): f0 = F1(M_f) + mean(F1(M0), F1(m)), f = f0 + F2(f0)."""

    def __init__(self, num_classes: int, channels: int):
        super().__init__()
        self.f1 = _encoder(num_classes, channels)
        self.f2 = _encoder(channels, channels)

    def fuse(self, mask: torch.Tensor, sketch_masks: torch.Tensor) -> torch.Tensor:
        """f0 of eq. 4, at the size of `mask` (m_i); M0 is resized to it (nearest)."""
        m0 = F.interpolate(sketch_masks.to(mask), size=mask.shape[-2:], mode="nearest")
        pooled = (self.f1(m0) + self.f1(mask)) / 2
        return self.f1(foreground(m0)) + pooled

    def forward(self, mask: torch.Tensor, sketch_masks: torch.Tensor) -> torch.Tensor:
        f0 = self.fuse(mask, sketch_masks)
        return f0 + self.f2(f0)


class _SPADETrunk(nn.Module):
    """z -> linear -> SPADE residual blocks with upsampling -> RGB. `label_channels[i]` is the
    channel count of the map conditioning block i."""

    def __init__(self, z_dim: int, widths: tuple[int, ...], resolution: int, label_channels: list[int],
                 spade_hidden: int, spectral: bool, paint_residual: bool = False):
        super().__init__()
        ups = len(widths) - 1
        if resolution % 2**ups:
            raise ValueError(f"resolution {resolution} is not divisible by 2**{ups} (len(widths) - 1 upsamplings)")
        self.start = resolution // 2**ups
        self.fc = nn.Linear(z_dim, widths[0] * self.start**2)
        self.blocks = nn.ModuleList(
            SPADEResBlock(c_in, c_out, labels, spectral=spectral, hidden=spade_hidden)
            for c_in, c_out, labels in zip((widths[0], *widths[:-1]), widths, label_channels)
        )
        self.to_rgb = nn.Conv2d(widths[-1], 3, 3, padding=1)
        if paint_residual:  # start exactly at the paint; training adds shading from there
            nn.init.zeros_(self.to_rgb.weight)
            nn.init.zeros_(self.to_rgb.bias)

    def stem(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc(z).view(z.shape[0], -1, self.start, self.start)

    def rgb(self, x: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        """RGB in [-1, 1]; with `base` (the paint) the conv predicts a correction in tanh's
        pre-activation space, so G starts from the flat paint and learns shading and detail."""
        out = self.to_rgb(F.leaky_relu(x, 0.2))
        return torch.tanh(out) if base is None else corrected_in_tanh_space(base, out)


def _latent(model: nn.Module, masks: torch.Tensor, z: torch.Tensor | None, generator: torch.Generator | None,
            z_dim: int) -> torch.Tensor:
    if z is not None:
        return z.to(masks)
    device = masks.device if generator is None else generator.device
    return torch.randn(masks.shape[0], z_dim, generator=generator, device=device).to(masks)


class PaletteStyle(nn.Module):
    """The palette style of issue 19: one colour per part class, painted through the masks and
    given to every SPADE layer beside its label map, so colour is an input rather than something
    z must encode. Holds the bank of training palettes (K, C, 3) that style seeds draw from
    (a persistent buffer, filled by the trainer and saved with the weights)."""

    def __init__(self, num_classes: int, bank_size: int):
        super().__init__()
        self.register_buffer("bank", torch.zeros(bank_size, num_classes, 3))

    def draw(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return draw_palettes(self.bank, count, generator)

    def paint(self, masks: torch.Tensor, palettes: torch.Tensor | None, generator: torch.Generator | None,
              size: int) -> torch.Tensor:
        """(B, 3, size, size) paint of the masks (full resolution) with the palettes (drawn from
        the bank with `generator` when None)."""
        if palettes is None:
            palettes = self.draw(masks.shape[0], generator)
        if palettes.shape != (masks.shape[0], masks.shape[1], 3):
            raise ValueError(f"palettes must be (B, {masks.shape[1]}, 3) for masks {tuple(masks.shape)}, "
                             f"got {tuple(palettes.shape)}")
        masks = F.interpolate(masks, size=(size, size), mode="nearest") if masks.shape[-1] != size else masks
        return paint(masks, palettes.to(masks))


def _with_paint(condition: torch.Tensor, painted: torch.Tensor | None, size: int) -> torch.Tensor:
    """A SPADE block's modulation input at its resolution `size`: the label map (nearest) and,
    for palette models, the paint beside it (area-averaged, so part borders stay soft when small)."""
    if condition.shape[-1] != size:
        condition = F.interpolate(condition, size=(size, size), mode="nearest")
    if painted is None:
        return condition
    if painted.shape[-1] != size:
        painted = F.interpolate(painted, size=(size, size), mode="area")
    return torch.cat([condition, painted], 1)


def _check_paint_residual(palette_bank: int, paint_residual: bool) -> None:
    if paint_residual and not palette_bank:
        raise ValueError("paint_residual needs a palette model (palette_bank > 0): there is no paint to start from")


def _paint_or_none(model: nn.Module, masks: torch.Tensor, palettes: torch.Tensor | None,
                   generator: torch.Generator | None) -> torch.Tensor | None:
    """The full-resolution paint of a palette model; None for the seed's models (which refuse
    palettes rather than ignore them)."""
    if model.palette is None:
        if palettes is not None:
            raise ValueError("this generator is not palette-conditioned (palette_bank 0): it takes no palettes")
        return None
    return model.palette.paint(masks, palettes, generator, model.config.resolution)


class SSGANGenerator(ModelMixin, ConfigMixin):
    """forward(masks M0 (B, C, H, W), z=None, generator=None, palettes=None) -> (image (B, 3, R, R)
    in [-1, 1], [m_1, ..., m_{n-1}] the ToMask outputs, coarsest first). z (B, z_dim) controls the
    style. With `palette_bank > 0` the model is palette-conditioned (issue 19): every SPADE layer
    sees its label map (M0 for the first, SFM features after) plus the paint, M0 painted with
    `palettes` (B, C, 3) in [-1, 1] (drawn from the stored bank with `generator` when None); z
    then adds detail and variation. 0 keeps the seed's model (the shipped 64-px one).
    `paint_residual` (palette models): the RGB head adds to the paint (in tanh's pre-activation
    space) instead of drawing from nothing, so G starts at the flat paint and learns shading."""

    @register_to_config
    def __init__(
        self,
        num_classes: int = NUM_PARTS,
        z_dim: int = 64,
        widths: tuple[int, ...] = (256, 128, 64, 32),
        resolution: int = 64,
        sfm_channels: int = 32,
        spade_hidden: int = 64,
        spectral_norm: bool = True,
        palette_bank: int = 0,
        paint_residual: bool = False,
    ):
        super().__init__()
        widths = tuple(widths)
        _check_paint_residual(palette_bank, paint_residual)
        extra = 3 if palette_bank else 0
        labels = [num_classes + extra] + [sfm_channels + extra] * (len(widths) - 1)
        self.trunk = _SPADETrunk(z_dim, widths, resolution, labels, spade_hidden, spectral_norm, paint_residual)
        self.to_masks = nn.ModuleList(ToMask(w, num_classes) for w in widths[:-1])
        self.sfms = nn.ModuleList(SemanticFusionModule(num_classes, sfm_channels) for _ in widths[:-1])
        self.palette = PaletteStyle(num_classes, palette_bank) if palette_bank else None

    def forward(self, masks: torch.Tensor, z: torch.Tensor | None = None, generator: torch.Generator | None = None,
                palettes: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.trunk.stem(_latent(self, masks, z, generator, self.config.z_dim))
        painted = _paint_or_none(self, masks, palettes, generator)
        condition, intermediate = masks, []
        for i, block in enumerate(self.trunk.blocks):
            x = block(x, condition if painted is None else _with_paint(condition, painted, x.shape[-1]))
            if i < len(self.to_masks):
                m = self.to_masks[i](x)
                intermediate.append(m)
                condition = self.sfms[i](m, masks)
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.trunk.rgb(x, painted if self.config.paint_residual else None), intermediate


class SPADEGenerator(ModelMixin, ConfigMixin):
    """The GauGAN baseline (seed 004, Table 1: GauGAN on semantic sketches): the same trunk and
    widths, every SPADE block conditioned on M0 itself. forward returns (image, []) so trainers
    and pipelines treat both generators alike."""

    @register_to_config
    def __init__(
        self,
        num_classes: int = NUM_PARTS,
        z_dim: int = 64,
        widths: tuple[int, ...] = (256, 128, 64, 32),
        resolution: int = 64,
        spade_hidden: int = 64,
        spectral_norm: bool = True,
        palette_bank: int = 0,
        paint_residual: bool = False,
    ):
        super().__init__()
        widths = tuple(widths)
        _check_paint_residual(palette_bank, paint_residual)
        labels = [num_classes + (3 if palette_bank else 0)] * len(widths)
        self.trunk = _SPADETrunk(z_dim, widths, resolution, labels, spade_hidden, spectral_norm, paint_residual)
        self.palette = PaletteStyle(num_classes, palette_bank) if palette_bank else None

    def forward(self, masks: torch.Tensor, z: torch.Tensor | None = None, generator: torch.Generator | None = None,
                palettes: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """As SSGANGenerator.forward (palette models: the paint beside M0 in every block)."""
        x = self.trunk.stem(_latent(self, masks, z, generator, self.config.z_dim))
        painted = _paint_or_none(self, masks, palettes, generator)
        for i, block in enumerate(self.trunk.blocks):
            x = block(x, masks if painted is None else _with_paint(masks, painted, x.shape[-1]))
            if i < len(self.trunk.blocks) - 1:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.trunk.rgb(x, painted if self.config.paint_residual else None), []


class StyleEncoder(ModelMixin, ConfigMixin):
    """SPADE's ConvEncoder for multimodal synthesis (`--use_vae`): stride-2 3x3 convs with
    instance norm and LReLU down to 4x4, then two linear heads for mu and log-variance of a
    z_dim Gaussian. Training samples z = mu + sigma * eps and adds a KL term (weight 0.05 in
    SPADE); at inference z comes from N(0, I) (a style seed) or from encoding a car whose style
    is wanted."""

    @register_to_config
    def __init__(self, z_dim: int = 64, widths: tuple[int, ...] = (32, 64, 128, 128), resolution: int = 64):
        super().__init__()
        widths = tuple(widths)
        if resolution != 4 * 2 ** len(widths):
            raise ValueError(f"{len(widths)} stride-2 convs take {4 * 2 ** len(widths)} px to 4x4, not {resolution}")
        layers, cin = [], 3
        for w in widths:
            layers += [nn.Conv2d(cin, w, 3, stride=2, padding=1), nn.InstanceNorm2d(w, affine=True), nn.LeakyReLU(0.2)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.mu = nn.Linear(cin * 16, z_dim)
        self.logvar = nn.Linear(cin * 16, z_dim)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(images).flatten(1)
        return self.mu(h), self.logvar(h)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    eps = torch.randn(mu.shape, generator=generator, device=mu.device if generator is None else generator.device)
    return mu + eps.to(mu) * torch.exp(0.5 * logvar)


class PatchDiscriminator(nn.Module):
    """pix2pixHD/GauGAN PatchGAN: 4x4 convs, stride 2 except the last two, spectral norm,
    instance norm after the first, LReLU(0.2). Returns every layer's output; the last is the
    (B, 1, h, w) score map. `blur`: a fixed [1, 2, 1] binomial blur before each stride-2 conv
    (anti-aliased downsampling, as StyleGAN2's D and Zhang 2019), so D's gradient to G is not
    periodic with the stride, which G can turn into a plaid texture; no parameters are added, so
    weights load either way."""

    def __init__(self, in_channels: int, widths: tuple[int, ...], spectral: bool, blur: bool = False):
        super().__init__()
        layers, c_in = [], in_channels
        for i, c_out in enumerate(widths):
            stride = 2 if i < len(widths) - 1 else 1
            conv = maybe_spectral_norm(nn.Conv2d(c_in, c_out, 4, stride, padding=2), spectral)
            norm = nn.InstanceNorm2d(c_out) if i else nn.Identity()
            layers.append(nn.Sequential(conv, norm, nn.LeakyReLU(0.2)))
            c_in = c_out
        layers.append(nn.Sequential(nn.Conv2d(c_in, 1, 4, 1, padding=2)))
        self.layers = nn.ModuleList(layers)
        self.blur_before = [blur and i < len(widths) - 1 for i in range(len(layers))]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for layer, blur in zip(self.layers, self.blur_before):
            x = layer(binomial_blur(x) if blur else x)
            features.append(x)
        return features


class MultiscaleDiscriminator(ModelMixin, ConfigMixin):
    """GauGAN's D(x, s): `num_scales` PatchGANs on (image, masks) concatenated, each next one on
    a 2x average-pooled copy. forward -> per scale (finest first) the list of intermediate
    features, the last of which is the score map (for the hinge loss; the others feed feature
    matching)."""

    @register_to_config
    def __init__(
        self,
        num_classes: int = NUM_PARTS,
        image_channels: int = 3,
        widths: tuple[int, ...] = (64, 128, 256),
        num_scales: int = 2,
        spectral_norm: bool = True,
        blur_downsample: bool = False,
    ):
        super().__init__()
        self.scales = nn.ModuleList(
            PatchDiscriminator(image_channels + num_classes, tuple(widths), spectral_norm, blur_downsample)
            for _ in range(num_scales)
        )

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> list[list[torch.Tensor]]:
        x = torch.cat([images, F.interpolate(masks.to(images), size=images.shape[-2:], mode="nearest")], 1)
        outputs = []
        for i, scale in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(scale(x))
        return outputs
