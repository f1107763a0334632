"""Tiny model trees written on the fly: a TORCS car (AC3D box + XML + wheel set) and a Trigger
Rally vehicle (OBJ + .vehicle), so the loaders and the renderer are tested without Debian data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from carstudio.data.render import Renderer

# Car frame (x forward, y left, z up) -> AC3D file frame (y up): (x, y, z) -> (x, z, -y).
_TO_FILE = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], np.float64)


def box_faces(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> list[np.ndarray]:
    """Six outward-facing quads (4x3 corners, counter-clockwise seen from outside)."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    c = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)], float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    return [c[list(q)] for q in quads]


def ac_object(name: str, quads: list[np.ndarray], texture: str | None, flags: str = "0x10") -> str:
    """One AC3D poly object (file frame) holding `quads` given in the car frame."""
    verts = []
    for quad in quads:
        n = np.cross(quad[1] - quad[0], quad[2] - quad[0])
        n = n / np.linalg.norm(n)
        for p in quad:
            verts.append(np.r_[p @ _TO_FILE.T, n @ _TO_FILE.T])
    out = ["OBJECT poly", f'name "{name}"']
    if texture:
        out += [f'texture "{texture}" base', f'texture "{texture}" tiled']
    out.append(f"numvert {len(verts)}")
    out += [" ".join(f"{v:.4f}" for v in vert) for vert in verts]
    out.append(f"numsurf {len(quads)}")
    for k in range(len(quads)):
        out += [f"SURF {flags}", "mat 0", "refs 4"]
        out += [f"{4 * k + j} {u} {v}" for j, (u, v) in enumerate([(0, 0), (1, 0), (1, 1), (0, 1)])]
    out.append("kids 0")
    return "\n".join(out)


def ac_file(objects: list[str]) -> str:
    head = ['AC3Db', 'MATERIAL "m" rgb 1 1 1 amb 1 1 1 emis 0 0 0 spec 0 0 0 shi 1 trans 0',
            "OBJECT world", f"kids {len(objects)}"]
    return "\n".join(head + objects) + "\n"


TORCS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<params name="{name}" type="template">
  <section name="Graphic Objects">
    <attstr name="env" val="{name}.acc"/>
    <attstr name="3d wheel directory" val="trb1-1"/>
  </section>
  <section name="Front Axle"><attnum name="xpos" val="1.2"/></section>
  <section name="Rear Axle"><attnum name="xpos" val="-1.2"/></section>
  {wheels}
</params>
"""
WHEEL_XML = """<section name="{side}">
    <attnum name="ypos" unit="m" val="{y}"/>
    <attnum name="rim diameter" unit="in" val="16"/>
    <attnum name="tire width" unit="mm" val="200"/>
    <attnum name="tire height-width ratio" val=".5"/>
    <attnum name="ride height" unit="mm" val="100"/>
  </section>"""


def write_texture(path: Path, rgb: tuple[int, int, int], fmt: str) -> None:
    a = np.zeros((8, 8, 4), np.uint8)
    a[..., :3], a[..., 3] = rgb, 255
    Image.fromarray(a, "RGBA").save(path, format=fmt)


def write_torcs_car(root: Path, name: str = "car1-trb1", texture: bool = True) -> Path:
    """cars/<name>/ with a 4 x 1.8 x 1.2 m box body, a windscreen and a lamp; wheels/trb1-1/."""
    car = root / "cars" / name
    car.mkdir(parents=True, exist_ok=True)
    body = box_faces((-2.0, -0.9, 0.0), (2.0, 0.9, 1.2))
    # Quads just in front of the box's front face, counter-clockwise seen from the front (+x).
    glass = [np.array([[2.01, -0.9, 0.8], [2.01, 0.9, 0.8], [2.01, 0.9, 1.1], [2.01, -0.9, 1.1]])]
    lamp = [np.array([[2.01, 0.5, 0.3], [2.01, 0.8, 0.3], [2.01, 0.8, 0.5], [2.01, 0.5, 0.5]])]
    objects = [ac_object("BODY_s_1", body, f"{name}.rgb"),
               ac_object("WIFRONT_s_0", glass, f"{name}.rgb"),
               ac_object("FRONTLIGHT_s_0", lamp, f"{name}.rgb")]
    (car / f"{name}.acc").write_text(ac_file(objects))
    wheels = "\n".join(WHEEL_XML.format(side=s, y=y) for s, y in (
        ("Front Right Wheel", -0.8), ("Front Left Wheel", 0.8),
        ("Rear Right Wheel", -0.8), ("Rear Left Wheel", 0.8)))
    (car / f"{name}.xml").write_text(TORCS_XML.format(name=name, wheels=wheels))
    if texture:
        write_texture(car / f"{name}.rgb", (200, 40, 40), "SGI")
    wheel_dir = root / "wheels" / "trb1-1"
    wheel_dir.mkdir(parents=True, exist_ok=True)
    tyre = box_faces((-0.5, -0.5, -0.5), (0.5, 0.5, 0.5))
    (wheel_dir / "wheel0.acc").write_text(ac_file([ac_object("TIRE_s_1", tyre, "wheel3d.png")]))
    write_texture(wheel_dir / "wheel3d.png", (30, 30, 30), "PNG")
    return car


def obj_text(quads: list[np.ndarray], material: str) -> str:
    """OBJ in Trigger's frame (x right, y forward, z up) from car-frame quads."""
    to_trigger = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]], float)
    lines = ["mtllib x.mtl", "o body", f"usemtl {material}"]
    for quad in quads:
        lines += [f"v {' '.join(f'{c:.4f}' for c in p @ to_trigger.T)}" for p in quad]
    lines += ["vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1"]
    for k in range(len(quads)):
        b = 4 * k + 1
        lines.append(f"f {b}/1 {b + 1}/2 {b + 2}/3 {b + 3}/4")
    return "\n".join(lines) + "\n"


