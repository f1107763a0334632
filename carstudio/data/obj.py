"""Trigger Rally cars: Wavefront OBJ/MTL parser and the car assembly from `.vehicle` files.

Trigger Rally ships its vehicles in `data.zip` under `vehicles/<name>/`: a body OBJ (one mesh,
units scaled by the part's `scale`), a wheel OBJ (axle along x, scaled to each wheel's radius)
and an XML `.vehicle` file placing four wheels in the body's frame. Trigger's frame is
x right, y forward, z up; car models here are x forward, y left, z up.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from carstudio.data.glass import window_texels
from carstudio.data.mesh import CarModel, Mesh, ModelError, load_texture, merge_meshes
from carstudio.data.parts import BODY, WHEEL

TRIGGER_TO_CAR = np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]], np.float32)


@dataclass
class ObjModel:
    """Triangles of an OBJ file, 3 corners per triangle."""

    positions: np.ndarray  # (T*3, 3) float32
    normals: np.ndarray | None  # (T*3, 3) or None when the file has none
    uvs: np.ndarray  # (T*3, 2) float32 (zeros where the file has none)
    materials: list[str]  # material name per triangle ("" when none)


def parse_obj(text: str, source: str = "<obj>") -> ObjModel:
    """Parse OBJ text (v/vt/vn/f/usemtl; polygons become fans). Raises ModelError with file:line."""
    v: list[list[float]] = []
    vt: list[list[float]] = []
    vn: list[list[float]] = []
    corners: list[tuple[int, int, int]] = []  # (v, vt, vn) 0-based, -1 for none
    materials: list[str] = []
    material = ""
    for lineno, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        key, args = tokens[0], tokens[1:]
        try:
            if key == "v":
                v.append([float(a) for a in args[:3]])
                if len(v[-1]) != 3:
                    raise ValueError("a vertex needs 3 coordinates")
            elif key == "vt":
                vt.append([float(a) for a in args[:2]] + [0.0] * (2 - len(args[:2])))
            elif key == "vn":
                vn.append([float(a) for a in args[:3]])
                if len(vn[-1]) != 3:
                    raise ValueError("a normal needs 3 components")
            elif key == "usemtl":
                material = args[0] if args else ""
            elif key == "f":
                face = [_corner(a, len(v), len(vt), len(vn)) for a in args]
                if len(face) < 3:
                    raise ValueError("a face needs 3 corners")
                for k in range(1, len(face) - 1):
                    corners += [face[0], face[k], face[k + 1]]
                    materials.append(material)
        except (ValueError, IndexError) as exc:
            raise ModelError(f"{source}:{lineno}: {exc}: {raw.strip()[:60]!r}") from None
    if not corners:
        raise ModelError(f"{source}: no faces (empty or truncated file?)")
    idx = np.array(corners, np.int64)
    positions = np.array(v, np.float32)[idx[:, 0]]
    uv_table = np.array(vt + [[0.0, 0.0]], np.float32)  # index -1 -> the appended zero
    normals = None
    if (idx[:, 2] >= 0).all():
        normals = np.array(vn, np.float32)[idx[:, 2]]
    return ObjModel(positions=positions, normals=normals, uvs=uv_table[idx[:, 1]],
                    materials=materials)


def _corner(token: str, nv: int, nvt: int, nvn: int) -> tuple[int, int, int]:
    fields = token.split("/")
    out = []
    for k, count in enumerate((nv, nvt, nvn)):
        text = fields[k] if k < len(fields) else ""
        if not text:
            if k == 0:
                raise ValueError("a face corner needs a vertex index")
            out.append(-1)
            continue
        i = int(text)
        i = i - 1 if i > 0 else count + i  # OBJ is 1-based; negatives count from the end
        if not 0 <= i < count:
            raise ValueError(f"index {text} out of range ({count} defined)")
        out.append(i)
    return out[0], out[1], out[2]


def parse_mtl(text: str) -> dict[str, tuple[tuple[float, float, float], str | None]]:
    """Material name -> (diffuse colour Kd, diffuse texture map_Kd or None)."""
    out: dict[str, tuple[tuple[float, float, float], str | None]] = {}
    name = None
    for raw in text.splitlines():
        tokens = raw.split()
        if not tokens:
            continue
        if tokens[0] == "newmtl" and len(tokens) > 1:
            name = tokens[1]
            out[name] = ((1.0, 1.0, 1.0), None)
        elif name is not None and tokens[0] == "Kd" and len(tokens) >= 4:
            try:
                out[name] = ((float(tokens[1]), float(tokens[2]), float(tokens[3])), out[name][1])
            except ValueError:
                continue
        elif name is not None and tokens[0] == "map_Kd" and len(tokens) > 1:
            out[name] = (out[name][0], tokens[-1])
    return out


# ----------------------------------------------------------------------------------------------


def _vector(text: str | None, what: str, source: str) -> np.ndarray:
    try:
        values = [float(t) for t in (text or "").replace(",", " ").split()]
    except ValueError:
        values = []
    if len(values) != 3:
        raise ModelError(f"{source}: bad {what} {text!r}")
    return np.array(values, np.float32)


class _VehicleFiles:
    """Reads vehicles/<name>/<file> from Trigger's data.zip or from an unpacked folder."""

    def __init__(self, source: Path, name: str) -> None:
        self.source, self.name = source, name
        self.zip = None
        if source.is_file():
            try:
                self.zip = zipfile.ZipFile(source)
            except zipfile.BadZipFile as exc:
                raise ModelError(f"{source}: {exc}") from None

    def read(self, filename: str) -> bytes:
        path = PurePosixPath("vehicles", self.name, filename)
        try:
            if self.zip is not None:
                return self.zip.read(str(path))
            return (self.source / path).read_bytes()
        except (KeyError, OSError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{self.source}:{path}: cannot read ({exc})") from None

    def exists(self, filename: str) -> bool:
        path = str(PurePosixPath("vehicles", self.name, filename))
        if self.zip is not None:
            return path in self.zip.NameToInfo
        return (self.source / path).is_file()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def trigger_vehicle_names(source: Path) -> list[str]:
    """Names of the vehicles in a data.zip or an unpacked data folder."""
    if source.is_file():
        try:
            with zipfile.ZipFile(source) as z:
                names = {PurePosixPath(n).parts[1] for n in z.namelist()
                         if n.startswith("vehicles/") and n.endswith(".vehicle")}
        except zipfile.BadZipFile as exc:
            raise ModelError(f"{source}: {exc}") from None
        return sorted(names)
    return sorted(p.parent.name for p in (source / "vehicles").glob("*/*.vehicle"))


def load_trigger_car(source: Path, name: str) -> CarModel:
    """One Trigger Rally vehicle (e.g. "cordo_wrc") from data.zip or an unpacked data folder."""
    files = _VehicleFiles(source, name)
    try:
        return _assemble(files, name)
    finally:
        files.close()


def _assemble(files: _VehicleFiles, name: str) -> CarModel:
    where = f"{files.source}:vehicles/{name}"
    try:
        root = ET.fromstring(files.read(f"{name}.vehicle"))
    except ET.ParseError as exc:
        raise ModelError(f"{where}/{name}.vehicle: {exc}") from None
    gen = root.find("genparams")
    wheel_file = gen.get("wheelmodel") if gen is not None else None
    problems: list[str] = []
    textures: dict[str, np.ndarray] = {}
    body_meshes: list[Mesh] = []
    wheel_meshes: list[Mesh] = []
    wheel_template = None
    if wheel_file:
        wheel_template = _obj_meshes(files, wheel_file, WHEEL, textures, problems)
    for part in root.iter("part"):
        model_file = part.get("model")
        if not model_file:
            continue
        scale = float(part.get("scale", "1"))
        body = _obj_meshes(files, model_file, BODY, textures, problems)
        body_meshes += [m.transformed(TRIGGER_TO_CAR * scale, np.zeros(3)) for m in body]
        # Wheels are given in the part's frame, like its model: the part's own pose is shared
        # by both and left out.
        for wheel in part.iter("wheel"):
            if wheel_template is None:
                break
            pos = TRIGGER_TO_CAR @ _vector(wheel.get("pos"), "wheel pos", where)
            radius = float(wheel.get("radius", "0.3"))
            pts = np.concatenate([m.positions for m in wheel_template])
            size = radius / max(float(np.sqrt(pts[:, 1] ** 2 + pts[:, 2] ** 2).max()), 1e-6)
            # The wheel's hub faces Trigger's +x, the car's right; left wheels turn about z.
            turn = np.diag([1.0, 1.0, 1.0]) if pos[1] < 0 else np.diag([-1.0, -1.0, 1.0])
            wheel_meshes += [m.transformed(turn @ TRIGGER_TO_CAR * size, pos)
                             for m in wheel_template]
    if not body_meshes:
        raise ModelError(f"{where}/{name}.vehicle: no body model")
    meshes = merge_meshes(body_meshes + wheel_meshes)
    wheel_pts = np.concatenate([m.positions for m in wheel_meshes]) if wheel_meshes else None
    body_pts = np.concatenate([m.positions for m in body_meshes])
    ground = float(wheel_pts[:, 2].min() if wheel_pts is not None else body_pts[:, 2].min())
    lo, hi = body_pts.min(0), body_pts.max(0)
    windows = _body_window_texels(files.source, name.split("_")[0])
    return CarModel(name=name, meshes=meshes, textures=textures, ground_z=ground,
                    glass_above_z=float(lo[2] + 0.55 * (hi[2] - lo[2])),
                    window_texels={m.texture: windows for m in body_meshes
                                   if m.texture is not None and windows is not None},
                    problems=problems)


@functools.lru_cache(maxsize=8)
def _body_window_texels(source: Path, body: str) -> np.ndarray | None:
    """Window texels of a body ("cordo"): grey in every livery ("cordo_*"), which all share one
    UV layout. Cached: the three liveries of a body need it once."""
    liveries = []
    for name in trigger_vehicle_names(source):
        if name.split("_")[0] != body:
            continue
        files = _VehicleFiles(source, name)
        try:
            mtl = parse_mtl(files.read(f"{name}.mtl").decode("latin-1"))
            texture = next((t for _, t in mtl.values() if t), f"{name}.png")
            image = load_texture(files.read(texture), texture, [])
        except ModelError:
            image = None  # a broken livery only weakens the rule; its own load reports it
        finally:
            files.close()
        if image is not None:
            liveries.append(image)
    return window_texels(liveries[0], liveries[1:]) if liveries else None


def _obj_meshes(files: _VehicleFiles, filename: str, part: int, textures: dict[str, np.ndarray],
                problems: list[str]) -> list[Mesh]:
    """Meshes of one OBJ file in its own frame, one per material, textures resolved."""
    obj = parse_obj(files.read(filename).decode("latin-1"), f"{files.source}:{filename}")
    materials: dict[str, tuple[tuple[float, float, float], str | None]] = {}
    mtl_file = str(PurePosixPath(filename).with_suffix(".mtl"))
    if files.exists(mtl_file):
        materials = parse_mtl(files.read(mtl_file).decode("latin-1"))
    face_normals = np.cross(obj.positions[1::3] - obj.positions[0::3],
                            obj.positions[2::3] - obj.positions[0::3])
    face_normals /= np.maximum(np.linalg.norm(face_normals, axis=1, keepdims=True), 1e-12)
    normals = obj.normals if obj.normals is not None else np.repeat(face_normals, 3, axis=0)
    tri_materials = np.array(obj.materials)
    meshes = []
    for material in sorted(set(obj.materials)):
        keep = np.repeat(tri_materials == material, 3)
        if material not in materials and len(materials) == 1:
            material_spec = next(iter(materials.values()))  # stale name, one material: as Trigger
        else:
            material_spec = materials.get(material, ((0.8, 0.8, 0.8), None))
        color, texture_file = material_spec
        key = None
        if texture_file is not None:
            key = f"{files.name}/{texture_file}"
            if key not in textures:
                if files.exists(texture_file):
                    image = load_texture(files.read(texture_file), texture_file, problems)
                    if image is not None:
                        textures[key] = image
                else:
                    problems.append(f"texture {texture_file!r} missing; drawn with a flat material")
            if key not in textures:
                key = None
        if key is not None:
            color = (1.0, 1.0, 1.0)  # Trigger draws textures unlit by Kd
        n = int(keep.sum())
        meshes.append(Mesh(
            positions=obj.positions[keep], normals=normals[keep].astype(np.float32),
            uvs=obj.uvs[keep], colors=np.tile(np.array(color, np.float32), (n, 1)),
            parts=np.full(n, part, np.uint8), texture=key))
    return meshes
