"""Renderer on tiny meshes made in the test: coverage, culling, part ids, determinism, maps."""

from __future__ import annotations

import numpy as np
import pytest

from carstudio.data.glass import window_texels
from carstudio.data.maps import downsample_parts, downsample_rgb, paint_fill, sketch_lines
from carstudio.data.mesh import CarModel, flat_mesh, merge_meshes
from carstudio.data.parts import BACKGROUND, BODY, GLASS, LIGHTS, WHEEL
from carstudio.data.render import Renderer
from carstudio.data.scene import Background, Camera, Style, sample_scene

FLAT = Style(background=Background(kind="plain"))


def quad(centre, u, v) -> np.ndarray:
    """Two triangles spanning centre +- u +- v, counter-clockwise around u x v."""
    c, u, v = (np.asarray(a, np.float32) for a in (centre, u, v))
    return np.array([c - u - v, c + u - v, c + u + v, c - u - v, c + u + v, c - u + v])


def side_panel(part: int = BODY, x: float = 0.0, half_width: float = 1.0, **kw) -> CarModel:
    """A 2 x 1 m panel facing +y (the car's left, seen from azimuth 90)."""
    mesh = flat_mesh(quad((x, 0, 0.5), (-half_width, 0, 0), (0, 0, 0.5)), part=part, **kw)
    return CarModel("panel", [mesh], {}, ground_z=0.0)


NEAR_ORTHO = dict(elevation=0.0, fov=5.0, fill=0.5)


def test_known_pixel_coverage(renderer: Renderer) -> None:
    s = renderer.render(side_panel(), Camera(azimuth=90, **NEAR_ORTHO), FLAT)
    assert s.image.shape == (64, 64, 3) and s.parts.shape == (64, 64)
    assert s.image.dtype == s.parts.dtype == s.sketch.dtype == s.paint.dtype == np.uint8
    # fill 0.5: the 2 m side spans 32 px, so the 1 m side spans 16 px
    ys, xs = np.nonzero(s.parts == BODY)
    assert xs.max() - xs.min() + 1 == pytest.approx(32, abs=1)
    assert ys.max() - ys.min() + 1 == pytest.approx(16, abs=1)
    assert (s.parts == BODY).sum() == pytest.approx(32 * 16, rel=0.08)
    assert set(np.unique(s.parts)) == {BACKGROUND, BODY}
    # centred: the box's middle is the frame's middle
    assert (xs.min() + xs.max()) / 2 == pytest.approx(31.5, abs=1)


def test_back_faces_are_culled_unless_two_sided(renderer: Renderer) -> None:
    back = Camera(azimuth=270, **NEAR_ORTHO)
    assert (renderer.render(side_panel(), back, FLAT).parts == BODY).sum() == 0
    two_sided = renderer.render(side_panel(two_sided=True), back, FLAT)
    assert (two_sided.parts == BODY).sum() == pytest.approx(32 * 16, rel=0.08)


def test_part_ids_land_in_the_right_place(renderer: Renderer) -> None:
    # Front half (x > 0) body, rear half glass; seen from the left the front points left.
    front = flat_mesh(quad((0.5, 0, 0.5), (-0.5, 0, 0), (0, 0, 0.5)), part=BODY)
    rear = flat_mesh(quad((-0.5, 0, 0.5), (-0.5, 0, 0), (0, 0, 0.5)), part=GLASS)
    car = CarModel("two", merge_meshes([front, rear]), {}, ground_z=0.0)
    s = renderer.render(car, Camera(azimuth=90, **NEAR_ORTHO), FLAT)
    body_x = np.nonzero(s.parts == BODY)[1]
    glass_x = np.nonzero(s.parts == GLASS)[1]
    assert body_x.size and glass_x.size and body_x.max() <= glass_x.min() + 1
    # paint: every part one flat colour, the mean of the image over it
    for part in (BODY, GLASS, BACKGROUND):
        mask = s.parts == part
        assert len(np.unique(s.paint[mask], axis=0)) == 1
        np.testing.assert_allclose(s.paint[mask][0], s.image[mask].mean(0), atol=1)
    # the sketch draws the panel's outline and the body/glass border, nothing in the sky
    lines = s.sketch == 0
    assert lines[s.parts == BACKGROUND].sum() < lines.sum() * 0.6
    border_col = (body_x.max() + glass_x.min()) // 2
    assert lines[:, border_col - 1:border_col + 2].any()
    assert not lines[:5].any()


def test_light_spots_and_texel_glass(renderer: Renderer) -> None:
    texture = np.zeros((4, 4, 4), np.uint8)
    texture[...] = (128, 128, 128, 255)  # mid grey: window-like
    car = side_panel(texture="grey")
    car.textures = {"grey": texture}
    car.window_texels = {"grey": window_texels(texture)}
    car.glass_above_z = 0.5  # upper half: window texels there read as glass
    car.light_spots = [(0.8, 0.0, 0.25, 0.15)]  # front-bottom corner
    s = renderer.render(car, Camera(azimuth=90, **NEAR_ORTHO), FLAT)
    ys_glass = np.nonzero(s.parts == GLASS)[0]
    ys_body = np.nonzero(s.parts == BODY)[0]
    assert ys_glass.size and ys_body.size and ys_glass.max() < ys_body.mean()
    ys, xs = np.nonzero(s.parts == LIGHTS)
    assert 0 < ys.size < 60 and xs.mean() < 32 and ys.mean() > 32  # left (front), lower half


