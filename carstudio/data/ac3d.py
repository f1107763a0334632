"""TORCS cars: the AC3D (.ac/.acc) parser and the car assembly from the car's XML.

AC3D is a text format: MATERIAL lines, then nested OBJECTs holding vertices (`numvert`) and
surfaces (`numsurf`: SURF flags, mat, refs). TORCS' `.acc` variant adds vertex normals (6 floats
per vertex), four texture lines per object (the first is the base texture) and triangle strips
(SURF type 4). Files are y-up; TORCS cars are x forward, y left, z up. Wheels are separate
unit-sized models placed and scaled from the car's XML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carstudio.data.glass import window_texels
from carstudio.data.mesh import CarModel, Mesh, ModelError, load_texture, merge_meshes
from carstudio.data.parts import BODY, GLASS, LIGHTS, OTHER, WHEEL

# File frame (y up, z towards the viewer) -> car frame (x forward, y left, z up).
AC3D_TO_CAR = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], np.float32)

_SURF_POLYGON, _SURF_STRIP = 0, 4  # SURF type nibble; 1 and 2 are lines and are not drawn
_SURF_SMOOTH, _SURF_TWO_SIDED = 0x10, 0x20
_QUOTED = re.compile(r'"([^"]*)"')


@dataclass
class AcMaterial:
    name: str
    rgb: tuple[float, float, float]


@dataclass
class AcObject:
    """One polygon object, flattened out of the hierarchy, in the file frame."""

    name: str
    texture: str | None  # base texture file name
    positions: np.ndarray  # (N, 3) float32 with the parents' rot/loc applied
    normals: np.ndarray | None  # (N, 3) from `.acc` files, else None
    triangles: np.ndarray  # (T, 3) int32 vertex indices, counter-clockwise seen from the front
    uvs: np.ndarray  # (T, 3, 2) float32 base-texture coordinates per corner
    materials: np.ndarray  # (T,) int32
    two_sided: np.ndarray  # (T,) bool
    smooth: np.ndarray  # (T,) bool


@dataclass
class AcModel:
    materials: list[AcMaterial]
    objects: list[AcObject]


class _Lines:
    """Line cursor that names the file and line in every error."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.i = 0
        self.source = source

    def error(self, message: str) -> ModelError:
        return ModelError(f"{self.source}:{self.i}: {message}")

    def next(self) -> str:
        while self.i < len(self.lines):
            line = self.lines[self.i].strip()
            self.i += 1
            if line:
                return line
        raise self.error("unexpected end of file (truncated?)")

    def at_end(self) -> bool:
        return all(not line.strip() for line in self.lines[self.i:])

    def floats(self, line: str, count: int, what: str) -> list[float]:
        try:
            values = [float(v) for v in line.split()]
        except ValueError:
            raise self.error(f"bad number in {what}: {line[:60]!r}") from None
        if len(values) < count:
            raise self.error(f"{what} needs {count} numbers, got {line[:60]!r}")
        return values

    def count(self, line: str) -> int:
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            raise self.error(f"expected a count: {line[:60]!r}")
        return int(parts[1])


def parse_ac3d(text: str, source: str = "<ac3d>") -> AcModel:
    """Parse AC3D text (.ac or TORCS .acc). Raises ModelError with file:line on bad input."""
    cur = _Lines(text, source)
    if not cur.next().startswith("AC3D"):
        raise cur.error("not an AC3D file (no AC3D header)")
    materials: list[AcMaterial] = []
    objects: list[AcObject] = []
    line = cur.next()
    while line.startswith("MATERIAL"):
        materials.append(_parse_material(cur, line))
        line = cur.next()
    identity, origin = np.eye(3, dtype=np.float32), np.zeros(3, np.float32)
    _parse_object(cur, line, identity, origin, objects)
    while not cur.at_end():  # some exporters write several top-level objects
        _parse_object(cur, cur.next(), identity, origin, objects)
    return AcModel(materials, objects)


