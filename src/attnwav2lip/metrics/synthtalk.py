"""SynthTalk cross pairs: lip-sync identity A to clip B's speech and score against the true video.

Because SynthTalk is rendered, the true video of "A saying B" exists: A's head motion, blinks and
lighting (looped exactly as ``sync`` loops a shorter video) with the mouth track of B's phonemes.
Every generator is scored against that truth, next to two reference rows scored the same way:
"ground truth" (the rendered truth itself, through the same H.264 encode; the codec's ceiling)
and "input (do nothing)" (A's video, looped; the floor). A third, "truth at 96 px", is what a
generator that drew the true face perfectly would score through ``sync``: each truth frame's face
box (rendered, not detected) resized to the generator's 96 px, blended back onto A's frame with
``sync``'s feather mask, encoded as ``sync`` encodes. It is the best any 96-px generator can do.

Python API (the ablation benchmark calls exactly this)::

    score_synthtalk(corpus, generators: Mapping[str, str | os.PathLike | nn.Module], evaluator, *,
                    split="test", pairs=None, seed=0, work_dir=None) -> SynthTalkReport
    report.results[row] -> list[PairScores]      # one per pair, in pair order
    report.write(folder, name="synthtalk") -> list[Path]
    pair_truth(corpus, records_by_id, pair, loop) -> PairTruth   # one pair's truth, boxes, audio
    looped_source(truth, loop); truth_at_face_size(truth.frames, source, truth.faces, feather, blur)

Per pair and row (``PairScores``):

- ``lse_d``, ``lse_c``, ``offset``: LSE against the driving audio, on ``synthtalk_crops`` around the
  rendered face boxes (what the SynthTalk evaluator is trained on; label "LSE (SynthTalk evaluator)"
  for a project-trained evaluator);
- ``psnr``, ``ssim``, ``l1``: lower face against the rendered truth (``ground_truth.mouth_metrics``);
  ``mouth_l1``: L1 inside the mouth strip alone (about a fifth of the lower face), which tells a
  wrong or blurred mouth from a blurred chin and cheeks;
- ``opening_corr``: Pearson correlation of the pixel-measured mouth opening
  (``mouth_opening``) with the opening the truth renders (0 for a mouth measured constant);
- lip leakage: ``silent_opening_error``, the mean absolute difference of the measured opening from
  the truth frames' over the driving audio's silent frames (the truth's mouth is shut there; units
  of the mouth strip's height), and ``source_lse_c``, LSE-C against A's *own* audio over the first
  sweep (high: the old mouth shows through).

Pairing: seeded, within one split; each clip's video is paired with the audio of a clip of another
identity and another sentence. The first k pairs are the same whatever ``pairs`` limit is asked.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..errors import AttnWav2LipError, ConfigError
from ..fileio import write_text_atomic
from .scoring import ScoringOptions
from .stats import PairedDifference, paired_bootstrap

if TYPE_CHECKING:
    from torch import nn

    from ..inference import LipSyncer, SyncOptions
    from ..synth.identity import Identity
    from ..synth.motion import Motion
    from .lse import SyncEvaluator

GROUND_TRUTH = "ground truth"
TRUTH_AT_FACE_SIZE = "truth at 96 px"
INPUT = "input (do nothing)"
REFERENCE_ROWS = (GROUND_TRUTH, TRUTH_AT_FACE_SIZE, INPUT)
#: per-pair metrics, in table order; the arrow says which way is better
METRICS: tuple[tuple[str, str, str], ...] = (
    ("lse_d", "LSE-D", "lower"), ("lse_c", "LSE-C", "higher"), ("offset", "offset", ""),
    ("psnr", "PSNR dB", "higher"), ("ssim", "SSIM", "higher"), ("l1", "L1", "lower"), ("mouth_l1", "mouth L1", "lower"),
    ("opening_corr", "opening r", "higher"), ("silent_opening_error", "silent opening err", "lower"),
    ("source_lse_c", "source LSE-C", "lower"),
)
METRIC_NAMES = tuple(name for name, _, _ in METRICS)

@dataclass(frozen=True)
class CrossPair:
    """Pair ``index``: clip ``source``'s video (identity, motion) driven by clip ``driving``'s audio."""

    index: int
    source: str
    driving: str


@dataclass(frozen=True)
class PairScores:
    """One row's scores on one pair; a pair that could not be generated or scored keeps its error."""

    row: str
    pair: int
    source: str
    driving: str
    frames: int = 0
    lse_d: float = math.nan
    lse_c: float = math.nan
    offset: float = math.nan
    psnr: float = math.nan
    ssim: float = math.nan
    l1: float = math.nan
    mouth_l1: float = math.nan
    opening_corr: float = math.nan
    silent_opening_error: float = math.nan
    source_lse_c: float = math.nan
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class MetricSummary:
    """Mean and std (ddof 1; 0 for one value) over the pairs where the metric is defined."""

    mean: float
    std: float
    count: int


