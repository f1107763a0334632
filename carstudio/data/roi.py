"""RoI-block of RoI-GAN (seed 002, section 3.2): random regions of interest for training and
evaluating region inpainting, as (N, 1, H, W) float masks with 1 inside the region.

Three kinds, as in the thesis's equations (3.1)-(3.7); all randomness comes from a
`torch.Generator`, so a seed gives the same masks on every machine. Pixel (i, j) (row, column)
sits at its centre (j + 0.5, i + 0.5) in image coordinates.

- "rectangle" (eq. 3.1): x1, x2 ~ U(0, W), y1, y2 ~ U(0, H) (continuous); the region is the
  axis-aligned rectangle with these opposite corners. Rectangles that cover no pixel centre (the
  thesis drops zero-area ones) are drawn again.
- "ellipse" (eqs. 3.2-3.5): mu ~ N((W/2, H/2), diag(W, H)) -- variances W and H, i.e. a standard
  deviation of sqrt(W) px (8 px at 64); rho ~ U(-0.8, 0.8), sigma_x ~ U(W/5, W/3), sigma_y ~
  U(H/5, H/3); the region is {x : f(x | mu, Sigma) > max f / 2}.
- "mixture" (eqs. 3.6-3.7): n Gaussians drawn as for the ellipse, convex weights w ~ Dirichlet(1)
  (uniform on the simplex), f_n = sum_j w_j f(x | mu_j, Sigma_j); the region is
  {x : f_n(x) > max f_n / 2}.

Readings of the ambiguous parts of the thesis:
- Eq. 3.3 writes the matrix [[s_x^2, rho s_x s_y], [rho s_x s_y, s_y^2]] as Sigma^-1. Taken as a
  precision matrix with s_x of 13-21 px (at 64 px) the level set would be under a pixel wide, so
  it is read as the covariance Sigma itself (what the thesis's own figures show: ellipses a few
  tens of pixels across).
- "max f" in eqs. 3.5 and 3.7 is the maximum over the image's pixels (not the analytic peak), so a
  centre drawn outside the frame still gives a non-empty region; eq. 3.7's threshold names the
  single density f but is read as half the maximum of the mixture f_n -- thresholding a mixture
  at half a component's peak would usually give an empty region because the weights are < 1.
- The number of mixture components is not given; n ~ U{2, ..., 5} (`mixture_components`).
- The thesis's masks are hard thresholds: the masks here are exactly 0 or 1 (float32).

Coverage (share of the image inside the region) at 64x64, measured over 20000 masks of each kind
(`coverage_summary`); it does not depend much on the resolution because every parameter scales
with the image, except the centre spread (sqrt(W) px):
  rectangle: mean 0.12, 1st-99th percentile 0.001-0.57 (anything in (0, 1] is possible);
  ellipse:   mean 0.27, 1st-99th percentile 0.14-0.42 (seen: 0.06-0.48);
  mixture:   mean 0.28, 1st-99th percentile 0.16-0.46 (seen: 0.12-0.64).
With the thesis's parameters (centre spread 8 px, component sigmas 13-21 px at 64 px) mixture
members overlap a lot: the regions are single blobs with irregular, non-elliptic outlines.
Tests check these ranges (tests/unit/test_roigan.py).
"""

from __future__ import annotations

import math

import torch

ROI_TYPES = ("rectangle", "ellipse", "mixture")
MIXTURE_COMPONENTS = (2, 5)  # n ~ U{2, ..., 5}
RHO_RANGE = (-0.8, 0.8)  # eq. 3.3
SIGMA_RANGE = (1 / 5, 1 / 3)  # eq. 3.3, as fractions of the side


def _uniform(shape: tuple[int, ...], low: float, high: float, g: torch.Generator | None) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=g)