def _parse_material(cur: _Lines, line: str) -> AcMaterial:
    name = _QUOTED.search(line)
    tokens = _QUOTED.sub("", line).split()
    if "rgb" not in tokens:
        raise cur.error(f"MATERIAL without rgb: {line[:60]!r}")
    k = tokens.index("rgb")
    rgb = cur.floats(" ".join(tokens[k + 1:k + 4]), 3, "MATERIAL rgb")
    return AcMaterial(name.group(1) if name else "", (rgb[0], rgb[1], rgb[2]))


def _parse_object(cur: _Lines, line: str, parent_rot: np.ndarray, parent_loc: np.ndarray,
                  out: list[AcObject]) -> None:
    if not line.startswith("OBJECT"):
        raise cur.error(f"expected OBJECT, got {line[:60]!r}")
    name, texture = "", None
    rot, loc = np.eye(3, dtype=np.float32), np.zeros(3, np.float32)
    texrep, texoff = np.ones(2, np.float32), np.zeros(2, np.float32)
    verts = np.zeros((0, 6), np.float32)
    surfaces: list[tuple[int, int, list[tuple[int, float, float]]]] = []
    while True:
        line = cur.next()
        key = line.split()[0]
        if key == "name":
            quoted = _QUOTED.search(line)
            name = quoted.group(1) if quoted else line[5:].strip()
        elif key == "data":
            length, seen = cur.count(line), 0
            while seen < length:
                seen += len(cur.next()) + 1
        elif key == "texture":
            quoted = _QUOTED.search(line)
            if texture is None and quoted:  # .acc repeats it (base, tiled, skids, shad): keep base
                texture = quoted.group(1)
        elif key == "texrep":
            texrep = np.array(cur.floats(line[6:], 2, "texrep")[:2], np.float32)
        elif key == "texoff":
            texoff = np.array(cur.floats(line[6:], 2, "texoff")[:2], np.float32)
        elif key == "rot":
            rot = np.array(cur.floats(line[3:], 9, "rot")[:9], np.float32).reshape(3, 3)
        elif key == "loc":
            loc = np.array(cur.floats(line[3:], 3, "loc")[:3], np.float32)
        elif key == "numvert":
            verts = _parse_vertices(cur, cur.count(line))
        elif key == "numsurf":
            surfaces = [_parse_surface(cur, len(verts)) for _ in range(cur.count(line))]
        elif key == "kids":
            break
        elif key in ("crease", "url", "subdiv", "hidden", "locked", "folded", "shader"):
            continue
        else:
            raise cur.error(f"unknown OBJECT field {key!r}")
    world_rot, world_loc = parent_rot @ rot, parent_rot @ loc + parent_loc
    if surfaces:
        out.append(_build_object(name, texture, verts, surfaces, world_rot, world_loc, texrep,
                                 texoff))
    for _ in range(cur.count(line)):
        _parse_object(cur, cur.next(), world_rot, world_loc, out)


def _parse_vertices(cur: _Lines, count: int) -> np.ndarray:
    verts = np.zeros((count, 6), np.float32)
    verts[:, 3:] = np.nan  # no normal unless the file gives one
    for k in range(count):
        values = cur.floats(cur.next(), 3, "vertex")
        verts[k, : min(len(values), 6)] = values[:6]
    return verts


def _parse_surface(cur: _Lines, num_verts: int) -> tuple[int, int, list[tuple[int, float, float]]]:
    line = cur.next()
    if not line.startswith("SURF"):
        raise cur.error(f"expected SURF, got {line[:60]!r}")
    try:
        flags = int(line.split()[1], 0)
    except (IndexError, ValueError):
        raise cur.error(f"bad SURF flags: {line[:60]!r}") from None
    line, material = cur.next(), 0
    if line.startswith("mat"):
        material = cur.count(line)
        line = cur.next()
    if not line.startswith("refs"):
        raise cur.error(f"expected refs, got {line[:60]!r}")
    refs = []
    for _ in range(cur.count(line)):
        values = cur.floats(cur.next(), 1, "refs entry")
        index = int(values[0])
        if not 0 <= index < num_verts:
            raise cur.error(f"vertex index {index} out of range (numvert {num_verts})")
        u, v = (values[1], values[2]) if len(values) >= 3 else (0.0, 0.0)
        refs.append((index, u, v))
    return flags, material, refs