@dataclass(frozen=True)
class SynthTalkReport:
    """Everything one run scored: rows in table order, each with one ``PairScores`` per pair."""

    label: str
    protocol: str
    pairs: tuple[CrossPair, ...]
    results: Mapping[str, list[PairScores]]

    @property
    def rows(self) -> tuple[str, ...]:
        return tuple(self.results)

    @property
    def generators(self) -> tuple[str, ...]:
        return tuple(r for r in self.results if r not in REFERENCE_ROWS)

    def summary(self, row: str) -> dict[str, MetricSummary]:
        """Per metric: mean, std and count over the pairs of ``row`` where it is a number."""
        return {name: _summarize([getattr(s, name) for s in self.results[row] if s.ok]) for name in METRIC_NAMES}

    def compare(self, first: str | Sequence[str], second: str | Sequence[str], num_resamples: int = 10000,
                seed: int = 0) -> list[PairedDifference]:
        """Per-pair ``second - first`` for every metric, with a percentile bootstrap 95% CI.

        Either side may be several rows (e.g. checkpoints 500 steps apart of one run), scored by
        their per-pair mean: one checkpoint's lip-sync scores can differ from the next one's by
        more than two recipes differ (docs/training_synthtalk.md), and the interval over pairs does not see that.
        """
        left_rows, right_rows = ([rows] if isinstance(rows, str) else list(rows) for rows in (first, second))
        if not left_rows or not right_rows:
            raise ConfigError("compare needs at least one row on each side")
        split, out = len(left_rows), []
        for name in METRIC_NAMES:
            usable = []
            for scores in zip(*(self.results[row] for row in left_rows + right_rows)):
                values = np.array([getattr(s, name) if s.ok else math.nan for s in scores])
                if np.isfinite(values).all():
                    usable.append((values[:split].mean(), values[split:].mean()))
            if usable:
                left, right = zip(*usable)
                out.append(paired_bootstrap(left, right, name, num_resamples, seed=seed))
        return out

    def write(self, folder: str | os.PathLike[str], name: str = "synthtalk") -> list[Path]:
        """Write ``<name>.csv`` (per pair and row), ``<name>_summary.csv`` / ``.md`` (one line per row)
        and, with two or more generators, ``<name>_comparison.csv`` / ``.md`` (each generator minus
        the first, paired per pair). Returns the paths written."""
        from .results import _csv_text

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / f"{name}.csv", folder / f"{name}_summary.csv", folder / f"{name}_summary.md"]
        columns = [f.name for f in fields(PairScores)]
        rows = [[getattr(s, c) for c in columns] for scores in self.results.values() for s in scores]
        write_text_atomic(written[0], _csv_text(columns, rows))
        summaries = {row: self.summary(row) for row in self.rows}
        header = ["row", "evaluator", "pairs", "failed"] + [f"{m}_{k}" for m in METRIC_NAMES for k in ("mean", "std", "count")]
        lines = [[row, self.label, len(self.results[row]), self._failed(row)]
                 + [v for m in METRIC_NAMES for v in _values(summaries[row][m])] for row in self.rows]
        write_text_atomic(written[1], _csv_text(header, lines))
        write_text_atomic(written[2], self.markdown())
        base, *others = self.generators or ("",)
        if others:
            diffs = {other: self.compare(base, other) for other in others}
            written += [folder / f"{name}_comparison.csv", folder / f"{name}_comparison.md"]
            header = ["evaluator", "first", "second", "metric", "pairs", "mean_difference", "ci_low", "ci_high", "confidence"]
            table = [[self.label, base, other, d.metric, d.count, d.mean, d.low, d.high, d.confidence]
                     for other, ds in diffs.items() for d in ds]
            write_text_atomic(written[3], _csv_text(header, table))
            write_text_atomic(written[4], self._comparison_markdown(base, diffs))
        return written

    def _failed(self, row: str) -> int:
        return sum(not s.ok for s in self.results[row])

    def markdown(self) -> str:
        """The Table-1-style summary: one line per row, mean ± std over pairs."""
        titles = [f"{title} {'↓' if better == 'lower' else '↑' if better else ''}".strip() for _, title, better in METRICS]
        lines = [
            f"# SynthTalk cross pairs, LSE ({self.label})", "",
            f"Protocol: {self.protocol}.", "",
            "Mean ± std over pairs. LSE against the driving audio; PSNR / SSIM / L1 of the lower face against "
            "the rendered truth, mouth L1 of its mouth strip; truth at 96 px: the truth through the generator's "
            "96 px and sync's blend, the best a 96-px generator can score; opening r: correlation of the measured mouth opening with the truth's; "
            "leakage: silent opening err (mouth open where the driving audio is silent) and source LSE-C "
            "(sync with the source clip's own audio).", "",
            "| row | pairs | failed | " + " | ".join(titles) + " |",
            "|---|---:|---:|" + "---:|" * len(METRICS),
        ]
        for row in self.rows:
            summary = self.summary(row)
            cells = [_cell(name, summary[name]) for name in METRIC_NAMES]
            lines.append(f"| {row} | {len(self.results[row])} | {self._failed(row)} | " + " | ".join(cells) + " |")
        errors = [s for scores in self.results.values() for s in scores if not s.ok]
        if errors:
            lines += ["", "Not scored:", "", *(f"- {s.row}, pair {s.pair} ({s.source} <- {s.driving}): {s.error}" for s in errors)]
        return "\n".join(lines) + "\n"

    def _comparison_markdown(self, base: str, diffs: Mapping[str, list[PairedDifference]]) -> str:
        lines = [f"# SynthTalk cross pairs, LSE ({self.label}): paired per pair, minus {base}", ""]
        for other, ds in diffs.items():
            lines += [f"## {other} minus {base}", "", "| metric | pairs | mean difference | bootstrap CI |", "|---|---:|---:|---:|"]
            titles = {name: title for name, title, _ in METRICS}
            lines += [f"| {titles[d.metric]} | {d.count} | {d.mean:+.4f} | {d.interval(4)} |"
                      for d in ds]
            lines.append("")
        return "\n".join(lines)


