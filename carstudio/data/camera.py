"""Camera matrices that frame a car: orbit position from the Camera, then an exact screen fit.

The camera backs off until the car's bounding sphere fits the field of view (so `fov` only sets
the perspective strength); the projected car vertices are then scaled and shifted in screen
space so that they span `fill` of the frame, centred plus `shift`. Works for any aspect ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from carstudio.data.scene import Camera


@dataclass
class CameraMatrices:
    view: np.ndarray  # (4, 4) world -> eye
    projection: np.ndarray  # (4, 4) eye -> clip, framing included
    eye: np.ndarray  # (3,) camera position
    near: float
    far: float


def orbit_direction(azimuth: float, elevation: float) -> np.ndarray:
    """Unit vector from the car towards a point at (azimuth, elevation) degrees."""
    az, el = math.radians(azimuth), math.radians(elevation)
    return np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    f = target - eye
    f = f / np.linalg.norm(f)
    r = np.cross(f, up)
    if np.linalg.norm(r) < 1e-6:  # looking straight down: any horizontal right vector
        r = np.cross(f, np.array([1.0, 0.0, 0.0]))
    r = r / np.linalg.norm(r)
    u = np.cross(r, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = r, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def perspective(fov_y: float, aspect: float, near: float, far: float) -> np.ndarray:
    t = 1.0 / math.tan(math.radians(fov_y) / 2)
    m = np.zeros((4, 4))
    m[0, 0], m[1, 1] = t / aspect, t
    m[2, 2], m[2, 3] = (far + near) / (near - far), 2 * far * near / (near - far)
    m[3, 2] = -1.0
    return m


def support_points(points: np.ndarray, directions: int = 256) -> np.ndarray:
    """The points extreme along many directions: (nearly) the convex hull's corners, which are
    all that framing needs, in a few hundred points instead of thousands."""
    k = np.arange(directions) + 0.5
    z = 1 - 2 * k / directions  # Fibonacci sphere: evenly spread unit vectors
    phi = k * math.pi * (3 - math.sqrt(5))
    r = np.sqrt(1 - z * z)
    dirs = np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)
    return points[np.unique((points @ dirs.T).argmax(0))]


def camera_matrices(camera: Camera, points: np.ndarray, width: int, height: int) -> CameraMatrices:
    """Matrices showing `points` (the car's vertices or their support_points) as `camera` asks."""
    lo, hi = points.min(0), points.max(0)
    centre = (lo + hi) / 2
    radius = float(np.linalg.norm(hi - lo) / 2)
    distance = radius / math.sin(math.radians(camera.fov) / 2)
    eye = centre + distance * orbit_direction(camera.azimuth, camera.elevation)
    view = look_at(eye, centre, np.array([0.0, 0.0, 1.0]))
    near, far = max(distance - 1.5 * radius, 0.05), distance + 40.0 * radius  # far: ground plane
    aspect = width / height
    proj = perspective(camera.fov, aspect, near, far)

    # Screen-space fit: scale about the NDC origin and translate so the projected points span
    # `fill` of the frame along the tighter axis, their box centred at `shift`.
    m = proj @ view
    clip = points @ m[:, :3].T + m[:, 3]
    ndc = clip[:, :2] / clip[:, 3:4]
    nlo, nhi = ndc.min(0), ndc.max(0)
    scale = 2.0 * camera.fill / float(np.max(nhi - nlo))
    half = scale * (nhi - nlo) / 2
    centre_ndc = np.clip(np.array(camera.shift) * 2.0, half - 1.0, 1.0 - half)  # never crop the car
    offset = centre_ndc - scale * (nlo + nhi) / 2
    fit = np.eye(4)
    fit[0, 0] = fit[1, 1] = scale
    fit[:2, 3] = offset  # applied to NDC: x' = s*x + o, i.e. clip x' = s*x + o*w
    return CameraMatrices(view=view, projection=fit @ proj, eye=eye, near=near, far=far)
