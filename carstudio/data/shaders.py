"""GLSL programs of the car renderer (OpenGL 3.3 core; Mesa llvmpipe runs them on the CPU).

Every program writes two targets: colour, and an "aux" target (part id, view-space normal x/y,
coverage). Backdrop, ground and shadow write coverage 0 so that, with alpha blending on, the aux
target keeps the background id; car fragments write coverage 1 and replace it.
"""

from __future__ import annotations

from carstudio.data.parts import BODY, GLASS, LIGHTS, WHEEL

MAX_LIGHT_SPOTS = 16

_HEADER = "#version 330 core\n"
_OUTPUTS = """
layout(location = 0) out vec4 f_color;
layout(location = 1) out vec4 f_aux;
"""

CAR_VERTEX = _HEADER + """
uniform mat4 u_view;
uniform mat4 u_proj;
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
in vec3 in_color;
in float in_part;
out vec3 v_world;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_color;
flat out int v_part;
void main() {
    v_world = in_position;
    v_normal = in_normal;
    v_uv = in_uv;
    v_color = in_color;
    v_part = int(in_part + 0.5);
    gl_Position = u_proj * u_view * vec4(in_position, 1.0);
}
"""

CAR_FRAGMENT = _HEADER + _OUTPUTS + f"""
const int BODY = {BODY};
const int GLASS = {GLASS};
const int LIGHTS = {LIGHTS};
const int WHEEL = {WHEEL};
""" + """
uniform sampler2D u_texture;
uniform bool u_textured;
uniform bool u_transparent;
uniform mat4 u_view;
uniform vec3 u_eye;
uniform vec3 u_light_dir;    // unit vector towards the key light
uniform vec3 u_light_color;  // key strength x colour
uniform float u_ambient;
uniform vec3 u_sky;          // hemisphere ambient and glass reflection, above the horizon
uniform vec3 u_floor;        // ... and below it
uniform bool u_recolour;
uniform float u_hue_shift;
uniform vec3 u_tint;
uniform sampler2D u_windows; // window-texel mask of one-mesh bodies (glass.py)
uniform bool u_has_windows;
uniform float u_glass_z;     // ... applied above this height (the belt line)
uniform int u_num_spots;
uniform vec4 u_spots[""" + str(MAX_LIGHT_SPOTS) + """];  // xyz centre, w radius: body -> lights
in vec3 v_world;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_color;
flat in int v_part;

vec3 rgb2hsv(vec3 c) {
    vec4 K = vec4(0.0, -1.0 / 3.0, 2.0 / 3.0, -1.0);
    vec4 p = mix(vec4(c.bg, K.wz), vec4(c.gb, K.xy), step(c.b, c.g));
    vec4 q = mix(vec4(p.xyw, c.r), vec4(c.r, p.yzx), step(p.x, c.r));
    float d = q.x - min(q.w, q.y);
    return vec3(abs(q.z + (q.w - q.y) / (6.0 * d + 1e-10)), d / (q.x + 1e-10), q.x);
}

vec3 hsv2rgb(vec3 c) {
    vec3 p = abs(fract(c.xxx + vec3(1.0, 2.0 / 3.0, 1.0 / 3.0)) * 6.0 - 3.0);
    return c.z * mix(vec3(1.0), clamp(p - 1.0, 0.0, 1.0), c.y);
}

void main() {
    vec4 tex = u_textured ? texture(u_texture, v_uv) : vec4(1.0);
    float alpha = 1.0;
    if (u_transparent) {  // glass and rim holes: blended by texture alpha
        // A hole in the glass shows what is behind; a hole between the spokes is still wheel
        // in the part map (invisible in colour, labelled).
        if (tex.a < 0.03 && v_part != WHEEL) discard;
        alpha = tex.a;
    }
    vec3 albedo = tex.rgb * v_color;
    vec3 n = normalize(v_normal) * (gl_FrontFacing ? 1.0 : -1.0);
    vec3 hsv = rgb2hsv(albedo);
    int part = v_part;
    // One-mesh bodies: window texels above the belt line, off the near-horizontal roof.
    if (u_has_windows && part == BODY && v_world.z > u_glass_z && n.z < 0.96
            && texture(u_windows, v_uv).r > 0.5)
        part = GLASS;
    for (int i = 0; i < u_num_spots; ++i)
        if (part == BODY && distance(v_world, u_spots[i].xyz) < u_spots[i].w) part = LIGHTS;
    if (u_recolour && part == BODY) {
        // Saturated texels turn their hue; white/grey ones take the tint.
        vec3 turned = hsv2rgb(vec3(fract(hsv.x + u_hue_shift), hsv.y, hsv.z));
        albedo = mix(albedo * u_tint, turned, smoothstep(0.15, 0.35, hsv.y));
    }

    vec3 V = normalize(u_eye - v_world);
    vec3 H = normalize(u_light_dir + V);
    vec3 ambient = mix(u_floor, u_sky, 0.5 + 0.5 * n.z) * u_ambient;
    float diffuse = max(dot(n, u_light_dir), 0.0);
    float gloss = part == GLASS ? 0.6 : (part == BODY || part == LIGHTS ? 0.3 : 0.08);
    float shininess = part == GLASS ? 80.0 : 30.0;
    vec3 color = albedo * (ambient + diffuse * u_light_color)
               + gloss * u_light_color * pow(max(dot(n, H), 0.0), shininess);
    if (part == GLASS) {  // glass mirrors the sky or the floor, more at grazing angles
        vec3 r = reflect(-V, n);
        float fresnel = 0.15 + 0.6 * pow(1.0 - max(dot(n, V), 0.0), 3.0);
        color = mix(color, r.z > 0.0 ? u_sky : u_floor, fresnel);
        alpha = max(alpha, fresnel);
    }
    vec3 nv = mat3(u_view) * n;
    f_color = vec4(color, alpha);
    f_aux = vec4(float(part), nv.x, nv.y, 1.0);
}
"""

