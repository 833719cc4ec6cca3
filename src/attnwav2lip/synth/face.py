"""Procedural faces: a static head sprite per clip, plus a per-frame mouth and eyelids.

The head is drawn once in a canonical, upright, frontal canvas (side C pixels) with vectorised
numpy shading and anti-aliased OpenCV polygons. Each frame then only copies that sprite, draws
the eyelids and the mouth for this frame's parameters, lays the "over" layer (moustache,
glasses) on top, and warps the result into the frame with one homography (head pose). That keeps
rendering at a few milliseconds per 256x256 frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .identity import Identity
from .mouth import LIP_TEETH, OPEN, PRESS, ROUND, TEETH, WIDTH

_SHIFT = 4  # OpenCV sub-pixel bits for polygon coordinates
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA
_TEETH = (0.93, 0.91, 0.84)
_CAVITY = (0.2, 0.05, 0.06)
_TONGUE = (0.7, 0.33, 0.33)


@dataclass(frozen=True)
class Geometry:
    """Canonical feature positions (pixels of the C x C canvas) of one identity."""

    size: int
    cx: float
    cy: float
    a: float              # face half-width
    b: float              # face half-height (forehead top to chin)
    eye_y: float
    eye_dx: float         # eye centre offset from cx
    eye_w: float          # eye half-width
    eye_h: float          # eye half-height (open)
    brow_y: float
    nose_y: float         # nose tip / nostrils
    mouth_x: float
    mouth_y: float
    mouth_w: float        # mouth half-width at rest
    lip: float            # lip thickness at rest

    @property
    def chin_y(self) -> float:
        return self.cy + self.b


def geometry(identity: Identity, size: int) -> Geometry:
    """Feature positions following common face proportions, varied by the identity."""
    a = identity.face_width * size
    b = a * identity.aspect
    cx, cy = size / 2, 0.47 * size
    eye_y = cy - 0.1 * b
    span = cy + b - eye_y
    nose_y = eye_y + span * 0.42 * identity.nose_length / 0.56
    mouth_y = nose_y + (cy + b - nose_y) * 0.37
    return Geometry(
        size=size, cx=cx, cy=cy, a=a, b=b, eye_y=eye_y, eye_dx=identity.eye_spacing * a,
        eye_w=identity.eye_size * a, eye_h=identity.eye_size * a * identity.eye_height,
        brow_y=eye_y - 0.33 * a, nose_y=nose_y, mouth_x=cx, mouth_y=mouth_y,
        mouth_w=identity.mouth_width * a, lip=identity.lip_thickness * a,
    )


@dataclass(frozen=True)
class Sprite:
    """A rendered head: RGB + alpha in the canonical canvas, and what per-frame drawing needs."""

    rgb: np.ndarray          # (C, C, 3) uint8, the head without mouth/eyelid animation
    alpha: np.ndarray        # (C, C) uint8 coverage of the head
    over_box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the over layer (may be empty)
    over_rgb: np.ndarray     # premultiplied float32 (h, w, 3) in 0..255
    over_alpha: np.ndarray   # float32 (h, w, 1) in 0..1
    geom: Geometry
    lid: tuple[float, float, float]        # eyelid skin colour (0..255)
    lash: tuple[float, float, float]
    lip_upper: tuple[float, float, float]
    lip_lower: tuple[float, float, float]
    lip_line: tuple[float, float, float]
    lip_highlight: tuple[float, float, float]


# ----------------------------------------------------------------------------- helpers

def _poly_mask(size: int, polys: list[np.ndarray]) -> np.ndarray:
    """Anti-aliased coverage (float32 0..1) of filled polygons given in float pixel coordinates."""
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(p * _ONE).astype(np.int32) for p in polys], 255, _AA, _SHIFT)
    return mask.astype(np.float32) / 255.0


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 48, start: float = 0.0, end: float = 2 * np.pi
             ) -> np.ndarray:
    t = np.linspace(start, end, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _paint(img: np.ndarray, mask: np.ndarray, colour: np.ndarray | tuple[float, ...], opacity: float = 1.0) -> None:
    """img <- img * (1 - m) + colour * m, in place (colour: RGB or a per-pixel (H, W, 3) image)."""
    m = (mask * opacity)[..., None]
    img *= 1.0 - m
    img += np.asarray(colour, np.float32) * m


def _blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(mask, (0, 0), max(sigma, 0.3))


def face_outline(g: Geometry, jaw: float, n: int = 96) -> np.ndarray:
    """Face contour: an ellipse whose lower half narrows towards the chin by `jaw`."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    s = np.sin(t)
    lower = np.clip(s, 0, 1)
    width = 1.0 - (1.0 - jaw) * lower ** 2.2
    # squarer jaws: push the lower corners outwards with a superellipse-like bulge
    bulge = 1.0 + 0.12 * (jaw - 0.6) * np.sin(2 * t) ** 2 * (s > 0)
    x = g.cx + g.a * np.cos(t) * width * bulge
    y = g.cy + g.b * s
    return np.stack([x, y], axis=1)


