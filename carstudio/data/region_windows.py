"""Square windows of a picture for region inpainting at a fixed model resolution R.

Inference ("inpaint only masked", the crop strategy of Automatic1111 and lama-cleaner): each
separate brushed region gets a square window around its bounding box with a margin of context;
the window is cut out, resized to R x R, inpainted, resized back and pasted through the exact
brushed mask. So a region brushed on a large photo is filled at (up to) the photo's own detail
instead of at R / max(H, W) of it, as the whole-picture letterbox does.

Training (`window_crops`): random square windows of larger renders at several zooms, resized to
R, so the model sees the picture scales a user's windows produce (the whole car, part of it,
background). Both go through the same `crop_window` and `resize_square`.

A `Window` is in picture pixels and may reach past the picture; what lies outside is letterboxed
by repeating the picture's border pixels (the mask: "keep"). That happens only when the window is
larger than the picture along an axis: `window_around` otherwise shifts it inward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

# Window side / the region's bounding-box side. The RoI-block's ellipses and mixtures (sizes
# relative to the training image) have a bounding box of 0.55-0.80 of the image side (5th-95th
# percentile, median 0.67, measured over 2,000 masks at 64 px); 1.5 puts a brushed blob at the
# size the model was trained on, with about a quarter of the box as context on each side.
DEFAULT_CONTEXT = 1.5
# Beyond this many separate windows (after merging), one window over the whole picture: each
# window costs a generator pass, and a speckled brush could make hundreds.
MAX_WINDOWS = 8


@dataclass(frozen=True)
class Window:
    """A side x side square of a picture, its top-left corner at (top, left); it may reach past
    the picture's edges (negative top/left, or beyond the bottom/right)."""

    top: int
    left: int
    side: int

    @property
    def bottom(self) -> int:
        return self.top + self.side

    @property
    def right(self) -> int:
        return self.left + self.side

    def overlaps(self, other: "Window") -> bool:
        return (self.top < other.bottom and other.top < self.bottom
                and self.left < other.right and other.left < self.right)


