"""SynthTalk cross pairs: lip-sync identity A to clip B's speech and score against the true video.

Because SynthTalk is rendered, the true video of "A saying B" exists (``synth.truth``): A's head
motion, blinks and lighting (looped exactly as ``sync`` loops a shorter video) with the mouth track
of B's phonemes. Every generator is scored against that truth, next to three reference rows scored
the same way: "ground truth" (the rendered truth itself, through the same H.264 encode; the codec's
ceiling), "input (do nothing)" (A's video, looped; the floor) and "truth at 96 px", what a
generator that drew the true face perfectly would score through ``sync``: each truth frame's face
box (rendered, not detected) resized to the generator's 96 px, blended back onto A's frame with
``sync``'s feather mask, encoded as ``sync`` encodes. It is the best any 96-px generator can do.

Python API (the ablation benchmark calls exactly this)::

    score_synthtalk(corpus, generators: Mapping[str, str | os.PathLike | nn.Module], evaluator, *,
                    split="test", pairs=None, seed=0, work_dir=None) -> SynthTalkReport
    report.results[row] -> list[PairScores]      # one per pair, in pair order
    report.write(folder, name="synthtalk") -> list[Path]

Scores per pair and row: ``metrics.synthtalk_scores``; tables: ``metrics.synthtalk_report``.

Pairing: seeded, within one split; each clip's video is paired with the audio of a clip of another
identity and another sentence. The first k pairs are the same whatever ``pairs`` limit is asked.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from torch import nn

from ..checkpoints import load_model
from ..errors import AttnWav2LipError, ConfigError
from ..lipsync import LipSyncer, SyncOptions
from ..looping import Loop
from ..metrics.evaluate import evaluator_label
from ..metrics.lse import SyncEvaluator
from ..metrics.scoring import ScoringOptions
from ..metrics.synthtalk_report import (GROUND_TRUTH, INPUT, REFERENCE_ROWS, TRUTH_AT_FACE_SIZE, CrossPair, PairScores,
                                        SynthTalkReport)
from ..metrics.synthtalk_scores import PairTruth, pair_truth, score_pair_frames
from ..progress import progress_of
from ..synth.corpus import read_corpus_manifest
from ..synth.truth import looped, truth_at_face_size
from ..video import iter_frames, write_video


def draw_pairs(records: Sequence[Mapping[str, Any]], split: str = "test", count: int | None = None, seed: int = 0
               ) -> list[CrossPair]:
    """Seeded cross pairs within ``split``: each clip (in a seeded order) gets the audio of a random
    clip of another identity and another sentence; the first ``count`` (all when None)."""
    clips = [r for r in records if r["split"] == split]
    rng = np.random.default_rng(seed)
    pairs: list[CrossPair] = []
    for a in rng.permutation(len(clips)):
        if count is not None and len(pairs) >= count:
            break
        source = clips[a]
        options = [b for b in clips if b["identity"] != source["identity"] and b["text"] != source["text"]]
        if options:
            pairs.append(CrossPair(len(pairs), source["id"], options[int(rng.integers(len(options)))]["id"]))
    if not pairs:
        raise ConfigError(f"split {split!r} has no two clips of different identities and sentences to pair")
    return pairs


def checkpoint_rows(checkpoints: Sequence[str | os.PathLike[str]]) -> dict[str, str | os.PathLike[str]]:
    """Row names for checkpoint files: the file name without suffix, the whole path where two share it."""
    stems = [Path(c).stem for c in checkpoints]
    names = [stem if stems.count(stem) == 1 else str(c) for stem, c in zip(stems, checkpoints)]
    if len(set(names)) != len(names):
        raise ConfigError("the same checkpoint is named twice")
    return dict(zip(names, checkpoints))


def looped_source(truth: PairTruth, loop: Loop) -> np.ndarray:
    """A's decoded video, looped to the truth's length as ``sync`` loops it: the do-nothing output."""
    return looped(np.stack(list(iter_frames(truth.source_video))), len(truth.frames), loop)


def score_synthtalk(
    corpus: str | os.PathLike[str],
    generators: Mapping[str, str | os.PathLike[str] | nn.Module],
    evaluator: str | os.PathLike[str] | SyncEvaluator,
    *,
    split: str = "test",
    pairs: int | None = None,
    seed: int = 0,
    work_dir: str | os.PathLike[str] | None = None,
    label: str | None = None,
    options: ScoringOptions = ScoringOptions(),
    sync_options: SyncOptions | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> SynthTalkReport:
    """Score ``generators`` (row name -> checkpoint path or loaded generator) on SynthTalk cross pairs.

    ``evaluator``: a checkpoint path (label from ``evaluate.evaluator_label``) or a loaded evaluation
    SyncNet (then ``label`` names it; default "unnamed evaluator"). ``pairs``: how many pairs (all
    clips of the split when None; each costs seconds per generator on a CPU). Generated videos go to
    ``work_dir/<row>/<pair>.mp4`` (with ``ground_truth/`` and ``truth_at_96_px/`` beside them) when given, else to a
    temporary folder removed afterwards. A pair a generator cannot produce becomes an error row.
    ``device`` runs the generators too, unless ``sync_options`` is given.
    """
    _check_row_names(generators)
    root = Path(corpus)
    records = read_corpus_manifest(root)
    chosen = draw_pairs(records, split, pairs, seed)
    by_id = {r["id"]: r for r in records}
    sync_options = sync_options or SyncOptions(progress=False, device=device, precision="fp32")  # scores never depend on the CPU
    if isinstance(evaluator, (str, os.PathLike)):
        label = label or evaluator_label(evaluator)
        evaluator = load_model(evaluator, kind="evaluator", device=device)
    syncers = {name: _syncer(generator, sync_options) for name, generator in generators.items()}
    results: dict[str, list[PairScores]] = {name: [] for name in (*syncers, *REFERENCE_ROWS)}
    with tempfile.TemporaryDirectory(prefix="attnwav2lip-synthtalk-") as scratch:
        rows = _PairRows(Path(work_dir) if work_dir is not None else Path(scratch), evaluator, options, sync_options)
        for pair in progress_of(chosen, show=progress, desc="synthtalk pairs", unit="pair"):
            for row, scores in rows.score(pair, pair_truth(root, by_id, pair, sync_options.loop), syncers).items():
                results[row].append(scores)
    names = ", ".join(f"{n} = {g if isinstance(g, (str, os.PathLike)) else type(g).__name__}" for n, g in generators.items())
    protocol = (f"SynthTalk cross pairs of {root.name} split {split!r}, {len(chosen)} pairs (seed {seed}); "
                f"generators: {names or 'none'}; LSE on synthtalk_crops of the rendered face boxes, vshift {options.vshift}"
                + (", JPEG round trip" if options.jpeg_roundtrip else ""))
    return SynthTalkReport(label or "unnamed evaluator", protocol, tuple(chosen), results)


@dataclass(frozen=True)
class _PairRows:
    """Makes every row's video of one pair (generated, or encoded like ``sync``'s output) and scores it."""

    folder: Path
    evaluator: SyncEvaluator
    options: ScoringOptions
    sync_options: SyncOptions

    def score(self, pair: CrossPair, truth: PairTruth, syncers: Mapping[str, LipSyncer]) -> dict[str, PairScores]:
        """Row name -> scores, generators first, then the reference rows."""
        out = {name: self._scored(name, pair, truth, lambda s=syncer, n=name: self._generated(s, n, pair, truth))
               for name, syncer in syncers.items()}
        source = functools.cache(lambda: looped_source(truth, self.sync_options.loop))  # decoded once, for two rows
        perfect = lambda: truth_at_face_size(truth.frames, source(), truth.faces, self.sync_options.feather)  # noqa: E731
        out[GROUND_TRUTH] = self._scored(GROUND_TRUTH, pair, truth, lambda: self._encoded(truth.frames, GROUND_TRUTH, pair, truth))
        out[TRUTH_AT_FACE_SIZE] = self._scored(TRUTH_AT_FACE_SIZE, pair, truth,
                                               lambda: self._encoded(perfect(), TRUTH_AT_FACE_SIZE, pair, truth))
        out[INPUT] = self._scored(INPUT, pair, truth, source)
        return out

    def _scored(self, row: str, pair: CrossPair, truth: PairTruth, make: Callable[[], np.ndarray]) -> PairScores:
        """``make``'s frames scored; a user error (no face, unreadable file...) becomes the row's error."""
        try:
            return score_pair_frames(row, pair, make(), truth, self.evaluator, self.options)
        except AttnWav2LipError as exc:
            return PairScores(row, pair.index, pair.source, pair.driving, error=str(exc))

    def _target(self, row: str, pair: CrossPair) -> Path:
        target = self.folder / _slug(row) / f"{pair.index:04d}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _generated(self, syncer: LipSyncer, row: str, pair: CrossPair, truth: PairTruth) -> np.ndarray:
        target = self._target(row, pair)
        syncer.sync(truth.source_video, truth.driving_audio, target)
        return np.stack(list(iter_frames(target)))

    def _encoded(self, frames: np.ndarray, row: str, pair: CrossPair, truth: PairTruth) -> np.ndarray:
        target = self._target(row, pair)
        write_video(target, frames, truth.fps, truth.audio, preset=self.sync_options.preset, crf=self.sync_options.crf)
        return np.stack(list(iter_frames(target)))


def _check_row_names(generators: Mapping[str, object]) -> None:
    """Generator names must not take a reference row's name or share its video folder."""
    reserved = set(REFERENCE_ROWS) & set(generators)
    if reserved:
        raise ConfigError(f"generator name {reserved.pop()!r} is reserved for a reference row; pick another")
    folders: dict[str, str] = {}
    for name in (*generators, *REFERENCE_ROWS):  # each row's videos get a folder of their own
        other = folders.setdefault(_slug(name), name)
        if other != name:
            raise ConfigError(f"rows {other!r} and {name!r} would share the video folder {_slug(name)!r}; rename one")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "row"


def _syncer(generator: str | os.PathLike[str] | nn.Module, options: SyncOptions) -> LipSyncer:
    if isinstance(generator, (str, os.PathLike)):
        return LipSyncer(generator, options)
    return LipSyncer(options=options, generator=generator)
