"""AC3D parser, TORCS part-name rules and TORCS car assembly, on files written in the test."""

from __future__ import annotations

import numpy as np
import pytest

from carstudio.data.ac3d import (
    load_torcs_car,
    object_meshes,
    parse_ac3d,
    read_torcs_params,
    torcs_part,
    torcs_transparent,
)
from carstudio.data.mesh import ModelError
from carstudio.data.parts import BODY, GLASS, LIGHTS, OTHER, WHEEL
from tests.data.conftest import write_torcs_car

# A quad polygon (smooth, with normals) and a 5-vertex strip that repeats a vertex to turn.
TINY_ACC = """AC3Db
MATERIAL "red" rgb 1.0 0.0 0.0 amb 1 1 1 emis 0 0 0 spec 0 0 0 shi 1 trans 0
MATERIAL "grey" rgb 0.5 0.5 0.5 amb 1 1 1 emis 0 0 0 spec 0 0 0 shi 1 trans 0
OBJECT world
kids 2
OBJECT poly
name "QUAD_s_1"
texture "quad.rgb" base
texture "quad.rgb" tiled
numvert 4
0 0 0 0 0 1
1 0 0 0 0 1
1 1 0 0 0 1
0 1 0 0 0 1
numsurf 1
SURF 0x10
mat 1
refs 4
0 0.0 0.0 0.5 0.5
1 1.0 0.0 0.5 0.5
2 1.0 1.0 0.5 0.5
3 0.0 1.0 0.5 0.5
kids 0
OBJECT poly
name "STRIP"
loc 10 0 0
numvert 4
0 0 0
1 0 0
0 1 0
1 1 0
numsurf 1
SURF 0x24
refs 5
0 0 0
1 1 0
2 0 1
2 0 1
3 1 1
kids 0
"""


def test_parse_vertices_uvs_and_materials() -> None:
    model = parse_ac3d(TINY_ACC, "tiny.acc")
    assert [m.rgb for m in model.materials] == [(1.0, 0.0, 0.0), (0.5, 0.5, 0.5)]
    quad, strip = model.objects
    assert quad.name == "QUAD_s_1" and quad.texture == "quad.rgb"  # the base texture line
    assert quad.positions.shape == (4, 3) and quad.normals is not None
    assert quad.triangles.tolist() == [[0, 1, 2], [0, 2, 3]]  # polygon -> fan
    np.testing.assert_allclose(quad.uvs[1], [[0, 0], [1, 1], [0, 1]])  # first UV pair only
    assert quad.materials.tolist() == [1, 1] and quad.smooth.all() and not quad.two_sided.any()
    assert strip.normals is None and strip.texture is None
    np.testing.assert_allclose(strip.positions[0], [10, 0, 0])  # loc applied


def test_strip_order_and_degenerates() -> None:
    strip = parse_ac3d(TINY_ACC).objects[1]
    # refs 0 1 2 2 3 -> (0,1,2), (2,1,2)x, (2,2,3)x, ... odd triangles swap their first corners
    assert strip.triangles.tolist() == [[0, 1, 2]]
    assert strip.two_sided.all()
    # every kept triangle is counter-clockwise (facing +z in the file frame)
    p = strip.positions[strip.triangles]
    assert np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])[:, 2].min() > 0


def test_strip_winding_alternates() -> None:
    text = TINY_ACC.replace("refs 5\n0 0 0\n1 1 0\n2 0 1\n2 0 1\n3 1 1",
                            "refs 4\n0 0 0\n1 1 0\n2 0 1\n3 1 1")
    strip = parse_ac3d(text).objects[1]
    assert strip.triangles.tolist() == [[0, 1, 2], [2, 1, 3]]
    p = strip.positions[strip.triangles]
    assert (np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])[:, 2] > 0).all()