# ----------------------------------------------------------------------------- sprite

def build_sprite(identity: Identity, size: int, light: tuple[float, float] = (0.3, -0.5)) -> Sprite:
    """Draw `identity` into a C x C canvas, lit from direction `light` (x, y in the image plane)."""
    g = geometry(identity, size)
    rng = np.random.default_rng([identity.seed, 0x5B])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    skin = np.asarray(identity.skin, np.float32) * 255
    hair = np.asarray(identity.hair, np.float32) * 255
    lx, ly = light
    lz = np.sqrt(max(0.0, 1.0 - lx * lx - ly * ly))

    def shaded(colour: np.ndarray, u: np.ndarray, v: np.ndarray, strength: float = 0.35) -> np.ndarray:
        """Colour lit as a sphere-ish surface with pseudo-normal (u, v, sqrt(1-u²-v²))."""
        r2 = np.clip(u * u + v * v, 0, 1)
        nz = np.sqrt(1 - r2)
        lambert = np.clip(u * lx + v * ly + nz * lz, 0, 1)
        shade = (1 - strength) + strength * lambert
        rim = 1.0 - 0.18 * r2 ** 2
        return colour[None, None, :] * (shade * rim)[..., None]

    img = np.zeros((size, size, 3), np.float32)
    alpha = np.zeros((size, size), np.float32)
    u_face = (xx - g.cx) / (g.a * 1.05)
    v_face = (yy - g.cy) / (g.b * 1.05)
    skin_img = shaded(skin, u_face, v_face)

    # hair behind the head
    style = identity.hair_style
    back: list[np.ndarray] = []
    if style == "long":
        top = _ellipse(g.cx, g.cy - 0.05 * g.b, g.a * 1.22, g.b * 1.1, 40, np.pi, 2 * np.pi)
        back = [np.concatenate([top, [[g.cx + g.a * 1.35, g.cy + 1.45 * g.b], [g.cx - g.a * 1.35, g.cy + 1.45 * g.b]]])]
    elif style == "curly":
        t = np.linspace(0, 2 * np.pi, 80, endpoint=False)
        r = 1.0 + 0.06 * np.sin(t * 11 + rng.uniform(0, 6))
        back = [np.stack([g.cx + g.a * 1.32 * r * np.cos(t), g.cy - 0.12 * g.b + g.b * 0.98 * r * np.sin(t)], 1)]
    if back:
        m = _poly_mask(size, back)
        _paint(img, m, shaded(hair, (xx - g.cx) / (1.4 * g.a), (yy - g.cy) / (1.5 * g.b), 0.5))
        alpha = np.maximum(alpha, m)

    # neck, with a shadow under the chin
    neck = np.array([[g.cx - 0.58 * g.a, g.cy + 0.3 * g.b], [g.cx + 0.58 * g.a, g.cy + 0.3 * g.b],
                     [g.cx + 0.66 * g.a, size + 2.0], [g.cx - 0.66 * g.a, size + 2.0]])
    m = _poly_mask(size, [neck])
    under_chin = 0.62 + 0.26 * np.clip((yy - (g.cy + g.b)) / (0.35 * g.b), 0, 1)
    _paint(img, m, shaded(skin, (xx - g.cx) / (0.7 * g.a), np.zeros_like(yy)) * under_chin[..., None])
    alpha = np.maximum(alpha, m)

    # ears
    for side in (-1, 1):
        ex, ey = g.cx + side * 0.97 * g.a, g.eye_y + 0.25 * g.b
        rx, ry = 0.17 * g.a * identity.ear_size, 0.3 * g.a * identity.ear_size
        m = _poly_mask(size, [_ellipse(ex, ey, rx, ry)])
        _paint(img, m, skin_img * 0.9)
        _paint(img, _blur(_poly_mask(size, [_ellipse(ex + side * 0.02 * g.a, ey, rx * 0.5, ry * 0.6)]), 0.02 * g.a),
               skin * 0.6, 0.6)
        alpha = np.maximum(alpha, m)

    # the face itself
    outline = face_outline(g, identity.jaw)
    face = _poly_mask(size, [outline])
    _paint(img, face, skin_img)
    alpha = np.maximum(alpha, face)

    # cheeks, eye sockets, nose and philtrum shading: soft light/dark patches
    for side in (-1, 1):
        cheek = _blur(_poly_mask(size, [_ellipse(g.cx + side * 0.55 * g.a, g.nose_y, 0.22 * g.a, 0.14 * g.a)]), 0.1 * g.a)
        _paint(img, cheek * face, (skin * np.array([1.02, 0.82, 0.8])).clip(0, 255), 0.35)
        socket = _blur(_poly_mask(size, [_ellipse(g.cx + side * g.eye_dx, g.eye_y - 0.03 * g.a,
                                                  g.eye_w * 1.45, g.eye_h * 2.3)]), 0.07 * g.a)
        _paint(img, socket * face, skin * 0.72, 0.5)
    _draw_facial_hair(img, identity, g, face, hair, xx, yy, rng)
    _draw_hair_cap(img, identity, g, hair, outline, xx, yy, rng, alpha)
    for side in (-1, 1):
        _draw_eye(img, identity, g, side)
        _draw_brow(img, identity, g, side, hair)
    _draw_nose(img, g, skin, identity, light)

    # over layer: moustache and glasses (drawn after the mouth and eyelids each frame)
    over = np.zeros((size, size, 3), np.float32)
    over_a = np.zeros((size, size), np.float32)
    if identity.facial_hair == "moustache":
        mw, my = g.mouth_w * 1.05, g.mouth_y - 0.55 * g.lip
        top = np.stack([g.mouth_x + np.linspace(-mw, mw, 24), my - 0.16 * g.a * np.cos(np.linspace(-1.2, 1.2, 24))], 1)
        bottom = np.stack([g.mouth_x + np.linspace(mw, -mw, 24),
                           my + 0.02 * g.a - 0.04 * g.a * np.cos(np.linspace(1.2, -1.2, 24))], 1)
        _paint_over(over, over_a, _poly_mask(size, [np.concatenate([top, bottom])]) * 0.92, hair * 0.8)
    if identity.glasses != "none":
        _draw_glasses(over, over_a, identity, g)
    ys, xs = np.nonzero(over_a > 0.002)
    if len(xs):
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    else:
        box = (0, 0, 0, 0)
    x0, y0, x1, y1 = box
    lip = np.asarray(identity.lip_colour, np.float32) * 255
    lid_colour = tuple(float(c) for c in skin * 0.86)
    return Sprite(
        rgb=np.clip(img + 0.5, 0, 255).astype(np.uint8),
        alpha=np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8),
        over_box=box,
        over_rgb=np.ascontiguousarray(over[y0:y1, x0:x1]),
        over_alpha=np.ascontiguousarray(over_a[y0:y1, x0:x1, None]),
        geom=g,
        lid=lid_colour,  # type: ignore[arg-type]
        lash=tuple(float(c) for c in np.minimum(hair * 0.35, 40)),  # type: ignore[arg-type]
        lip_upper=tuple(float(c) for c in lip * 0.82),  # type: ignore[arg-type]
        lip_lower=tuple(float(c) for c in lip),  # type: ignore[arg-type]
        lip_line=tuple(float(c) for c in lip * 0.4),  # type: ignore[arg-type]
        lip_highlight=tuple(float(c) for c in np.minimum(lip * 1.18 + 12, 255)),  # type: ignore[arg-type]
    )


