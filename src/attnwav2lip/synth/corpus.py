"""The SynthTalk corpus writer: plan clips from a seed, render them in parallel, resumably.

Layout of `out/`::

    corpus.yaml            the CorpusConfig used
    manifest.jsonl         one JSON object per complete clip (id, split, video, audio, truth, ...)
    clips/<id>.wav         16 kHz speech, padded with silence to a whole number of frames
    clips/<id>.speech.json text, voice and phoneme timeline of that audio
    clips/<id>.mp4         H.264 + AAC video
    clips/<id>.npz         per-frame ground truth: boxes, mouth, pose, blink, gain, phoneme

Each file is renamed into place when complete, the .npz last, so a clip is complete exactly when
all four exist; a rerun skips complete clips and reuses stored speech (espeak output varies
between runs, so stored audio is never re-synthesised). Identities are split train / val / test /
evaluator; evaluator clips also use sentences whose first clause no other clip uses.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..config import load_recipe, save_recipe
from ..errors import ConfigError
from ..fileio import atomic_path, write_text_atomic
from ..outputs import make_output_folder
from ..progress import progress_of
from ..video import VideoWriter
from .identity import sample_identity
from .motion import sample_motion
from .sentences import OPENERS, sentence
from .speech import LANGUAGES, SAMPLE_RATE, VARIANTS, Utterance, pad_to, speak
from .visemes import frame_phonemes, mouth_track


SPLITS: tuple[str, ...] = ("train", "val", "test", "evaluator")
TRUTH_SUFFIXES: tuple[str, ...] = (".wav", ".speech.json", ".mp4", ".npz")
TAIL_SILENCE = 0.15  # seconds of silence after the speech, at least


@dataclass(frozen=True)
class CorpusConfig:
    """What to generate. Durations apply at clause granularity (speech is cut at a clause end)."""

    clips: int = 200
    seed: int = 0
    fps: float = 25.0
    size: int = 256
    min_seconds: float = 2.0
    max_seconds: float = 6.0
    clips_per_identity: int = 2
    #: shares of identities in train, val, test, evaluator
    split_shares: tuple[float, float, float, float] = (0.7, 0.1, 0.1, 0.1)
    crf: int = 18

    def __post_init__(self) -> None:
        if self.clips < 1 or self.clips_per_identity < 1:
            raise ConfigError("clips and clips_per_identity must be at least 1")
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ConfigError(f"need 0 < min_seconds <= max_seconds, got {self.min_seconds}, {self.max_seconds}")
        if self.fps <= 0 or self.size < 32:
            raise ConfigError(f"need fps > 0 and size >= 32, got {self.fps}, {self.size}")
        if len(self.split_shares) != len(SPLITS) or min(self.split_shares) < 0 or sum(self.split_shares) <= 0:
            raise ConfigError(f"split_shares needs {len(SPLITS)} non-negative shares")


@dataclass(frozen=True)
class ClipSpec:
    """Everything that decides one clip, fixed at planning time."""

    id: str
    split: str
    identity_seed: int
    motion_seed: int
    text: str
    voice: str
    rate: int
    pitch: int
    pitch_range: int
    lead_silence: float
    target_seconds: float


def _assign_splits(n: int, shares: tuple[float, ...], rng: np.random.Generator) -> list[str]:
    """A split for each of `n` identities, in proportion to `shares` (largest remainders)."""
    total = sum(shares)
    exact = [n * s / total for s in shares]
    counts = [int(e) for e in exact]
    for k in sorted(range(len(shares)), key=lambda k: exact[k] - counts[k], reverse=True)[: n - sum(counts)]:
        counts[k] += 1
    labels = [name for name, c in zip(SPLITS, counts) for _ in range(c)]
    return [labels[i] for i in rng.permutation(n)]


def plan(config: CorpusConfig) -> list[ClipSpec]:
    """The clips of a corpus, deterministic for `config` (same seed, same plan)."""
    rng = np.random.default_rng([config.seed, 0xC0])
    n_identities = math.ceil(config.clips / config.clips_per_identity)
    identity_seeds = [int(s) for s in np.random.SeedSequence([config.seed, 0x1D]).generate_state(n_identities)]
    splits = _assign_splits(n_identities, config.split_shares, rng)
    specs: list[ClipSpec] = []
    for i in range(config.clips):
        person = i // config.clips_per_identity
        crng = np.random.default_rng([config.seed, 0x5E, i])
        target = float(crng.uniform(config.min_seconds, config.max_seconds))
        specs.append(ClipSpec(
            id=f"{i:06d}", split=splits[person], identity_seed=identity_seeds[person],
            motion_seed=int(crng.integers(2**31)), text=sentence(crng, _clauses(target)),
            voice=f"{LANGUAGES[crng.integers(len(LANGUAGES))]}+{VARIANTS[crng.integers(len(VARIANTS))]}",
            rate=int(crng.integers(130, 211)), pitch=int(crng.integers(25, 76)), pitch_range=int(crng.integers(30, 81)),
            lead_silence=float(crng.uniform(0.1, 0.5)), target_seconds=target,
        ))
    # evaluator sentences: redraw any whose first clause (kept by every cut) occurs outside the split
    taken = {_first_clause(s.text) for s in specs if s.split != "evaluator"}
    for k, spec in enumerate(specs):
        if spec.split == "evaluator":
            crng = np.random.default_rng([config.seed, 0xE7, k])
            text = spec.text
            while _first_clause(text) in taken:
                text = sentence(crng, _clauses(spec.target_seconds))
            specs[k] = ClipSpec(**{**asdict(spec), "text": text})
    return specs


def _clauses(seconds: float) -> int:
    """Enough clauses to outlast `seconds` of speech (about 1.3 s each), so the cut decides the length."""
    return max(1, math.ceil(seconds / 1.3) + 1)


def _first_clause(text: str) -> str:
    """The first clause past any opener ("Oh, the ..."): the words every cut of the sentence keeps.

    Without skipping the opener, every sentence that starts with one would be known by its opener
    alone: the evaluator split could never start with one, and its real first clause went unchecked.
    """
    opener, comma, rest = text.partition(", ")
    if comma and opener in OPENERS:
        text = rest
    for i, ch in enumerate(text):
        if ch in ",.!?":
            return text[:i]
    return text


def clip_paths(out: Path, clip_id: str) -> dict[str, Path]:
    """The four files of one clip, keyed by suffix."""
    return {suffix: out / "clips" / f"{clip_id}{suffix}" for suffix in TRUTH_SUFFIXES}


def is_complete(out: Path, clip_id: str) -> bool:
    """Whether all four files of a clip are in place (each is renamed into place only when whole)."""
    return all(p.is_file() for p in clip_paths(out, clip_id).values())


def _utterance(spec: ClipSpec, config: CorpusConfig, paths: dict[str, Path]) -> "Utterance":
    """The clip's stored speech, synthesising and storing it first if it is not there yet.

    Stored speech is padded with silence (at least TAIL_SILENCE s, and to `min_seconds`) up to a
    whole number of frames, so video and audio end together; the speech is cut early enough that
    the padded clip stays within `max_seconds`.
    """
    if paths[".wav"].is_file() and paths[".speech.json"].is_file():
        return Utterance.load(paths[".wav"], paths[".speech.json"])
    room = config.max_seconds - TAIL_SILENCE - 1.0 / config.fps  # the tail and the last frame's rounding
    utt = speak(spec.text, spec.voice, rate=spec.rate, pitch=spec.pitch, pitch_range=spec.pitch_range,
                lead_silence=spec.lead_silence, max_seconds=min(spec.target_seconds, room),
                min_seconds=config.min_seconds)
    seconds = max(utt.duration + TAIL_SILENCE, config.min_seconds)
    utt = pad_to(utt, samples_for_frames(math.ceil(seconds * config.fps - 1e-9), config.fps))
    utt.save(paths[".wav"], paths[".speech.json"])
    return utt


def samples_for_frames(n_frames: int, fps: float) -> int:
    """Audio samples that end with frame ``n_frames``: rounded down, so ``frames_for_samples`` gives
    ``n_frames`` back at any fps (rounding up added a frame whenever 16000 / fps is fractional)."""
    return math.floor(n_frames * SAMPLE_RATE / fps + 1e-6)


def frames_for_samples(samples: int, fps: float) -> int:
    """Video frames that cover ``samples`` audio samples."""
    return math.ceil(samples * fps / SAMPLE_RATE - 1e-6)


def make_clip(spec: ClipSpec, config: CorpusConfig, out: Path) -> dict[str, Any]:
    """Render one clip's files (skipping it if complete) and return its manifest record."""
    paths = clip_paths(out, spec.id)
    if is_complete(out, spec.id):
        return _record(spec, config, out, paths)
    from .render import Renderer

    utt = _utterance(spec, config, paths)
    n_frames = frames_for_samples(len(utt.audio), config.fps)
    identity = sample_identity(spec.identity_seed)
    motion = sample_motion(spec.motion_seed, n_frames, config.fps)
    track = mouth_track(utt.phones, config.fps, n_frames)
    renderer = Renderer(identity, motion, config.size)
    with VideoWriter(paths[".mp4"], config.fps, (config.size, config.size), audio=utt.audio,
                     audio_rate=SAMPLE_RATE, crf=config.crf) as writer:
        for i in range(n_frames):
            writer.write(renderer.frame(i, track[i]))
    meta = {"clip": asdict(spec), "identity": identity.to_dict(), "scene": motion.scene(),
            "size": config.size, "frames": n_frames, "fps": config.fps}
    with atomic_path(paths[".npz"]) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh, boxes=renderer.boxes(track), mouth=track, meta=np.array(json.dumps(meta)),
            phoneme=np.array(frame_phonemes(utt.phones, config.fps, n_frames)), **motion.arrays(),
        )
    return _record(spec, config, out, paths)


