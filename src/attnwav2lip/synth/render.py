"""`render(identity, motion, mouth_track) -> frames`, and the ground-truth face box of every frame.

Per frame: copy the head sprite (RGBA, canonical canvas), draw eyelids and mouth, lay the over
layer, warp with the pose homography, composite over the clip's background, lay the shirt over
the neck, then apply light gain, camera noise and (optionally) a JPEG round trip. All steps are deterministic, so a render
is reproducible bit for bit from (identity, motion, mouth track, size).
"""

from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np

from ..errors import ConfigError
from ..looping import Loop, loop_schedule
from .face import Geometry, Sprite, build_sprite, draw_eyelids, draw_mouth, draw_over, drop_jaw, jaw_drop
from .identity import Identity
from .motion import Motion
from .mouth import check_track

Size = int | tuple[int, int]
_CAMERA_DISTANCE = 4.0  # in canvas sides: mild perspective for yaw / pitch
_HEAD_Y = 0.47          # vertical position of the face centre in the frame at ty = 0 (fraction of height)
# Ground-truth box: the faces package's convention, the bounding box of the face-mesh oval (forehead
# top to chin, cheek to cheek). Cheeks and chin are exact here; the forehead top (mesh point 10, which
# a drawn face lacks) is this fraction of the eye-to-chin distance above the eyes, calibrated once to
# the default detector on frontal-to-rotated renders (docs/synthtalk.md).
FOREHEAD = 0.40


def frame_size(size: Size) -> tuple[int, int]:
    """(width, height) from an int (square) or a (width, height) pair."""
    w, h = (size, size) if isinstance(size, int) else size
    if w < 32 or h < 32:
        raise ConfigError(f"frame size must be at least 32x32, got {w}x{h}")
    return int(w), int(h)


def homography(g: Geometry, pose: np.ndarray, width: int, height: int) -> np.ndarray:
    """3x3 map from canonical canvas pixels to frame pixels for one pose (tx, ty, scale, roll, yaw, pitch).

    The face plane is rotated in 3D about the face centre (yaw, then pitch, then roll), seen by a
    pinhole camera, then scaled and placed in the frame.
    """
    tx, ty, scale, roll, yaw, pitch = (float(v) for v in pose)
    ry, rp, rr = np.radians([yaw, pitch, roll])
    cy_, sy_ = np.cos(ry), np.sin(ry)
    cp, sp = np.cos(rp), np.sin(rp)
    cr, sr = np.cos(rr), np.sin(rr)
    r_yaw = np.array([[cy_, 0, sy_], [0, 1, 0], [-sy_, 0, cy_]])
    r_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    r_roll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    rot = r_roll @ r_pitch @ r_yaw
    dist = _CAMERA_DISTANCE * g.size
    plane = np.column_stack([rot[:, 0], rot[:, 1], [0.0, 0.0, dist]])
    project = np.diag([dist, dist, 1.0]) @ plane @ np.array([[1, 0, -g.cx], [0, 1, -g.cy], [0, 0, 1.0]])
    side = min(width, height)
    k = scale * side / g.size
    place = np.array([[k, 0, width / 2 + tx * side], [0, k, _HEAD_Y * height + ty * side], [0, 0, 1.0]])
    m = place @ project
    return m / m[2, 2]


def canonical_box(g: Geometry) -> np.ndarray:
    """The ground-truth face box in canonical pixels: cheek to cheek, forehead top to chin."""
    chin = g.chin_y
    return np.array([g.cx - g.a, g.eye_y - FOREHEAD * (chin - g.eye_y), g.cx + g.a, chin])


def face_boxes(g: Geometry, pose: np.ndarray, size: Size, mouth: np.ndarray | None = None) -> np.ndarray:
    """(T, 4) float32 x1, y1, x2, y2 ground-truth boxes for each pose (and mouth, whose jaw lowers the chin).

    The box bounds the oval inscribed in the canonical box, warped by the pose: what a detector
    bounding a rotated face bounds.
    """
    w, h = frame_size(size)
    x1, y1, x2, y2 = canonical_box(g)
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    out = np.empty((len(pose), 4), np.float32)
    for i, p in enumerate(pose):
        bottom = y2 + (jaw_drop(g, mouth[i]) if mouth is not None else 0.0)
        pts = np.stack([(x1 + x2) / 2 + (x2 - x1) / 2 * np.cos(t), (y1 + bottom) / 2 + (bottom - y1) / 2 * np.sin(t),
                        np.ones_like(t)])
        q = homography(g, p, w, h) @ pts
        q = q[:2] / q[2]
        out[i] = q[0].min(), q[1].min(), q[0].max(), q[1].max()
    return out