# Full-screen backdrop: a vertical gradient (plain when both colours match).
BACKDROP_VERTEX = _HEADER + """
in vec2 in_pos;
out float v_y;
void main() {
    v_y = in_pos.y * 0.5 + 0.5;
    gl_Position = vec4(in_pos, 0.0, 1.0);
}
"""

BACKDROP_FRAGMENT = _HEADER + _OUTPUTS + """
uniform vec3 u_top;
uniform vec3 u_bottom;
in float v_y;
void main() {
    f_color = vec4(mix(u_bottom, u_top, smoothstep(0.0, 1.0, v_y)), 1.0);
    f_aux = vec4(0.0);
}
"""

# Ground plane: flat colour with fine grain, fading into the backdrop with distance.
GROUND_VERTEX = _HEADER + """
uniform mat4 u_view;
uniform mat4 u_proj;
uniform vec3 u_centre;
uniform float u_extent;
in vec2 in_pos;
out vec2 v_ground;
void main() {
    vec3 p = vec3(u_centre.xy + in_pos * u_extent, u_centre.z);
    v_ground = p.xy - u_centre.xy;
    gl_Position = u_proj * u_view * vec4(p, 1.0);
}
"""

GROUND_FRAGMENT = _HEADER + _OUTPUTS + """
uniform vec3 u_color;
uniform vec3 u_top;
uniform vec3 u_bottom;
uniform float u_height;     // framebuffer height, for the backdrop gradient behind
uniform float u_fade_start;
uniform float u_fade_end;
uniform float u_light;
in vec2 v_ground;
void main() {
    vec2 cell = floor(v_ground * 25.0);
    float grain = fract(sin(dot(cell, vec2(12.9898, 78.233))) * 43758.5453) - 0.5;
    vec3 ground = u_color * u_light * (1.0 + 0.08 * grain);
    vec3 behind = mix(u_bottom, u_top, smoothstep(0.0, 1.0, gl_FragCoord.y / u_height));
    float fade = smoothstep(u_fade_start, u_fade_end, length(v_ground));
    f_color = vec4(mix(ground, behind, fade), 1.0);
    f_aux = vec4(0.0);
}
"""

# Planar shadow: car vertices pushed along the light onto the ground. Every fragment writes
# the same depth, so overlapping triangles fail the depth test and darken a pixel only once.
SHADOW_VERTEX = _HEADER + """
uniform mat4 u_view;
uniform mat4 u_proj;
uniform vec3 u_light_dir;
uniform float u_ground_z;
in vec3 in_position;
void main() {
    float t = (in_position.z - u_ground_z) / max(u_light_dir.z, 0.1);
    vec3 p = in_position - u_light_dir * t;
    gl_Position = u_proj * u_view * vec4(p.xy, u_ground_z, 1.0);
}
"""

SHADOW_FRAGMENT = _HEADER + _OUTPUTS + """
uniform float u_strength;
void main() {
    f_color = vec4(0.0, 0.0, 0.0, u_strength);
    f_aux = vec4(0.0);
    gl_FragDepth = 0.999999;
}
"""

# Soft contact shadow under the car (ambient occlusion by the body): a rounded rectangle.
BLOB_VERTEX = _HEADER + """
uniform mat4 u_view;
uniform mat4 u_proj;
uniform vec3 u_centre;
uniform vec2 u_half;
in vec2 in_pos;
out vec2 v_local;
void main() {
    v_local = in_pos;
    gl_Position = u_proj * u_view * vec4(u_centre + vec3(in_pos * u_half, 0.0), 1.0);
}
"""

BLOB_FRAGMENT = _HEADER + _OUTPUTS + """
uniform float u_strength;
in vec2 v_local;
void main() {
    float r = length(max(abs(v_local) - vec2(0.55), 0.0)) / 0.45;
    f_color = vec4(0.0, 0.0, 0.0, u_strength * (1.0 - smoothstep(0.0, 1.0, r)));
    f_aux = vec4(0.0);
}
"""
