"""Turn what the UI hands over into clean images, masks and numbers, or a clear error.

Every tab reads its inputs through this module so that bad input (huge or damaged files,
16-bit or transparent images, empty sketches, odd numbers) is handled once. It does not import
gradio: it raises :class:`InvalidInput`, whose message is written for the person using the app,
and the UI layer re-raises it as ``gr.Error``.

Images are funnelled through one representation, an ``HxWx4`` uint8 RGBA array, so that colour
conversion, transparency and size limits have a single implementation. The tabs register their
events with ``preprocess=False``, so uploads arrive here as file references, undecoded: Gradio's
own preprocessing would decode them first and answer a bad file with a developer's message.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from carstudio.data.parts import BACKGROUND, NUM_PARTS, PART_COLORS, PART_NAMES, snap_colors

MAX_UPLOAD_PIXELS = 40_000_000
"""Largest image accepted (~ a 7300x5500 photo). A 40 MP RGBA working copy is 160 MB."""

MAX_SIDE = 2048
"""Longest side the tabs work at: pass it to :func:`downscale_to` after :func:`open_image`."""

# Pillow's process-wide decompression-bomb guard: it warns above this many pixels and refuses
# above twice as many, before any pixel is decoded. Aligning it with our own limit means nothing
# else in the process (gradio's own previews included) decodes a larger image either.
Image.MAX_IMAGE_PIXELS = MAX_UPLOAD_PIXELS

_INK_LEVEL = 32
"""Ink below this (paper texture, JPEG noise, anti-aliasing fringes) does not count as drawing."""
_MAX_MASK_FRACTION = 0.95
_MAX_INK_FRACTION = 0.6
_MIN_DRAWING_FRACTION = 0.05
_ASPECT_TOLERANCE = 0.02
_WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})

_NO_IMAGE = "No image was given: upload an image first."
_NO_BACKGROUND = "Upload or choose a car image first."
_NO_MASK = "Brush over the region to regenerate."
_EMPTY_SKETCH = "The sketch is empty: draw a car outline first."
_EMPTY_PAINTING = "The sketch is empty: paint the car first."
_MAX_UNKNOWN_COLORS = 0.05
_MIN_LAYOUT_SIDE = 16

_T = TypeVar("_T")


class InvalidInput(ValueError):
    """Bad input from a person; the message is meant to be shown to them as it is."""


def open_image(
    value: Any, *, max_pixels: int = MAX_UPLOAD_PIXELS, min_side: int = 8
) -> Image.Image:
    """Decode a file path, a file reference (``{"path": ...}``, what event handlers registered
    with ``preprocess=False`` receive), PIL image or numpy array into an upright RGB image.

    Transparent areas become white (the paper the models were trained on), EXIF rotation is
    applied (phones store portrait photos sideways), 16-bit and float data are stretched over
    their actual range, and animated images give their first frame. A file's size is checked
    from its header, before any pixel is decoded.
    """
    rgba = _to_rgba(value, max_pixels)
    height, width = rgba.shape[:2]
    if min(height, width) < min_side:
        raise InvalidInput(
            f"The image is only {width}x{height} pixels; it must be at least {min_side} "
            "pixels on each side."
        )
    return _over_white(rgba)


def downscale_to(image: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """Shrink ``image`` so its longest side is at most ``max_side``, keeping the aspect ratio.

    Returns the same object when it is already small enough, so calling it is always cheap.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    width, height = image.size
    scale = max_side / max(width, height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def check_has_content(image: Image.Image, what: str = "The picture", *, tolerance: int = 16,
                      min_fraction: float = 0.01) -> Image.Image:
    """Refuse a picture with nothing to learn from: blank, one colour, or transparent (which
    :func:`open_image` turns white). It passes when at least ``min_fraction`` of the pixels differ
    from the picture's median colour by more than ``tolerance`` in some channel, so JPEG noise on
    a flat colour does not count as content."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    median = np.median(rgb.reshape(-1, 3), axis=0)
    if (np.abs(rgb - median).max(axis=2) > tolerance).mean() < min_fraction:
        raise InvalidInput(
            f"{what} is blank, transparent or a single colour: there is nothing to learn from it. "
            "Upload a picture of a car."
        )
    return image


def editor_image_and_mask(
    value: Mapping[str, Any] | None, *, max_pixels: int = MAX_UPLOAD_PIXELS
) -> tuple[Image.Image, np.ndarray]:
    """Split a ``gr.ImageEditor`` value into the uploaded image and the brushed mask.

    The mask is the union of every layer's alpha > 0. Without a background (e.g. an API call
    that sent a bare file) the composite is used; the strokes baked into it only cover pixels
    that are about to be regenerated anyway.
    """
    value = _editor_dict(value)
    source = _first_present(value.get("background"), value.get("composite"))
    if source is None:
        raise InvalidInput(_NO_BACKGROUND)
    image = open_image(source, max_pixels=max_pixels)
    layers = _present(value.get("layers"))
    if not layers:
        raise InvalidInput(_NO_MASK)
    mask = _union_alpha(layers, (image.height, image.width), max_pixels) > 0
    if not mask.any():
        raise InvalidInput(_NO_MASK)
    if mask.mean() > _MAX_MASK_FRACTION:
        raise InvalidInput("The mask covers the whole image: leave some of the car unmasked.")
    return image, mask


def sketch_strokes(
    value: Mapping[str, Any] | None, *, max_pixels: int = MAX_UPLOAD_PIXELS
) -> np.ndarray:
    """Return the ink of a ``gr.Sketchpad`` value as uint8 HxW, 255 = full ink.

    Strokes come from the layers' alpha: from a browser the composite is flattened onto an
    opaque white canvas, so its alpha says nothing. Without layers with ink (API callers, or
    gradio versions that drop layers) the composite's darkness is used instead.
    """
    value = _editor_dict(value)
    layers = _present(value.get("layers"))
    ink = _union_alpha(layers, None, max_pixels) if layers else None
    composite = value.get("composite")
    if (ink is None or not _has_ink(ink)) and not _is_missing(composite):
        ink = _darkness(_to_rgba(composite, max_pixels))
    if ink is None or not _has_ink(ink):
        raise InvalidInput(_EMPTY_SKETCH)
    return ink


def sketch_colors(
    value: Mapping[str, Any] | None, *, max_pixels: int = MAX_UPLOAD_PIXELS
) -> Image.Image:
    """Return the painting of a "paint" ``gr.Sketchpad`` as RGB, transparent areas white.

    The layers are composited over the background (as the browser does) so that colours are
    exact even when no composite was sent; without layers the composite is used.
    """
    value = _editor_dict(value)
    layers = _present(value.get("layers"))
    composite = value.get("composite")
    if layers:
        rgba = _composite_layers(value.get("background"), layers, max_pixels)
    elif not _is_missing(composite):
        rgba = _to_rgba(composite, max_pixels)
    else:
        raise InvalidInput(_EMPTY_PAINTING)
    painting = _over_white(rgba)
    if np.asarray(painting).min() == 255:
        raise InvalidInput(_EMPTY_PAINTING)
    return painting


def part_layout(value: Any, *, max_pixels: int = MAX_UPLOAD_PIXELS) -> tuple[np.ndarray, float]:
    """A layout editor value (a sampled or uploaded label map, with any painted layers on top)
    or a bare label-map file -> (square HxW int64 part ids, share of pixels snapped from colours
    that are no part colour).

    A single-channel file whose values all lie below the number of parts is read as ids (a
    SPADE-style label map). Everything else is read by colour: each pixel takes the nearest part
    colour, and more than 5% of pixels far from every part colour is refused, since the layout
    then is not a part map. A non-square map is padded with background to a square, centred.
    """
    if isinstance(value, Mapping) and ("background" in value or "layers" in value):
        layers = _present(value.get("layers"))
        background = _first_present(value.get("background"), value.get("composite"))
        if background is None and not layers:
            raise InvalidInput("No layout was given: sample one or upload a label map first.")
        ids = _label_ids(background, max_pixels) if background is not None else None
        if layers:  # strokes painted over the map: composite them over its colours
            if ids is not None:
                background, ids = PART_COLORS[ids], None
            rgba = _composite_layers(background, layers, max_pixels)
        elif ids is None:
            rgba = _to_rgba(background, max_pixels)
    else:
        ids = _label_ids(value, max_pixels)
        rgba = None if ids is not None else _to_rgba(value, max_pixels)
    unknown = 0.0
    if ids is None:
        rgb = np.asarray(_over_white(rgba))
        ids, unknown = snap_colors(rgb)
        if unknown > _MAX_UNKNOWN_COLORS:
            raise InvalidInput(_unknown_colors_message(rgb, unknown))
    height, width = ids.shape
    if min(height, width) < _MIN_LAYOUT_SIDE:
        raise InvalidInput(f"The layout is only {width}x{height} pixels; it must be at least "
                           f"{_MIN_LAYOUT_SIDE} pixels on each side.")
    if (ids != BACKGROUND).sum() == 0:
        raise InvalidInput("The layout is all background: paint the car's parts (body, glass, wheels...) "
                           "or sample a layout first.")
    return _pad_square(ids, BACKGROUND), unknown


def _label_ids(value: Any, max_pixels: int) -> np.ndarray | None:
    """The ids of a single-channel label-map file (values < NUM_PARTS), else None."""
    if isinstance(value, Mapping):
        value = value.get("path")
    if not isinstance(value, (str, os.PathLike)):
        return None
    try:
        with Image.open(value) as image:
            if image.mode not in ("L", "I", "I;16"):
                return None
            _check_pixels(image.width, image.height, max_pixels)
            ids = np.asarray(image).astype(np.int64)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return None  # the colour path reads it again and says what is wrong
    return ids if ids.max(initial=0) < NUM_PARTS else None


def _unknown_colors_message(rgb: np.ndarray, unknown: float) -> str:
    distance = np.linalg.norm(rgb[..., None, :].astype(np.float32) - PART_COLORS[None, None], axis=-1).min(-1)
    colours, counts = np.unique(rgb[distance > 80].reshape(-1, 3), axis=0, return_counts=True)
    example = tuple(int(c) for c in colours[counts.argmax()])
    names = ", ".join(f"{name} #{''.join(f'{c:02x}' for c in color)}" for name, color in zip(PART_NAMES, PART_COLORS))
    return (f"{unknown:.0%} of the layout's pixels are not part colours (the most common is RGB {example}): "
            f"paint with the part palette only ({names}) or upload a label map of part ids 0-{NUM_PARTS - 1}.")


def _pad_square(ids: np.ndarray, fill: int) -> np.ndarray:
    height, width = ids.shape
    side = max(height, width)
    if height == width:
        return ids
    out = np.full((side, side), fill, dtype=ids.dtype)
    top, left = (side - height) // 2, (side - width) // 2
    out[top:top + height, left:left + width] = ids
    return out


def normalize_sketch(ink: np.ndarray, size: int, *, margin: float = 0.1) -> np.ndarray:
    """Crop the drawing to its ink, centre it in a square with ``margin`` and resize to ``size``.

    Position and scale of the drawing on the canvas then do not matter to the model. The
    longest side of the drawing spans ``size * (1 - 2 * margin)`` pixels; stroke width scales
    with the drawing. Refused: no ink, a "dot" (drawing spanning under 5% of the canvas's
    longest side, which would be blown up into a blob), and a canvas more than 60% inked
    (a photo or filled painting, not a line sketch).
    """
    ink = np.asarray(ink)
    if ink.ndim != 2 or ink.dtype != np.uint8:
        raise ValueError(f"ink must be a uint8 HxW array, got {ink.dtype} {ink.shape}")
    if size < 1 or not 0 <= margin < 0.5:
        raise ValueError(f"need size >= 1 and 0 <= margin < 0.5, got {size}, {margin}")
    drawn = ink > _INK_LEVEL
    if not drawn.any():
        raise InvalidInput(_EMPTY_SKETCH)
    if drawn.mean() > _MAX_INK_FRACTION:
        raise InvalidInput(
            "That looks like a filled picture, not a line sketch: draw the outline of a car "
            "on a blank canvas."
        )
    rows = np.flatnonzero(drawn.any(axis=1))
    cols = np.flatnonzero(drawn.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    if max(height, width) < _MIN_DRAWING_FRACTION * max(ink.shape):
        raise InvalidInput("The drawing is just a dot: draw a bigger car outline.")
    scale = size * (1 - 2 * margin) / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = Image.fromarray(crop).resize((new_w, new_h), Image.Resampling.BOX)
    out = np.zeros((size, size), np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top : top + new_h, left : left + new_w] = np.asarray(small)
    return out


def check_number(
    value: Any, name: str, *, low: float, high: float, integer: bool = False
) -> float | int:
    """Validate a number from a UI control (or its text) and return it as float or int.

    Refuses None, bool, NaN, infinities, unparseable text, values outside [low, high] and,
    with ``integer=True``, fractions; the message names the control and its range.
    """
    number = _as_number(value)
    valid = (
        number is not None
        and not (isinstance(number, float) and not math.isfinite(number))
        and low <= number <= high
        and (not integer or number == int(number))
    )
    if not valid:
        kind = "a whole number" if integer else "a number"
        raise InvalidInput(
            f"{name} must be {kind} between {_fmt(low)} and {_fmt(high)}, got {_shown(value)}."
        )
    return int(number) if integer else float(number)


def check_choice(value: _T, name: str, choices: Iterable[_T]) -> _T:
    """Return ``value`` if it is one of ``choices``; otherwise say which values are allowed."""
    options = tuple(choices)
    if value not in options:
        allowed = ", ".join(repr(option) for option in options)
        raise InvalidInput(f"{name} must be one of {allowed}; got {_shown(value)}.")
    return value


# --- decoding -------------------------------------------------------------------------------


def _to_rgba(value: Any, max_pixels: int) -> np.ndarray:
    """Decode any supported image value into an HxWx4 uint8 RGBA array."""
    if _is_missing(value):
        raise InvalidInput(_NO_IMAGE)
    if isinstance(value, Mapping):  # a file reference as the UI sends it: {"path": ..., ...}
        value = value["path"]
    if isinstance(value, np.ndarray):
        return _array_to_rgba(value, max_pixels)
    if isinstance(value, Image.Image):
        return _pil_to_rgba(value, max_pixels)
    if isinstance(value, (str, os.PathLike)):
        return _file_to_rgba(Path(value), max_pixels)
    raise TypeError(f"expected a path, PIL image or numpy array, got {type(value).__name__}")


def _file_to_rgba(path: Path, max_pixels: int) -> np.ndarray:
    """Open a file lazily so its size is checked from the header, then decode it."""
    try:
        with Image.open(path) as image:
            return _pil_to_rgba(image, max_pixels)
    except FileNotFoundError as error:
        raise InvalidInput(
            f"The file {path.name} is no longer available: upload it again."
        ) from error
    except UnidentifiedImageError as error:
        raise InvalidInput(
            f"{path.name} is not an image (or not a format we can read): upload a PNG, "
            "JPEG or WebP file."
        ) from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's guard fired before ours could (it runs inside Image.open).
        limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
        raise InvalidInput(
            f"{path.name} is too large: images up to {limit / 1e6:g} megapixels are accepted."
        ) from error
    except InvalidInput:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise InvalidInput(
            f"{path.name} could not be read: the file looks damaged or truncated."
        ) from error


def _pil_to_rgba(image: Image.Image, max_pixels: int) -> np.ndarray:
    """Check the size (still lazy), then load, apply EXIF rotation and convert to RGBA."""
    _check_pixels(image.width, image.height, max_pixels)
    upright = ImageOps.exif_transpose(image)
    if upright.mode in _WIDE_MODES:
        # Pillow's own conversion clips 16-bit and float data at 255; stretch it instead.
        return _array_to_rgba(np.asarray(upright), max_pixels)
    return np.asarray(upright.convert("RGBA"))


def _array_to_rgba(array: np.ndarray, max_pixels: int) -> np.ndarray:
    """Convert HxW, HxWx1, HxWx3 or HxWx4 data of any numeric dtype to RGBA uint8."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise InvalidInput(
            f"Expected an image of shape HxW, HxWx3 or HxWx4, got {array.shape}."
        )
    height, width = array.shape[:2]
    if height * width == 0:
        raise InvalidInput(f"The image is empty ({width}x{height} pixels).")
    _check_pixels(width, height, max_pixels)
    if array.ndim == 2:
        color = np.repeat(_color_to_uint8(array)[..., None], 3, axis=2)
    else:
        color = _color_to_uint8(array[..., :3])
    if array.ndim == 3 and array.shape[2] == 4:
        alpha = _alpha_to_uint8(array[..., 3])
    else:
        alpha = np.full((height, width), 255, np.uint8)
    return np.dstack([color, alpha])