def background(kind: str, seed: int, width: int, height: int) -> np.ndarray:
    """A clip's static background: uint8 (H, W, 3)."""
    rng = np.random.default_rng([seed, 0xB6])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xx / width, yy / height
    c0, c1 = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 3)
    if kind == "gradient":
        ang = rng.uniform(0, 2 * np.pi)
        s = np.clip(0.5 + (u - 0.5) * np.cos(ang) + (v - 0.5) * np.sin(ang), 0, 1)
        img = c0 * (1 - s[..., None]) + c1 * s[..., None]
    elif kind == "blobs":
        img = np.tile(c0, (height, width, 1))
        for _ in range(rng.integers(3, 8)):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.08, 0.3)
            m = np.exp(-((u - cx) ** 2 + (v - cy) ** 2) / (2 * r * r))[..., None]
            img = img * (1 - m) + rng.uniform(0.05, 0.95, 3) * m
    elif kind == "stripes":
        ang, period = rng.uniform(0, np.pi), rng.uniform(0.05, 0.2)
        s = 0.5 + 0.5 * np.sin(2 * np.pi * ((u * np.cos(ang) + v * np.sin(ang)) / period))
        img = c0 * (1 - s[..., None]) + c1 * s[..., None]
    else:  # room: wall, floor, a window
        horizon = rng.uniform(0.6, 0.85)
        img = np.where((v > horizon)[..., None], c1 * 0.6, c0 * (0.85 + 0.15 * u[..., None]))
        wx, wy = rng.uniform(0.0, 0.7), rng.uniform(0.05, 0.3)
        window = (u > wx) & (u < wx + 0.25) & (v > wy) & (v < wy + 0.3)
        img = np.where(window[..., None], np.array([0.85, 0.9, 0.97]), img)
    img = img + rng.normal(0, 0.01, 3)
    return np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)


def torso(width: int, height: int, shirt: tuple[float, float, float], neck: tuple[float, float, float]
          ) -> tuple[int, np.ndarray, np.ndarray]:
    """The shirt, laid over the head so it hides the neck's lower end: (first row, RGB uint8, weight float32).

    `neck` = (centre x, neckline y, neck half-width) in frame pixels; the shoulders are 2.7 neck
    half-widths to each side and the neckline is a U around the neck.
    """
    cx, top, neck_half = neck
    y0 = int(np.clip(np.floor(top - 1), 0, height - 1))
    yy, xx = np.mgrid[y0:height, 0:width].astype(np.float32)
    half = 2.7 * neck_half
    rel = (xx - cx) / half
    shoulder_y = top + half * 0.35 * np.clip(np.abs(rel), 0, 1.6) ** 2
    body = (np.abs(rel) < 1.6) & (yy > shoulder_y)
    opening = (np.abs(xx - cx) < 1.25 * neck_half) & (yy < top + 0.8 * neck_half * (1 - ((xx - cx) / (1.25 * neck_half)) ** 2))
    weight = cv2.GaussianBlur((body & ~opening).astype(np.float32), (0, 0), 0.7)
    shade = 0.75 + 0.25 * np.clip(1 - np.abs(rel) / 1.6, 0, 1)
    rgb = np.clip(np.asarray(shirt, np.float32) * shade[..., None] * 255 + 0.5, 0, 255).astype(np.uint8)
    return y0, rgb, weight


