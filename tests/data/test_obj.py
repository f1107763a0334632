"""OBJ/MTL parser and Trigger Rally vehicle assembly, on files written in the test."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from carstudio.data.mesh import ModelError
from carstudio.data.obj import load_trigger_car, parse_mtl, parse_obj, trigger_vehicle_names
from carstudio.data.parts import BODY, WHEEL
from tests.data.conftest import write_trigger_car

QUAD_OBJ = """# a quad, a triangle with a negative index and no UV
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vn 0 0 1
usemtl paint
f 1/1/1 2/2/1 3/3/1 4/4/1
usemtl glass
f 1//1 3//1 -1//1
"""


def test_parse_obj_fans_uvs_and_negative_indices() -> None:
    obj = parse_obj(QUAD_OBJ)
    assert obj.positions.shape == (9, 3) and obj.materials == ["paint", "paint", "glass"]
    np.testing.assert_allclose(obj.positions[3:6], [[0, 0, 0], [1, 1, 0], [0, 1, 0]])
    np.testing.assert_allclose(obj.uvs[:3], [[0, 0], [1, 0], [1, 1]])
    np.testing.assert_allclose(obj.uvs[6:], 0.0)  # no vt given
    assert obj.normals is not None and np.allclose(obj.normals[:, 2], 1.0)
    np.testing.assert_allclose(obj.positions[6:], [[0, 0, 0], [1, 1, 0], [0, 1, 0]])


@pytest.mark.parametrize("text, message", [
    ("v 0 0 0\nv 1 0 0\nf 1 2 3\n", "out of range"),
    ("v 0 0\n", "3 coordinates"),
    ("v 0 0 0\n", "no faces"),
    ("v 0 0 0\nv 1 0 0\nv 1 1 0\nf 1 2\n", "3 corners"),
])
def test_parse_obj_errors(text: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        parse_obj(text, "bad.obj")


def test_parse_mtl() -> None:
    mtl = parse_mtl("newmtl a\nKd 0.5 0.25 1\nmap_Kd tex.png\nnewmtl b\n")
    assert mtl == {"a": ((0.5, 0.25, 1.0), "tex.png"), "b": ((1.0, 1.0, 1.0), None)}


def test_trigger_car_from_folder(tmp_path) -> None:
    write_trigger_car(tmp_path)
    assert trigger_vehicle_names(tmp_path) == ["cordo_wrc"]
    car = load_trigger_car(tmp_path, "cordo_wrc")
    assert car.problems == []  # the stale material name falls back to the only material
    assert all(m.texture == "cordo_wrc/cordo_wrc.png" for m in car.meshes)
    body = np.concatenate([m.positions[m.parts == BODY] for m in car.meshes])
    # Trigger x right / y forward -> car x forward / y left; model units x 0.01
    np.testing.assert_allclose(body.min(0), [-2.0, -0.8, -0.2], atol=1e-5)
    np.testing.assert_allclose(body.max(0), [2.0, 0.8, 1.0], atol=1e-5)
    wheel = np.concatenate([m.positions[m.parts == WHEEL] for m in car.meshes])
    assert car.ground_z == pytest.approx(wheel[:, 2].min())
    front_left = wheel[(wheel[:, 0] > 0) & (wheel[:, 1] > 0)]
    centre = (front_left.min(0) + front_left.max(0)) / 2
    np.testing.assert_allclose(centre, [1.2, 0.7, -0.2], atol=1e-5)  # pos "-0.7, 1.2, -0.2"
    radius = np.sqrt((front_left[:, 0] - 1.2) ** 2 + (front_left[:, 2] + 0.2) ** 2).max()
    assert radius == pytest.approx(0.3, abs=1e-5)
    assert car.glass_above_z is not None
    assert list(car.window_texels) == ["cordo_wrc/cordo_wrc.png"]


def test_trigger_car_from_zip_and_missing_texture(tmp_path) -> None:
    write_trigger_car(tmp_path / "data", texture=False)
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (tmp_path / "data").rglob("*"):
            z.write(path, path.relative_to(tmp_path / "data").as_posix())
    assert trigger_vehicle_names(archive) == ["cordo_wrc"]
    car = load_trigger_car(archive, "cordo_wrc")
    assert any("missing" in p for p in car.problems)
    assert all(m.texture is None for m in car.meshes)


def test_corrupt_trigger_files(tmp_path) -> None:
    bad_zip = tmp_path / "data.zip"
    bad_zip.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ModelError):
        load_trigger_car(bad_zip, "cordo_wrc")
    d = write_trigger_car(tmp_path / "folder")
    (d / "cordo_wrc.obj").write_text("v 0 0 0\nf 1 2 3\n")
    with pytest.raises(ModelError, match="out of range"):
        load_trigger_car(tmp_path / "folder", "cordo_wrc")