def write_trigger_car(root: Path, name: str = "cordo_wrc", texture: bool = True) -> Path:
    """vehicles/<name>/ with a box body (model units x0.01) and a box wheel of radius 0.3."""
    d = root / "vehicles" / name
    d.mkdir(parents=True, exist_ok=True)
    body = box_faces((-200.0, -80.0, -20.0), (200.0, 80.0, 100.0))
    (d / f"{name}.obj").write_text(obj_text(body, "stale_name"))  # Trigger files do this
    (d / f"{name}.mtl").write_text(f"newmtl _{name}.png\nKd 0.8 0.8 0.8\nmap_Kd {name}.png\n")
    wheel = box_faces((-30.0, -15.0, -30.0), (30.0, 15.0, 30.0))  # axle along y
    (d / f"{name}_wheel.obj").write_text(obj_text(wheel, f"_{name}.png"))
    (d / f"{name}_wheel.mtl").write_text(f"newmtl _{name}.png\nmap_Kd {name}.png\n")
    wheels = "\n".join(f'<wheel pos="{x}, {y}, -0.2" radius="0.3" />'
                       for x in (0.7, -0.7) for y in (1.2, -1.2))
    (d / f"{name}.vehicle").write_text(
        f'<?xml version="1.0" ?>\n<vehicle name="X" type="car">\n'
        f'<genparams wheelmodel="{name}_wheel.obj" wheelscale="0.033" />\n'
        f'<part name="body" pos="0, 0.3, 0.1" orientation="1, 0, 0, 0" model="{name}.obj" '
        f'scale="0.01">\n{wheels}\n</part>\n</vehicle>\n')
    if texture:
        write_texture(d / f"{name}.png", (40, 90, 200), "PNG")
    return d


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder like the Debian packages': TORCS car1-trb1 + Trigger cordo_wrc, and a
    truncated p406 body (corrupt input)."""
    root = tmp_path_factory.mktemp("models")
    write_torcs_car(root, "car1-trb1")
    p406 = write_torcs_car(root, "p406")
    text = (p406 / "p406.acc").read_text()
    (p406 / "p406.acc").write_text(text[: len(text) // 2])
    write_trigger_car(root / "trigger-rally", "cordo_wrc")
    return root


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    r = Renderer(64, 64)
    yield r
    r.release()


@pytest.fixture(scope="session")
def rendered(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-sample 40x24 dataset rendered through the CLI from the tiny models (p406 corrupt)."""
    from carstudio.data.__main__ import main

    out = tmp_path_factory.mktemp("render") / "ds"
    args = ["render", "--out", str(out), "--width", "40", "--height", "24", "--count", "6",
            "--cars", "car1-trb1,p406,cordo_wrc", "--models-dir", str(models_dir), "--quiet"]
    with pytest.warns(UserWarning, match="skipping car p406"):
        assert main(args) == 0
    return out