class Renderer:
    """Renders frames of one identity in one scene; reuse it for every frame of a clip."""

    def __init__(self, identity: Identity, motion: Motion, size: Size = 256) -> None:
        self.width, self.height = frame_size(size)
        side = min(self.width, self.height)
        self.identity = identity
        self.motion = motion
        sprite = build_sprite(identity, side, motion.light)
        self.sprite: Sprite = sprite
        self._rgba = np.dstack([sprite.rgb, sprite.alpha])
        self._canvas = np.empty_like(self._rgba)
        ys, xs = np.nonzero(sprite.alpha)
        x0, x1, y0, y1 = xs.min(), xs.max() + 1.0, ys.min(), ys.max() + 1.0
        self._extent = np.array([[x0, x1, x1, x0], [y0, y0, y1, y1], [1.0, 1.0, 1.0, 1.0]])  # sprite's bounds
        g = sprite.geom
        mean_pose = motion.pose.mean(axis=0)
        neck = homography(g, mean_pose, self.width, self.height) @ np.array([g.cx, g.cy + 1.2 * g.b, 1.0])
        neck_half = 0.62 * g.a * float(mean_pose[2]) * side / g.size
        self.background = background(motion.background, motion.scene_seed, self.width, self.height)
        self._torso = torso(self.width, self.height, identity.shirt, (neck[0] / neck[2], neck[1] / neck[2], neck_half))
        rng = np.random.default_rng([motion.scene_seed, 0x40])
        noise = rng.normal(0, motion.noise, (4, self.height, self.width, 3))
        self._noise_up = np.clip(noise, 0, 255).astype(np.uint8)
        self._noise_down = np.clip(-noise, 0, 255).astype(np.uint8)

    def frame(self, index: int, mouth: np.ndarray) -> np.ndarray:
        """Frame `index` of the motion track with mouth parameters `mouth` (6,): uint8 (H, W, 3) RGB."""
        m = self.motion
        canvas = self._canvas
        np.copyto(canvas, self._rgba)
        drop_jaw(canvas, self.sprite.geom, jaw_drop(self.sprite.geom, mouth))
        draw_eyelids(canvas, self.sprite, float(m.blink[index]))
        draw_mouth(canvas, self.sprite, mouth)
        draw_over(canvas, self.sprite)
        hom = homography(self.sprite.geom, m.pose[index], self.width, self.height)
        out = self.background.copy()
        corners = hom @ self._extent
        corners = corners[:2] / corners[2]
        x0, y0 = np.maximum(np.floor(corners.min(axis=1)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(corners.max(axis=1)).astype(int) + 2, (self.width, self.height))
        if x1 > x0 and y1 > y0:  # warp and blend only the head's bounding box
            shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1.0]])
            warped = cv2.warpPerspective(canvas, shift @ hom, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            weight = warped[..., 3].astype(np.float32) * np.float32(1 / 255)
            out[y0:y1, x0:x1] = cv2.blendLinear(cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB), out[y0:y1, x0:x1],
                                                weight, 1.0 - weight)
        ty, shirt, weight = self._torso
        out[ty:] = cv2.blendLinear(shirt, out[ty:], weight, 1.0 - weight)
        gain = m.gain[index]
        lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * gain[None, :] + 0.5, 0, 255).astype(np.uint8)
        out = cv2.LUT(out, lut.reshape(256, 1, 3))
        k = index % len(self._noise_up)
        out = cv2.subtract(cv2.add(out, self._noise_up[k]), self._noise_down[k])
        if m.jpeg:
            # the RGB array passes through the codec as if BGR: a consistent round trip either way
            ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(m.jpeg)])
            out = cv2.imdecode(data, cv2.IMREAD_COLOR)
        return out

    def boxes(self, mouth_track: np.ndarray | None = None) -> np.ndarray:
        """Ground-truth face boxes of every motion frame, (T, 4); pass the mouth track to follow the jaw."""
        return face_boxes(self.sprite.geom, self.motion.pose, (self.width, self.height), mouth_track)


def fit_motion(motion: Motion, n_frames: int, loop: Loop = "pingpong") -> Motion:
    """`motion` cut or looped to exactly `n_frames` frames, by the very schedule `sync` uses."""
    if len(motion) == n_frames:
        return motion
    return motion.take(loop_schedule(n_frames, len(motion), loop))


def iter_render(identity: Identity, motion: Motion, mouth_track: np.ndarray, *, size: Size = 256,
                loop: Loop = "pingpong") -> Iterator[np.ndarray]:
    """Frames one at a time (for streaming into a writer); see `render`."""
    track = check_track(mouth_track)
    if not len(track):
        return
    # the clip's own scene (its torso placed from its whole motion, its noise by source frame), so
    # frame i is exactly the clip's frame schedule[i] with another mouth, as `sync` shows it
    renderer = Renderer(identity, motion, size)
    for params, source in zip(track, loop_schedule(len(track), len(motion), loop)):
        yield renderer.frame(int(source), params)


def render(identity: Identity, motion: Motion, mouth_track: np.ndarray, *, size: Size = 256,
           loop: Loop = "pingpong") -> np.ndarray:
    """Frames (T, H, W, 3) uint8 RGB of `identity` moving as in `motion` and mouthing `mouth_track`.

    T = len(mouth_track). The head / blink / lighting track is looped as `sync` loops a shorter
    video ("pingpong": forward then backward; "forward") or cut when longer, so any clip's motion can
    be paired with any audio's mouth track: the true video of "A saying B".
    """
    w, h = frame_size(size)
    frames = np.empty((len(mouth_track), h, w, 3), np.uint8)
    for i, frame in enumerate(iter_render(identity, motion, mouth_track, size=size, loop=loop)):
        frames[i] = frame
    return frames