def _color_to_uint8(data: np.ndarray) -> np.ndarray:
    """Map colour data to uint8: floats in [0, 1] by the usual convention, other non-uint8
    data stretched over its actual range (a 12-bit scan in a uint16 would otherwise be nearly
    black, and clipping would turn it white). A flat image has no range and becomes black."""
    if data.dtype == np.uint8:
        return data
    if data.dtype == np.bool_:
        return data.astype(np.uint8) * 255
    _check_numeric(data)
    if np.issubdtype(data.dtype, np.floating) and data.min() >= 0 and data.max() <= 1:
        return np.round(data * 255).astype(np.uint8)
    low, high = data.min(), data.max()
    if high == low:
        return np.zeros(data.shape, np.uint8)
    scaled = (data.astype(np.float32) - np.float32(low)) * np.float32(255 / (high - low))
    return np.round(scaled).astype(np.uint8)


def _alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """Map alpha by its nominal range (1.0 or the integer maximum), never by its actual range:
    a fully opaque alpha channel is flat and must stay opaque."""
    if alpha.dtype == np.uint8:
        return alpha
    if alpha.dtype == np.bool_:
        return alpha.astype(np.uint8) * 255
    _check_numeric(alpha)
    top = 1.0 if np.issubdtype(alpha.dtype, np.floating) else np.iinfo(alpha.dtype).max
    return np.round(np.clip(alpha, 0, top) * (255 / top)).astype(np.uint8)


