"""Tests for carstudio.inputs: every way a person (or a client) can hand us bad input."""

from __future__ import annotations

import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from carstudio.inputs import (
    MAX_SIDE,
    MAX_UPLOAD_PIXELS,
    InvalidInput,
    check_choice,
    check_number,
    downscale_to,
    editor_image_and_mask,
    normalize_sketch,
    open_image,
    sketch_colors,
    sketch_strokes,
)

REPO = Path(__file__).resolve().parents[2]


# --- fixtures -------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_blank_1bit_png(path: Path, width: int, height: int) -> Path:
    """A valid all-black 1-bit PNG of any size, streamed so it costs a few KB of memory."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    return path


def rgba_layer(shape: tuple[int, int], *boxes: tuple[int, int, int, int]) -> np.ndarray:
    """An HxWx4 layer as gr.ImageEditor sends it: transparent, red strokes in the boxes."""
    layer = np.zeros((*shape, 4), np.uint8)
    for top, bottom, left, right in boxes:
        layer[top:bottom, left:right] = (255, 0, 0, 255)
    return layer


def opaque(shape: tuple[int, int], value: int) -> np.ndarray:
    return np.full((*shape, 4), (value, value, value, 255), np.uint8)


def car_outline(canvas: tuple[int, int], offset: tuple[int, int], scale: float) -> np.ndarray:
    """Ink map of a simple side-view car (body, cabin, two wheels) drawn at offset/scale."""
    image = Image.new("L", (canvas[1], canvas[0]), 0)
    draw = ImageDraw.Draw(image)
    ox, oy = offset

    def pt(x: float, y: float) -> tuple[float, float]:
        return ox + x * scale, oy + y * scale

    width = max(1, round(3 * scale))
    body = [pt(0, 40), pt(10, 25), pt(35, 22), pt(50, 5), pt(90, 5), pt(110, 22), pt(140, 28),
            pt(140, 40), pt(0, 40)]
    draw.line(body, fill=255, width=width)
    for cx in (30, 110):
        draw.ellipse([pt(cx - 12, 30), pt(cx + 12, 54)], outline=255, width=width)
    return np.asarray(image)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 127, b > 127
    return (a & b).sum() / (a | b).sum()


# --- open_image: sources and failures -------------------------------------------------------


def test_pillow_guard_is_aligned_with_upload_limit() -> None:
    assert Image.MAX_IMAGE_PIXELS == MAX_UPLOAD_PIXELS


def test_module_does_not_import_gradio() -> None:
    code = "import sys, carstudio.inputs; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_image_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput, match="No image"):
        open_image(value)


def test_vanished_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="gone.png is no longer available"):
        open_image(tmp_path / "gone.png")


def test_non_image_bytes_with_image_extension(tmp_path: Path) -> None:
    path = tmp_path / "car.png"
    path.write_bytes(b"this is a text file, not a picture\n" * 10)
    with pytest.raises(InvalidInput, match="car.png is not an image"):
        open_image(str(path))


def test_truncated_png(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    full = tmp_path / "full.png"
    Image.fromarray(noise).save(full)
    cut = tmp_path / "cut.png"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert open_image(full).size == (64, 64)
    with pytest.raises(InvalidInput, match="damaged or truncated"):
        open_image(cut)


def test_huge_png_refused_by_pillow_guard_with_limit(tmp_path: Path) -> None:
    path = write_blank_1bit_png(tmp_path / "huge.png", 20000, 20000)
    assert path.stat().st_size < 100_000
    with pytest.raises(InvalidInput, match="40 megapixels"):
        open_image(path)


def test_huge_png_refused_from_header_without_decoding(tmp_path: Path) -> None:
    """With Pillow's guard switched off, our own header check must still refuse, and the
    process must never allocate the 400 MB (1 byte per pixel) the image would need."""
    path = write_blank_1bit_png(tmp_path / "huge.png", 20000, 20000)
    code = (
        "import sys\n"
        "from PIL import Image\n"
        "from carstudio.inputs import InvalidInput, open_image\n"
        "Image.MAX_IMAGE_PIXELS = None\n"
        "try:\n"
        "    open_image(sys.argv[1])\n"
        "except InvalidInput as error:\n"
        "    print(error)\n"
        # VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the parent's peak
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) // 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True, text=True
    )
    message, peak_mb = out.stdout.strip().splitlines()
    assert "20000x20000" in message and "limit is 40 megapixels" in message, out.stderr
    assert int(peak_mb) < 200


def test_size_limit_in_pillow_warning_range(tmp_path: Path) -> None:
    """Between 1x and 2x Pillow's limit Pillow only warns; we still refuse, and a warning
    turned into an error (python -W error) is refused with a message too."""
    path = write_blank_1bit_png(tmp_path / "big.png", 7000, 7000)
    with pytest.warns(Image.DecompressionBombWarning):
        with pytest.raises(InvalidInput, match="7000x7000"):
            open_image(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(InvalidInput, match="big.png is too large"):
            open_image(path)


def test_custom_pixel_limit_applies_to_every_source(tmp_path: Path) -> None:
    image = Image.new("RGB", (2000, 1000))
    image.save(tmp_path / "two_mp.png")
    for value in (tmp_path / "two_mp.png", image, np.zeros((1000, 2000, 3), np.uint8)):
        with pytest.raises(InvalidInput, match="limit is 1 megapixels"):
            open_image(value, max_pixels=1_000_000)


def test_too_small_image() -> None:
    assert open_image(Image.new("RGB", (8, 8))).size == (8, 8)
    with pytest.raises(InvalidInput, match="only 4x12 pixels"):
        open_image(Image.new("RGB", (4, 12)))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    stored = Image.new("RGB", (40, 20), "white")
    stored.paste((255, 0, 0), (0, 0, 5, 5))  # marker in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    stored.save(tmp_path / "phone.png", exif=exif)
    upright = open_image(tmp_path / "phone.png")
    assert upright.size == (20, 40)
    assert upright.getpixel((19, 0)) == (255, 0, 0)  # top-left went to top-right
    assert upright.getpixel((0, 0)) == (255, 255, 255)


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (16, 16), color) for color in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    assert open_image(tmp_path / "anim.gif").getpixel((8, 8)) == (255, 0, 0)


def test_unknown_type_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        open_image(12345)


# --- open_image: modes and dtypes -----------------------------------------------------------


def _palette_red_blue() -> Image.Image:
    image = Image.new("P", (16, 16), 0)
    image.putpalette([255, 0, 0, 0, 0, 255])
    return image


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("1", (16, 16), 1), (255, 255, 255)),
        (Image.new("L", (16, 16), 100), (100, 100, 100)),
        (Image.new("LA", (16, 16), (100, 255)), (100, 100, 100)),
        (Image.new("LA", (16, 16), (100, 0)), (255, 255, 255)),
        (_palette_red_blue(), (255, 0, 0)),
        (Image.new("RGB", (16, 16), (10, 200, 30)), (10, 200, 30)),
        (Image.new("RGBA", (16, 16), (255, 0, 0, 0)), (255, 255, 255)),
        (Image.new("RGBA", (16, 16), (0, 0, 0, 128)), (127, 127, 127)),
        (Image.new("CMYK", (16, 16), (0, 255, 255, 0)), (255, 0, 0)),
        (Image.new("RGB", (16, 16), (255, 0, 0)).convert("YCbCr"), (254, 0, 0)),
        (Image.new("HSV", (16, 16), (0, 255, 255)), (255, 0, 0)),
        (Image.new("F", (16, 16), 0.5), (128, 128, 128)),
    ],
    ids=["1", "L", "LA-opaque", "LA-clear", "P", "RGB", "RGBA-clear", "RGBA-half", "CMYK",
         "YCbCr", "HSV", "F-unit"],
)
def test_modes_convert_to_rgb(image: Image.Image, expected: tuple[int, int, int]) -> None:
    rgb = open_image(image)
    assert rgb.mode == "RGB" and rgb.size == image.size
    assert np.abs(np.subtract(rgb.getpixel((3, 3)), expected)).max() <= 1


def test_palette_transparency_becomes_white(tmp_path: Path) -> None:
    image = _palette_red_blue()
    image.paste(1, (0, 0, 8, 16))  # left half blue, and blue is the transparent index
    image.save(tmp_path / "p.png", transparency=1)
    rgb = open_image(tmp_path / "p.png")
    assert rgb.getpixel((2, 2)) == (255, 255, 255)
    assert rgb.getpixel((12, 2)) == (255, 0, 0)


def _assert_gradient(rgb: Image.Image) -> None:
    row = np.asarray(rgb)[0, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert (np.diff(row) >= 0).all() and len(np.unique(row)) > 50


@pytest.mark.parametrize("dtype", ["<u2", ">u2"])
def test_16bit_gradient_is_stretched_not_clipped(dtype: str) -> None:
    """Pillow's own I;16 -> L conversion clips everything >= 255 to white."""
    ramp = np.linspace(1000, 5000, 64).round().astype(dtype)
    image = Image.fromarray(np.tile(ramp, (8, 1)))
    assert image.mode == ("I;16" if dtype == "<u2" else "I;16B")
    _assert_gradient(open_image(image))


