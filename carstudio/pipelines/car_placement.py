"""Upload preparation for the futuristic blend (issue 21): a designer's picture of a car (a photo
or a drawing, on any background, at any size and position) is framed as the training renders
frame their cars, on a backdrop like theirs, before the encoder sees it.

1. Find the car. The part segmenter (`SegmenterPipeline`) labels a car well when the car fills
   its view as in its training renders, but on a small car or a textured backdrop it paints most
   of the picture "body" (docs/blend-upload-progress.md shows it). So the candidates come first
   from the picture's own backdrop (`Backdrop`, learnt from its border bands): the largest parts
   that no backdrop explains; then the segmenter's largest car part on the whole picture (for
   cars that reach the picture's sides). Each candidate is checked by the segmenter in a window
   that frames it as the renders frame cars, painted grey where the car cannot be: the car is
   the largest non-background component (holes filled, the segmenter's spill onto the backdrop
   cut off), and it must show two wheels and not touch the window's edge. The window is framed
   again around that component until it settles (at most FRAMING_ROUNDS).
2. Frame it: a square window of the upload around the car's box, so that the box's longer side
   and centre land where the renders put them (`SIDE_VIEW_FRAMING`, measured from the everyday
   and futuristic side-view training renders' part maps by `measure_framing`).
3. Put it on a backdrop the GAN knows: a plain or gradient backdrop like the renders' stays;
   a white, textured or unknown one is replaced, the car (the segmenter's mask) put over the
   training renders' mean backdrop, row by row (`TRAINING_BACKDROP_ROWS`). That reconstructed
   best on held-out renders (own backdrop) and on outside pictures (the mean backdrop, as good
   as their median grey and better than the pictures' own).

No car found: the whole picture, centred as before (letterboxed), with a note saying so. A blank
picture is refused (`check_has_content`).

    python -m carstudio.pipelines.car_placement data/eval/side-everyday-train-128 \
        data/eval/side-futuristic-train-128    # measures SIDE_VIEW_FRAMING and TRAINING_BACKDROP_ROWS
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from carstudio.data.parts import BACKGROUND, WHEEL
from carstudio.data.region_windows import Window, crop_window, resize_square, whole_window
from carstudio.inputs import check_has_content, downscale_to
from carstudio.pipelines.segmenter import SegmenterPipeline

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # (top, left, bottom, right), bottom and right exclusive


@dataclass(frozen=True)
class Framing:
    """Where a frame holds its car: the car box's longer side over the frame's side, and the
    box's centre over the frame's side (x to the right, y down)."""

    fill: float
    centre: tuple[float, float]

    def window(self, box: Box) -> Window:
        """The square of the picture (in its pixels; it may reach past the edges) that shows the
        car box `box` at this framing."""
        top, left, bottom, right = box
        side = max(1, round(max(bottom - top, right - left) / self.fill))
        return Window(round((top + bottom) / 2 - self.centre[1] * side),
                      round((left + right) / 2 - self.centre[0] * side), side)


# Medians over the 1,000 everyday and 1,000 futuristic side-view training renders at 128 px
# (data/eval/side-{everyday,futuristic}-train-128, the SN-GAN's training scenes, seeds 10 and 20):
# box longer side 0.848 / 0.852 of the frame (5-95%: 0.77-0.95), centre x 0.500 / 0.500,
# centre y 0.512 / 0.508 (the renderer frames the car's 3-D extent at fill 0.75-0.95, shift
# +-0.04; the visible parts' box sits a little low because the roof is narrower than the body).
SIDE_VIEW_FRAMING = Framing(fill=0.85, centre=(0.500, 0.510))
# The median backdrop pixel of the same renders (everyday 161, 161, 160; futuristic 167, 165, 166):
# a light neutral grey. Backdrops there are plain, gradient or sky-over-ground in random pale hues;
# near-white ones (every channel >= 235) are 0.7% of them, textured ones none. The segmenter's
# views are painted this grey outside where the car may be.
TRAINING_BACKDROP: RGB = (164, 163, 163)
# The mean backdrop of the same renders, row by row from top to bottom (at 128 px, averaged over
# every 4 rows; within 4.4 grey levels of the mean at 128 and 64 px once interpolated): light
# grey above, the ground's shadow as a dark band where the cars' wheels stand, ground below. The
# framed car is composited over it: it reconstructed better than the plain grey and than the
# upload's own backdrop (docs/blend-upload-progress.md).
TRAINING_BACKDROP_ROWS: tuple[RGB, ...] = (
    (180, 181, 181), (180, 181, 181), (180, 180, 180), (179, 180, 180), (179, 180, 180), (179, 179, 179),
    (178, 178, 178), (177, 177, 177), (175, 176, 175), (174, 173, 173), (172, 171, 170), (170, 169, 167),
    (168, 167, 165), (165, 164, 161), (162, 161, 157), (159, 157, 153), (156, 154, 149), (147, 145, 140),
    (125, 122, 118), (109, 107, 103), (114, 112, 108), (128, 126, 122), (142, 140, 135), (149, 147, 143),
    (154, 152, 148), (156, 154, 151), (157, 155, 153), (157, 156, 154), (158, 157, 155), (159, 158, 157),
    (159, 159, 158), (159, 159, 159))

WORK_SIDE = 384  # the contrast map's longer side: a car 5% of a picture's width is still ~19 px
MAX_CANDIDATES = 3  # contrast components checked by the segmenter (each costs one pass or more)
FRAMING_ROUNDS = 3  # window -> car box -> window: renders settle in one or two
SETTLED = 0.04  # a window settles when its side and corner move less than this share of its side
MIN_WHEEL_SHARE = 0.003  # of the view: a wheel of a framed car covers ~1.5%; 0.3% is ~7 x 7 px at 128
MIN_CAR_SHARE = 0.02  # of the segmenter's frame: smaller components are specks
BACKDROP_LEVELS = 12.0  # grey levels from a row's backdrop colour that still count as backdrop
EDGE_SPILL = 10  # pixels (at the segmenter's 128) by which its car spills onto a textured backdrop
BLANK_SHARE = 0.001  # a picture with fewer pixels off its median colour is blank (a tiny car has more)
NEAR_WHITE = 235  # a backdrop whose every channel is this bright is paper, not a render's sky
RARE_COLOUR = 2e-3  # a colour rarer than this in the border bands is not a textured backdrop's
NO_CAR_NOTE = ("No car was found in this picture (the part segmenter did not see two wheels), so the whole picture "
               "was used, centred. For a better reconstruction, upload a side view of a car.")
OWN_BACKDROP_NOTE = "The car was found and framed as in the training renders, on its own plain backdrop."
TRAINING_BACKDROP_NOTE = ("The car was found and framed as in the training renders, on their mean backdrop "
                          "(this picture's own is white, textured or could not be told from the car).")


@dataclass
class PreparedUpload:
    """What the encoder sees and how it came from the upload."""

    image: Image.Image  # resolution x resolution: the car framed as in the renders, on the backdrop
    window: Window  # the square of the upload (its pixels) that `image` shows
    car_box: Box | None  # the car's box in the upload's pixels; None when no car was found
    mask: np.ndarray | None  # (resolution, resolution) float in [0, 1]: the car's share of each pixel
    note: str = ""  # for the person: what was done


def measure_framing(part_maps: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """Where cars sit in square part maps (ids, background 0): median, 5th and 95th percentiles
    of the car box's longer side over the frame side ("fill") and of its centre ("centre_x",
    "centre_y", y down), the numbers `Framing` takes."""
    values: dict[str, list[float]] = {"fill": [], "centre_x": [], "centre_y": []}
    for parts in part_maps:
        top, left, bottom, right = mask_box(np.asarray(parts) != BACKGROUND)
        side = parts.shape[0]
        values["fill"].append(max(bottom - top, right - left) / side)
        values["centre_x"].append((left + right) / 2 / side)
        values["centre_y"].append((top + bottom) / 2 / side)
    return {k: {"median": float(np.median(v)), "p5": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95))}
            for k, v in values.items()}


def mask_box(mask: np.ndarray) -> Box:
    """(top, left, bottom, right) of a non-empty bool mask's True pixels, exclusive ends."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def scale_box(box: Box, window: Window, side: int) -> Box:
    """A box in a side x side view of `window` -> the same box in the picture's pixels."""
    k = window.side / side
    top, left, bottom, right = box
    return (window.top + round(top * k), window.left + round(left * k),
            window.top + round(bottom * k), window.left + round(right * k))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """A bool mask with every region it encloses (not reachable from the border) added."""
    outside = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), 2)  # the padded border ring reaches all of the outside
    return mask | (outside[1:-1, 1:-1] == 1)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a bool mask, its holes filled (a car's windows and
    wheels belong to it whatever the segmenter called them); all False when the mask is empty."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count < 2:
        return np.zeros(mask.shape, bool)
    return fill_holes(labels == 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax()))