def _span_start(low: int, high: int, side: int, length: int) -> int:
    """Start of a `side`-long span around [low, high) within [0, length): centred on it, shifted
    inward at the ends; when side > length, the picture is centred in the span (letterbox)."""
    if side >= length:
        return -((side - length) // 2)
    start = (low + high - side) // 2
    return min(max(start, 0), length - side)


def window_around(box: tuple[int, int, int, int], shape: tuple[int, int], resolution: int,
                  context: float = DEFAULT_CONTEXT) -> Window:
    """The window for a region whose bounding box is (top, left, bottom, right) (exclusive) in an
    (H, W) picture: side = the box's longer side x `context`, at least `resolution` (so the model
    never sees the picture enlarged while the picture allows) and at most max(H, W) (then it is the
    whole-picture letterbox along the longer axis)."""
    top, left, bottom, right = box
    height, width = shape
    side = max(math.ceil(max(bottom - top, right - left) * context), resolution)
    side = min(side, max(height, width))
    return Window(_span_start(top, bottom, side, height), _span_start(left, right, side, width), side)


def whole_window(shape: tuple[int, int]) -> Window:
    """The whole picture, letterboxed to a centred square of side max(H, W)."""
    height, width = shape
    side = max(height, width)
    return Window(-((side - height) // 2), -((side - width) // 2), side)


def region_boxes(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (top, left, bottom, right) of the mask's 8-connected regions."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if not len(rows):
        return []
    # labelled within the brushed part only: a small brush on a large photo costs little
    top, left = rows[0], cols[0]
    part = np.ascontiguousarray(mask[top:rows[-1] + 1, left:cols[-1] + 1], dtype=np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(part, connectivity=8)
    return [(int(top + y), int(left + x), int(top + y + h), int(left + x + w)) for x, y, w, h, _ in stats[1:count]]


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def region_windows(mask: np.ndarray, resolution: int, context: float = DEFAULT_CONTEXT,
                   max_windows: int = MAX_WINDOWS) -> list[Window]:
    """One window per separate brushed region of an (H, W) bool mask; regions whose windows
    overlap are merged (their union box gets one, larger window) until no two windows overlap, so
    no window shows another region's unfilled pixels as context and every masked pixel lies in
    exactly one window. More than `max_windows`: the whole picture (`whole_window`)."""
    boxes = region_boxes(mask)
    if not boxes:
        return []
    if len(boxes) > 32 * max_windows:  # a speckled mask: the pairwise merging below would be slow
        return [whole_window(mask.shape)]
    while True:
        windows = [window_around(b, mask.shape, resolution, context) for b in boxes]
        groups = _overlap_groups(windows)
        if len(groups) == len(boxes):
            break
        boxes = [_union([boxes[i] for i in group]) for group in groups]
    return windows if len(windows) <= max_windows else [whole_window(mask.shape)]


def _overlap_groups(windows: list[Window]) -> list[list[int]]:
    """Indices of the windows grouped by chains of overlaps (connected components)."""
    corners = np.array([(w.top, w.left, w.bottom, w.right) for w in windows])
    top, left, bottom, right = (corners[:, i] for i in range(4))
    touching = ((top[:, None] < bottom[None]) & (top[None] < bottom[:, None])
                & (left[:, None] < right[None]) & (left[None] < right[:, None]))
    group = np.arange(len(windows))
    while True:  # each window takes the smallest group id among the windows it overlaps
        smallest = np.where(touching, group[None], len(windows)).min(1)
        if np.array_equal(smallest, group):
            break
        group = smallest[smallest]
    return [np.flatnonzero(group == g).tolist() for g in np.unique(group)]


def crop_window(array: np.ndarray, window: Window, replicate: bool = True) -> np.ndarray:
    """(H, W[, C]) -> (side, side[, C]): the window's pixels; outside the picture the border pixels
    repeated (`replicate`, for images) or zeros (for masks: "keep")."""
    height, width = array.shape[:2]
    top, left = max(window.top, 0), max(window.left, 0)
    bottom, right = min(window.bottom, height), min(window.right, width)
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    return cv2.copyMakeBorder(np.ascontiguousarray(array[top:bottom, left:right]), top - window.top,
                              window.bottom - bottom, left - window.left, window.right - right, border, value=0)


def resize_square(array: np.ndarray, side: int) -> np.ndarray:
    """A square (S, S[, C]) uint8 array -> (side, side[, C]): area averaging down, bicubic up."""
    if array.shape[0] == side:
        return array.copy()
    interpolation = cv2.INTER_AREA if side < array.shape[0] else cv2.INTER_CUBIC
    return cv2.resize(array, (side, side), interpolation=interpolation)


def shrink_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """bool mask -> bool mask of `size` (w, h): a cell is in the region if any of it was (so thin
    strokes are not lost and the model regenerates a little more than was brushed, never less)."""
    if mask.shape[::-1] == size:
        return mask.copy()
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0


def window_mask(mask: np.ndarray, window: Window, resolution: int) -> np.ndarray:
    """The brushed pixels in the window as a (resolution, resolution) bool mask (`shrink_mask`)."""
    return shrink_mask(crop_window(mask.astype(np.uint8), window, replicate=False).astype(bool),
                       (resolution, resolution))


def paste_window(out: np.ndarray, fill: np.ndarray, window: Window, mask: np.ndarray) -> None:
    """Copy `fill` (side, side, C), the window's content at picture scale, into `out` (H, W, C) at
    the brushed pixels (`mask`, (H, W) bool) inside the window; nothing else of `out` changes."""
    height, width = mask.shape
    top, left = max(window.top, 0), max(window.left, 0)
    bottom, right = min(window.bottom, height), min(window.right, width)
    region, inside = out[top:bottom, left:right], mask[top:bottom, left:right]
    source = fill[top - window.top:bottom - window.top, left - window.left:right - window.left]
    # cv2.copyTo writes through the view: about 0.1 ms for a 546-px window, np.copyto(where=) 7 ms
    done = cv2.copyTo(source, inside.view(np.uint8) if inside.dtype == bool else inside.astype(np.uint8), region)
    if not np.shares_memory(done, region):  # OpenCV could not use the view and wrote a copy
        region[...] = done


# --- training: random windows of larger renders ------------------------------------------------
def random_windows(n: int, size: int, zoom_range: tuple[float, float], generator: torch.Generator) -> list[Window]:
    """n windows of a size x size render: side = zoom x size, zoom log-uniform in zoom_range
    (1: the whole render, the car filling the window as in the plain training; 0.5: a quarter of
    its area, part of the car or background), placed uniformly where the window stays inside the
    render (zoom <= 1) or holds all of it (zoom > 1, the rest letterboxed)."""
    low, high = (math.log(z) for z in zoom_range)
    zooms = torch.exp(low + (high - low) * torch.rand(n, generator=generator))
    positions = torch.rand(n, 2, generator=generator)
    windows = []
    for zoom, (u, v) in zip(zooms.tolist(), positions.tolist()):
        side = max(1, round(zoom * size))
        first, last = min(0, size - side), max(0, size - side)
        windows.append(Window(first + round(u * (last - first)), first + round(v * (last - first)), side))
    return windows


def window_crops(images: torch.Tensor, resolution: int, zoom_range: tuple[float, float],
                 generator: torch.Generator) -> torch.Tensor:
    """uint8 renders (N, 3, S, S) -> uint8 (N, 3, resolution, resolution): one `random_windows`
    window of each, cut and resized as inference does (`crop_window`, `resize_square`)."""
    windows = random_windows(images.shape[0], images.shape[-1], zoom_range, generator)
    pictures = images.permute(0, 2, 3, 1).cpu().numpy()
    crops = [resize_square(crop_window(picture, window), resolution) for picture, window in zip(pictures, windows)]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous().to(images.device)
