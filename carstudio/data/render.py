"""Offscreen car renderer on the CPU: moderngl on Mesa's llvmpipe through EGL (no display).

One OpenGL context per process (a second standalone context in the same process crashes Mesa),
shared by every Renderer. A render draws, at `supersample` times the output size: the backdrop,
an optional ground plane, a soft contact shadow and a planar shadow along the key light, then
the car's opaque meshes (back faces culled unless two-sided) and its transparent ones (glass,
rim holes). Colour and an aux target (part id, view normal) plus the depth buffer are read back
and turned into the sample's image, part map, sketch and paint (see maps.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import moderngl
import numpy as np
from PIL import Image

from carstudio.data import shaders
from carstudio.data.camera import (
    CameraMatrices,
    camera_matrices,
    orbit_direction,
    support_points,
)
from carstudio.data.maps import downsample_parts, downsample_rgb, paint_fill, sketch_lines
from carstudio.data.mesh import CarModel, Mesh
from carstudio.data.scene import Camera, Style

_context: moderngl.Context | None = None
_context_pid: int | None = None


def shared_context() -> moderngl.Context:
    """The process's one EGL context (created on first use; a forked child makes its own)."""
    global _context, _context_pid
    if _context is None or _context_pid != os.getpid():
        try:
            _context = moderngl.create_standalone_context(
                backend="egl", libgl="libGL.so.1", libegl="libEGL.so.1")
        except Exception as exc:  # moderngl raises plain Exceptions for missing libraries
            raise RuntimeError(
                "cannot create an offscreen OpenGL context (Mesa EGL); on Debian/Ubuntu: "
                "apt-get install libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri") from exc
        _context_pid = os.getpid()
    return _context


@dataclass
class Sample:
    """One rendered sample; all arrays are top row first."""

    image: np.ndarray  # (H, W, 3) uint8
    parts: np.ndarray  # (H, W) uint8 part ids (carstudio.data.parts)
    sketch: np.ndarray  # (H, W) uint8, black lines (0) on white (255)
    paint: np.ndarray  # (H, W, 3) uint8, each part filled with its mean colour


@dataclass
class _GpuMesh:
    car_vao: moderngl.VertexArray
    shadow_vao: moderngl.VertexArray
    buffer: moderngl.Buffer
    texture: moderngl.Texture | None
    windows: moderngl.Texture | None  # window-texel mask of one-mesh bodies (glass.py)
    two_sided: bool
    transparent: bool


@dataclass
class _GpuCar:
    car: CarModel  # kept so the cache key (its id) cannot be reused by another object
    meshes: list[_GpuMesh]
    points: np.ndarray  # hull points for framing
    footprint: tuple[np.ndarray, np.ndarray]  # (lo, hi) bounds


_VERTEX_FORMAT = "3f 3f 2f 3f 1f"
_VERTEX_FLOATS = 12


