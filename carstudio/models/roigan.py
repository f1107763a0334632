"""RoI-GAN (seed 002, chapter 3): region inpainting with InfoGAN control codes.

G(z | x, RoI) fills the region of interest of a real image x; the completed image (eq. 3.9) is
x_c = RoI * x_g + (1 - RoI) * x. z = (z0, c): incompressible noise z0 ~ N(0, I), continuous
control codes c0 ~ U(-1, 1) (the sliders, section 4.3) and one categorical code c1 (uniform,
one-hot; the dropdown). The region masks come from the RoI-block, `carstudio.data.roi`.

Generator (sections 3.3-3.5, figure 3.5), a U-Net:
- input: the image with the region erased, x * (1 - RoI), and the RoI itself (4 channels);
  with `prefill` (not the thesis) the region holds `coarse_fill` instead of zeros (see there);
  with `fill_residual` (not the thesis; needs `prefill`, no output norm) the RGB head corrects
  that pre-fill in tanh's pre-activation space, zero-initialised, so G starts at the smooth
  pre-fill (no speckle) and learns shading and structure on top of it, as issue 19's
  `paint_residual` does for SPADE;
- encoder: `len(encoder_widths)` gated convolutions (eq. 2.11) of stride 2, each followed by
  instance norm (affine) and LeakyReLU(0.2), so R -> R/2 -> ... -> s = R / 2**L;
- its last layer (a 3x3 conv) gives mu and log sigma^2 as (style_channels, s, s) maps, read as
  vectors of w_dim = style_channels * s * s numbers via pixel *un*shuffle (the "global style");
- z goes through `mapping_layers` dense layers (LeakyReLU between them, the last linear) to
  h (w_dim), and w = sigma * h + mu (sigma = exp(log sigma^2 / 2)) -- the VAE reading of
  "outputs of the encoder as scaling factors mu and sigma for the input random value"; the KL of
  N(mu, sigma^2) to N(0, I) is the VAE loss;
- w is pixel-shuffled to a (style_channels, s, s) map and joins the encoder's s x s features;
- decoder: one upsample block per level (section 3.4, figure 3.4) with U-Net skips (the encoder
  feature of the block's output size; at full size the 4-channel input), LeakyReLU(0.2) between;
- output: 3x3 conv to RGB -> instance norm (affine; `output_norm`, as the thesis does) -> tanh.

Upsample block (section 3.4), C_in -> C_out, size s -> 2s:
  left  = LReLU(conv(Denorm_w(x, RoI)))        generates inside the RoI, controlled by w
  right = LReLU(conv(Denorm(x, 1 - RoI)))      restores outside the RoI, no control
  out   = conv(Denorm_w(up2(cat(left, right)), RoI))     nearest 2x upsampling
The branches work at the input size and the merged map is upsampled before the final
denormalization and conv: "only the up-sample layer doubles the resolution". The thesis gives z
to the denormalization layers; here that is w = sigma * MLP(z) + mu, the decoder's input
("decoder uses sigma Z + mu and RoI", figure 3.5), so the codes act through it.

Discriminator (section 3.6, figure 3.6): D_main is a DCGAN-style conv stack on (image, RoI):
3x3 convs, the first two of stride 2 (64 -> 32 -> 16), instance norm (affine) and LeakyReLU(0.2)
after each (no norm after the input conv). D_local is a 3x3 conv giving one score per cell of
D_main's map (16 x 16 = 256 patch scores at 64 px); D_global a dense layer on the flattened map
giving one score. Scores are concatenated: (N, 1 + P), the "multi-dimensional output". The Q head
(`RoIGANQHead`) reads D_main's last feature map and predicts the posterior of the codes: mean
and log sigma of an independent Gaussian per continuous code, logits of the categorical code.
It is a separate module because it is optimised with G (eq. 3.18 minimises over theta_G and
theta_Q), not with D -- a separate module also keeps data-parallel training free of parameters
that one of the two updates never touches.

Every conv and dense layer of G, D and Q has an equalized learning rate with ProGAN's He
constant (eq. 3.20: weights N(0, 1) times sqrt(2 / fan_in) at run time). The thesis code used
64 px, noise 146, 10 continuous + 10 discrete codes; the defaults here are sized for training on
a 2-core CPU (see the model card).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from .layers import HE_GAIN, ControlledDenorm, EqualizedConv2d, EqualizedLinear, GatedConv2d, corrected_in_tanh_space

IMAGE_CHANNELS = 3


def complete(generated: torch.Tensor, real: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Eq. 3.9: x_c = RoI * x_g + (1 - RoI) * x_r."""
    return masks * generated + (1 - masks) * real