def test_object_meshes_frame_parts_and_sidedness() -> None:
    model = parse_ac3d(TINY_ACC)
    meshes = object_meshes(model, torcs_part, torcs_transparent)
    quad, strip = meshes
    # file y-up -> car z-up: (x, y, z) -> (x, -z, y)
    np.testing.assert_allclose(quad.positions[:3], [[0, 0, 0], [1, 0, 0], [1, 0, 1]], atol=1e-6)
    np.testing.assert_allclose(quad.normals[0], [0, -1, 0], atol=1e-6)
    np.testing.assert_allclose(quad.colors[0], [0.5, 0.5, 0.5])  # material 1
    assert not quad.two_sided and strip.two_sided
    assert quad.parts[0] == BODY and strip.parts[0] == BODY
    # the strip has no normals: face normals, unit length
    np.testing.assert_allclose(np.linalg.norm(strip.normals, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("text, message", [
    ("hello\n", "no AC3D header"),
    (TINY_ACC[: TINY_ACC.index("numsurf 1\nSURF 0x10")], "truncated"),
    (TINY_ACC.replace("3 0.0 1.0 0.5 0.5", "9 0.0 1.0 0.5 0.5"), "out of range"),
    (TINY_ACC.replace("1 0 0 0 0 1", "1 x 0 0 0 1"), "bad number"),
])
def test_bad_files_raise_model_error(text: str, message: str) -> None:
    with pytest.raises(ModelError, match=message) as info:
        parse_ac3d(text, "bad.acc")
    assert "bad.acc:" in str(info.value)  # names the file (and line)


@pytest.mark.parametrize("name, part", [
    ("CARBODY_s_4", BODY), ("ROOFOUTSIDE_s_3", BODY), ("WIFRONT_s_0", GLASS),
    ("WISIDE_s_1", GLASS), ("WIFRONTLIGH_s_1", LIGHTS), ("WIPER_s_5", OTHER),
    ("REARLIGHTOU_s_1", LIGHTS), ("FRONTLIGHTBULBS", LIGHTS), ("REARLIGHTBULPS_s_0", LIGHTS),
    ("DRIVERPART1_s_5", OTHER), ("SEATLEFT_s_2", OTHER), ("OUTEREXHAUS_s_1", OTHER),
    ("REARMIRROR_s_2", OTHER), ("BOTTOMWHEEL_s_3", OTHER), ("ANTENNA_s_4", OTHER),
    ("13WINGLETIN", BODY), ("WINGTOP", BODY), ("MAINBODY", BODY),
])
def test_torcs_part_rules(name: str, part: int) -> None:
    assert torcs_part(name) == part


def test_params_units(tmp_path) -> None:
    path = tmp_path / "p.xml"
    path.write_text('<params name="x"><section name="A"><section name="B">'
                    '<attnum name="rim" unit="in" val="10"/><attnum name="w" unit="mm" val="200"/>'
                    '<attnum name="r" unit="%" val="40"/><attstr name="s" val="hi"/>'
                    "</section></section></params>")
    p = read_torcs_params(path)
    assert p["A/B/rim"] == pytest.approx(0.254) and p["A/B/w"] == pytest.approx(0.2)
    assert p["A/B/r"] == pytest.approx(0.4) and p["A/B/s"] == "hi"


def test_torcs_car_wheels_and_parts(tmp_path) -> None:
    write_torcs_car(tmp_path)
    car = load_torcs_car(tmp_path / "cars" / "car1-trb1", tmp_path / "wheels")
    assert car.problems == []
    counts = car.part_counts()
    assert counts[BODY] == 12 and counts[GLASS] == 2 and counts[LIGHTS] == 2
    assert counts[WHEEL] == 4 * 12
    assert car.ground_z == pytest.approx(-0.1)  # ride height 100 mm below the floor (z = 0)
    assert car.glass_above_z is None and car.light_spots == []  # named glass and lamp exist
    wheel = np.concatenate([m.positions[m.parts == WHEEL] for m in car.meshes])
    radius = 0.2032 + 0.2 * 0.5  # 16 in rim / 2 + 200 mm x 0.5
    assert wheel[:, 2].min() == pytest.approx(-0.1, abs=1e-4)  # tyres touch the road
    assert wheel[:, 2].max() == pytest.approx(2 * radius - 0.1, abs=1e-4)
    assert wheel[:, 0].max() == pytest.approx(1.2 + radius, abs=1e-4)
    assert wheel[:, 1].max() == pytest.approx(0.8 + 0.1, abs=1e-4)  # tyre width 200 mm


def test_missing_texture_falls_back_to_flat(tmp_path) -> None:
    write_torcs_car(tmp_path, texture=False)
    car = load_torcs_car(tmp_path / "cars" / "car1-trb1", tmp_path / "wheels")
    assert any("car1-trb1.rgb" in p and "missing" in p for p in car.problems)
    body = [m for m in car.meshes if (m.parts == BODY).any()]
    assert body and all(m.texture is None for m in body)


def test_corrupt_texture_is_reported(tmp_path) -> None:
    car_dir = write_torcs_car(tmp_path)
    (car_dir / "car1-trb1.rgb").write_bytes(b"not an image")
    car = load_torcs_car(car_dir, tmp_path / "wheels")
    assert any("unreadable" in p for p in car.problems)


def test_single_mesh_body_gets_texel_glass_and_light_spots(tmp_path) -> None:
    car_dir = write_torcs_car(tmp_path)
    acc = (car_dir / "car1-trb1.acc").read_text()
    acc = acc.replace('"WIFRONT_s_0"', '"PANEL_s_0"').replace('"FRONTLIGHT_s_0"', '"PANEL_s_1"')
    (car_dir / "car1-trb1.acc").write_text(acc)
    xml = (car_dir / "car1-trb1.xml").read_text().replace(
        '<section name="Graphic Objects">',
        '<section name="Graphic Objects"><section name="Light"><section name="1">'
        '<attstr name="type" val="brake"/><attnum name="xpos" val="-2"/>'
        '<attnum name="ypos" val="0.5"/><attnum name="zpos" val="0.6"/>'
        '<attnum name="size" val="0.2"/></section></section>')
    (car_dir / "car1-trb1.xml").write_text(xml)
    car = load_torcs_car(car_dir, tmp_path / "wheels")
    assert car.glass_above_z == pytest.approx(-0.1 + 0.55 * 1.3, abs=1e-4)  # wheels to roof
    assert list(car.window_texels) == ["car1-trb1.rgb"]
    assert not car.window_texels["car1-trb1.rgb"].any()  # a red livery has no window texels
    assert car.light_spots == [(-2.0, 0.5, 0.6, pytest.approx(0.08))]