def _surface_triangles(kind: int, n: int) -> list[tuple[int, int, int]]:
    """Corner positions (into a surface's refs) of the triangles of one surface."""
    if kind == _SURF_POLYGON:  # convex polygon: a fan
        return [(0, k, k + 1) for k in range(1, n - 1)]
    if kind == _SURF_STRIP:  # OpenGL strip order: every odd triangle swaps its first two corners
        return [(k, k + 1, k + 2) if k % 2 == 0 else (k + 1, k, k + 2) for k in range(n - 2)]
    return []  # lines are not drawn


def _build_object(name: str, texture: str | None, verts: np.ndarray,
                  surfaces: list[tuple[int, int, list[tuple[int, float, float]]]],
                  rot: np.ndarray, loc: np.ndarray, texrep: np.ndarray,
                  texoff: np.ndarray) -> AcObject:
    tris: list[tuple[int, int, int]] = []
    uvs: list[tuple[tuple[float, float], ...]] = []
    mats: list[int] = []
    flags_per_tri: list[int] = []
    for flags, material, refs in surfaces:
        for corners in _surface_triangles(flags & 0x0F, len(refs)):
            idx = tuple(refs[c][0] for c in corners)
            if len(set(idx)) < 3:  # strips repeat a vertex to turn: degenerate, skip
                continue
            tris.append(idx)
            uvs.append(tuple((refs[c][1], refs[c][2]) for c in corners))
            mats.append(material)
            flags_per_tri.append(flags)
    flags_arr = np.array(flags_per_tri, np.int64)
    positions = verts[:, :3] @ rot.T + loc
    has_normals = len(verts) > 0 and not np.isnan(verts[:, 3:]).any()
    normals = verts[:, 3:] @ rot.T if has_normals else None
    uv = np.array(uvs, np.float32).reshape(-1, 3, 2) * texrep + texoff
    return AcObject(
        name=name,
        texture=texture,
        positions=positions.astype(np.float32),
        normals=None if normals is None else normals.astype(np.float32),
        triangles=np.array(tris, np.int32).reshape(-1, 3),
        uvs=uv,
        materials=np.array(mats, np.int32),
        two_sided=(flags_arr & _SURF_TWO_SIDED) > 0,
        smooth=(flags_arr & _SURF_SMOOTH) > 0,
    )


def object_meshes(model: AcModel, part_of: Callable[[str], int],
                  transparent: Callable[[str], bool],
                  frame: np.ndarray = AC3D_TO_CAR) -> list[Mesh]:
    """Triangle soups in the car frame, one or two per object (single- and two-sided)."""
    meshes = []
    palette = np.array([m.rgb for m in model.materials] or [(1.0, 1.0, 1.0)], np.float32)
    for obj in model.objects:
        if not len(obj.triangles):
            continue
        corners = obj.positions[obj.triangles] @ frame.T  # (T, 3, 3)
        face = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        face /= np.maximum(np.linalg.norm(face, axis=1, keepdims=True), 1e-12)
        normals = np.repeat(face[:, None], 3, axis=1)
        if obj.normals is not None:
            given = obj.normals[obj.triangles] @ frame.T
            normals = np.where(obj.smooth[:, None, None], given, normals)
        else:
            normals = np.where(obj.smooth[:, None, None], _smooth_normals(obj, face), normals)
        colors = palette[np.clip(obj.materials, 0, len(palette) - 1)]
        part = part_of(obj.name)
        for two_sided in (False, True):
            keep = obj.two_sided == two_sided
            if not keep.any():
                continue
            n = int(keep.sum()) * 3
            meshes.append(Mesh(
                positions=corners[keep].reshape(-1, 3),
                normals=normals[keep].reshape(-1, 3).astype(np.float32),
                uvs=obj.uvs[keep].reshape(-1, 2),
                colors=np.repeat(colors[keep], 3, axis=0),
                parts=np.full(n, part, np.uint8),
                texture=obj.texture,
                two_sided=two_sided,
                alpha="transparent" if transparent(obj.name) else "opaque",
            ))
    return meshes