class Renderer:
    """Renders CarModels to Samples at a fixed output size (any aspect ratio)."""

    def __init__(self, width: int = 64, height: int | None = None, supersample: int = 2) -> None:
        self.width, self.height = int(width), int(height or width)
        if self.width < 8 or self.height < 8 or not 1 <= supersample <= 5:
            raise ValueError("size must be at least 8x8 and supersample 1..5")
        self.supersample = int(supersample)
        self.ctx = shared_context()
        ctx = self.ctx
        self._car_prog = ctx.program(vertex_shader=shaders.CAR_VERTEX,
                                     fragment_shader=shaders.CAR_FRAGMENT)
        self._shadow_prog = ctx.program(vertex_shader=shaders.SHADOW_VERTEX,
                                        fragment_shader=shaders.SHADOW_FRAGMENT)
        self._backdrop_prog = ctx.program(vertex_shader=shaders.BACKDROP_VERTEX,
                                          fragment_shader=shaders.BACKDROP_FRAGMENT)
        self._ground_prog = ctx.program(vertex_shader=shaders.GROUND_VERTEX,
                                        fragment_shader=shaders.GROUND_FRAGMENT)
        self._blob_prog = ctx.program(vertex_shader=shaders.BLOB_VERTEX,
                                      fragment_shader=shaders.BLOB_FRAGMENT)
        quad = np.array([-1, -1, 1, -1, -1, 1, 1, 1], np.float32)
        self._quad = ctx.buffer(quad.tobytes())
        self._backdrop_vao = ctx.vertex_array(self._backdrop_prog, [(self._quad, "2f", "in_pos")])
        self._ground_vao = ctx.vertex_array(self._ground_prog, [(self._quad, "2f", "in_pos")])
        self._blob_vao = ctx.vertex_array(self._blob_prog, [(self._quad, "2f", "in_pos")])
        size = (self.width * self.supersample, self.height * self.supersample)
        self._color = ctx.renderbuffer(size, 4)
        self._aux = ctx.renderbuffer(size, 4, dtype="f2")
        self._depth = ctx.depth_texture(size)
        self._fbo = ctx.framebuffer([self._color, self._aux], self._depth)
        self._cars: dict[int, _GpuCar] = {}

    # -- resources ---------------------------------------------------------------------------

    def _upload(self, car: CarModel) -> _GpuCar:
        cached = self._cars.get(id(car))
        if cached is not None and cached.car is car:
            return cached
        textures = {key: self._texture(rgba) for key, rgba in car.textures.items()}
        windows = {}
        if car.glass_above_z is not None:
            windows = {key: self._texture(mask.astype(np.uint8) * 255)
                       for key, mask in car.window_texels.items()}
        meshes = [self._upload_mesh(m, textures.get(m.texture), windows.get(m.texture))
                  for m in car.meshes]
        pts = np.concatenate([m.positions for m in car.meshes]).astype(np.float64)
        gpu = _GpuCar(car=car, meshes=meshes, points=support_points(pts),
                      footprint=(pts.min(0), pts.max(0)))
        self._cars[id(car)] = gpu
        return gpu

    def _texture(self, image: np.ndarray) -> moderngl.Texture:
        """Mipmapped GL texture of an HxW(x4) uint8 image (top row first), shrunk when far finer
        than the framebuffer can show (saves memory at 64 px)."""
        limit = 4 * max(self.width, self.height) * self.supersample
        scale = limit / max(image.shape[:2])
        if scale < 1.0:
            size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
            image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))
        components = image.shape[2] if image.ndim == 3 else 1
        tex = self.ctx.texture((image.shape[1], image.shape[0]), components,
                               np.ascontiguousarray(image[::-1]).tobytes())  # GL: bottom row first
        tex.build_mipmaps()
        tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
        return tex

    def _upload_mesh(self, mesh: Mesh, texture: moderngl.Texture | None,
                     windows: moderngl.Texture | None) -> _GpuMesh:
        data = np.empty((len(mesh.positions), _VERTEX_FLOATS), np.float32)
        data[:, 0:3], data[:, 3:6], data[:, 6:8] = mesh.positions, mesh.normals, mesh.uvs
        data[:, 8:11], data[:, 11] = mesh.colors, mesh.parts
        buffer = self.ctx.buffer(data.tobytes())
        car_vao = self.ctx.vertex_array(self._car_prog, [
            (buffer, _VERTEX_FORMAT, "in_position", "in_normal", "in_uv", "in_color", "in_part")])
        shadow_vao = self.ctx.vertex_array(self._shadow_prog,
                                           [(buffer, "3f 36x", "in_position")])
        return _GpuMesh(car_vao, shadow_vao, buffer, texture, windows, mesh.two_sided,
                        mesh.alpha == "transparent")

    def forget(self, car: CarModel) -> None:
        """Free the GPU copy of one car (the cache otherwise keeps every car drawn)."""
        gpu = self._cars.pop(id(car), None)
        if gpu is None:
            return
        for m in gpu.meshes:
            m.car_vao.release()
            m.shadow_vao.release()
            m.buffer.release()
        shared = {id(t): t for m in gpu.meshes for t in (m.texture, m.windows) if t is not None}
        for tex in shared.values():
            tex.release()

    def release(self) -> None:
        for gpu in list(self._cars.values()):
            self.forget(gpu.car)
        for obj in (self._fbo, self._color, self._aux, self._depth, self._backdrop_vao,
                    self._ground_vao, self._blob_vao, self._quad, self._car_prog,
                    self._shadow_prog, self._backdrop_prog, self._ground_prog, self._blob_prog):
            obj.release()

    # -- drawing -----------------------------------------------------------------------------

    def render(self, car: CarModel, camera: Camera | None = None,
               style: Style | None = None) -> Sample:
        """Draw `car` as `camera` and `style` say (defaults: a plain left side view)."""
        camera, style = camera or Camera(), style or Style()
        gpu = self._upload(car)
        ss = self.supersample
        w, h = self.width * ss, self.height * ss
        cam = camera_matrices(camera, gpu.points, self.width, self.height)
        light = orbit_direction(style.lighting.azimuth, style.lighting.elevation)

        ctx = self.ctx
        self._fbo.use()
        self._fbo.viewport = (0, 0, w, h)
        self._fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self._draw_background(gpu, car, cam, style, light, h)
        self._draw_car(gpu, car, cam, style, light)
        ctx.finish()
        return self._read_sample(cam)

    def _draw_background(self, gpu: _GpuCar, car: CarModel, cam: CameraMatrices, style: Style,
                         light: np.ndarray, fb_height: int) -> None:
        ctx, bg = self.ctx, style.background
        ctx.enable_only(moderngl.BLEND)
        self._fbo.depth_mask = False
        self._backdrop_prog["u_top"].value = bg.top
        self._backdrop_prog["u_bottom"].value = bg.bottom
        self._backdrop_vao.render(moderngl.TRIANGLE_STRIP)

        lo, hi = gpu.footprint
        centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, car.ground_z])
        length = float(max(hi[0] - lo[0], hi[1] - lo[1]))
        if bg.kind == "ground":
            prog = self._ground_prog
            _set_matrices(prog, cam)
            prog["u_centre"].value = tuple(centre)
            prog["u_extent"].value = 40.0 * length
            prog["u_color"].value = bg.ground
            prog["u_top"].value = bg.top
            prog["u_bottom"].value = bg.bottom
            prog["u_height"].value = float(fb_height)
            prog["u_fade_start"].value = 2.0 * length
            prog["u_fade_end"].value = 12.0 * length
            prog["u_light"].value = float(style.lighting.ambient + style.lighting.key * light[2])
            self._ground_vao.render(moderngl.TRIANGLE_STRIP)

        prog = self._blob_prog
        _set_matrices(prog, cam)
        prog["u_centre"].value = tuple(centre + np.array([0.0, 0.0, 0.002]))
        prog["u_half"].value = (float(hi[0] - lo[0]) * 0.6, float(hi[1] - lo[1]) * 0.75)
        prog["u_strength"].value = float(style.lighting.shadow) * 0.8
        self._blob_vao.render(moderngl.TRIANGLE_STRIP)

        ctx.enable_only(moderngl.BLEND | moderngl.DEPTH_TEST)
        ctx.depth_func = "<"
        self._fbo.depth_mask = True
        prog = self._shadow_prog
        _set_matrices(prog, cam)
        prog["u_light_dir"].value = tuple(light)
        prog["u_ground_z"].value = float(car.ground_z) + 0.003
        prog["u_strength"].value = float(style.lighting.shadow)
        for m in gpu.meshes:
            if not m.transparent:
                m.shadow_vao.render(moderngl.TRIANGLES)

    def _draw_car(self, gpu: _GpuCar, car: CarModel, cam: CameraMatrices, style: Style,
                  light: np.ndarray) -> None:
        ctx, prog = self.ctx, self._car_prog
        bg, lit, paint = style.background, style.lighting, style.paint
        _set_matrices(prog, cam)
        prog["u_eye"].value = tuple(cam.eye)
        prog["u_light_dir"].value = tuple(light)
        prog["u_light_color"].value = tuple(lit.key * np.array(lit.color))
        prog["u_ambient"].value = float(lit.ambient)
        sky = 0.6 + 0.4 * np.array(bg.top)
        floor = 0.5 * np.array(bg.ground if bg.kind == "ground" else bg.bottom)
        prog["u_sky"].value = tuple(sky)
        prog["u_floor"].value = tuple(floor)
        prog["u_recolour"].value = bool(paint.recolour)
        prog["u_hue_shift"].value = float(paint.hue_shift)
        prog["u_tint"].value = tuple(paint.tint)
        prog["u_glass_z"].value = float(car.glass_above_z or 0.0)
        spots = car.light_spots[: shaders.MAX_LIGHT_SPOTS]
        prog["u_num_spots"].value = len(spots)
        if spots:
            data = np.zeros((shaders.MAX_LIGHT_SPOTS, 4), np.float32)
            data[: len(spots)] = spots
            prog["u_spots"].write(data.tobytes())
        prog["u_texture"].value = 0
        prog["u_windows"].value = 1
        ctx.depth_func = "<"
        ctx.front_face = "ccw"
        ctx.cull_face = "back"
        for transparent in (False, True):  # glass after everything it lets through
            for m in gpu.meshes:
                if m.transparent != transparent:
                    continue
                flags = moderngl.DEPTH_TEST
                if not m.two_sided:
                    flags |= moderngl.CULL_FACE
                if transparent:
                    flags |= moderngl.BLEND
                ctx.enable_only(flags)
                prog["u_textured"].value = m.texture is not None
                prog["u_transparent"].value = transparent
                prog["u_has_windows"].value = m.windows is not None
                if m.texture is not None:
                    m.texture.use(0)
                if m.windows is not None:
                    m.windows.use(1)
                m.car_vao.render(moderngl.TRIANGLES)

    def _read_sample(self, cam: CameraMatrices) -> Sample:
        ss = self.supersample
        w, h = self.width * ss, self.height * ss
        color = np.frombuffer(self._fbo.read(components=3, attachment=0), np.uint8)
        color = color.reshape(h, w, 3)[::-1]
        aux = np.frombuffer(self._fbo.read(components=4, attachment=1, dtype="f2"), np.float16)
        aux = aux.reshape(h, w, 4)[::-1].astype(np.float32)
        depth = np.frombuffer(self._depth.read(), np.float32).reshape(h, w)[::-1]

        parts_ss = np.rint(aux[..., 0]).astype(np.uint8)
        normals = np.empty((h, w, 3), np.float32)  # view normal: x, y from aux, z rebuilt
        normals[..., :2] = aux[..., 1:3]
        normals[..., 2] = np.sqrt(np.maximum(1.0 - aux[..., 1] ** 2 - aux[..., 2] ** 2, 0.0))
        # Depth buffer -> 1 / eye distance (linear across planes in screen space).
        n, f = cam.near, cam.far
        inv_depth = ((f + n) - (2.0 * depth - 1.0) * (f - n)) / (2.0 * f * n)
        inv_depth = np.where(parts_ss > 0, inv_depth, 0.0).astype(np.float32)

        image = downsample_rgb(color, ss)
        parts = downsample_parts(parts_ss, ss)
        sketch = sketch_lines(parts_ss, inv_depth, normals, ss)
        return Sample(image=image, parts=parts, sketch=sketch, paint=paint_fill(image, parts))


def _set_matrices(prog: moderngl.Program, cam: CameraMatrices) -> None:
    prog["u_view"].write(cam.view.T.astype(np.float32).tobytes())  # GL wants column-major
    prog["u_proj"].write(cam.projection.T.astype(np.float32).tobytes())