def _draw_hair_cap(img: np.ndarray, ident: Identity, g: Geometry, hair: np.ndarray, outline: np.ndarray,
                   xx: np.ndarray, yy: np.ndarray, rng: np.random.Generator, alpha: np.ndarray) -> None:
    style = ident.hair_style
    if style == "bald":
        return
    size = g.size
    grow = {"buzz": 1.02, "short": 1.07, "side": 1.08, "long": 1.1, "curly": 1.12}[style]
    cap_outline = np.stack([g.cx + (outline[:, 0] - g.cx) * grow, g.cy - 0.04 * g.b + (outline[:, 1] - g.cy) * grow], 1)
    cap = _poly_mask(size, [cap_outline])
    u = (xx - g.cx) / g.a
    line = g.cy - g.b * (0.62 if style != "buzz" else 0.7) + g.b * 0.32 * u ** 2
    if style == "side":
        line = line + g.b * 0.12 * np.clip(u + 0.3, -1, 1)
    if style == "curly":
        line = line + 0.03 * g.b * np.sin(u * 9 + rng.uniform(0, 6))
    cover = cap * np.clip((line - yy) / 1.2 + 0.5, 0, 1)
    shade = 0.55 + 0.45 * np.clip(1 - ((xx - g.cx) ** 2 + (yy - g.cy + 0.9 * g.b) ** 2) / (1.3 * g.a) ** 2, 0, 1)
    texture = 1 + 0.12 * _blur(rng.standard_normal((size, size)).astype(np.float32), 0.6)
    _paint(img, cover, hair[None, None, :] * (shade * texture)[..., None], 0.6 if style == "buzz" else 1.0)
    np.maximum(alpha, cover, out=alpha)