def _record(spec: ClipSpec, config: CorpusConfig, out: Path, paths: dict[str, Path]) -> dict[str, Any]:
    with np.load(paths[".npz"]) as truth:
        frames = len(truth["mouth"])
    speech = json.loads(paths[".speech.json"].read_text(encoding="utf-8"))
    rel = {k: str(p.relative_to(out)) for k, p in paths.items()}
    return {
        "id": spec.id, "split": spec.split, "identity": spec.identity_seed, "text": speech["text"],
        "voice": spec.voice, "fps": config.fps, "frames": frames, "duration": speech["samples"] / SAMPLE_RATE,
        "video": rel[".mp4"], "audio": rel[".wav"], "timeline": rel[".speech.json"], "truth": rel[".npz"],
        "attributes": sample_identity(spec.identity_seed).attributes(),
    }


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)  # one worker process per core already


def _run(job: tuple[ClipSpec, CorpusConfig, Path]) -> dict[str, Any]:
    return make_clip(*job)


def iter_corpus(config: CorpusConfig, out: str | os.PathLike[str], workers: int = 1) -> Iterator[dict[str, Any]]:
    """Make every clip of the plan (in `workers` processes), yielding manifest records as clips finish."""
    root = Path(out)
    (root / "clips").mkdir(parents=True, exist_ok=True)
    jobs = [(spec, config, root) for spec in plan(config)]
    if workers <= 1:  # in the caller's process: its OpenCV settings are its own
        yield from map(_run, jobs)
        return

    with multiprocessing.get_context("spawn").Pool(workers, initializer=_worker_init) as pool:
        yield from pool.imap_unordered(_run, jobs)