def _smooth_normals(obj: AcObject, face: np.ndarray) -> np.ndarray:
    """Per-corner normals averaged over the faces sharing a vertex (plain .ac has none)."""
    acc = np.zeros((len(obj.positions), 3), np.float32)
    for k in range(3):
        np.add.at(acc, obj.triangles[:, k], face)
    acc /= np.maximum(np.linalg.norm(acc, axis=1, keepdims=True), 1e-12)
    return acc[obj.triangles]


# ----------------------------------------------------------------------------------------------
# Part labels from TORCS object names (names are upper case, older ones cut to 11 characters).

_OTHER_WORDS = ("DRIVER", "SEAT", "COCKPIT", "ROLLBAR", "INSIDE", "INSID", "EXHAUS", "MIRROR",
                "BOTTOM", "DIFF", "GRILL", "ANTENNA", "WHEEL", "STEER", "VOLANT", "CONSOLE",
                "CONS", "DASHBOARD", "CABIN", "GIRTHS", "ENGINE", "INSTRUMENT", "DISK")
_LIGHT_WORDS = ("LIGH", "BULB", "BULP")


def _base_name(name: str) -> str:
    return re.sub(r"_S_\d+$", "", name.upper())


def torcs_part(name: str) -> int:
    """Part id of a TORCS body object from its name (the rules are listed in docs/data.md)."""
    n = _base_name(name)
    if n.startswith("WI") and not n.startswith("WING"):  # TORCS draws "WI..." objects transparent
        if any(w in n for w in _LIGHT_WORDS) or n.endswith(("ENDLI", "ENDBR")):
            return LIGHTS
        return OTHER if n.startswith(("WIPER", "WIGRILL")) else GLASS
    if any(w in n for w in _LIGHT_WORDS):
        return LIGHTS
    if n.startswith(("BODY", "CARBODY", "MAINBODY", "CARMAINBODY")):
        return BODY
    if any(w in n for w in _OTHER_WORDS):
        return OTHER
    return BODY


def torcs_transparent(name: str) -> bool:
    n = _base_name(name)
    return n.startswith("WI") and not n.startswith("WING")


# ----------------------------------------------------------------------------------------------
# TORCS car XML ("params" files): nested <section name=...> with <attnum name= val= unit=>.