def _check_numeric(data: np.ndarray) -> None:
    if not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)):
        raise InvalidInput(f"Unsupported image data type {data.dtype}.")
    if np.issubdtype(data.dtype, np.floating) and not np.isfinite(data).all():
        raise InvalidInput("The image contains invalid values (NaN or infinity).")


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise InvalidInput(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {max_pixels / 1e6:g} megapixels. Please upload a smaller image."
        )


def _over_white(rgba: np.ndarray) -> Image.Image:
    """Composite RGBA over white paper and drop alpha."""
    image = Image.fromarray(np.ascontiguousarray(rgba))
    paper = Image.new("RGBA", image.size, "white")
    return Image.alpha_composite(paper, image).convert("RGB")


# --- editor and sketchpad values ------------------------------------------------------------


def _editor_dict(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an editor dict, got {type(value).__name__}")
    return value


def _union_alpha(
    layers: list[Any], shape: tuple[int, int] | None, max_pixels: int
) -> np.ndarray:
    """Max of the layers' alpha channels, fitted to ``shape`` (default: the first layer's)."""
    alphas = (_to_rgba(layer, max_pixels)[..., 3] for layer in layers)
    union = next(alphas)
    if shape is not None:
        union = _fit(union, shape)
    for alpha in alphas:
        union = np.maximum(union, _fit(alpha, union.shape))
    return union


def _composite_layers(background: Any, layers: list[Any], max_pixels: int) -> np.ndarray:
    """Alpha-composite the layers, in order, over the background (transparent if none)."""
    first = _to_rgba(layers[0], max_pixels)
    if _is_missing(background):
        canvas = Image.new("RGBA", (first.shape[1], first.shape[0]), (0, 0, 0, 0))
    else:
        canvas = Image.fromarray(_to_rgba(background, max_pixels))
    shape = (canvas.height, canvas.width)
    for rgba in [first, *(_to_rgba(layer, max_pixels) for layer in layers[1:])]:
        canvas = Image.alpha_composite(canvas, Image.fromarray(_fit(rgba, shape)))
    return np.asarray(canvas)


def _fit(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a layer to ``shape`` (nearest, so masks stay crisp) if only its scale differs:
    a canvas can be sent at a different resolution than the image. A different aspect ratio
    means the strokes cannot be placed, so that is refused."""
    height, width = array.shape[:2]
    if (height, width) == tuple(shape):
        return array
    target_h, target_w = shape
    if abs((width / height) / (target_w / target_h) - 1) > _ASPECT_TOLERANCE:
        raise InvalidInput(
            f"The painted layer is {width}x{height} pixels but the image is "
            f"{target_w}x{target_h}: their shapes differ, so the strokes cannot be placed. "
            "Clear the brush strokes and paint again."
        )
    resized = Image.fromarray(np.ascontiguousarray(array)).resize(
        (target_w, target_h), Image.Resampling.NEAREST
    )
    return np.asarray(resized)


def _darkness(rgba: np.ndarray) -> np.ndarray:
    """Ink as darkness relative to white paper, transparent pixels counting as paper.

    Uses 255 - min over R, G, B rather than luminance: a saturated stroke of any colour
    (yellow, cyan) is then full ink, where luminance would make light colours nearly vanish.
    """
    return 255 - np.asarray(_over_white(rgba)).min(axis=2)


def _has_ink(ink: np.ndarray) -> bool:
    return bool((ink > _INK_LEVEL).any())


# --- small helpers --------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if isinstance(value, Mapping) and "path" in value:  # a file reference without a file
        value = value["path"]
    return value is None or (isinstance(value, str) and not value.strip())


def _present(values: Iterable[Any] | None) -> list[Any]:
    return [value for value in values or () if not _is_missing(value)]


def _first_present(*values: Any) -> Any:
    return next((value for value in values if not _is_missing(value)), None)


def _as_number(value: Any) -> int | float | None:
    """Parse ints, reals and numeric text; None for anything else (bool is not a number)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        for parse in (int, float):
            try:
                return parse(value.strip())
            except ValueError:
                pass
    return None


def _fmt(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    return repr(value)[:40] if isinstance(value, str) else str(value)[:40]
