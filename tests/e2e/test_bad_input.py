"""Every image-taking endpoint against a table of awkward files, through gradio_client.

Each case must end in a correct result or an error message a person understands, never the
generic "this request failed" answer that `spaces.common.user_errors` gives to unexpected
exceptions, and the server must answer the next good request.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageDraw

from carstudio.hub import WEIGHTS_DIR
from carstudio.inputs import open_image
from carstudio.pipelines.blend import ENCODER_WEIGHTS, EVERYDAY_WEIGHTS, FUTURISTIC_WEIGHTS
from carstudio.pipelines.layout import LAYOUT_WEIGHTS, RENDERER_WEIGHTS
from carstudio.pipelines.roigan import GENERATOR_WEIGHTS as REGION_WEIGHTS
from carstudio.pipelines.sketch import GENERATOR_WEIGHTS, SEGMENTER_WEIGHTS
from spaces.roigan import shipped_controls
from spaces.singan import shipped_models
from tests.e2e.conftest import gallery_paths

CAR = next(iter(shipped_models()), None)
SKETCH_READY = all((WEIGHTS_DIR / n).is_dir() for n in (SEGMENTER_WEIGHTS, GENERATOR_WEIGHTS))
LAYOUT_READY = all((WEIGHTS_DIR / n).is_dir() for n in (LAYOUT_WEIGHTS, RENDERER_WEIGHTS))
REGION_READY = (WEIGHTS_DIR / REGION_WEIGHTS).is_dir()
BLEND_READY = all((WEIGHTS_DIR / n).is_dir() for n in (EVERYDAY_WEIGHTS, FUTURISTIC_WEIGHTS, ENCODER_WEIGHTS))
REGION_CODES = [0.0] * shipped_controls()[0] if REGION_READY else []  # one value per control slider
# the generic answers: ours to unexpected exceptions, and Gradio's when its own preprocessing of
# an upload fails (a developer's message naming component indices and exception types; the
# events are registered with preprocess=False so that carstudio.inputs decodes uploads instead)
UNCLEAR = ("this request failed", "Could not preprocess input component")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels but holds almost no data: a decoder that
    trusts the header allocates width * height before noticing."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def car_drawing(mode: str = "RGB", size=(320, 200)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle([0.1 * w, 0.45 * h, 0.9 * w, 0.7 * h], outline="black", width=3)
    draw.rectangle([0.3 * w, 0.25 * h, 0.7 * w, 0.45 * h], outline="black", width=3)
    for cx in (0.25 * w, 0.75 * w):
        draw.ellipse([cx - 0.1 * h, 0.6 * h, cx + 0.1 * h, 0.8 * h], outline="black", width=3)
    return image.convert(mode)


def write_case(name: str, folder) -> str:
    """The file for case `name`, written into `folder`; returns its path."""
    path = folder / f"{name}.png"
    if name == "empty file":
        path.write_bytes(b"")
    elif name == "not an image":
        path.write_bytes(b"%PDF-1.4 this is not a picture" * 10)
    elif name == "header claims 20000x20000":
        path.write_bytes(png_header_only(20000, 20000))
    elif name == "one pixel":
        Image.new("RGB", (1, 1), "red").save(path)
    elif name == "all white":
        Image.new("RGB", (256, 160), "white").save(path)
    elif name == "all black":
        Image.new("RGB", (256, 160), "black").save(path)
    elif name == "grayscale":
        car_drawing("L").save(path)
    elif name == "rgba half transparent":
        image = car_drawing("RGBA")
        image.putalpha(128)
        image.save(path)
    elif name == "palette":
        car_drawing("P").save(path)
    elif name == "16-bit":
        array = (np.asarray(car_drawing("L"), np.uint16) * 257).astype(np.uint16)
        Image.fromarray(array, mode="I;16").save(path)
    elif name == "cmyk jpeg":
        path = folder / f"{name}.jpg"
        car_drawing("CMYK").save(path, "JPEG")
    elif name == "exif rotated jpeg":
        path = folder / f"{name}.jpg"
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
        car_drawing("RGB").rotate(90, expand=True).save(path, "JPEG", exif=exif)
    else:
        raise KeyError(name)
    return str(path)


CASES = ["empty file", "not an image", "header claims 20000x20000", "one pixel", "all white", "all black",
         "grayscale", "rgba half transparent", "palette", "16-bit", "cmyk jpeg", "exif rotated jpeg"]


def editor(path: str) -> dict:
    return {"background": handle_file(path), "layers": [], "composite": handle_file(path)}


def sketch(path: str) -> dict:
    return {"background": None, "layers": [], "composite": handle_file(path)}


def region(path: str) -> dict:
    """The file as the canvas, with a brushed square in its middle (64x64 when it cannot be read)."""
    try:
        width, height = open_image(path).size
    except Exception:
        width, height = 64, 64
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(layer).rectangle([width // 3, height // 3, 2 * width // 3, 2 * height // 3], fill="white")
    layer_path = str(Path(path).with_name(Path(path).stem + "-layer.png"))
    layer.save(layer_path)
    return {"background": handle_file(path), "layers": [handle_file(layer_path)], "composite": None}


ENDPOINTS = {
    "/singan_paint": (CAR is not None, lambda c, f: c.predict(CAR, editor(f), 2, 1, 0, True, api_name="/singan_paint")),
    "/singan_paint_photo": (CAR is not None and (WEIGHTS_DIR / "segmenter-128").is_dir(),
                            lambda c, f: c.predict(CAR, handle_file(f), 2, 1, 0, api_name="/singan_paint_photo")),
    "/sketch_generate": (SKETCH_READY, lambda c, f: c.predict(sketch(f), 1, 0, False, api_name="/sketch_generate")),
    "/sketch_mask": (SKETCH_READY, lambda c, f: c.predict(sketch(f), api_name="/sketch_mask")),
    "/layout_render": (LAYOUT_READY, lambda c, f: c.predict(editor(f), 0, 1, api_name="/layout_render")),
    "/region_edit": (REGION_READY, lambda c, f: c.predict(region(str(f)), 0, 0, *REGION_CODES, api_name="/region_edit")),
    "/blend_encode": (BLEND_READY, lambda c, f: c.predict("everyday", handle_file(f), 0, api_name="/blend_encode")),
}


def good_request(client, folder) -> None:
    """The next ordinary request of each tab still succeeds."""
    if SKETCH_READY:
        car_drawing().save(folder / "good-sketch.png")
        result = client.predict(sketch(str(folder / "good-sketch.png")), 1, 0, False, api_name="/sketch_generate")
        assert len(gallery_paths(result[2])) == 1
    if CAR is not None:
        assert len(gallery_paths(client.predict(CAR, 1, 0, 1.0, 0, api_name="/singan_sample"))) == 1
    if LAYOUT_READY:
        assert len(gallery_paths(client.predict(0, 0.8, False, 1, 4, 0, 1, api_name="/layout_generate")[1])) == 1
    if REGION_READY:
        car_drawing().save(folder / "good-car.png")
        assert client.predict(region(str(folder / "good-car.png")), 0, 0, *REGION_CODES, api_name="/region_edit")
    if BLEND_READY:
        client.predict("everyday", 0, 0, api_name="/blend_sample")
        client.predict("futuristic", 1, 0, api_name="/blend_sample")
        assert client.predict(0.5, api_name="/blend")


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("case", CASES)
def test_awkward_files_get_a_result_or_a_clear_message(client, tmp_path, endpoint, case):
    ready, call = ENDPOINTS[endpoint]
    if not ready:
        pytest.skip(f"weights for {endpoint} are not installed")
    path = write_case(case, tmp_path)
    message = None
    try:
        call(client, path)
    except AppError as error:
        message = str(error)
    good_request(client, tmp_path)  # whatever happened, the server still serves
    if message is not None:
        assert message.strip() and not any(u in message for u in UNCLEAR), f"{case}: {message}"


def test_upload_over_the_size_limit_is_refused_before_processing(client, tmp_path):
    if not SKETCH_READY:
        pytest.skip("sketch weights are not installed")
    big = tmp_path / "big.png"
    buffer = io.BytesIO()
    car_drawing().save(buffer, "PNG")
    big.write_bytes(buffer.getvalue() + b"\0" * (200 * 1024 * 1024))  # 200 MB: a PNG with trailing junk
    with pytest.raises(Exception, match="(?i)size|large|413|exceed"):
        client.predict(sketch(str(big)), api_name="/sketch_mask")
    good_request(client, tmp_path)


EDITOR_ENDPOINTS = {
    "/singan_paint": (CAR is not None, lambda c, v: c.predict(CAR, v, 2, 1, 0, True, api_name="/singan_paint")),
    "/sketch_generate": (SKETCH_READY, lambda c, v: c.predict(v, 1, 0, False, api_name="/sketch_generate")),
    "/sketch_mask": (SKETCH_READY, lambda c, v: c.predict(v, api_name="/sketch_mask")),
    "/layout_render": (LAYOUT_READY, lambda c, v: c.predict(v, 0, 1, api_name="/layout_render")),
    "/region_edit": (REGION_READY, lambda c, v: c.predict(v, 0, 0, *REGION_CODES, api_name="/region_edit")),
}


@pytest.mark.parametrize("endpoint", list(EDITOR_ENDPOINTS))
def test_editor_layers_of_the_wrong_size(client, tmp_path, endpoint):
    """A layer (mask) whose aspect ratio differs from the canvas or the other layers is refused
    with a message naming both sizes; one sent at another scale of the same shape is resized and
    used. (The sketch tab reads only the layers, so there the layers disagree with each other.)"""
    ready, call = EDITOR_ENDPOINTS[endpoint]
    if not ready:
        pytest.skip(f"weights for {endpoint} are not installed")
    car_drawing(size=(320, 200)).save(tmp_path / "canvas.png")
    strokes = car_drawing("RGBA", size=(160, 100))
    strokes.putalpha(Image.eval(strokes.convert("L"), lambda v: 255 - v))  # lines opaque, paper clear
    strokes.save(tmp_path / "half-scale.png")
    strokes.resize((100, 300)).save(tmp_path / "other-shape.png")
    canvas = handle_file(str(tmp_path / "canvas.png"))

    with pytest.raises(AppError, match=r"160x100|100x300|320x200") as error:
        call(client, {"background": canvas, "layers": [handle_file(str(tmp_path / "half-scale.png")),
                                                       handle_file(str(tmp_path / "other-shape.png"))],
                      "composite": None})
    assert not any(u in str(error.value) for u in UNCLEAR)
    assert call(client, {"background": canvas, "layers": [handle_file(str(tmp_path / "half-scale.png"))],
                         "composite": None})
    good_request(client, tmp_path)
