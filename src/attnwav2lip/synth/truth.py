"""The truth of "A saying B": SynthTalk renders it exactly, so generated video can be scored against it.

Identity A, with A's head motion, blinks and lighting (looped exactly as ``sync`` loops a shorter
video), mouthing the phonemes of sentence B. One construction serves every user: the SynthTalk
cross-pair protocol and the evaluator's crops (``metrics``), ``attnwav2lip demo``, and the
rendered references a generator trains with (``data.rendered_references``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Sequence

import cv2
import numpy as np

from ..audio import num_output_frames
from ..faces import FACE_SIZE, crop_face, paste_face
from ..looping import Loop, loop_schedule
from .corpus import load_truth
from .face import geometry
from .identity import Identity
from .motion import Motion
from .mouth import OPEN, PRESS
from .render import face_boxes, fit_motion, frame_size, render
from .speech import SILENCE, Phone, Utterance
from .visemes import frame_phonemes, mouth_track


class Scene(NamedTuple):
    """What a corpus clip was rendered with: its identity, its motion and its frame size."""

    identity: Identity
    motion: Motion
    size: int


def clip_scene(truth: Mapping[str, Any]) -> Scene:
    """The scene of a corpus clip, from its ``corpus.load_truth``."""
    meta, scene = truth["meta"], truth["meta"]["scene"]
    motion = Motion(float(scene["fps"]), truth["pose"], truth["blink"], truth["gain"], tuple(scene["light"]),
                    scene["background"], int(scene["scene_seed"]), float(scene["noise"]), int(scene["jpeg"]))
    return Scene(Identity.from_dict(meta["identity"]), motion, int(meta["size"]))


def corpus_scene(corpus: str | os.PathLike[str], record: Mapping[str, Any]) -> Scene:
    """The scene of the corpus clip ``record`` (a manifest line)."""
    return clip_scene(load_truth(corpus, dict(record)))


def static_face_boxes(identity: Identity, motion: Motion, size: int) -> np.ndarray:
    """(T, 4) ground-truth face boxes that follow the head but not the jaw: the same for every mouth,
    so the regions compared (and the mouth strip measured) do not depend on the video scored."""
    return face_boxes(geometry(identity, min(frame_size(size))), motion.pose, size)


def rendered_opening(mouth: np.ndarray) -> np.ndarray:
    """(N,) the opening SynthTalk drew for mouth parameters (N, 6): ``open * (1 - press)``.

    The renderer drops the jaw and parts the lips in proportion to exactly this product
    (``synth.face.jaw_drop`` and ``mouth_contours``); pressed lips (p, b, m) stay shut whatever
    ``open`` says.
    """
    track = np.asarray(mouth, dtype=np.float64)
    return track[:, OPEN] * (1.0 - track[:, PRESS])


@dataclass(frozen=True)
class SpeakingTruth:
    """The rendered truth of an identity saying a sentence, frame for frame with ``sync``'s output."""

    frames: np.ndarray  # uint8 (N, H, W, 3)
    fps: float
    faces: np.ndarray   # (N, 4) face boxes that follow the head, not the jaw
    mouth: np.ndarray   # (N, 6) the mouth track drawn
    silent: np.ndarray  # (N,) bool: the sentence is silent at this frame

    @property
    def opening(self) -> np.ndarray:
        """(N,) the opening the truth renders."""
        return rendered_opening(self.mouth)


def render_saying(identity: Identity, motion: Motion, phones: Sequence[Phone], n_frames: int, size: int,
                  loop: Loop = "pingpong") -> SpeakingTruth:
    """``identity`` moving as in ``motion`` (looped to ``n_frames`` as ``sync`` loops) and saying ``phones``."""
    track = mouth_track(phones, motion.fps, n_frames)
    return SpeakingTruth(
        frames=render(identity, motion, track, size=size, loop=loop),
        fps=motion.fps,
        faces=static_face_boxes(identity, fit_motion(motion, n_frames, loop), size),
        mouth=track,
        silent=np.array(frame_phonemes(phones, motion.fps, n_frames)) == SILENCE,
    )


def corpus_saying(corpus: str | os.PathLike[str], source: Mapping[str, Any], driving: Mapping[str, Any],
                  audio_samples: int, loop: Loop = "pingpong") -> SpeakingTruth:
    """Corpus clip ``source``'s scene saying corpus clip ``driving``'s sentence, as long as ``sync``
    makes its output for ``audio_samples`` samples of the driving audio at 16 kHz."""
    identity, motion, size = corpus_scene(corpus, source)
    utterance = Utterance.load(Path(corpus) / driving["audio"], Path(corpus) / driving["timeline"])
    n_frames = num_output_frames(audio_samples, motion.fps)
    return render_saying(identity, motion, utterance.phones, n_frames, size, loop)


def looped(frames: np.ndarray, n_frames: int, loop: Loop = "pingpong") -> np.ndarray:
    """``frames`` repeated to ``n_frames`` as ``sync`` loops a shorter video: the do-nothing baseline."""
    return frames[loop_schedule(n_frames, len(frames), loop)]


def truth_at_face_size(truth: np.ndarray, source: np.ndarray, boxes: np.ndarray, feather: float,
                       blur: float = 0.0) -> np.ndarray:
    """``truth`` as ``sync`` would paste a perfect generator's faces onto ``source``: each face box
    resized to the generator's size and back, blended in with the feather mask. ``blur`` > 0: the
    96-px faces are first blurred (Gaussian sigma in their pixels), to see how sharp a generator
    must be to reach a given score."""
    def face(true: np.ndarray, box: np.ndarray) -> np.ndarray:
        crop = crop_face(true, box, FACE_SIZE)
        return cv2.GaussianBlur(crop, (0, 0), blur) if blur > 0 else crop

    return np.stack([paste_face(frame, face(true, box), box, feather=feather)
                     for true, frame, box in zip(truth, source, boxes)])