def test_window_texels_need_grey_in_every_livery() -> None:
    texture = np.zeros((1, 4, 4), np.uint8)
    texture[0] = [(40, 40, 40, 255), (128, 128, 128, 255), (250, 250, 250, 255), (200, 30, 30, 255)]
    np.testing.assert_array_equal(window_texels(texture)[0], [True, True, False, False])
    other = texture.copy()
    other[0, 1] = (30, 60, 200, 255)  # grey paint in one livery, blue in the other: not glass
    np.testing.assert_array_equal(window_texels(texture, [other])[0], [True, False, False, False])


def test_transparent_texture_alpha(renderer: Renderer) -> None:
    texture = np.zeros((2, 2, 4), np.uint8)
    texture[..., :3] = 200
    car = side_panel(part=GLASS, texture="clear", alpha="transparent")
    car.textures = {"clear": texture}  # alpha 0 everywhere: a hole, nothing drawn
    s = renderer.render(car, Camera(azimuth=90, **NEAR_ORTHO), FLAT)
    assert (s.parts == GLASS).sum() == 0
    wheel = side_panel(part=WHEEL, texture="clear", alpha="transparent")
    wheel.textures = {"clear": texture}  # a hole in a rim is still wheel in the part map
    s = renderer.render(wheel, Camera(azimuth=90, **NEAR_ORTHO), FLAT)
    assert (s.parts == WHEEL).sum() == pytest.approx(32 * 16, rel=0.08)


def test_deterministic_by_seed(renderer: Renderer) -> None:
    assert sample_scene(3, 7, ["a", "b", "c"]) == sample_scene(3, 7, ["a", "b", "c"])
    assert sample_scene(3, 7, ["a", "b", "c"]) != sample_scene(4, 7, ["a", "b", "c"])
    assert sample_scene(3, 7, ["a", "b", "c"]) != sample_scene(3, 8, ["a", "b", "c"])
    car = side_panel()
    scene = sample_scene(0, 5, ["panel"])
    a = renderer.render(car, scene.camera, scene.style)
    b = renderer.render(car, scene.camera, scene.style)
    for field in ("image", "parts", "sketch", "paint"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


@pytest.mark.parametrize("view, azimuths", [
    ("side", [(84, 96), (264, 276)]),
    ("three-quarter", [(30, 60), (120, 150), (210, 240), (300, 330)]),
])
def test_view_presets(view: str, azimuths: list[tuple[int, int]]) -> None:
    for i in range(50):
        az = sample_scene(0, i, ["x"], view).camera.azimuth
        assert any(lo <= az <= hi for lo, hi in azimuths)


def test_non_square_sizes() -> None:
    wide = Renderer(128, 80)
    try:
        s = wide.render(side_panel(), Camera(azimuth=90, elevation=0, fov=5, fill=0.9), FLAT)
    finally:
        wide.release()
    assert s.image.shape == (80, 128, 3) and s.parts.shape == s.sketch.shape == (80, 128)
    xs = np.nonzero(s.parts == BODY)[1]
    assert xs.max() - xs.min() + 1 == pytest.approx(0.9 * 128, abs=2)  # width is the tight side


def test_maps_downsampling() -> None:
    parts = np.array([[1, 1, 2, 3],
                      [1, 0, 3, 2]], np.uint8)
    # majority 1 in the left block; a 2-2 tie on the right goes to the thinner part (glass)
    assert downsample_parts(parts, 2).tolist() == [[BODY, GLASS]]
    rgb = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(2, 4, 3)
    # block means (0+3+12+15)/4 = 7.5 -> 8, 8.5 -> 9, 9.5 -> 10 (rounded half up)
    np.testing.assert_array_equal(downsample_rgb(rgb, 2)[0, 0], [8, 9, 10])
    image = np.zeros((2, 2, 3), np.uint8)
    image[0, 0] = 100
    paint = paint_fill(image, np.array([[1, 1], [0, 0]], np.uint8))
    np.testing.assert_array_equal(paint[0], [[50, 50, 50], [50, 50, 50]])
    np.testing.assert_array_equal(paint[1], 0)


def test_sketch_from_part_and_depth_edges() -> None:
    parts = np.zeros((8, 8), np.uint8)
    parts[2:6, 2:6] = BODY
    inv_depth = np.where(parts > 0, 0.1, 0.0).astype(np.float32)
    inv_depth[2:6, 4:6] = 0.2  # a nearer step inside the body: a depth edge
    normals = np.zeros((8, 8, 3), np.float32)
    normals[..., 2] = 1.0
    lines = sketch_lines(parts, inv_depth, normals, 1) == 0
    assert lines[2:6, 2].all() and lines[2, 2:6].all()  # silhouette, on the body side
    assert not lines[0].any() and not lines[:, 0].any()  # nothing in the background
    assert lines[3:5, 4].all()  # the depth step, on its nearer side
    assert not lines[3:5, 3].any()