def _draw_facial_hair(img: np.ndarray, ident: Identity, g: Geometry, face: np.ndarray, hair: np.ndarray,
                      xx: np.ndarray, yy: np.ndarray, rng: np.random.Generator) -> None:
    kind = ident.facial_hair
    if kind not in ("stubble", "beard"):
        return
    top = g.nose_y + 0.1 * g.a if kind == "beard" else g.mouth_y - 0.35 * g.a
    region = face * np.clip((yy - top) / (0.08 * g.a), 0, 1)
    region *= np.clip((np.abs(xx - g.cx) - 0.0) / g.a * 3, 0.25 if kind == "beard" else 1.0, 1)
    grain = np.clip(1 + 0.9 * _blur(rng.standard_normal(face.shape).astype(np.float32), 0.8), 0, 2)
    if kind == "stubble":
        _paint(img, _blur(region, 0.03 * g.a) * 0.3 * grain, hair * 0.6)
    else:
        _paint(img, _blur(region, 0.04 * g.a) * np.clip(0.5 * grain, 0, 0.7), hair * 0.9)


def _draw_eye(img: np.ndarray, ident: Identity, g: Geometry, side: int) -> None:
    size = g.size
    ex, ey = g.cx + side * g.eye_dx, g.eye_y
    top, bottom = eye_arcs(g, side, 32)
    almond = _poly_mask(size, [np.concatenate([top, bottom[::-1]])])
    _paint(img, almond, (238, 236, 230))
    iris_r = g.eye_h * 0.95
    iris = _poly_mask(size, [_ellipse(ex + side * 0.03 * g.eye_w, ey + 0.05 * g.eye_h, iris_r, iris_r)]) * almond
    _paint(img, iris, np.asarray(ident.iris) * 255)
    pupil = _poly_mask(size, [_ellipse(ex + side * 0.03 * g.eye_w, ey + 0.05 * g.eye_h, iris_r * 0.45, iris_r * 0.45)])
    _paint(img, pupil * almond, (12, 10, 10))
    glint = _poly_mask(size, [_ellipse(ex - 0.25 * iris_r, ey - 0.25 * iris_r, iris_r * 0.18, iris_r * 0.18, 16)])
    _paint(img, glint * almond, (250, 250, 250), 0.9)
    lash = np.round(top * _ONE).astype(np.int32)
    cv2.polylines(img, [lash], False, (25, 20, 20), max(1, round(0.035 * g.a)), _AA, _SHIFT)