def _pixel_centres(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(H, W) x and y coordinates of the pixel centres."""
    ys = torch.arange(height, dtype=torch.float64) + 0.5
    xs = torch.arange(width, dtype=torch.float64) + 0.5
    return xs.view(1, -1).expand(height, width), ys.view(-1, 1).expand(height, width)


def rectangle_masks(n: int, height: int, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Eq. 3.1: rectangles between two uniform random corners; empty ones are redrawn."""
    xs, ys = _pixel_centres(height, width)
    masks = torch.zeros(n, height, width)
    todo = torch.arange(n)
    while len(todo):
        x = _uniform((len(todo), 2), 0.0, width, generator).double().sort(1).values
        y = _uniform((len(todo), 2), 0.0, height, generator).double().sort(1).values
        inside = ((xs >= x[:, :1, None]) & (xs <= x[:, 1:, None]) & (ys >= y[:, :1, None]) & (ys <= y[:, 1:, None]))
        masks[todo] = inside.float()
        todo = todo[inside.flatten(1).sum(1) == 0]
    return masks[:, None]


def _gaussian_parameters(shape: tuple[int, ...], height: int, width: int, g: torch.Generator | None):
    """Eqs. 3.2-3.3 for `shape` Gaussians: means (.., 2) as (x, y) and covariance entries."""
    centre = torch.tensor([width / 2, height / 2], dtype=torch.float64)
    spread = torch.tensor([math.sqrt(width), math.sqrt(height)], dtype=torch.float64)
    mu = centre + spread * torch.randn((*shape, 2), generator=g).double()
    rho = _uniform(shape, *RHO_RANGE, g).double()
    sx = _uniform(shape, width * SIGMA_RANGE[0], width * SIGMA_RANGE[1], g).double()
    sy = _uniform(shape, height * SIGMA_RANGE[0], height * SIGMA_RANGE[1], g).double()
    return mu, sx, sy, rho


def _densities(mu, sx, sy, rho, height: int, width: int) -> torch.Tensor:
    """Eq. 3.4 on the pixel centres: (..., H, W) bivariate normal densities."""
    xs, ys = _pixel_centres(height, width)
    dx = (xs - mu[..., 0, None, None]) / sx[..., None, None]
    dy = (ys - mu[..., 1, None, None]) / sy[..., None, None]
    r = rho[..., None, None]
    quad = (dx * dx - 2 * r * dx * dy + dy * dy) / (1 - r * r)
    norm = 2 * math.pi * sx * sy * torch.sqrt(1 - rho * rho)
    return torch.exp(-0.5 * quad) / norm[..., None, None]


def _half_max(density: torch.Tensor) -> torch.Tensor:
    """Eqs. 3.5 / 3.7: (N, H, W) -> (N, 1, H, W) masks of density > max / 2 (max over the image)."""
    peak = density.flatten(1).max(1).values.view(-1, 1, 1)
    return (density > peak / 2).float()[:, None]


def ellipse_masks(n: int, height: int, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Eqs. 3.2-3.5: the half-maximum level set of a random bivariate Gaussian."""
    return _half_max(_densities(*_gaussian_parameters((n,), height, width, generator), height, width))


def mixture_masks(n: int, height: int, width: int, generator: torch.Generator | None = None,
                  components: tuple[int, int] = MIXTURE_COMPONENTS) -> torch.Tensor:
    """Eqs. 3.6-3.7: the half-maximum level set of a random Gaussian mixture with
    n ~ U{components} members and Dirichlet(1) weights (unused members get weight 0)."""
    low, high = components
    k = high
    count = torch.randint(low, high + 1, (n,), generator=generator)
    weights = -torch.log(torch.rand((n, k), generator=generator).clamp_min(1e-12))  # Exp(1): Dirichlet(1) after normalising
    weights = weights * (torch.arange(k)[None] < count[:, None])
    weights = (weights / weights.sum(1, keepdim=True)).double()
    density = _densities(*_gaussian_parameters((n, k), height, width, generator), height, width)
    return _half_max((weights[..., None, None] * density).sum(1))


SAMPLERS = {"rectangle": rectangle_masks, "ellipse": ellipse_masks, "mixture": mixture_masks}


def sample_rois(n: int, size: int | tuple[int, int], kind: str = "any", generator: torch.Generator | None = None,
                kinds: tuple[str, ...] = ROI_TYPES) -> torch.Tensor:
    """(n, 1, H, W) float masks in {0, 1}, 1 inside the region. `kind` is one of ROI_TYPES, or
    "any": each mask's kind is drawn uniformly from `kinds` (what training uses)."""
    height, width = (size, size) if isinstance(size, int) else size
    if kind != "any":
        if kind not in SAMPLERS:
            raise ValueError(f"RoI kind must be one of {ROI_TYPES} or 'any', got {kind!r}")
        return SAMPLERS[kind](n, height, width, generator)
    unknown = [k for k in kinds if k not in SAMPLERS]
    if unknown or not kinds:
        raise ValueError(f"RoI kinds must be a non-empty subset of {ROI_TYPES}, got {kinds!r}")
    choice = torch.randint(len(kinds), (n,), generator=generator)
    masks = torch.zeros(n, 1, height, width)
    for i, name in enumerate(kinds):
        picked = (choice == i).nonzero().flatten()
        if len(picked):
            masks[picked] = SAMPLERS[name](len(picked), height, width, generator)
    return masks


def coverage(masks: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) masks -> (N,) share of pixels inside the region."""
    return masks.flatten(1).mean(1)


def coverage_summary(kind: str, n: int = 20000, size: int = 64, seed: int = 0) -> dict[str, float]:
    """Mean, extremes and 1st/99th percentiles of the coverage of `n` masks of one kind."""
    g = torch.Generator().manual_seed(seed)
    values = torch.cat([coverage(sample_rois(min(1000, n - i), size, kind, g)) for i in range(0, n, 1000)])
    q = torch.quantile(values, torch.tensor([0.01, 0.99]))
    return {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max()),
            "p01": float(q[0]), "p99": float(q[1])}
