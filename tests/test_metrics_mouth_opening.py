"""The pixel mouth-opening estimator: open mouths measure larger than shut ones, on rendered faces."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnwav2lip.metrics.mouth_opening import mouth_opening, opening_strips, pearson
from attnwav2lip.synth.truth import rendered_opening
from attnwav2lip.synth.mouth import OPEN, PRESS, REST


def _render(seed: int, openings: np.ndarray, size: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Frames of identity ``seed`` holding still while its jaw opens as ``openings``; and the strips."""
    from attnwav2lip.synth.truth import static_face_boxes
    from attnwav2lip.synth.identity import sample_identity
    from attnwav2lip.synth.motion import sample_motion
    from attnwav2lip.synth.render import render

    identity, motion = sample_identity(seed), sample_motion(seed, len(openings), 25.0)
    track = np.tile(REST, (len(openings), 1))
    track[:, OPEN] = openings
    frames = render(identity, motion, track, size=size)
    return frames, opening_strips(static_face_boxes(identity, motion, size))


@pytest.mark.parametrize("seed", [1, 5, 11, 23])
def test_an_open_mouth_measures_larger_than_a_shut_one(seed: int) -> None:
    openings = np.array([0.0, 0.8, 0.0, 0.4, 0.8])
    frames, strips = _render(seed, openings)
    measured = mouth_opening(frames, strips)
    assert measured[1] > measured[0] + 0.02 and measured[4] > measured[2] + 0.02
    assert measured[1] > measured[3] > measured[0]  # half open lies between
    assert pearson(measured, openings) > 0.9


def test_rendered_opening_is_zero_for_pressed_lips() -> None:
    track = np.tile(REST, (3, 1))
    track[:, OPEN] = [0.5, 0.5, 0.0]
    track[1, PRESS] = 1.0
    assert rendered_opening(track).tolist() == [0.5, 0.0, 0.0]


def test_pearson_and_input_checks() -> None:
    assert pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(np.corrcoef([1, 2, 3], [2, 4, 7])[0, 1])
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))  # a mouth that never moves has no correlation
    frames = np.zeros((2, 32, 32, 3), np.uint8)
    assert mouth_opening(frames, np.array([4, 4, 20, 20])).tolist() == [0.0, 0.0]  # one box for all frames
    with pytest.raises(ValueError, match="empty"):
        mouth_opening(frames, np.array([40, 40, 50, 50]))
    with pytest.raises(ValueError, match="3 boxes for 2 frames"):
        mouth_opening(frames, np.zeros((3, 4)))