def eye_arcs(g: Geometry, side: int, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower contour of one open eye, inner to outer corner (float pixels)."""
    ex, ey = g.cx + side * g.eye_dx, g.eye_y
    x = np.linspace(-1, 1, n)
    shape = np.clip(1 - x ** 2, 0, 1)
    top = np.stack([ex + side * x * g.eye_w, ey - g.eye_h * shape ** 0.75 * (1 + 0.12 * x)], 1)
    bottom = np.stack([ex + side * x * g.eye_w, ey + 0.8 * g.eye_h * shape ** 0.9], 1)
    return top, bottom


def _draw_brow(img: np.ndarray, ident: Identity, g: Geometry, side: int, hair: np.ndarray) -> None:
    x = np.linspace(0, 1, 20)
    bx = g.cx + side * (0.1 * g.a + x * 0.62 * g.a)
    by = g.brow_y - g.a * (ident.brow_arch * np.sin(np.pi * x ** 0.8) - ident.brow_tilt * x)
    thick = ident.brow_thickness * g.a * (1.1 - 0.6 * x)
    poly = np.concatenate([np.stack([bx, by - thick / 2], 1), np.stack([bx, by + thick / 2], 1)[::-1]])
    _paint(img, _poly_mask(g.size, [poly]), np.minimum(hair * 0.7, 255), 0.92)


def _draw_nose(img: np.ndarray, g: Geometry, skin: np.ndarray, ident: Identity, light: tuple[float, float]) -> None:
    size = g.size
    w = ident.nose_width * g.a
    away = -1 if light[0] > 0 else 1  # the side of the nose facing away from the light is darker
    ridge = np.array([[g.cx + away * 0.1 * g.a, g.eye_y], [g.cx + away * 0.16 * g.a, g.eye_y],
                      [g.cx + away * 0.9 * w, g.nose_y - 0.05 * g.a], [g.cx + away * 0.5 * w, g.nose_y]])
    _paint(img, _blur(_poly_mask(size, [ridge]), 0.05 * g.a), skin * 0.7, 0.7)
    base = _ellipse(g.cx, g.nose_y - 0.02 * g.a, 0.95 * w, 0.16 * g.a)
    _paint(img, _blur(_poly_mask(size, [base]), 0.05 * g.a), skin * 0.72, 0.6)
    tip = _ellipse(g.cx, g.nose_y - 0.08 * g.a, 0.35 * w, 0.12 * g.a)
    _paint(img, _blur(_poly_mask(size, [tip]), 0.04 * g.a), np.minimum(skin * 1.12, 255), 0.5)
    for side in (-1, 1):
        nostril = _ellipse(g.cx + side * 0.45 * w, g.nose_y + 0.02 * g.a, 0.22 * w, 0.06 * g.a, 20)
        _paint(img, _blur(_poly_mask(size, [nostril]), 0.01 * g.a), skin * 0.3, 0.8)
    philtrum = _ellipse(g.cx, (g.nose_y + g.mouth_y) / 2, 0.09 * g.a, 0.12 * g.a)
    _paint(img, _blur(_poly_mask(size, [philtrum]), 0.03 * g.a), skin * 0.85, 0.4)


def _draw_glasses(over: np.ndarray, over_a: np.ndarray, ident: Identity, g: Geometry) -> None:
    size = g.size
    colour = np.asarray(ident.glasses_colour, np.float32) * 255
    thick = max(1, round(0.035 * g.a))
    frame = np.zeros((size, size), np.uint8)
    lens = np.zeros((size, size), np.uint8)
    for side in (-1, 1):
        ex = g.cx + side * g.eye_dx
        if ident.glasses == "round":
            pts = _ellipse(ex, g.eye_y, g.eye_w * 1.35, g.eye_w * 1.15, 40)
        else:
            w, h = g.eye_w * 1.45, g.eye_w * 0.95
            pts = np.array([[ex - w, g.eye_y - h], [ex + w, g.eye_y - h], [ex + w * 0.95, g.eye_y + h],
                            [ex - w * 0.95, g.eye_y + h]])
        ipts = np.round(pts * _ONE).astype(np.int32)
        cv2.fillPoly(lens, [ipts], 255, _AA, _SHIFT)
        cv2.polylines(frame, [ipts], True, 255, thick, _AA, _SHIFT)
        temple = np.array([[ex + side * g.eye_w * 1.35, g.eye_y - 0.1 * g.a], [g.cx + side * 0.98 * g.a, g.eye_y]])
        cv2.polylines(frame, [np.round(temple * _ONE).astype(np.int32)], False, 255, thick, _AA, _SHIFT)
    inner = g.eye_dx - g.eye_w * 1.3
    bridge = np.array([[g.cx - inner, g.eye_y - 0.05 * g.a], [g.cx, g.eye_y - 0.1 * g.a], [g.cx + inner, g.eye_y - 0.05 * g.a]])
    cv2.polylines(frame, [np.round(bridge * _ONE).astype(np.int32)], False, 255, thick, _AA, _SHIFT)
    _paint_over(over, over_a, lens.astype(np.float32) / 255 * 0.12, colour * 0.5 + 100)
    _paint_over(over, over_a, frame.astype(np.float32) / 255, colour)


def _paint_over(over: np.ndarray, over_a: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    """Composite onto a premultiplied layer (`over` starts black, `over_a` transparent), in place."""
    _paint(over, mask, colour)
    over_a *= 1.0 - mask
    over_a += mask


# ----------------------------------------------------------------------------- per frame

def _opaque(colour: tuple[float, ...]) -> tuple[float, ...]:
    """An RGB colour with alpha 255, so drawing works on RGB and on RGBA canvases alike."""
    return (*colour[:3], 255.0)


def _to_int(points: np.ndarray) -> np.ndarray:
    return np.round(points * _ONE).astype(np.int32)


def jaw_drop(g: Geometry, p: np.ndarray) -> float:
    """How far (canonical pixels) the chin moves down for mouth parameters `p`: about half the lower lip's drop."""
    return 0.16 * g.a * float(p[OPEN]) * (1 - float(p[PRESS]))


#: the neck below the chin takes up the jaw's drop over this many face half-heights
JAW_NECK = 0.25


def drop_jaw(img: np.ndarray, g: Geometry, drop: float) -> None:
    """Lower the chin by `drop` pixels, in place: the face between mouth line and chin stretches, the
    neck just below compresses, and nothing outside the face's width moves."""
    if drop < 0.05:
        return
    top, bottom = int(g.mouth_y), min(img.shape[0], int(np.ceil(g.chin_y + JAW_NECK * g.b)) + 1)
    rows = np.arange(top, bottom, dtype=np.float32)
    down = np.clip((rows - g.mouth_y) / (g.chin_y - g.mouth_y), 0, 1)
    ramp = np.minimum(down * down * (3 - 2 * down), np.clip(1 - (rows - g.chin_y) / (JAW_NECK * g.b), 0, 1))
    cols = np.arange(img.shape[1], dtype=np.float32)
    width = np.clip((0.9 * g.a - np.abs(cols - g.cx)) / (0.25 * g.a), 0, 1)
    map_y = (rows[:, None] - drop * ramp[:, None] * width[None, :]).astype(np.float32)
    map_x = np.broadcast_to(cols, map_y.shape).astype(np.float32)
    img[top:bottom] = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def draw_eyelids(img: np.ndarray, sprite: Sprite, closure: float) -> None:
    """Close both eyes by `closure` (0 open .. 1 shut), in place on the canonical frame."""
    if closure <= 0.02:
        return
    g = sprite.geom
    lash_w = max(1, round(0.035 * g.a))
    for side in (-1, 1):
        top, bottom = eye_arcs(g, side, 16)
        edge = top + (bottom - top) * min(closure, 1.0)
        cap = top.copy()
        cap[:, 1] -= 0.25 * g.eye_h
        lid = np.concatenate([cap, edge[::-1]])
        cv2.fillPoly(img, [_to_int(lid)], _opaque(sprite.lid), _AA, _SHIFT)
        cv2.polylines(img, [_to_int(edge)], False, _opaque(sprite.lash), lash_w, _AA, _SHIFT)


def mouth_contours(g: Geometry, p: np.ndarray, n: int = 17) -> dict[str, np.ndarray]:
    """Lip contours for mouth parameters `p` (6,): outer/inner upper and lower, left to right."""
    open_, spread, rnd, press, lt = float(p[OPEN]), float(p[WIDTH]), float(p[ROUND]), float(p[PRESS]), float(p[LIP_TEETH])
    a = g.a
    w = g.mouth_w * (1 + 0.16 * spread) * (1 - 0.34 * rnd) * (1 - 0.06 * press)
    wi = w * (0.9 - 0.12 * rnd)
    h = 0.42 * a * open_ * (1 - press) + 0.05 * a * lt
    tu = g.lip * (1 + 0.3 * rnd - 0.5 * press) * (1 - 0.15 * max(spread, 0))
    tl = g.lip * 1.2 * (1 + 0.3 * rnd - 0.5 * press - 0.35 * lt) * (1 - 0.15 * max(spread, 0))
    lift = 0.3 * h + 0.02 * a * lt   # the upper lip rises a little, the jaw takes the rest
    corner = -0.025 * a * spread + 0.02 * a * press
    # opening profile: rounded lips give an oval opening, spread lips a flat slit
    ex = 2.0 + 2.0 * max(spread, 0) - 0.5 * rnd
    x = np.linspace(-1, 1, n)
    prof = np.clip(1 - np.abs(x) ** ex, 0, 1) ** (0.55 + 0.2 * max(spread, 0))
    ix = g.mouth_x + x * wi
    bend = corner * x ** 2
    iu = g.mouth_y - lift * prof + bend
    il = g.mouth_y + (h - lift) * prof + bend
    ox = g.mouth_x + x * w
    prof_o = np.clip(1 - np.abs(x) ** 2, 0, 1)
    bow = 1 + 0.3 * np.exp(-((np.abs(x) - 0.28) / 0.14) ** 2) - 0.2 * np.exp(-(x / 0.1) ** 2)
    iu_o = np.interp(ox, ix, iu)
    il_o = np.interp(ox, ix, il)
    ou = iu_o - tu * prof_o ** 0.6 * bow
    ol = il_o + tl * prof_o ** 0.55
    return {
        "outer_upper": np.stack([ox, ou], 1), "inner_upper": np.stack([ix, iu], 1),
        "inner_lower": np.stack([ix, il], 1), "outer_lower": np.stack([ox, ol], 1),
    }


def draw_mouth(img: np.ndarray, sprite: Sprite, p: np.ndarray) -> None:
    """Draw the mouth for parameters `p` (6,) in place on the canonical frame."""
    g = sprite.geom
    c = mouth_contours(g, p)
    iu, il = c["inner_upper"], c["inner_lower"]
    gap = float(np.max(il[:, 1] - iu[:, 1]))
    lt, teeth = float(p[LIP_TEETH]), float(p[TEETH])
    if gap > 0.5:
        cavity = tuple(d + (t - d) * lt for d, t in zip(_CAVITY, _TEETH))
        cv2.fillPoly(img, [_to_int(np.concatenate([iu, il[::-1]]))], _opaque(tuple(255 * v for v in cavity)), _AA, _SHIFT)
        if gap > 0.1 * g.a:
            tongue = _ellipse(g.mouth_x, il[len(il) // 2, 1] - 0.2 * gap, (il[-1, 0] - il[0, 0]) * 0.28, 0.28 * gap, 24)
            cv2.fillPoly(img, [_to_int(tongue)], _opaque(tuple(255 * v for v in _TONGUE)), _AA, _SHIFT)
        band = teeth * min(0.1 * g.a, 0.5 * gap)
        if band > 0.5:
            k = len(iu) // 5
            upper = iu[k:-k]
            lower = upper + [0.0, band]
            cv2.fillPoly(img, [_to_int(np.concatenate([upper - [0.0, 2.0], lower[::-1]]))],
                         _opaque(tuple(255 * v for v in _TEETH)), _AA, _SHIFT)
            low_band = teeth * min(0.06 * g.a, 0.2 * gap)
            if low_band > 0.5:
                lo = il[k:-k]
                cv2.fillPoly(img, [_to_int(np.concatenate([lo - [0.0, low_band], (lo + [0.0, 2.0])[::-1]]))],
                             _opaque(tuple(230 * v for v in _TEETH)), _AA, _SHIFT)
    cv2.fillPoly(img, [_to_int(np.concatenate([c["outer_upper"], iu[::-1]]))], _opaque(sprite.lip_upper), _AA, _SHIFT)
    cv2.fillPoly(img, [_to_int(np.concatenate([il, c["outer_lower"][::-1]]))], _opaque(sprite.lip_lower), _AA, _SHIFT)
    mid = len(il) // 2
    hx, hy = g.mouth_x, (il[mid, 1] + c["outer_lower"][mid, 1]) / 2
    hw = (il[-1, 0] - il[0, 0]) * 0.22
    hh = max(0.5, (c["outer_lower"][mid, 1] - il[mid, 1]) * 0.18)
    cv2.fillPoly(img, [_to_int(_ellipse(hx, hy, hw, hh, 20))], _opaque(sprite.lip_highlight), _AA, _SHIFT)
    if gap < 1.5:
        width = max(1, round(0.02 * g.a * (1 + 1.5 * float(p[PRESS]))))
        cv2.polylines(img, [_to_int(iu)], False, _opaque(sprite.lip_line), width, _AA, _SHIFT)


def draw_over(img: np.ndarray, sprite: Sprite) -> None:
    """Lay the over layer (moustache, glasses) onto the canonical frame (RGB or RGBA), in place."""
    x0, y0, x1, y1 = sprite.over_box
    if x1 <= x0:
        return
    roi = img[y0:y1, x0:x1, :3].astype(np.float32)
    roi *= 1.0 - sprite.over_alpha
    roi += sprite.over_rgb
    img[y0:y1, x0:x1, :3] = (roi + 0.5).astype(np.uint8)
