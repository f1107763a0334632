"""Building blocks shared by the model families (one place, composed by each family file)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvNormLReLU(nn.Sequential):
    """Conv -> per-image channel normalization with affine -> LeakyReLU(0.2): SinGAN's
    conv-BN-LReLU block. SinGAN trains with batch size 1, where BatchNorm normalizes each channel
    over that one image: that is instance norm with an affine map, which is what this uses, so
    that eval mode and batched sampling behave exactly as in training (BatchNorm's running
    averages instead made every sample pale). 'same' padding keeps the map size for any kernel."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding="same"),
            nn.InstanceNorm2d(out_channels, affine=True),
            nn.LeakyReLU(0.2),
        )


class DoubleConvBNReLU(nn.Sequential):
    """Two (3x3 conv -> BatchNorm -> ReLU): the U-Net stage. The convs carry no bias because
    BatchNorm's shift replaces it; 'same' padding keeps the map size."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectral normalization (Miyato et al.) of `module`'s weight when `enabled`. Uses the
    parametrization API, so state dicts hold `parametrizations.weight.original` and the power
    iteration vectors, and save/load round trips reproduce outputs exactly."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


def corrected_in_tanh_space(base: torch.Tensor, correction: torch.Tensor, clamp: float = 0.96) -> torch.Tensor:
    """tanh(atanh(base) + correction): a network head that corrects a given picture in [-1, 1]
    (SSGAN's flat paint, RoI-GAN's pre-fill, the upsampler's bilinear enlargement) instead of
    drawing from nothing; a zero correction returns `base`. `base` is clamped to +-clamp first
    (atanh(0.96) ~ 1.95) so white and black stay within reach of a modest correction."""
    return torch.tanh(torch.atanh(base.clamp(-clamp, clamp)) + correction)


def binomial_blur(x: torch.Tensor) -> torch.Tensor:
    """The 3x3 binomial low-pass [1, 2, 1]^T [1, 2, 1] / 16 per channel, reflect-padded (same
    size): the anti-aliasing filter put before strided convs."""
    taps = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device)
    kernel = (taps[:, None] * taps[None, :] / 16).expand(x.shape[1], 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), kernel, groups=x.shape[1])


class SPADE(nn.Module):
    """Spatially-adaptive normalization (Park et al., GauGAN): a parameter-free BatchNorm or
    InstanceNorm of x, then a per-pixel affine map predicted from the segmentation map resized
    (nearest) to x's size: x_norm * (1 + gamma) + beta. `segmap` may be one-hot labels, soft
    masks, or any feature map with `label_channels` channels (SSGAN feeds SFM features)."""

    def __init__(self, norm_channels: int, label_channels: int, hidden: int = 128, norm: str = "batch"):
        super().__init__()
        if norm == "batch":
            self.norm = nn.BatchNorm2d(norm_channels, affine=False)
        elif norm == "instance":
            self.norm = nn.InstanceNorm2d(norm_channels, affine=False)
        else:
            raise ValueError(f"norm must be 'batch' or 'instance', got {norm!r}")
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, norm_channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, norm_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        normalized = self.norm(x)
        segmap = F.interpolate(segmap.to(x), size=x.shape[-2:], mode="nearest")
        hidden = self.shared(segmap)
        return normalized * (1 + self.gamma(hidden)) + self.beta(hidden)


class SPADEResBlock(nn.Module):
    """GauGAN's residual block: (SPADE -> LReLU(0.2) -> 3x3 conv) twice, plus a shortcut that is
    the identity when in_ch == out_ch and SPADE -> 1x1 conv (no bias) otherwise. The middle
    width is min(in_ch, out_ch); `spectral` wraps the convs in spectral normalization."""

    def __init__(self, in_ch: int, out_ch: int, label_channels: int, spectral: bool = False,
                 hidden: int = 128, norm: str = "batch"):
        super().__init__()
        middle = min(in_ch, out_ch)
        self.learned_shortcut = in_ch != out_ch
        self.norm_0 = SPADE(in_ch, label_channels, hidden, norm)
        self.conv_0 = maybe_spectral_norm(nn.Conv2d(in_ch, middle, 3, padding=1), spectral)
        self.norm_1 = SPADE(middle, label_channels, hidden, norm)
        self.conv_1 = maybe_spectral_norm(nn.Conv2d(middle, out_ch, 3, padding=1), spectral)
        if self.learned_shortcut:
            self.norm_s = SPADE(in_ch, label_channels, hidden, norm)
            self.conv_s = maybe_spectral_norm(nn.Conv2d(in_ch, out_ch, 1, bias=False), spectral)

    def shortcut(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        return self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return self.shortcut(x, segmap) + dx


# --- StyleGAN2 layers (Karras et al., 2020): equalized learning rate and weight (de)modulation ---
LRELU_GAIN = 2 ** 0.5  # StyleGAN's leaky ReLU (slope 0.2) is followed by this gain


def lrelu_gain(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


class EqualizedLinear(nn.Module):
    """Linear layer with an equalized learning rate: weights are stored as N(0, 1/lr_mul^2) and
    scaled by lr_mul / sqrt(in_features) at run time (the bias by lr_mul), so that Adam's step
    moves every layer at the same relative rate; lr_mul 0.01 slows StyleGAN's mapping network.
    `activation` 'lrelu' adds the gained leaky ReLU after the bias. `gain` multiplies the run-time
    scale (sqrt(2) gives ProGAN's He constant sqrt(2 / fan_in), RoI-GAN's eq. 3.20)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activation: str = "linear", gain: float = 1.0):
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"activation must be 'linear' or 'lrelu', got {activation!r}")
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul)) if bias else None
        self.weight_gain, self.lr_mul, self.activation = gain * lr_mul / in_features ** 0.5, lr_mul, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.lr_mul
        x = F.linear(x, self.weight * self.weight_gain, bias)
        return lrelu_gain(x) if self.activation == "lrelu" else x


