"""Crop to the model size and paste back: only the masked lower face may change."""

from __future__ import annotations

import numpy as np

from attnwav2lip.faces import crop_face, crop_faces, lower_face_mask, match_colour, paste_face

RNG = np.random.default_rng(0)
FRAME = RNG.integers(0, 256, (120, 160, 3), dtype=np.uint8)
BOX = np.array([40.7, 20.2, 100.9, 90.5], np.float32)


def test_crop_is_the_truncated_box_resized_bilinearly():
    import cv2

    crop = crop_face(FRAME, BOX)
    assert crop.shape == (96, 96, 3) and crop.dtype == np.uint8
    expected = cv2.resize(FRAME[20:90, 40:100], (96, 96), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(crop, expected)
    assert crop_faces(np.stack([FRAME, FRAME]), np.stack([BOX, BOX]), size=48).shape == (2, 48, 48, 3)


def test_crop_clips_boxes_that_leave_the_frame():
    crop = crop_face(FRAME, np.array([-20, 100, 40, 200], np.float32), size=32)
    assert crop.shape == (32, 32, 3)


def test_paste_changes_only_masked_pixels_inside_the_box():
    face = np.full((96, 96, 3), 255, np.uint8) - crop_face(FRAME, BOX)
    out = paste_face(FRAME, face, BOX)
    changed = np.any(out != FRAME, axis=2)
    outside = np.ones(changed.shape, bool)
    outside[20:90, 40:100] = False
    assert not changed[outside].any()  # bit-identical outside the box
    assert not changed[20, 40:100].any() and not changed[89, 40:100].any()  # box border untouched
    assert changed[70, 70]  # the lower face is replaced
    assert not changed[20:34, 40:100].any()  # the upper face (top 20%) is kept
    mask = lower_face_mask(70, 60)
    inside = out[20:90, 40:100]
    assert np.array_equal(inside[mask == 0], FRAME[20:90, 40:100][mask == 0])
    assert out is not FRAME and np.array_equal(FRAME, FRAME)  # input not modified


def test_mask_is_feathered_and_zero_at_the_edges():
    mask = lower_face_mask(96, 96)
    assert mask.dtype == np.float32 and 0.0 <= mask.min() and mask.max() <= 1.0
    assert mask[0].max() == 0 and mask[-1].max() == 0 and mask[:, 0].max() == 0 and mask[:, -1].max() == 0
    assert mask[70, 48] > 0.95 and mask[20, 48] < 0.01
    column = mask[:, 48]
    assert 0.1 < column[40] < 0.9 or 0.1 < column[45] < 0.9  # soft transition, not a hard step


def test_mask_follows_a_landmark_polygon():
    polygon = np.array([[10, 60], [86, 60], [86, 90], [10, 90]], np.float32)
    mask = lower_face_mask(96, 96, polygon, feather=0.02)
    assert mask[75, 48] > 0.95 and mask[40, 48] == 0


def test_paste_with_mesh_landmarks_uses_the_jaw_line():
    from attnwav2lip.faces.geometry import _OVAL, _NOSE_TIP, _SUBNASALE

    mesh = np.full((468, 2), 70.0, np.float32)
    angles = np.linspace(0, 2 * np.pi, len(_OVAL), endpoint=False)
    mesh[list(_OVAL)] = np.stack([70 + 25 * np.sin(angles), 55 - 30 * np.cos(angles)], axis=1)
    mesh[_NOSE_TIP], mesh[_SUBNASALE] = (70, 60), (70, 63)
    face = np.zeros((96, 96, 3), np.uint8)
    out = paste_face(FRAME, face, BOX, landmarks=mesh, feather=0.02)
    changed = np.any(out != FRAME, axis=2)
    assert changed[75, 70] and not changed[45, 70]
    nan_mesh = np.full((468, 2), np.nan, np.float32)  # mesh failed: falls back to the box mask
    assert np.array_equal(paste_face(FRAME, face, BOX, landmarks=nan_mesh), paste_face(FRAME, face, BOX))


def test_colour_matching_moves_the_face_to_the_target_statistics():
    target = RNG.integers(100, 140, (40, 40, 3), dtype=np.uint8)
    face = np.clip(target.astype(int) + 60, 0, 255).astype(np.uint8)
    matched = match_colour(face, target, np.ones((40, 40), np.float32))
    assert np.abs(matched.mean((0, 1)) - target.mean((0, 1))).max() < 1.0
    out = paste_face(FRAME, face, BOX, colour_match=True)
    assert not np.any(out[:20] != FRAME[:20])