def test_16bit_png_file_keeps_gradient(tmp_path: Path) -> None:
    ramp = np.linspace(300, 12000, 64).round().astype(np.uint16)
    Image.fromarray(np.tile(ramp, (8, 1))).save(tmp_path / "scan16.png")
    _assert_gradient(open_image(tmp_path / "scan16.png"))


@pytest.mark.parametrize(
    "ramp",
    [
        np.linspace(-70000, 70000, 64).astype(np.int32),  # mode I
        np.linspace(-1, 1, 64).astype(np.float32),  # mode F outside [0, 1]
    ],
    ids=["I", "F-signed"],
)
def test_wide_modes_are_stretched(ramp: np.ndarray) -> None:
    _assert_gradient(open_image(Image.fromarray(np.tile(ramp, (8, 1)))))


def test_numpy_dtypes_and_shapes() -> None:
    gray = np.full((10, 12), 70, np.uint8)
    assert open_image(gray).getpixel((0, 0)) == (70, 70, 70)
    assert open_image(gray[..., None]).getpixel((0, 0)) == (70, 70, 70)
    flags = np.zeros((10, 12), bool)
    flags[:, 6:] = True
    assert open_image(flags).getpixel((0, 0)) == (0, 0, 0)
    assert open_image(flags).getpixel((11, 0)) == (255, 255, 255)
    unit = np.full((10, 12, 3), (1.0, 0.5, 0.0))
    assert open_image(unit).getpixel((0, 0)) == (255, 128, 0)
    ramp16 = np.tile(np.linspace(0, 4095, 64).astype(np.uint16)[None, :, None], (8, 1, 3))
    _assert_gradient(open_image(ramp16))