class EqualizedConv2d(nn.Module):
    """Conv with an equalized learning rate (weights N(0, 1) scaled by 1/sqrt(fan_in) at run
    time), 'same' padding, optional 2x average-pool downsampling *before* the conv (a quarter of
    the multiply-adds of convolving first), optional gained leaky ReLU. `stride` 2 is a strided
    conv instead (RoI-GAN's encoder and D); `gain` multiplies the run-time scale (sqrt(2): ProGAN's
    He constant, RoI-GAN's eq. 3.20)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear", down: bool = False, stride: int = 1, gain: float = 1.0):
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"activation must be 'linear' or 'lrelu', got {activation!r}")
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = gain / (in_channels * kernel_size * kernel_size) ** 0.5
        self.activation, self.down, self.stride = activation, down, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = F.avg_pool2d(x, 2)
        x = F.conv2d(x, self.weight * self.weight_gain, self.bias, stride=self.stride,
                     padding=self.weight.shape[-1] // 2)
        return lrelu_gain(x) if self.activation == "lrelu" else x


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution: a per-sample style s = affine(w) (bias initialised to 1)
    scales the input channels of the shared weight, and demodulation divides each output channel
    by sqrt(sum over (in, ky, kx) of (weight * s)^2), so unit-variance inputs give unit-variance
    outputs whatever the style. Computed as scale-input -> shared conv -> scale-output (StyleGAN2's
    non-fused form, the same maths as per-sample weights and a plain batched conv on the CPU).
    `up` doubles the size first with bilinear interpolation (the [1, 3, 3, 1] filter StyleGAN2
    upsamples with). Without demodulation (the ToRGB / to_out layers) it is a styled linear map."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int,
                 demodulate: bool = True, up: bool = False):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_gain = 1.0 / (in_channels * kernel_size * kernel_size) ** 0.5
        self.demodulate, self.up = demodulate, up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # (N, in)
        weight = self.weight * self.weight_gain
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
        if self.demodulate:
            sums = (weight.square().sum((2, 3))[None] * styles.square()[:, None, :]).sum(2)  # (N, out)
            x = x * (sums + 1e-8).rsqrt()[:, :, None, None]
        return x


def minibatch_stddev(x: torch.Tensor, group_size: int = 4, channels: int = 1) -> torch.Tensor:
    """StyleGAN's minibatch standard deviation: for groups of min(group_size, N) samples (sample i
    with i + N/G, i + 2N/G, ...), the std over the group of each feature, averaged over
    channels-per-feature and pixels, is appended as `channels` constant maps. N must be a multiple
    of the group size, so a D that sees reals and fakes in one batch would mix them: call it on
    each separately."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    if n % g:
        raise ValueError(f"batch {n} is not a multiple of the minibatch-stddev group size {g}")
    y = x.reshape(g, -1, channels, c // channels, h, w)
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()  # (N/G, F, c/F, H, W)
    y = y.mean((2, 3, 4)).reshape(-1, channels, 1, 1).repeat(g, 1, h, w)  # (N, F, H, W)
    return torch.cat([x, y], 1)


# --- RoI-GAN layers (seed 002): gated convolution and the denormalization layer with control ---
HE_GAIN = 2 ** 0.5  # eq. 3.20: weights N(0, 1) times sqrt(2 / fan_in) at run time


class GatedConv2d(nn.Module):
    """Gated convolution (Yu et al., the thesis's eq. 2.11): Y = f(conv_f(X)) * sigmoid(conv_m(X)),
    the feature and gate convs computed as one equalized-lr conv with 2x the outputs. f is the
    identity here because RoI-GAN's encoder follows every gated conv with instance norm and
    LeakyReLU(0.2) (section 3.5: gated convolution -> normalization -> activation). `stride` 2
    halves the size ('same' padding)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 gain: float = HE_GAIN):
        super().__init__()
        self.conv = EqualizedConv2d(in_channels, 2 * out_channels, kernel_size, stride=stride, gain=gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, gate = self.conv(x).chunk(2, dim=1)
        return features * torch.sigmoid(gate)


class ControlledDenorm(nn.Module):
    """RoI-GAN's denormalization layer (eq. 3.8), SPADE-like with an explicit control input:

        z* = (z1, z2) = A z + b
        RoI* = LReLU(conv(RoI, K_internal)) * z1 + z2          (z1, z2 per hidden channel)
        gamma = LReLU(conv(RoI*, K_gamma)),  beta = LReLU(conv(RoI*, K_beta))
        out = gamma * instance_norm(x) + beta

    `z_dim` None builds the layer without the affine map and control (the upsample block's
    right branch, section 3.4): RoI* = LReLU(conv(RoI)). The RoI is resized (nearest) to x's size
    before the 'same'-padded convs, so gamma and beta match x. The normalization is a
    parameter-free instance norm (E and D per sample and channel), so a batch of one behaves as
    in training. All convs and A have equalized learning rates (eq. 3.20). Initialisation keeps
    the layer near the identity: b's z1 half starts at 1 and K_gamma's bias at 1, so at the
    start z1 ~ 1 and gamma ~ 1, as SPADE's (1 + gamma) parametrisation does, while the maths
    is eq. 3.8 as written."""

    def __init__(self, channels: int, hidden: int, z_dim: int | None = None, kernel_size: int = 3):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.shared = EqualizedConv2d(1, hidden, kernel_size, gain=HE_GAIN)
        self.affine = None
        if z_dim is not None:
            self.affine = EqualizedLinear(z_dim, 2 * hidden)
            with torch.no_grad():
                self.affine.bias[:hidden] = 1.0
        self.gamma = EqualizedConv2d(hidden, channels, kernel_size)
        self.beta = EqualizedConv2d(hidden, channels, kernel_size)
        with torch.no_grad():
            self.gamma.bias.fill_(1.0)

    def forward(self, x: torch.Tensor, roi: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        roi = F.interpolate(roi.to(x), size=x.shape[-2:], mode="nearest")
        hidden = F.leaky_relu(self.shared(roi), 0.2)
        if self.affine is not None:
            if z is None:
                raise ValueError("this denormalization layer is controlled: pass z")
            scale, shift = self.affine(z).chunk(2, dim=1)
            hidden = hidden * scale[:, :, None, None] + shift[:, :, None, None]
        gamma = F.leaky_relu(self.gamma(hidden), 0.2)
        beta = F.leaky_relu(self.beta(hidden), 0.2)
        return gamma * self.norm(x) + beta