def _values(summary: MetricSummary) -> tuple[float, float, int]:
    return summary.mean, summary.std, summary.count


def _summarize(values: Sequence[float]) -> MetricSummary:
    kept = np.array([v for v in values if not math.isnan(v)], dtype=np.float64)
    if not len(kept):
        return MetricSummary(math.nan, math.nan, 0)
    if np.isinf(kept).any():
        return MetricSummary(float(kept.mean()), math.nan, len(kept))
    return MetricSummary(float(kept.mean()), float(kept.std(ddof=1 if len(kept) > 1 else 0)), len(kept))


def _cell(name: str, summary: MetricSummary) -> str:
    if not summary.count:
        return "-"
    digits = 2 if name in ("psnr", "offset") else 3
    std = "" if math.isnan(summary.std) else f" ± {summary.std:.{digits}f}"
    sign = "+" if name == "offset" else ""
    return f"{summary.mean:{sign}.{digits}f}{std}"


# ---- the corpus side: pairs, a clip's scene, its truth ----


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


def clip_scene(truth: Mapping[str, Any]) -> tuple["Identity", "Motion", int]:
    """The identity, motion and frame size a corpus clip was rendered with, from its ``load_truth``."""
    from ..synth.identity import Identity
    from ..synth.motion import Motion

    meta, scene = truth["meta"], truth["meta"]["scene"]
    motion = Motion(float(scene["fps"]), truth["pose"], truth["blink"], truth["gain"], tuple(scene["light"]),
                    scene["background"], int(scene["scene_seed"]), float(scene["noise"]), int(scene["jpeg"]))
    return Identity.from_dict(meta["identity"]), motion, int(meta["size"])