_UNIT_SCALE = {"": 1.0, "m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048, "%": 0.01}


def read_torcs_params(path: Path) -> dict[str, str | float]:
    """Flatten a TORCS params XML into {"Section/Sub/name": value}; numbers converted to SI."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ModelError(f"{path}: {exc}") from None
    out: dict[str, str | float] = {}

    def walk(node: ET.Element, prefix: str) -> None:
        for child in node:
            key = f"{prefix}{child.get('name', '')}"
            if child.tag == "section":
                walk(child, key + "/")
            elif child.tag == "attstr":
                out[key] = child.get("val", "")
            elif child.tag == "attnum":
                unit = (child.get("unit") or "").strip()
                try:
                    out[key] = float(child.get("val", "")) * _UNIT_SCALE.get(unit, 1.0)
                except ValueError:
                    raise ModelError(f"{path}: bad number for {key!r}") from None

    walk(root, "")
    return out


def _number(params: dict[str, str | float], key: str, path: Path) -> float:
    value = params.get(key)
    if not isinstance(value, float):
        raise ModelError(f"{path}: missing number {key!r}")
    return value


WHEEL_SECTIONS = ("Front Right Wheel", "Front Left Wheel", "Rear Right Wheel", "Rear Left Wheel")


def load_torcs_car(car_dir: Path, wheels_dir: Path, fallback_wheel_set: str = "trb1-1") -> CarModel:
    """Body + four wheels of one TORCS car directory (cars/<name>/<name>.xml and .acc)."""
    name = car_dir.name
    xml_path = car_dir / f"{name}.xml"
    params = read_torcs_params(xml_path)
    body_file = params.get("Graphic Objects/Ranges/1/car") or params.get("Graphic Objects/env")
    body_path = car_dir / str(body_file or f"{name}.acc")
    problems: list[str] = []
    textures: dict[str, np.ndarray] = {}

    body = parse_ac3d(_read_text(body_path), str(body_path))
    meshes = _with_textures(object_meshes(body, torcs_part, torcs_transparent), [car_dir],
                            textures, problems)

    wheel_set = str(params.get("Graphic Objects/3d wheel directory") or fallback_wheel_set)
    if not (wheels_dir / wheel_set).is_dir():
        problems.append(f"wheel set {wheel_set!r} not found; using {fallback_wheel_set!r}")
        wheel_set = fallback_wheel_set
    wheel_path = wheels_dir / wheel_set / "wheel0.acc"  # wheel1-3 are the motion-blurred ones
    wheel_model = parse_ac3d(_read_text(wheel_path), str(wheel_path))
    wheel = _with_textures(
        object_meshes(wheel_model, lambda _: WHEEL, torcs_transparent),
        [wheels_dir / wheel_set, car_dir], textures, problems, key_prefix=f"wheels/{wheel_set}/")

    ground = []
    for section in WHEEL_SECTIONS:
        axle = "Front Axle" if section.startswith("Front") else "Rear Axle"
        x = _number(params, f"{axle}/xpos", xml_path)
        y = _number(params, f"{section}/ypos", xml_path)
        rim = _number(params, f"{section}/rim diameter", xml_path)
        width = _number(params, f"{section}/tire width", xml_path)
        ratio = _number(params, f"{section}/tire height-width ratio", xml_path)
        ride = _number(params, f"{section}/ride height", xml_path)
        radius = rim / 2 + width * ratio
        # The unit wheel's rim faces +y (left); right-side wheels turn 180 degrees about z.
        turn = np.diag([1.0, 1.0, 1.0]) if y > 0 else np.diag([-1.0, -1.0, 1.0])
        scale = np.diag([2 * radius, width, 2 * radius])
        centre = np.array([x, y, radius - ride])  # the body's floor is z = 0, `ride` above the road
        meshes += [m.transformed(turn @ scale, centre) for m in wheel]
        ground.append(-ride)

    model = CarModel(name=name, meshes=merge_meshes(meshes), textures=textures,
                     ground_z=float(np.mean(ground)), problems=problems)
    counts = model.part_counts()
    if counts[GLASS] == 0:  # one-mesh body: glass only in the texture
        lo, hi = model.bounds()
        model.glass_above_z = float(lo[2] + 0.55 * (hi[2] - lo[2]))
        body_textures = {m.texture for m in model.meshes if m.texture and (m.parts == BODY).any()}
        model.window_texels = {k: window_texels(textures[k]) for k in body_textures}
    if counts[LIGHTS] == 0:
        model.light_spots = _xml_light_spots(params)
    return model


def _xml_light_spots(params: dict[str, str | float]) -> list[tuple[float, float, float, float]]:
    spots = {}
    for key, value in params.items():
        if key.startswith("Graphic Objects/Light/") and key.endswith("/xpos"):
            base = key[: -len("xpos")]
            try:
                x, y, z, size = (float(params[base + k]) for k in ("xpos", "ypos", "zpos", "size"))
            except (KeyError, TypeError, ValueError):
                continue
            # `size` is the glow sprite's, larger than the lamp: keep a lamp-sized disc.
            spots[(x, y, z)] = (x, y, z, min(max(0.4 * size, 0.05), 0.15))
    return list(spots.values())


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("latin-1")
    except OSError as exc:
        raise ModelError(f"{path}: {exc.strerror or exc}") from None


def _with_textures(meshes: list[Mesh], search: list[Path], textures: dict[str, np.ndarray],
                   problems: list[str], key_prefix: str = "") -> list[Mesh]:
    """Resolve texture file names to loaded images; unknown ones fall back to flat material."""
    for mesh in meshes:
        if mesh.texture is None:
            continue
        key = key_prefix + mesh.texture
        if key not in textures:
            path = next((d / mesh.texture for d in search if (d / mesh.texture).is_file()), None)
            image = None
            if path is None:
                problems.append(f"texture {mesh.texture!r} missing; drawn with a flat material")
            else:
                image = load_texture(path, mesh.texture, problems)
            if image is not None:
                textures[key] = image
        mesh.texture = key if key in textures else None
    return meshes