def write_corpus(config: CorpusConfig, out: str | os.PathLike[str], workers: int = 1, progress: bool = True
                 ) -> list[dict[str, Any]]:
    """Generate (or complete) a corpus in `out`; writes corpus.yaml and manifest.jsonl, returns the records."""
    root = make_output_folder(out)
    recipe = root / "corpus.yaml"
    if recipe.is_file() and load_recipe(CorpusConfig, recipe) != config:
        raise ConfigError(f"{recipe}: this folder holds a corpus made with other settings; "
                          "use a new --out or the same settings to resume")
    save_recipe(config, recipe)
    records = list(progress_of(iter_corpus(config, root, workers), show=progress, total=config.clips, desc="synth",
                               unit="clip"))
    records.sort(key=lambda r: r["id"])
    write_text_atomic(root / "manifest.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return records


def read_corpus_manifest(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a corpus's manifest.jsonl."""
    path = Path(root) / "manifest.jsonl"
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        raise ConfigError(f"not a SynthTalk corpus (no manifest.jsonl): {root}") from None


def load_truth(root: str | os.PathLike[str], record: dict[str, Any]) -> dict[str, Any]:
    """One clip's ground truth: per-frame arrays plus `meta` (clip spec, identity, scene) as a dict."""
    with np.load(Path(root) / record["truth"]) as data:
        truth: dict[str, Any] = {k: data[k] for k in data.files}
    truth["meta"] = json.loads(str(truth["meta"]))
    return truth
