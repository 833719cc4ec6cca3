"""SynthTalk renderer: reproducible, mouth-only changes, ground-truth boxes, motion looping."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from attnwav2lip.synth.face import JAW_NECK
from attnwav2lip.synth.identity import sample_identity
from attnwav2lip.synth.motion import sample_motion
from attnwav2lip.synth.mouth import MOUTH_PARAMS
from attnwav2lip.synth.render import Renderer, face_boxes, fit_motion, render

SIZE = 128


def _still(seed: int, n: int):
    """A motion with no camera noise or JPEG, so pixel differences come from the mouth only."""
    return dataclasses.replace(sample_motion(seed, n), noise=0.0, jpeg=0)


def _track(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform([0, -1, 0, 0, 0, 0], [1, 1, 1, 1, 0.3, 0.3], (n, len(MOUTH_PARAMS))).astype(np.float32)


def test_render_is_reproducible_and_shaped() -> None:
    ident, motion, track = sample_identity(4), sample_motion(4, 6), _track(6)
    a = render(ident, motion, track, size=SIZE)
    b = render(ident, motion, track, size=SIZE)
    assert a.shape == (6, SIZE, SIZE, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    wide = render(ident, motion, track[:2], size=(160, 96))
    assert wide.shape == (2, 96, 160, 3)
    assert render(ident, motion, track[:0], size=SIZE).shape == (0, SIZE, SIZE, 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mouth_parameters_change_only_the_mouth_region(seed: int) -> None:
    ident, motion = sample_identity(seed), _still(seed, 1)
    renderer = Renderer(ident, motion, SIZE)
    closed = renderer.frame(0, np.zeros(6, np.float32))
    for params in ([1, 0, 0, 1, 0, 0], [0.2, -1, 1, 0, 0, 0], [0.05, 0, 0, 0.7, 0, 1], [0.4, 1, 0, 1, 0, 0]):
        shape = np.asarray(params, np.float32)
        frame = renderer.frame(0, shape)
        box = renderer.boxes(shape[None])[0]  # an open jaw lowers the chin, and the box with it
        changed = np.abs(frame.astype(int) - closed.astype(int)).max(axis=2) > 0
        ys, xs = np.nonzero(changed)
        assert len(ys) > 20, "the mouth must visibly change"
        margin = 0.03 * (box[2] - box[0])  # the jaw's corners may poke out of the box under roll
        assert xs.min() >= box[0] - margin and xs.max() <= box[2] + margin
        # everything that changed lies in the lower half of the face box, or in the neck just under the chin
        neck = JAW_NECK * renderer.sprite.geom.b * motion.pose[0, 2] * SIZE / renderer.sprite.geom.size
        assert ys.min() >= (box[1] + box[3]) / 2 and ys.max() <= box[3] + neck + 2


def test_ground_truth_box_follows_the_pose() -> None:
    ident = sample_identity(9)
    motion = sample_motion(9, 3)
    renderer = Renderer(ident, motion, SIZE)
    boxes = renderer.boxes()
    assert boxes.shape == (3, 4) and (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    g = renderer.sprite.geom
    pose = np.array([[0, 0, 1, 0, 0, 0], [0.1, 0, 1, 0, 0, 0], [0, 0, 0.5, 0, 0, 0]], np.float32)
    b = face_boxes(g, pose, SIZE)
    assert b[1, 0] - b[0, 0] == pytest.approx(0.1 * SIZE, abs=0.01)      # translation
    assert (b[2, 2] - b[2, 0]) == pytest.approx((b[0, 2] - b[0, 0]) / 2, rel=1e-3)  # scale
    assert (b[0, 2] - b[0, 0]) == pytest.approx(2 * g.a, rel=1e-3)       # cheek to cheek at scale 1
    jaw = face_boxes(g, pose[:1], SIZE, np.array([[1, 0, 0, 0, 0, 0]], np.float32))
    assert jaw[0, 3] > b[0, 3] + 1 and np.allclose(jaw[0, :3], b[0, :3], atol=1e-3)  # the chin drops


def test_a_short_motion_loops_pingpong_like_sync() -> None:
    motion = _still(2, 4)
    fitted = fit_motion(motion, 9)
    assert np.array_equal(fitted.pose, motion.pose[[0, 1, 2, 3, 2, 1, 0, 1, 2]])
    assert len(fit_motion(motion, 2)) == 2  # a longer motion is cut


def test_a_rendered_truth_is_the_clips_own_frame_with_another_mouth() -> None:
    """Looped or cut, frame i is the clip's frame schedule[i] (its torso, its noise), as `sync` shows it."""
    ident, motion = sample_identity(2), sample_motion(2, 4)  # camera noise and JPEG on
    clip = Renderer(ident, motion, SIZE)
    track = _track(9, 3)
    frames = render(ident, motion, track, size=SIZE)
    for i, source in enumerate([0, 1, 2, 3, 2, 1, 0, 1, 2]):
        assert np.array_equal(frames[i], clip.frame(source, track[i]))
    cut = render(ident, motion, track[:2], size=SIZE)
    assert np.array_equal(cut[1], clip.frame(1, track[1]))


def test_blinks_and_pose_vary_within_range() -> None:
    motion = sample_motion(11, 250)
    assert motion.blink.max() > 0.5 and motion.blink.min() == 0.0
    assert np.abs(motion.pose[:, 3]).max() <= 15 and 0.72 <= motion.pose[:, 2].min()
    assert np.ptp(motion.pose[:, 0]) > 0  # the head moves