def coarse_fill(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The images with each RoI pixel replaced by a mean of the known pixels around it (parameter
    free): masked means over 2x2, 4x4, ... cells up to the whole image, bilinearly enlarged, each
    pixel taking the finest scale that has known pixels near it. Outside the RoI: the images.

    Why (`prefill`, not the thesis): every encoder level and every denormalization layer instance-
    normalizes its maps per channel, so no map below full size keeps an image's colour or
    brightness; only the erased input reaches the output conv unnormalized, and it is zero inside
    the region. Fills could not take their car's colour (a yellow car got grey-green patches).
    Pre-filled, the full-size skip carries the surrounding colours into the region."""
    known = 1 - masks
    out = images * known
    done = known
    size = images.shape[-1]
    scale = 2
    while scale <= size:
        total = F.avg_pool2d(images * known, scale)
        weight = F.avg_pool2d(known, scale)
        total = F.interpolate(total, size=images.shape[-2:], mode="bilinear", align_corners=False)
        weight = F.interpolate(weight, size=images.shape[-2:], mode="bilinear", align_corners=False)
        found = (weight > 1e-3).to(images) * (1 - done)
        out = out + found * total / weight.clamp_min(1e-3)
        done = done + found
        scale *= 2
    return out


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class UpsampleBlock(nn.Module):
    """Section 3.4 (see the module docstring): a controlled left branch for the RoI, a plain right
    branch for 1 - RoI, concatenated, upsampled 2x (nearest), controlled denorm, 3x3 conv."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int, w_dim: int):
        super().__init__()
        self.left_norm = ControlledDenorm(in_channels, hidden, w_dim)
        self.left_conv = EqualizedConv2d(in_channels, out_channels, 3, gain=HE_GAIN)
        self.right_norm = ControlledDenorm(in_channels, hidden, None)
        self.right_conv = EqualizedConv2d(in_channels, out_channels, 3, gain=HE_GAIN)
        self.merge_norm = ControlledDenorm(2 * out_channels, hidden, w_dim)
        self.conv = EqualizedConv2d(2 * out_channels, out_channels, 3, gain=HE_GAIN)

    def forward(self, x: torch.Tensor, roi: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        left = _lrelu(self.left_conv(self.left_norm(x, roi, w)))
        right = _lrelu(self.right_conv(self.right_norm(x, 1 - roi)))
        merged = F.interpolate(torch.cat([left, right], 1), scale_factor=2, mode="nearest")
        return self.conv(self.merge_norm(merged, roi, w))


def _encoder_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Gated conv (stride 2) -> instance norm -> LeakyReLU(0.2), section 3.5."""
    return nn.Sequential(GatedConv2d(in_channels, out_channels, 3, stride=2),
                         nn.InstanceNorm2d(out_channels, affine=True), nn.LeakyReLU(0.2))


class RoIGANGenerator(ModelMixin, ConfigMixin):
    """forward(images (N, 3, R, R) in [-1, 1], masks (N, 1, R, R) in {0, 1}, z (N, latent_dim))
    -> (x_g (N, 3, R, R) in [-1, 1], mu (N, w_dim), logvar (N, w_dim)). Only x_g inside the mask
    is meant to be used: `complete(x_g, images, masks)` is the edited image (eq. 3.9).
    z = cat(noise, codes, one_hot(category)); build it with `latent` / `sample_latents`."""

    @register_to_config
    def __init__(
        self,
        resolution: int = 64,
        encoder_widths: tuple[int, ...] = (32, 64, 128, 128),
        decoder_widths: tuple[int, ...] = (96, 64, 32, 16),
        noise_dim: int = 32,
        num_codes: int = 4,
        num_categories: int = 8,
        style_channels: int = 16,
        mapping_layers: int = 2,
        denorm_hidden: int = 16,
        output_norm: bool = True,
        prefill: bool = False,
        fill_residual: bool = False,
    ):
        super().__init__()
        if fill_residual and (not prefill or output_norm):
            raise ValueError("fill_residual corrects the pre-fill: it needs prefill=True and output_norm=False")
        encoder_widths, decoder_widths = tuple(encoder_widths), tuple(decoder_widths)
        depth = len(encoder_widths)
        if len(decoder_widths) != depth:
            raise ValueError(f"one decoder width per encoder level: got {encoder_widths} and {decoder_widths}")
        if resolution % 2**depth:
            raise ValueError(f"resolution {resolution} is not divisible by 2**{depth} (one halving per encoder level)")
        if num_codes < 1 or num_categories < 1 or noise_dim < 0:
            raise ValueError("need at least one continuous code and one category, and noise_dim >= 0")
        self.bottleneck = resolution // 2**depth
        w_dim = style_channels * self.bottleneck**2
        inputs = IMAGE_CHANNELS + 1
        self.encoder = nn.ModuleList(_encoder_block(c_in, c_out)
                                     for c_in, c_out in zip((inputs, *encoder_widths[:-1]), encoder_widths))
        self.style_stats = EqualizedConv2d(encoder_widths[-1], 2 * style_channels, 3)
        layers: list[nn.Module] = []
        for i in range(mapping_layers):
            last = i == mapping_layers - 1
            layers.append(EqualizedLinear(self.latent_dim if i == 0 else w_dim, w_dim, gain=1.0 if last else HE_GAIN))
            if not last:
                layers.append(nn.LeakyReLU(0.2))
        self.mapping = nn.Sequential(*layers)
        skips = (*reversed(encoder_widths[:-1]), inputs)  # what joins each block's output
        in_channels = style_channels + encoder_widths[-1]
        blocks = []
        for c_out, skip in zip(decoder_widths, skips):
            blocks.append(UpsampleBlock(in_channels, c_out, denorm_hidden, w_dim))
            in_channels = c_out + skip
        self.blocks = nn.ModuleList(blocks)
        self.out_norm = nn.InstanceNorm2d(IMAGE_CHANNELS, affine=True) if output_norm else nn.Identity()
        if fill_residual:
            # Start at the pre-fill exactly; training learns what it lacks. A plain conv, not an
            # equalized one: a zero-initialised equalized head moves by lr / sqrt(fan_in) a step
            # and left the fills at the pre-fill for 2,400 images of the first windowed run.
            self.to_rgb = nn.Conv2d(in_channels, IMAGE_CHANNELS, 3, padding=1)
            nn.init.zeros_(self.to_rgb.weight)
            nn.init.zeros_(self.to_rgb.bias)
        else:
            self.to_rgb = EqualizedConv2d(in_channels, IMAGE_CHANNELS, 3)

    # --- latents ---------------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.config.noise_dim + self.config.num_codes + self.config.num_categories

    @property
    def w_dim(self) -> int:
        return self.config.style_channels * self.bottleneck**2

    def latent(self, noise: torch.Tensor, codes: torch.Tensor, categories: torch.Tensor) -> torch.Tensor:
        """(N, noise_dim), (N, num_codes) in [-1, 1], (N,) ints -> z (N, latent_dim)."""
        one_hot = F.one_hot(categories.long(), self.config.num_categories).to(codes)
        return torch.cat([noise.to(codes), codes, one_hot], 1)

    def sample_latents(self, n: int, generator: torch.Generator | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The training prior (section 3.8): noise ~ N(0, I), codes ~ U(-1, 1), category uniform."""
        noise = torch.randn(n, self.config.noise_dim, generator=generator)
        codes = torch.rand(n, self.config.num_codes, generator=generator) * 2 - 1
        categories = torch.randint(self.config.num_categories, (n,), generator=generator)
        return noise, codes, categories

    # --- forward ---------------------------------------------------------------------------------
    def erase(self, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """What G sees: the region zeroed (the thesis) or pre-filled (`prefill`)."""
        return coarse_fill(images, masks) if self.config.prefill else images * (1 - masks)

    def encode(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """-> (the input and every encoder level's output, mu, logvar) for the erased image."""
        x = torch.cat([self.erase(images, masks), masks], 1)
        features = [x]
        for block in self.encoder:
            features.append(block(features[-1]))
        mu, logvar = self.style_stats(features[-1]).chunk(2, dim=1)
        return features, F.pixel_unshuffle(mu, self.bottleneck).flatten(1), F.pixel_unshuffle(logvar, self.bottleneck).flatten(1)

    def forward(self, images: torch.Tensor, masks: torch.Tensor, z: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        masks = masks.to(images)
        features, mu, logvar = self.encode(images, masks)
        w = torch.exp(0.5 * logvar) * self.mapping(z.to(images)) + mu
        x = torch.cat([F.pixel_shuffle(w[:, :, None, None], self.bottleneck), features[-1]], 1)
        for block, skip in zip(self.blocks, reversed(features[:-1])):
            x = torch.cat([_lrelu(block(x, masks, w)), skip], 1)
        out = self.out_norm(self.to_rgb(x))
        if self.config.fill_residual:  # features[0] holds the pre-filled picture and the RoI
            return corrected_in_tanh_space(features[0][:, :IMAGE_CHANNELS], out), mu, logvar
        return torch.tanh(out), mu, logvar


class RoIGANDiscriminator(ModelMixin, ConfigMixin):
    """forward(images (N, 3, R, R), masks (N, 1, R, R)) -> (scores (N, 1 + P): the global score
    then the P patch scores, [D_main's LeakyReLU outputs]). The last feature map feeds the Q head
    and `feature_matching` uses them all (eq. 3.11)."""

    @register_to_config
    def __init__(self, resolution: int = 64, widths: tuple[int, ...] = (32, 64, 128, 128), downsamples: int = 2):
        super().__init__()
        widths = tuple(widths)
        if not 0 <= downsamples <= len(widths) or resolution % 2**downsamples:
            raise ValueError(f"cannot halve {resolution} px {downsamples} times with {len(widths)} convs")
        layers = []
        for i, (c_in, c_out) in enumerate(zip((IMAGE_CHANNELS + 1, *widths[:-1]), widths)):
            conv = EqualizedConv2d(c_in, c_out, 3, stride=2 if i < downsamples else 1, gain=HE_GAIN)
            norm = nn.InstanceNorm2d(c_out, affine=True) if i else nn.Identity()
            layers.append(nn.Sequential(conv, norm, nn.LeakyReLU(0.2)))
        self.main = nn.ModuleList(layers)
        self.map_size = resolution // 2**downsamples
        self.local = EqualizedConv2d(widths[-1], 1, 3)
        self.globl = EqualizedLinear(widths[-1] * self.map_size**2, 1)

    @property
    def num_scores(self) -> int:
        return 1 + self.map_size**2

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = torch.cat([images, masks.to(images)], 1)
        features = []
        for layer in self.main:
            x = layer(x)
            features.append(x)
        scores = torch.cat([self.globl(x.flatten(1)), self.local(x).flatten(1)], 1)
        return scores, features


class RoIGANQHead(ModelMixin, ConfigMixin):
    """Q(c | x) on D_main's last feature map (section 3.6, eq. 3.14): 3x3 conv of stride 2 ->
    instance norm -> LeakyReLU -> flatten -> dense -> LeakyReLU -> dense to (mu (N, num_codes),
    log sigma (N, num_codes), logits (N, num_categories)). It flattens, as D_global does, rather
    than averaging over positions: after instance norm every channel's spatial mean is the same
    for every image, so a pooled Q would see almost nothing.

    log sigma is clamped to [min_log_sigma, 2]. The thesis does not bound sigma; the floor is
    this project's choice and it matters: the Gaussian likelihood's gradient to G scales with
    1 / sigma^2, so once Q is sure of one code (small sigma) that code's gradient drowns the others'
    and G keeps refining it instead of encoding the rest. On tiny models trained on L_I alone a
    floor of e^-4 or e^-2.3 left one slider working and the category at chance after 1000 steps;
    e^-1 learned the category last (~900 steps); e^-0.5 (sigma >= 0.61, about the prior's
    spread 1/sqrt(3) = 0.58, so the weight 1 / sigma^2 <= 2.7 is on a par with the categorical
    cross-entropy's) learned the category and the sliders together in 300 steps on 4 seeds out
    of 4 (tests/unit/test_roigan.py)."""

    @register_to_config
    def __init__(self, in_channels: int = 128, map_size: int = 16, channels: int = 64, hidden: int = 128,
                 num_codes: int = 4, num_categories: int = 8, min_log_sigma: float = -0.5):
        super().__init__()
        self.features = nn.Sequential(EqualizedConv2d(in_channels, channels, 3, stride=2, gain=HE_GAIN),
                                      nn.InstanceNorm2d(channels, affine=True), nn.LeakyReLU(0.2))
        flat = channels * ((map_size + 1) // 2) ** 2
        self.dense = nn.Sequential(EqualizedLinear(flat, hidden, gain=HE_GAIN), nn.LeakyReLU(0.2),
                                   EqualizedLinear(hidden, 2 * num_codes + num_categories))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.dense(self.features(features).flatten(1))
        k = self.config.num_codes
        return out[:, :k], out[:, k:2 * k].clamp(self.config.min_log_sigma, 2.0), out[:, 2 * k:]