def static_face_boxes(identity: "Identity", motion: "Motion", size: int) -> np.ndarray:
    """(T, 4) ground-truth face boxes that follow the head but not the jaw: the same for every mouth,
    so the regions compared (and the mouth strip measured) do not depend on the video scored."""
    from ..synth.face import geometry
    from ..synth.render import face_boxes, frame_size

    return face_boxes(geometry(identity, min(frame_size(size))), motion.pose, size)


def lower_face(boxes: np.ndarray) -> np.ndarray:
    """The lower half of each face box (x1, y1, x2, y2): the region the generator rewrites."""
    x1, y1, x2, y2 = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).T
    return np.stack([x1, (y1 + y2) / 2, x2, y2], axis=1)


EVALUATOR_RENDER_SIZE = 256  # the render size whose pixel coordinates the evaluator's crops use


def synthtalk_crops(frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """What the shipped SynthTalk evaluator was trained on, and so what every SynthTalk LSE scores.

    Frames are first resized to 224x224 as the LRS protocol reads them; then syncnet's crop is taken
    with the boxes' coordinates in the pixels of a 256-px render (not rescaled to 224). That centres
    the crop 8/7 times further from the top-left corner and makes it 8/7 larger than the box-true
    crop: it is cut lower, on the mouth and chin, which suits a lip-sync judge; a box-true crop
    would need a newly trained evaluator. Boxes of renders of another size are first scaled to
    256-px coordinates, so every render size gets the same crop of the face.
    """
    from .lse import resize_frame
    from .wild import crop_faces

    scale = EVALUATOR_RENDER_SIZE / frames.shape[2]
    return crop_faces(np.stack([resize_frame(frame) for frame in frames]), np.asarray(boxes) * scale)


@dataclass(frozen=True)
class PairTruth:
    """One pair's reference: the rendered truth and everything each row is measured against."""

    frames: np.ndarray        # rendered "A saying B", uint8 (N, H, W, 3)
    fps: float
    faces: np.ndarray         # (N, 4) face boxes (head, not jaw): LSE's crops; their lower half: PSNR / SSIM / L1
    strips: np.ndarray        # (N, 4) mouth strips of the opening estimator
    opening: np.ndarray       # (N,) opening the truth renders
    measured: np.ndarray      # (N,) opening measured on the truth frames
    silent: np.ndarray        # (N,) bool: the driving audio is silent
    audio: np.ndarray         # driving audio, 16 kHz
    source_audio: np.ndarray  # A's own audio, 16 kHz
    source_video: Path
    driving_audio: Path


def pair_truth(corpus: Path, records: Mapping[str, Mapping[str, Any]], pair: CrossPair, loop: str) -> PairTruth:
    from ..audio import load_audio, num_output_frames
    from ..synth.corpus import load_truth
    from ..synth.render import fit_motion, render
    from ..synth.speech import SILENCE, Utterance
    from ..synth.visemes import frame_phonemes, mouth_track
    from .mouth_opening import mouth_box, mouth_opening, rendered_opening

    source, driving = records[pair.source], records[pair.driving]
    identity, motion, size = clip_scene(load_truth(corpus, source))
    utterance = Utterance.load(corpus / driving["audio"], corpus / driving["timeline"])
    audio = load_audio(corpus / driving["audio"])
    n = num_output_frames(len(audio), motion.fps)  # the length `sync` gives its output
    track = mouth_track(utterance.phones, motion.fps, n)
    frames = render(identity, motion, track, size=size, loop=loop)
    boxes = static_face_boxes(identity, fit_motion(motion, n, loop), size)
    strips = mouth_box(boxes)
    return PairTruth(
        frames, motion.fps, boxes, strips, rendered_opening(track), mouth_opening(frames, strips),
        np.array(frame_phonemes(utterance.phones, motion.fps, n)) == SILENCE, audio,
        load_audio(corpus / source["audio"]), corpus / source["video"], corpus / driving["audio"],
    )


def _score_frames(row: str, pair: CrossPair, frames: np.ndarray, truth: PairTruth, evaluator: "SyncEvaluator",
                  options: ScoringOptions) -> PairScores:
    """Every metric of one row's frames on one pair."""
    from .ground_truth import mouth_metrics, region_l1
    from .lse import sync_scores
    from .mouth_opening import mouth_opening, pearson
    from .scoring import resample_frames

    if len(frames) != len(truth.frames):
        raise ConfigError(f"{len(frames)} frames where the truth has {len(truth.frames)}")
    region = mouth_metrics(frames, truth.frames, lower_face(truth.faces))

    def at_25(per_frame: np.ndarray) -> np.ndarray:
        return np.stack(list(resample_frames(iter(per_frame), truth.fps)))

    crops = synthtalk_crops(at_25(frames), at_25(truth.faces))

    def lse(audio: np.ndarray) -> Any:
        return sync_scores(crops, audio, evaluator, options.vshift, options.batch_size, options.jpeg_roundtrip)

    driven, own = lse(truth.audio), lse(truth.source_audio)
    measured = mouth_opening(frames, truth.strips)
    silent = np.abs(measured - truth.measured)[truth.silent]
    correlation = pearson(measured, truth.opening)
    if math.isnan(correlation) and np.ptp(truth.opening) > 0:
        correlation = 0.0  # a mouth that never moves while the truth's does follows it not at all
    return PairScores(
        row, pair.index, pair.source, pair.driving, len(frames), driven.lse_d, driven.lse_c, float(driven.offset),
        region.psnr, region.ssim, region.l1, region_l1(frames, truth.frames, truth.strips), correlation,
        float(silent.mean()) if len(silent) else math.nan, own.lse_c,
    )


def looped_source(truth: PairTruth, loop: str) -> np.ndarray:
    """A's decoded video, looped to the truth's length as ``sync`` loops it: the do-nothing output."""
    from ..inference import loop_schedule
    from ..video import iter_frames

    source = np.stack(list(iter_frames(truth.source_video)))
    return source[loop_schedule(len(truth.frames), len(source), loop)]


def truth_at_face_size(truth: np.ndarray, source: np.ndarray, boxes: np.ndarray, feather: float,
                       blur: float = 0.0) -> np.ndarray:
    """``truth`` as ``sync`` would paste a perfect generator's faces onto ``source``: each face box
    resized to the generator's size and back, blended in with the feather mask. ``blur`` > 0: the
    96-px faces are first blurred (Gaussian sigma in their pixels), to see how sharp a generator
    must be to reach a given score."""
    import cv2

    from ..faces import crop_face, paste_face
    from ..inference import FACE_SIZE

    def face(true: np.ndarray, box: np.ndarray) -> np.ndarray:
        crop = crop_face(true, box, FACE_SIZE)
        return cv2.GaussianBlur(crop, (0, 0), blur) if blur > 0 else crop

    return np.stack([paste_face(frame, face(true, box), box, feather=feather)
                     for true, frame, box in zip(truth, source, boxes)])


def checkpoint_rows(checkpoints: Sequence[str | os.PathLike[str]]) -> dict[str, str | os.PathLike[str]]:
    """Row names for checkpoint files: the file name without suffix, the whole path where two share it."""
    stems = [Path(c).stem for c in checkpoints]
    names = [stem if stems.count(stem) == 1 else str(c) for stem, c in zip(stems, checkpoints)]
    if len(set(names)) != len(names):
        raise ConfigError("the same checkpoint is named twice")
    return dict(zip(names, checkpoints))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "row"


def _syncer(generator: "str | os.PathLike[str] | nn.Module", options: "SyncOptions") -> "LipSyncer":
    from ..inference import LipSyncer

    if isinstance(generator, (str, os.PathLike)):
        return LipSyncer(generator, options)
    return LipSyncer(options=options, generator=generator)


def score_synthtalk(
    corpus: str | os.PathLike[str],
    generators: Mapping[str, "str | os.PathLike[str] | nn.Module"],
    evaluator: "str | os.PathLike[str] | SyncEvaluator",
    *,
    split: str = "test",
    pairs: int | None = None,
    seed: int = 0,
    work_dir: str | os.PathLike[str] | None = None,
    label: str | None = None,
    options: ScoringOptions = ScoringOptions(),
    sync_options: "SyncOptions | None" = None,
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
    from ..checkpoints import load_model
    from ..inference import SyncOptions
    from ..synth.corpus import read_manifest
    from ..video import iter_frames, write_video
    from .evaluate import evaluator_label

    reserved = set(REFERENCE_ROWS) & set(generators)
    if reserved:
        raise ConfigError(f"generator name {reserved.pop()!r} is reserved for a reference row; pick another")
    folders: dict[str, str] = {}
    for name in (*generators, *REFERENCE_ROWS):  # each row's videos get a folder of their own
        other = folders.setdefault(_slug(name), name)
        if other != name:
            raise ConfigError(f"rows {other!r} and {name!r} would share the video folder {_slug(name)!r}; rename one")
    root = Path(corpus)
    records = read_manifest(root)
    chosen = draw_pairs(records, split, pairs, seed)
    by_id = {r["id"]: r for r in records}
    sync_options = sync_options or SyncOptions(progress=False, device=device, precision="fp32")  # scores never depend on the CPU
    if isinstance(evaluator, (str, os.PathLike)):
        label = label or evaluator_label(evaluator)
        evaluator = load_model(evaluator, kind="evaluator", device=device)
    label = label or "unnamed evaluator"
    syncers = {name: _syncer(generator, sync_options) for name, generator in generators.items()}
    results: dict[str, list[PairScores]] = {name: [] for name in (*syncers, *REFERENCE_ROWS)}
    with tempfile.TemporaryDirectory(prefix="attnwav2lip-synthtalk-") as scratch:
        folder = Path(work_dir) if work_dir is not None else Path(scratch)
        for pair in _progress(chosen, progress):
            truth = pair_truth(root, by_id, pair, sync_options.loop)

            def score(row: str, make: Callable[[], np.ndarray]) -> PairScores:
                try:
                    return _score_frames(row, pair, make(), truth, evaluator, options)  # type: ignore[arg-type]
                except AttnWav2LipError as exc:
                    return PairScores(row, pair.index, pair.source, pair.driving, error=str(exc))

            for name, syncer in syncers.items():
                target = folder / _slug(name) / f"{pair.index:04d}.mp4"
                target.parent.mkdir(parents=True, exist_ok=True)

                def generate(syncer: "LipSyncer" = syncer, target: Path = target) -> np.ndarray:
                    syncer.sync(truth.source_video, truth.driving_audio, target)
                    return np.stack(list(iter_frames(target)))

                results[name].append(score(name, generate))

            def encoded(frames: np.ndarray, row: str) -> np.ndarray:
                target = folder / _slug(row) / f"{pair.index:04d}.mp4"
                target.parent.mkdir(parents=True, exist_ok=True)
                write_video(target, frames, truth.fps, truth.audio, preset=sync_options.preset, crf=sync_options.crf)
                return np.stack(list(iter_frames(target)))

            @functools.cache
            def looped_input() -> np.ndarray:  # decoded once per pair, for two rows
                return looped_source(truth, sync_options.loop)

            results[GROUND_TRUTH].append(score(GROUND_TRUTH, lambda: encoded(truth.frames, GROUND_TRUTH)))
            results[TRUTH_AT_FACE_SIZE].append(score(TRUTH_AT_FACE_SIZE, lambda: encoded(
                truth_at_face_size(truth.frames, looped_input(), truth.faces, sync_options.feather), TRUTH_AT_FACE_SIZE)))
            results[INPUT].append(score(INPUT, looped_input))
    names = ", ".join(f"{n} = {g if isinstance(g, (str, os.PathLike)) else type(g).__name__}" for n, g in generators.items())
    protocol = (f"SynthTalk cross pairs of {root.name} split {split!r}, {len(chosen)} pairs (seed {seed}); "
                f"generators: {names or 'none'}; LSE on synthtalk_crops of the rendered face boxes, vshift {options.vshift}"
                + (", JPEG round trip" if options.jpeg_roundtrip else ""))
    return SynthTalkReport(label, protocol, tuple(chosen), results)


def _progress(items: Sequence[CrossPair], show: bool) -> Iterable[CrossPair]:
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="synthtalk pairs", unit="pair", dynamic_ncols=True)