def test_numpy_rgba_alpha_uses_nominal_range() -> None:
    """A fully opaque alpha channel is flat: stretching it by its range would erase it."""
    red16 = np.zeros((10, 12, 4), np.uint16)
    red16[..., 0] = red16[..., 3] = 65535
    assert open_image(red16).getpixel((0, 0)) == (255, 0, 0)
    red_float = np.zeros((10, 12, 4), np.float32)
    red_float[..., 0] = red_float[..., 3] = 1.0
    assert open_image(red_float).getpixel((0, 0)) == (255, 0, 0)
    red_float[:, :6, 3] = 0.0
    assert open_image(red_float).getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((10, 12, 5), np.uint8), "shape"),
        (np.zeros((2, 10, 12, 3), np.uint8), "shape"),
        (np.zeros((0, 12), np.uint8), "empty"),
        (np.full((10, 12), np.nan), "NaN"),
        (np.full((10, 12), np.inf, np.float32), "NaN or infinity"),
        (np.full((10, 12), "x"), "data type"),
    ],
)
def test_bad_arrays(array: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        open_image(array)


# --- downscale_to ---------------------------------------------------------------------------


def test_downscale_keeps_aspect() -> None:
    assert downscale_to(Image.new("RGB", (400, 200)), 100).size == (100, 50)
    assert downscale_to(Image.new("RGB", (300, 1000)), 100).size == (30, 100)
    assert downscale_to(Image.new("RGB", (1000, 3)), 100).size == (100, 1)


def test_downscale_is_noop_when_small() -> None:
    image = Image.new("RGB", (MAX_SIDE, 10))
    assert downscale_to(image) is image
    assert downscale_to(image, 4096) is image


# --- editor_image_and_mask ------------------------------------------------------------------


def test_editor_mask_is_union_of_layer_alphas() -> None:
    shape = (30, 40)
    value = {
        "background": opaque(shape, 90),
        "layers": [rgba_layer(shape, (0, 10, 0, 10)), rgba_layer(shape, (20, 30, 30, 40))],
        "composite": opaque(shape, 0),
    }
    image, mask = editor_image_and_mask(value)
    assert image.size == (40, 30) and image.getpixel((5, 5)) == (90, 90, 90)
    expected = np.zeros(shape, bool)
    expected[0:10, 0:10] = expected[20:30, 30:40] = True
    assert mask.dtype == bool and (mask == expected).all()


def test_editor_accepts_file_paths(tmp_path: Path) -> None:
    shape = (30, 40)
    Image.fromarray(opaque(shape, 200)).save(tmp_path / "bg.png")
    Image.fromarray(rgba_layer(shape, (5, 15, 5, 25))).save(tmp_path / "layer.png")
    value = {"background": str(tmp_path / "bg.png"), "layers": [str(tmp_path / "layer.png")],
             "composite": None}
    image, mask = editor_image_and_mask(value)
    assert image.getpixel((0, 0)) == (200, 200, 200)
    assert mask.sum() == 10 * 20


def test_faint_antialiased_stroke_counts_in_mask() -> None:
    layer = np.zeros((30, 40, 4), np.uint8)
    layer[10, 10, 3] = 1
    _, mask = editor_image_and_mask({"background": opaque((30, 40), 9), "layers": [layer]})
    assert mask.sum() == 1


@pytest.mark.parametrize(
    "layers",
    [None, [], [None], [np.zeros((30, 40, 4), np.uint8)]],
    ids=["none", "empty-list", "none-layer", "transparent"],
)
def test_editor_without_strokes(layers: object) -> None:
    with pytest.raises(InvalidInput, match="Brush over the region"):
        editor_image_and_mask({"background": opaque((30, 40), 9), "layers": layers})


def test_editor_full_mask_is_refused() -> None:
    almost = rgba_layer((30, 40), (0, 30, 1, 40))  # 97.5 % covered
    with pytest.raises(InvalidInput, match="covers the whole image"):
        editor_image_and_mask({"background": opaque((30, 40), 9), "layers": [almost]})
    most = rgba_layer((30, 40), (0, 30, 4, 40))  # 90 % is allowed
    assert editor_image_and_mask({"background": opaque((30, 40), 9), "layers": [most]})


def test_editor_layer_with_same_aspect_is_resized() -> None:
    layer = rgba_layer((60, 80), (20, 40, 40, 80))
    _, mask = editor_image_and_mask({"background": opaque((30, 40), 9), "layers": [layer]})
    expected = np.zeros((30, 40), bool)
    expected[10:20, 20:40] = True
    assert mask.shape == (30, 40) and (mask == expected).all()


def test_editor_layer_with_other_aspect_is_refused() -> None:
    layer = rgba_layer((40, 40), (0, 10, 0, 10))
    with pytest.raises(InvalidInput, match="40x40 pixels but the image is 40x30"):
        editor_image_and_mask({"background": opaque((30, 40), 9), "layers": [layer]})


def test_editor_falls_back_to_composite() -> None:
    value = {"background": None, "layers": [rgba_layer((30, 40), (0, 5, 0, 5))],
             "composite": opaque((30, 40), 150)}
    image, mask = editor_image_and_mask(value)
    assert image.getpixel((20, 20)) == (150, 150, 150) and mask.sum() == 25


@pytest.mark.parametrize(
    "value",
    [None, {}, {"background": None, "layers": [], "composite": None}],
)
def test_editor_without_image(value: object) -> None:
    with pytest.raises(InvalidInput, match="Upload or choose a car image first"):
        editor_image_and_mask(value)


# --- sketch_strokes / sketch_colors ---------------------------------------------------------


def browser_sketch(shape: tuple[int, int], layer: np.ndarray) -> dict[str, object]:
    """What a browser Sketchpad sends: white opaque canvas, flat opaque composite."""
    composite = opaque(shape, 255)
    composite[layer[..., 3] > 0, :3] = 0
    return {"background": opaque(shape, 255), "layers": [layer], "composite": composite}


def test_sketch_strokes_come_from_layer_alpha() -> None:
    layer = rgba_layer((50, 60), (10, 12, 5, 55))
    layer[30, 30] = (0, 0, 0, 120)  # a soft anti-aliased pixel keeps its strength
    ink = sketch_strokes(browser_sketch((50, 60), layer))
    assert ink.dtype == np.uint8 and ink.shape == (50, 60)
    assert (ink == layer[..., 3]).all()


def test_sketch_strokes_from_composite_darkness() -> None:
    composite = opaque((50, 60), 255)
    composite[10, :] = (0, 0, 0, 255)  # black pen
    composite[20, :] = (255, 255, 0, 255)  # yellow pen: light, but still ink
    composite[30, :] = (0, 0, 0, 0)  # transparent: paper, whatever its colour
    ink = sketch_strokes({"background": None, "layers": [], "composite": composite})
    assert (ink[10] == 255).all() and (ink[20] == 255).all()
    assert (ink[30] == 0).all() and (ink[0] == 0).all()


def test_sketch_falls_back_to_composite_when_layers_are_blank() -> None:
    composite = opaque((50, 60), 255)
    composite[25, 5:55] = (40, 40, 40, 255)
    value = {"background": None, "layers": [np.zeros((50, 60, 4), np.uint8)],
             "composite": composite}
    assert sketch_strokes(value)[25, 30] == 215


EMPTY_SKETCHES = [
    None,
    {"background": None, "layers": [], "composite": None},
    browser_sketch((50, 60), np.zeros((50, 60, 4), np.uint8)),
]
EMPTY_IDS = ["none", "composite-none", "blank-canvas"]


@pytest.mark.parametrize("value", EMPTY_SKETCHES, ids=EMPTY_IDS)
def test_empty_sketch(value: object) -> None:
    with pytest.raises(InvalidInput, match="The sketch is empty"):
        sketch_strokes(value)


def test_sketch_colors_composites_layers_over_white() -> None:
    layer = rgba_layer((50, 60), (10, 20, 10, 20))
    painting = sketch_colors({"background": None, "layers": [layer], "composite": None})
    assert painting.mode == "RGB"
    assert painting.getpixel((15, 15)) == (255, 0, 0)
    assert painting.getpixel((40, 40)) == (255, 255, 255)


def test_sketch_colors_uses_background_and_composite() -> None:
    background = opaque((50, 60), 255)
    background[:, :30] = (0, 0, 200, 255)
    layer = rgba_layer((50, 60), (0, 5, 0, 5))
    painting = sketch_colors({"background": background, "layers": [layer]})
    assert painting.getpixel((2, 2)) == (255, 0, 0) and painting.getpixel((10, 10)) == (0, 0, 200)
    only_composite = sketch_colors({"background": None, "layers": [], "composite": background})
    assert only_composite.getpixel((10, 10)) == (0, 0, 200)


@pytest.mark.parametrize("value", EMPTY_SKETCHES, ids=EMPTY_IDS)
def test_empty_painting(value: object) -> None:
    with pytest.raises(InvalidInput, match="The sketch is empty"):
        sketch_colors(value)


# --- normalize_sketch -----------------------------------------------------------------------


def test_normalization_ignores_position_and_scale() -> None:
    small = car_outline((200, 300), offset=(10, 120), scale=1.0)
    large = car_outline((600, 500), offset=(150, 60), scale=2.5)
    a, b = normalize_sketch(small, 64), normalize_sketch(large, 64)
    assert a.shape == b.shape == (64, 64) and a.dtype == np.uint8
    assert iou(a, b) > 0.8
    # Control: without normalization the two drawings barely overlap, so the test can fail.
    naive = [np.asarray(Image.fromarray(x).resize((64, 64), Image.Resampling.BOX)) for x in
             (small, large)]
    assert iou(*naive) < 0.3


def test_normalization_margin_and_centering() -> None:
    ink = np.zeros((100, 200), np.uint8)
    ink[40:50, 20:180] = 255  # a wide bar, 160 x 10
    out = normalize_sketch(ink, 50, margin=0.1)
    rows = np.flatnonzero(out.max(axis=1) > 127)
    cols = np.flatnonzero(out.max(axis=0) > 127)
    assert (cols[0], cols[-1]) == (5, 44)  # long side spans 80 % of 50
    assert abs((rows[0] + rows[-1]) / 2 - 24.5) <= 1  # short side is centred


def test_normalization_refuses_a_dot() -> None:
    ink = np.zeros((400, 400), np.uint8)
    ink[200:210, 200:210] = 255
    with pytest.raises(InvalidInput, match="just a dot"):
        normalize_sketch(ink, 64)


def test_normalization_refuses_a_filled_picture() -> None:
    ink = np.zeros((100, 100), np.uint8)
    ink[:70] = 200
    with pytest.raises(InvalidInput, match="filled picture, not a line sketch"):
        normalize_sketch(ink, 64)
    ink[:50] = 200  # half inked is still allowed (dense sketch)
    ink[50:] = 0
    assert normalize_sketch(ink, 64).max() > 0


def test_normalization_of_blank_or_faint_ink() -> None:
    with pytest.raises(InvalidInput, match="The sketch is empty"):
        normalize_sketch(np.full((100, 100), 20, np.uint8), 64)  # paper texture only


# --- check_number / check_choice ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [None, float("nan"), float("inf"), -float("inf"), "abc", "", "1e999", True, np.bool_(False),
     10**30, -1, 3.5, "3.5", [1], np.float64("nan")],
)
def test_check_number_refuses(value: object) -> None:
    expected = r"^Seed must be a whole number between 0 and 2147483647, got "
    with pytest.raises(InvalidInput, match=expected):
        check_number(value, "Seed", low=0, high=2147483647, integer=True)


