"""Post-processing of the supersampled render buffers into the four outputs of a sample.

The renderer draws at `factor` times the output size; here colour is box-filtered, part ids
take the block's majority, the sketch is traced on the supersampled geometry buffers (part id,
inverse depth, view normal) and max-pooled, and the paint fills each part with its mean colour.
"""

from __future__ import annotations

import numpy as np

from carstudio.data.parts import BACKGROUND, BODY, GLASS, LIGHTS, NUM_PARTS, OTHER, WHEEL

# Tie-break when a block holds equal counts: small, thin parts win over the body and background.
_TIE_PRIORITY = np.zeros(NUM_PARTS, np.int32)
for _rank, _part in enumerate((BACKGROUND, BODY, OTHER, WHEEL, GLASS, LIGHTS)):
    _TIE_PRIORITY[_part] = _rank

# Sketch thresholds: creases sharper than ~40 degrees, depth jumps of > ~1% of the distance that
# a plane cannot explain (second difference of inverse depth, which is linear across planes).
NORMAL_CREASE_COS = 0.77
DEPTH_JUMP = 0.01


def _pool(a: np.ndarray, factor: int, op: np.ufunc) -> np.ndarray:
    """Combine each factor x factor block with a binary ufunc (strided slices, no reductions)."""
    out = None
    for dy in range(factor):
        for dx in range(factor):
            tile = a[dy::factor, dx::factor]
            out = tile.copy() if out is None else op(out, tile, out=out)
    return out


def downsample_rgb(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Box filter (mean of each block), rounded."""
    if factor == 1:
        return rgb
    total = _pool(rgb.astype(np.uint16), factor, np.add)
    return ((total + factor * factor // 2) // (factor * factor)).astype(np.uint8)


# Part ids -> one-hot counters packed 5 bits per part into an int32, so summing the codes of a
# block counts every part at once (blocks up to 5x5 = 25 < 32 pixels).
_PACKED = (1 << (5 * np.arange(NUM_PARTS))).astype(np.int32)


def downsample_parts(parts: np.ndarray, factor: int) -> np.ndarray:
    """Majority part id of each block; ties go to the thinner part (see _TIE_PRIORITY)."""
    if factor == 1:
        return parts
    if factor > 5:
        raise ValueError("part maps downsample by at most 5")
    packed = _pool(_PACKED[parts], factor, np.add)
    best = np.zeros(packed.shape, np.int32)
    winner = np.zeros(packed.shape, np.uint8)
    for k in range(NUM_PARTS):
        score = ((packed >> (5 * k)) & 31) * 8 + _TIE_PRIORITY[k]
        better = score > best
        best[better] = score[better]
        winner[better] = k
    return winner


def sketch_lines(parts: np.ndarray, inv_depth: np.ndarray, normals: np.ndarray,
                 factor: int) -> np.ndarray:
    """Black lines (0) on white (255) where part id, depth or surface direction change sharply.

    parts: (H*f, W*f) ids; inv_depth: 1/eye distance (0 on the background); normals: (..., 3)
    unit view-space normals. Lines are one supersampled pixel wide on the nearer surface, then
    max-pooled, so they come out about one output pixel wide.
    """
    car = parts != BACKGROUND
    edge = np.zeros(parts.shape, bool)
    for axis in (0, 1):
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[axis], b[axis] = slice(None, -1), slice(1, None)
        a, b = tuple(a), tuple(b)
        # Part changes (silhouette included): mark the nearer of the two pixels.
        changed = parts[a] != parts[b]
        a_nearer = inv_depth[a] >= inv_depth[b]
        edge[a] |= changed & a_nearer
        edge[b] |= changed & ~a_nearer
        na, nb = normals[a], normals[b]
        cos = na[..., 0] * nb[..., 0] + na[..., 1] * nb[..., 1] + na[..., 2] * nb[..., 2]
        edge[a] |= car[a] & car[b] & (cos < NORMAL_CREASE_COS)
    # Depth discontinuities inside the car: second difference of inverse depth.
    for axis in (0, 1):
        mid = [slice(None)] * 2
        mid[axis] = slice(1, -1)
        d2 = np.abs(np.diff(inv_depth, n=2, axis=axis))
        inside = car[tuple(mid)]
        jump = d2 > DEPTH_JUMP * np.maximum(inv_depth[tuple(mid)], 1e-6)
        lo = [slice(None)] * 2
        lo[axis] = slice(None, -2)
        hi = [slice(None)] * 2
        hi[axis] = slice(2, None)
        # Both neighbours must be car too: the silhouette is already drawn by the part change.
        jump &= inside & car[tuple(lo)] & car[tuple(hi)]
        edge[tuple(mid)] |= jump & (inv_depth[tuple(mid)] >= np.maximum(inv_depth[tuple(lo)],
                                                                        inv_depth[tuple(hi)]))
    pooled = _pool(edge, factor, np.logical_or)
    return np.where(pooled, 0, 255).astype(np.uint8)


def paint_fill(image: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Each part flat-filled with its mean colour in `image` (background included)."""
    ids = parts.ravel().astype(np.int64)
    counts = np.bincount(ids, minlength=NUM_PARTS).astype(np.float64)
    flat = image.reshape(-1, 3).astype(np.float64)
    means = np.stack([np.bincount(ids, weights=flat[:, c], minlength=NUM_PARTS)
                      for c in range(3)], 1)
    means = means / np.maximum(counts, 1)[:, None]
    return (means[parts] + 0.5).astype(np.uint8)

