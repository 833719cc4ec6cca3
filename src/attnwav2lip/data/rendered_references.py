"""Rendered references: every clip of a store made from a SynthTalk corpus, rendered again with
the mouth of another sentence.

A generator's reference should show the target's face in the target's pose but with a mouth that
tells nothing of the target's: then its L1 can only be lowered by following the audio, and the
input looks like inference's, where the reference is the frame itself saying something else. A
real corpus can only approximate that with another window of the clip (the original), whose pose
differs; a rendered corpus can produce it exactly. ``references.npy`` (uint8, same shape as
``frames.npy``) is cropped with the clip's own stored boxes, frame for frame.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..faces import crop_faces
from ..fileio import atomic_path
from ..synth.corpus import read_corpus_manifest
from ..synth.render import iter_render
from ..synth.speech import Phone, Utterance
from ..synth.truth import corpus_scene
from ..synth.visemes import trajectory
from .store import REFERENCES, DatasetError, clip_dir, read_clip_manifest


def other_mouth(phones: Sequence[Phone], fps: float, n_frames: int, offset: float, duration: float) -> np.ndarray:
    """(n_frames, 6) mouth track of a donor sentence, started ``offset`` s in and looped over its ``duration``."""
    return trajectory(phones, (np.arange(n_frames) / fps + offset) % duration)


def render_references(store_clip: Path, meta: dict[str, Any], corpus: Path, source: dict[str, Any],
                      donor: dict[str, Any], offset: float) -> np.ndarray:
    """The frames of ``store_clip`` (its ``meta.json`` as ``meta``; cut from ``source``'s video)
    re-rendered with ``donor``'s mouth."""
    boxes = np.load(store_clip / "boxes.npy")
    identity, motion, size = corpus_scene(corpus, source)
    if abs(float(meta["fps"]) - motion.fps) > 1e-6:  # the store's frame numbers would name other frames
        raise DatasetError(f"{store_clip}: stored at {meta['fps']} fps but its SynthTalk clip was rendered at "
                           f"{motion.fps} fps; rendered references need a store made at the corpus's fps")
    utterance = Utterance.load(corpus / donor["audio"], corpus / donor["timeline"])
    start, stop = int(meta["start_frame"]), int(meta["start_frame"]) + int(meta["frames"])
    track = other_mouth(utterance.phones, motion.fps, stop, offset, utterance.duration)
    frames = np.stack(list(itertools.islice(iter_render(identity, motion, track, size=size), start, stop)))
    return crop_faces(frames, boxes, int(meta["size"]))


def write_rendered_references(store: str | os.PathLike[str], corpus: str | os.PathLike[str], *,
                              seed: int = 0) -> Iterator[str]:
    """Write ``references.npy`` into every clip of ``store``; yields each clip id once written.

    Each clip's donor is another clip of the same split with a different sentence, drawn with
    ``seed``, and the donor's track starts at a random point, so the references' mouths are
    unrelated to the clip's audio. Each file is written to a temporary name and renamed.
    """
    store, corpus = Path(store), Path(corpus)
    records = {r["id"]: r for r in read_corpus_manifest(corpus)}
    by_split: dict[str, list[dict[str, Any]]] = {}
    for record in records.values():
        by_split.setdefault(record["split"], []).append(record)
    for index, clip in enumerate(read_clip_manifest(store)):
        folder = clip_dir(store, clip.id)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("video") not in records:
            raise DatasetError(f"{folder}: its video {meta.get('video')!r} is not a clip of the SynthTalk corpus {corpus}")
        source = records[meta["video"]]
        donors = [r for r in by_split[source["split"]] if r["text"] != source["text"]]
        if not donors:
            raise DatasetError(f"{corpus}: no other sentence in split {source['split']!r} to take a mouth from")
        rng = np.random.default_rng([seed, index])
        donor = donors[int(rng.integers(len(donors)))]
        references = render_references(folder, meta, corpus, source, donor, offset=float(rng.uniform(0.0, donor["duration"])))
        with atomic_path(folder / REFERENCES) as tmp, open(tmp, "wb") as file:
            np.save(file, references)
        yield clip.id