def test_check_number_message_is_exact() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_number(3.5, "Seed", low=0, high=2147483647, integer=True)
    assert str(caught.value) == "Seed must be a whole number between 0 and 2147483647, got 3.5."
    with pytest.raises(InvalidInput) as caught:
        check_number("lots", "Strength", low=0, high=1)
    assert str(caught.value) == "Strength must be a number between 0 and 1, got 'lots'."


@pytest.mark.parametrize(
    ("value", "integer", "expected"),
    [(5, True, 5), ("42", True, 42), (7.0, True, 7), (np.int64(3), True, 3), (" 12 ", True, 12),
     (0.25, False, 0.25), ("1e-3", False, 0.001), (1, False, 1.0), (np.float32(0.5), False, 0.5)],
)
def test_check_number_accepts(value: object, integer: bool, expected: float) -> None:
    result = check_number(value, "X", low=0, high=100, integer=integer)
    assert result == expected and type(result) is (int if integer else float)


def test_check_number_bounds_are_inclusive() -> None:
    assert check_number(0, "Steps", low=0, high=10) == 0.0
    assert check_number(10, "Steps", low=0, high=10) == 10.0
    with pytest.raises(InvalidInput, match="between 0.5 and 1.5, got 1.6"):
        check_number(1.6, "Guidance", low=0.5, high=1.5)


def test_check_choice() -> None:
    assert check_choice("side", "View", ["side", "front"]) == "side"
    with pytest.raises(InvalidInput, match=r"View must be one of 'side', 'front'; got 'top'"):
        check_choice("top", "View", ("side", "front"))
    with pytest.raises(InvalidInput, match="got nothing"):
        check_choice(None, "View", {"side"})


def test_file_references_from_raw_event_values(tmp_path) -> None:
    """Events registered with preprocess=False hand over {"path": ...} dicts."""
    path = tmp_path / "car.png"
    Image.new("RGB", (20, 10), (10, 200, 30)).save(path)
    image = open_image({"path": str(path), "orig_name": "car.png", "meta": {"_type": "gradio.FileData"}})
    assert image.size == (20, 10) and image.getpixel((0, 0)) == (10, 200, 30)
    with pytest.raises(InvalidInput, match="No image"):
        open_image({"path": None})
    value = {"background": None, "layers": [], "composite": {"path": str(path)}}
    assert sketch_strokes(value).shape == (10, 20)