def border_bands(array: np.ndarray, share: float = 0.02) -> list[np.ndarray]:
    """The left, right, top and bottom `share` of an (H, W, ...) array (at least 2 pixels each)."""
    height, width = array.shape[:2]
    across, down = max(2, round(share * width)), max(2, round(share * height))
    return [array[:, :across], array[:, -across:], array[:down], array[-down:]]


def colour_bins(rgb: np.ndarray, bins: int) -> np.ndarray:
    """(..., 3) colours -> (...) index of their cell in a bins^3 colour histogram."""
    index = np.clip(rgb * (bins / 256.0), 0, bins - 1).astype(np.intp)
    return (index[..., 0] * bins + index[..., 1]) * bins + index[..., 2]


class Backdrop:
    """A picture's backdrop as its border bands show it (learnt at WORK_SIDE, lightly blurred):
    - per row, a colour running linearly from the left band's median to the right band's
      (steadied by a running median over 5 rows): plain, vertical-gradient and sky-over-ground
      backdrops, the renders' kinds, fit it exactly;
    - when the bands do not fit that (`textured`: a tenth of their pixels off by more than
      BACKDROP_LEVELS), a histogram of the bands' colours too, each cell with its neighbours: a
      texture's colours are common there, a car's rare.
    A pixel is backdrop when it is within BACKDROP_LEVELS of its row's colour or, on a textured
    backdrop, of a colour at least RARE_COLOUR common in the bands. `render_like`: neither
    textured nor near-white (the renders' backdrops never are textured, 0.7% are near-white)."""

    BINS = 16

    def __init__(self, rgb: np.ndarray):
        self.shape = rgb.shape[:2]
        self.scale = min(1.0, WORK_SIDE / max(self.shape))
        small = rgb if self.scale == 1 else cv2.resize(
            rgb, (max(1, round(self.shape[1] * self.scale)), max(1, round(self.shape[0] * self.scale))),
            interpolation=cv2.INTER_AREA)
        self.smooth = cv2.GaussianBlur(small.astype(np.float32), (0, 0), 1.5)
        left, right = (cv2.medianBlur(np.median(band, 1).astype(np.float32)[:, None], 5)
                       for band in border_bands(self.smooth)[:2])
        t = np.linspace(0.0, 1.0, self.smooth.shape[1], dtype=np.float32)[None, :, None]
        self.rows = left * (1 - t) + right * t  # (h, w, 3): the backdrop each pixel's row expects
        distance = np.linalg.norm(self.smooth - self.rows, axis=2)
        self.textured = float(np.percentile(np.concatenate([b.ravel() for b in border_bands(distance)]), 90)) \
            > BACKDROP_LEVELS
        colour = np.median(np.concatenate([b.reshape(-1, 3) for b in border_bands(self.smooth)]), 0)
        self.render_like = not self.textured and float(colour.min()) < NEAR_WHITE
        cells = colour_bins(self.smooth, self.BINS)
        counts = sum(np.bincount(band.ravel(), minlength=self.BINS**3) for band in border_bands(cells))
        histogram = counts.reshape((self.BINS,) * 3).astype(np.float32) / max(1, int(counts.sum()))
        for axis in range(3):  # a 3 x 3 x 3 box: neighbouring colours count too
            histogram = histogram + np.roll(histogram, 1, axis) + np.roll(histogram, -1, axis)
        self.histogram = histogram.ravel()

    def explains(self, smooth: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(H, W) bool: the pixels of `smooth` (float RGB) that are backdrop, `rows` the row
        colours expected at them."""
        backdrop = np.linalg.norm(smooth - rows, axis=2) <= BACKDROP_LEVELS
        if self.textured:
            backdrop |= self.histogram[colour_bins(smooth, self.BINS)] >= RARE_COLOUR
        return backdrop

    def standout(self) -> np.ndarray:
        """(h, w) bool at the working size: the pixels that are not backdrop."""
        return ~self.explains(self.smooth, self.rows)

    def in_view(self, rgb: np.ndarray, window: Window, side: int) -> np.ndarray:
        """(side, side) bool: the backdrop pixels of the picture's `window` seen at `side` px."""
        view = cv2.GaussianBlur(resize_square(crop_window(rgb, window), side).astype(np.float32), (0, 0), 1.0)
        k = self.scale
        small = Window(round(window.top * k), round(window.left * k), max(1, round(window.side * k)))
        return self.explains(view, resize_square(crop_window(self.rows, small), side))

    def candidates(self, count: int = MAX_CANDIDATES) -> list[np.ndarray]:
        """The largest parts of the picture that stand out from the backdrop (specks opened
        away), largest first, as bool masks at the picture's size. Pieces less than 5% of the
        picture apart are one part (a car's dark tyres and windows can pass for a textured
        backdrop and split it); parts covering almost all of the picture are dropped."""
        mask = cv2.morphologyEx(self.standout().astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        gap = max(3, round(0.05 * max(mask.shape))) | 1
        found, groups, _, _ = cv2.connectedComponentsWithStats(cv2.dilate(mask, np.ones((gap, gap), np.uint8)),
                                                               connectivity=8)
        areas = np.bincount(groups[mask > 0], minlength=found)[1:]
        masks = []
        for index in np.argsort(-areas)[:count]:
            if max(20, 1e-4 * mask.size) <= areas[index] <= 0.9 * mask.size:
                part = fill_holes((groups == index + 1) & (mask > 0)).astype(np.uint8)
                masks.append(cv2.resize(part, self.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0)
        return masks


def backdrop_picture(rows: Sequence[RGB], side: int) -> np.ndarray:
    """(side, side, 3) float32: a backdrop given row by row from top to bottom (one row: a plain
    colour), interpolated linearly between row centres."""
    knots = np.asarray(rows, np.float32).reshape(-1, 3)
    y = (np.arange(side) + 0.5) / side * len(knots) - 0.5
    column = np.stack([np.interp(y, np.arange(len(knots)), knots[:, c]) for c in range(3)], 1)
    return np.repeat(column[:, None].astype(np.float32), side, 1)


def to_upload_frame(image: np.ndarray, window: Window, size: tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """A model-frame picture (R, R[, C]) that shows `window` of an upload -> the same picture in
    the upload's frame at `scale` (`size` = (width, height) of that frame), bilinear, its edge
    repeated where the window does not reach: a reconstruction compared with the upload itself."""
    k = scale * window.side / image.shape[0]  # frame pixels per model pixel
    matrix = np.float32([[k, 0, scale * window.left + 0.5 * k - 0.5], [0, k, scale * window.top + 0.5 * k - 0.5]])
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def shows_wheels(wheels: np.ndarray, count: int = 2) -> bool:
    """Whether a view's wheel pixels (bool, at the segmenter's resolution, the car framed as in
    the renders) hold `count` wheels: blobs of at least MIN_WHEEL_SHARE of the view, each box no
    more than 2.5 times as long one way as the other (a side view's wheels are round, a
    three-quarter view's upright ellipses; the segmenter's stray wheel pixels are slivers)."""
    found, _, stats, _ = cv2.connectedComponentsWithStats(wheels.astype(np.uint8), connectivity=8)
    return sum(area >= MIN_WHEEL_SHARE * wheels.size and max(w, h) <= 2.5 * min(w, h)
               for _, _, w, h, area in stats[1:found]) >= count


def settled(a: Window, b: Window) -> bool:
    return max(abs(a.side - b.side), abs(a.top - b.top), abs(a.left - b.left)) <= SETTLED * max(a.side, b.side)


def widened_hull(mask: np.ndarray, share: float = 0.06) -> np.ndarray:
    """The convex hull of a bool mask, widened by `share` of its box's longer side."""
    top, left, bottom, right = mask_box(mask)
    margin = max(1, round(share * max(bottom - top, right - left)))
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero(mask.astype(np.uint8))), 1)
    return cv2.dilate(hull, np.ones((2 * margin + 1,) * 2, np.uint8)) > 0


class CarPlacer:
    """`placer(image, resolution)` -> PreparedUpload: the car found, framed as the renders frame
    cars, on the training backdrop (module docstring)."""

    def __init__(self, segmenter: SegmenterPipeline, framing: Framing = SIDE_VIEW_FRAMING,
                 backdrop: Sequence[RGB] | None = TRAINING_BACKDROP_ROWS):
        """`backdrop`: the colours put behind the car, row by row (`backdrop_picture`), unless
        the upload's own backdrop is `render_like`; None always keeps the upload's own."""
        self.segmenter = segmenter
        self.framing = framing
        self.backdrop = backdrop

    def car_in_view(self, view: np.ndarray, keep: np.ndarray, backdrop: np.ndarray | None = None,
                    textured: bool = False) -> np.ndarray | None:
        """The car in a square view at the segmenter's resolution. `keep` (bool, the view's size):
        where the car may be (the view is painted the training backdrop elsewhere); `backdrop`:
        pixels of the picture's own backdrop (`Backdrop.in_view`), which are not car unless the
        segmenter calls them wheel, nor, on a `textured` backdrop, when deeper than EDGE_SPILL
        pixels inside its car. The car is the largest non-background component (holes filled)
        if it is big enough and shows two wheels, else None."""
        parts = self.segmenter(Image.fromarray(np.where(keep[..., None], view, np.uint8(TRAINING_BACKDROP))))
        car = (parts != BACKGROUND) & keep
        if backdrop is not None:  # the segmenter's edges spill onto the backdrop: cut that off
            cut = backdrop & (parts != WHEEL)
            if textured:  # a texture's colours can be the car's too: cut only at the edge
                cut &= ~(cv2.erode(car.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=EDGE_SPILL) > 0)
            car &= ~cut
        car = largest_component(car)
        if car.sum() < MIN_CAR_SHARE * car.size or not shows_wheels((parts == WHEEL) & car):
            return None
        return car

    def frame_car(self, rgb: np.ndarray, keep: np.ndarray, backdrop: Backdrop | None) -> tuple[Window, np.ndarray] | None:
        """Frame the box of `keep` (where the car may be), let the segmenter find the car in that
        window, frame again around what it found, until the window settles -> (window, car mask
        at the segmenter's resolution), or None when no car shows, when the window never settles
        or when the settled car touches the window's edge (a blob that grows with its window is
        not a car)."""
        side = self.segmenter.resolution
        window = self.framing.window(mask_box(keep))
        for _ in range(FRAMING_ROUNDS):
            view = resize_square(crop_window(rgb, window), side)
            inside = resize_square(crop_window(keep.astype(np.uint8) * 255, window, replicate=False), side) > 127
            seen = None if backdrop is None else backdrop.in_view(rgb, window, side)
            car = self.car_in_view(view, inside, seen, backdrop is not None and backdrop.textured)
            if car is None:
                return None
            moved = self.framing.window(scale_box(mask_box(car), window, side))
            if settled(window, moved):
                edge = car[0].any() or car[-1].any() or car[:, 0].any() or car[:, -1].any()
                return None if edge else (window, car)
            window = moved
        return None

    def find_car(self, rgb: np.ndarray) -> tuple[Window, np.ndarray, Backdrop | None] | None:
        """The first candidate in which the segmenter confirms a car -> (window, car mask, the
        backdrop learnt around it): the parts standing out from the picture's `Backdrop` (the
        segmenter may look within each one's widened convex hull, since a car's dark parts can
        pass for a textured backdrop), then the segmenter's largest car part on the whole picture
        (for cars that reach the picture's sides, where no backdrop can be learnt: None), allowed
        the rows it spans."""
        backdrop = Backdrop(rgb)
        for candidate in backdrop.candidates():
            found = self.frame_car(rgb, widened_hull(candidate), backdrop)
            if found is not None:
                return (*found, backdrop)
        whole = largest_component(self.segmenter(Image.fromarray(rgb)) != BACKGROUND)
        if not whole.any():
            return None
        rows = np.zeros(rgb.shape[:2], bool)
        top, _, bottom, _ = mask_box(whole)
        rows[top:bottom] = True  # above and below the car stays backdrop
        found = self.frame_car(rgb, rows, None)
        return None if found is None else (*found, None)

    def __call__(self, image: Image.Image, resolution: int) -> PreparedUpload:
        """The upload prepared at `resolution`; windows and boxes in the upload's own pixels
        (the search runs on it at most `carstudio.inputs.MAX_SIDE` pixels long)."""
        rgb = np.asarray(check_has_content(downscale_to(image.convert("RGB")), "The car picture",
                                           min_fraction=BLANK_SHARE))
        found = self.find_car(rgb)
        if found is None:
            window = whole_window(rgb.shape[:2])
            return PreparedUpload(Image.fromarray(resize_square(crop_window(rgb, window), resolution)),
                                  whole_window((image.height, image.width)), None, None, NO_CAR_NOTE)
        window, car, learnt = found
        picture = resize_square(crop_window(rgb, window), resolution).astype(np.float32)
        mask = cv2.resize(car.astype(np.float32), (resolution, resolution), interpolation=cv2.INTER_AREA)
        note = OWN_BACKDROP_NOTE
        if self.backdrop is not None and not (learnt is not None and learnt.render_like):
            picture = picture * mask[..., None] + backdrop_picture(self.backdrop, resolution) * (1 - mask[..., None])
            note = TRAINING_BACKDROP_NOTE
        prepared = Image.fromarray(np.clip(np.round(picture), 0, 255).astype(np.uint8))
        k = image.width / rgb.shape[1]  # 1 unless downscaled
        box = tuple(round(v * k) for v in scale_box(mask_box(car), window, car.shape[0]))
        return PreparedUpload(prepared, Window(round(window.top * k), round(window.left * k), round(window.side * k)),
                              box, mask, note)


def measure_backdrop_rows(images: np.ndarray, parts: np.ndarray, knots: int = 32) -> list[RGB]:
    """The mean backdrop colour of square renders (N, S, S, 3) uint8 with their part maps
    (N, S, S), row by row, averaged into `knots` rows (S divisible by knots)."""
    backdrop = (parts == BACKGROUND)[..., None]
    rows = (images * backdrop).sum((0, 2)) / np.maximum(backdrop.sum((0, 2)), 1)
    return [tuple(int(v) for v in np.round(row)) for row in rows.reshape(knots, -1, 3).mean(1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Measure where render folders' part maps place their cars, "
                                                 "and their mean backdrop row by row (all folders together).")
    parser.add_argument("folders", nargs="+", type=Path, help="render folders (images/ and parts/)")
    args = parser.parse_args(argv)
    images, parts = [], []
    for folder in args.folders:
        files = sorted((folder / "parts").glob("*.png"))
        maps = [np.asarray(Image.open(p)) for p in files]
        print(folder, json.dumps(measure_framing(maps)))
        parts += maps
        images += [np.asarray(Image.open(folder / "images" / p.name).convert("RGB")) for p in files]
    print("backdrop rows", measure_backdrop_rows(np.stack(images).astype(np.float64), np.stack(parts)))


if __name__ == "__main__":
    main()
