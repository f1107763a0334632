"""The in-memory car model that the loaders build and the renderer draws.

A car is a list of triangle-soup meshes in one frame: metres, x forward, y left, z up,
with the road plane at `ground_z`. Every vertex carries its part id (carstudio.data.parts),
so a mesh can mix parts and the renderer needs only one draw call per texture.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from carstudio.data.parts import BODY, NUM_PARTS

AlphaMode = Literal["opaque", "transparent"]


class ModelError(ValueError):
    """A model file that cannot be read (corrupt, truncated, inconsistent)."""


@dataclass
class Mesh:
    """Triangles sharing one texture and one culling/blending mode (3 vertices per triangle)."""

    positions: np.ndarray  # (V, 3) float32
    normals: np.ndarray  # (V, 3) float32, unit length
    uvs: np.ndarray  # (V, 2) float32, v = 0 is the bottom image row (OpenGL convention)
    colors: np.ndarray  # (V, 3) float32 material colour, multiplies the texture
    parts: np.ndarray  # (V,) uint8 part ids
    texture: str | None = None  # key into CarModel.textures; None = flat material colour
    two_sided: bool = False  # single-sided surfaces are back-face culled, as TORCS does
    alpha: AlphaMode = "opaque"  # "transparent": blended by texture alpha (glass, rim holes)

    def __post_init__(self) -> None:
        n = len(self.positions)
        if n % 3:
            raise ModelError(f"a triangle mesh needs 3 vertices per triangle, got {n} vertices")
        for name, arr, width in (
            ("normals", self.normals, 3),
            ("uvs", self.uvs, 2),
            ("colors", self.colors, 3),
        ):
            if arr.shape != (n, width):
                raise ModelError(f"mesh {name} has shape {arr.shape}, expected {(n, width)}")
        if self.parts.shape != (n,) or (n and int(self.parts.max()) >= NUM_PARTS):
            raise ModelError("mesh part ids must be one valid id per vertex")

    @property
    def num_triangles(self) -> int:
        return len(self.positions) // 3

    def transformed(self, matrix: np.ndarray, translation: np.ndarray) -> Mesh:
        """Copy with positions -> matrix @ p + translation, normals following. `matrix` must
        not mirror (a mirror would turn the triangles' winding and so their culled side)."""
        m = np.asarray(matrix, np.float32)
        if np.linalg.det(m) <= 0:
            raise ValueError("mesh transforms must keep orientation (positive determinant)")
        normals = self.normals @ np.linalg.inv(m).T
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        return Mesh(self.positions @ m.T + np.asarray(translation, np.float32),
                    normals.astype(np.float32), self.uvs, self.colors, self.parts,
                    self.texture, self.two_sided, self.alpha)


@dataclass
class CarModel:
    """One car ready to draw, with what the loader had to guess or leave out."""

    name: str
    meshes: list[Mesh]
    textures: dict[str, np.ndarray]  # RGBA uint8, top image row first (as PIL reads it)
    ground_z: float  # z of the road plane the tyres stand on
    # One-mesh bodies carry glass only in the texture: body texels marked in `window_texels`
    # (texture key -> HxW bool, see glass.py) are glass above this height and off the roof.
    # None: glass comes from object names.
    glass_above_z: float | None = None
    window_texels: dict[str, np.ndarray] = field(default_factory=dict)
    # (x, y, z, radius) spheres whose body surface is labelled lights (positions from the car
    # XML) for bodies without light objects.
    light_spots: list[tuple[float, float, float, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # e.g. missing textures (rendered flat)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        pts = np.concatenate([m.positions for m in self.meshes])
        return pts.min(0), pts.max(0)

    def part_counts(self) -> np.ndarray:
        """Triangles per part id (before the texel glass and light-spot rules)."""
        ids = np.concatenate([m.parts[::3] for m in self.meshes])
        return np.bincount(ids, minlength=NUM_PARTS)


def merge_meshes(meshes: list[Mesh]) -> list[Mesh]:
    """Concatenate meshes that draw alike (same texture, culling and blending): fewer draw calls."""
    groups: dict[tuple, list[Mesh]] = {}
    for m in meshes:
        if m.num_triangles:
            groups.setdefault((m.texture, m.two_sided, m.alpha), []).append(m)
    merged = []
    for (texture, two_sided, alpha), group in groups.items():
        cat = [np.concatenate([getattr(m, a) for m in group]) for a in
               ("positions", "normals", "uvs", "colors", "parts")]
        merged.append(Mesh(*cat, texture=texture, two_sided=two_sided, alpha=alpha))
    return merged


def flat_mesh(
    positions: np.ndarray,
    uvs: np.ndarray | None = None,
    part: int = BODY,
    color: tuple[float, float, float] = (1.0, 1.0, 1.0),
    **kwargs,
) -> Mesh:
    """A mesh with face normals from a (V, 3) triangle list: handy for tests and simple shapes."""
    p = np.asarray(positions, np.float32).reshape(-1, 3)
    tri = p.reshape(-1, 3, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    normals = np.repeat(n, 3, axis=0).astype(np.float32)
    uv = np.zeros((len(p), 2), np.float32) if uvs is None else np.asarray(uvs, np.float32)
    colors = np.tile(np.asarray(color, np.float32), (len(p), 1))
    return Mesh(p, normals, uv, colors, np.full(len(p), part, np.uint8), **kwargs)


def load_texture(data: bytes | Path, name: str, problems: list[str]) -> np.ndarray | None:
    """Read an image (SGI .rgb, PNG, ...) as RGBA uint8; None, noted in `problems`, if unusable."""
    try:
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        with Image.open(source) as im:
            return np.asarray(im.convert("RGBA"))
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        problems.append(f"texture {name!r} unreadable ({exc}); drawn with a flat material")
        return None

