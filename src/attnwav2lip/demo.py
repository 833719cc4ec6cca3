"""`attnwav2lip demo`: the whole job on built-in defaults, scored against exact ground truth.

One SynthTalk identity is rendered speaking sentence A (the input video), then lip-synced to a
different voice speaking sentence B. Because SynthTalk can render the true video of "this person
saying B" (same head motion, looped exactly as ``sync`` loops it), the result is scored against
that truth, next to the do-nothing baseline (the untouched input, looped the same way). The
result, the baseline and the truth are also scored against the driving audio with the built-in
SynthTalk evaluator: "LSE (SynthTalk evaluator)", never comparable with syncnet_v2's LSE.

Outputs in ``out``: ``input.mp4``, ``driving.wav``, ``result.mp4``, ``side_by_side.mp4``
(input | result | truth, with the driving audio), ``strip.png`` and ``metrics.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from .builtin import describe_generator, load_builtin
from .checkpoints import load_model
from .faces.boxes import lower_face
from .fileio import write_text_atomic
from .lipsync import LipSyncer, SyncOptions
from .metrics.ground_truth import mouth_metrics
from .metrics.lse import lse_scores
from .metrics.mouth_opening import mouth_opening, opening_strips, pearson
from .metrics.synthtalk_scores import synthtalk_crops
from .outputs import make_output_folder
from .synth.identity import sample_identity
from .synth.motion import sample_motion
from .synth.speech import speak
from .synth.truth import looped, render_saying
from .video import iter_frames, write_png, write_video

LABELS = ("input", "result", "truth")
LSE_LABEL = "LSE (SynthTalk evaluator)"


@dataclass(frozen=True)
class DemoConfig:
    """What the demo renders, which generator it runs and which evaluator scores it (``None``: built-in)."""

    identity_seed: int = 11
    source_text: str = "Please call me when you arrive at the station tonight."
    source_voice: str = "en-us+m3"
    driving_text: str = "Bob bought five big maps, and we waved them at the moon."
    driving_voice: str = "en-us+f2"
    fps: float = 25.0
    size: int = 256
    checkpoint: str | None = None
    evaluator: str | None = None
    strip_frames: int = 8


@dataclass(frozen=True)
class DemoResult:
    out: Path
    frames: int
    mouth_result: dict[str, float]
    mouth_input: dict[str, float]
    model: str
    lse: dict[str, dict[str, float]]  # "result" / "input (do nothing)" / "truth" -> lse_d, lse_c, offset
    opening_r: dict[str, float]       # the same rows -> correlation of the measured mouth opening with the truth's

    @property
    def follows_speech(self) -> bool:
        return follows_speech_better(self.lse["result"]["lse_c"], self.opening_r["result"],
                                     self.lse["input (do nothing)"]["lse_c"], self.opening_r["input (do nothing)"])


def follows_speech_better(lse_c: float, opening_r: float, baseline_lse_c: float, baseline_opening_r: float) -> bool:
    """The demo's verdict: a video follows the driving speech better than doing nothing when the
    evaluator is more confident that it is in sync (LSE-C) *and* its mouth opens more in step with
    the truth's (opening r). Either alone can be fooled: LSE-C by a mouth that moves on any speech,
    the opening by a mouth that opens on the right frames but looks nothing like speech."""
    return lse_c > baseline_lse_c and opening_r > baseline_opening_r


def run_demo(out: str | os.PathLike[str], config: DemoConfig = DemoConfig(), *, progress: bool = True) -> DemoResult:
    """Render, lip-sync, score and write the demo outputs into folder ``out``."""
    folder = make_output_folder(out)
    source = speak(config.source_text, config.source_voice, lead_silence=0.2)
    driving = speak(config.driving_text, config.driving_voice, lead_silence=0.2)
    identity = sample_identity(config.identity_seed)
    n_source = int(np.ceil(source.duration * config.fps))
    motion = sample_motion(config.identity_seed, n_source, config.fps)
    input_frames = render_saying(identity, motion, source.phones, n_source, config.size).frames
    write_video(folder / "input.mp4", input_frames, config.fps, source.audio, source.sample_rate)
    driving.save(folder / "driving.wav", folder / "driving.json")

    syncer = LipSyncer(config.checkpoint, SyncOptions(progress=progress, precision="fp32"))  # scores never depend on the CPU
    report = syncer.sync(folder / "input.mp4", folder / "driving.wav", folder / "result.mp4")
    result_frames = np.stack(list(iter_frames(folder / "result.mp4")))
    n_out = len(result_frames)

    truth = render_saying(identity, motion, driving.phones, n_out, config.size)
    # the baseline goes through the same encoder as the result did, so codec loss does not favour it
    baseline_frames = looped(np.stack(list(iter_frames(folder / "input.mp4"))), n_out)
    lower = lower_face(truth.faces)
    scores = {
        "result": mouth_metrics(result_frames, truth.frames, lower),
        "input": mouth_metrics(baseline_frames, truth.frames, lower),
    }

    side = (np.concatenate(row, axis=1) for row in zip(baseline_frames, result_frames, truth.frames))
    write_video(folder / "side_by_side.mp4", side, config.fps, driving.audio, driving.sample_rate)
    _write_strip(folder / "strip.png", (baseline_frames, result_frames, truth.frames), truth.faces, config.strip_frames)

    videos = {"result": result_frames, "input (do nothing)": baseline_frames, "truth": truth.frames}
    lse = _lse_scores(videos, truth.faces, driving.audio, config.evaluator)
    strips = opening_strips(truth.faces)
    opening_r = {name: _nan_as_zero(pearson(mouth_opening(frames, strips), truth.opening))
                 for name, frames in videos.items()}
    model = config.checkpoint or describe_generator(syncer.generator)
    result = DemoResult(folder, n_out, _as_dict(scores["result"]), _as_dict(scores["input"]), model, lse, opening_r)
    metrics = {"model": model, "frames": n_out, "seconds": report.seconds, "config": asdict(config),
               "lower_face_vs_truth": {"result": result.mouth_result, "input (do nothing)": result.mouth_input},
               LSE_LABEL: {"evaluator": config.evaluator or "built-in", "vs driving audio": lse},
               "opening_r": opening_r, "follows_speech_better_than_doing_nothing": result.follows_speech}
    write_text_atomic(folder / "metrics.json", json.dumps(metrics, indent=1))
    return result


def _lse_scores(videos: dict[str, np.ndarray], face_boxes: np.ndarray, audio: np.ndarray,
                evaluator: str | None) -> dict[str, dict[str, float]]:
    """LSE-D / LSE-C / offset of each 25 fps video against the 16 kHz ``audio``, on syncnet's crops
    ``synthtalk_crops`` around the rendered face boxes (as the SynthTalk evaluator was trained and the SynthTalk protocol scores)."""
    net = load_builtin("evaluator") if evaluator is None else load_model(evaluator, kind="evaluator")
    scores = {name: lse_scores(synthtalk_crops(frames, face_boxes), audio, net) for name, frames in videos.items()}
    return {name: {"lse_d": s.lse_d, "lse_c": s.lse_c, "offset": s.offset} for name, s in scores.items()}


def _nan_as_zero(correlation: float) -> float:
    """A mouth that never moves (correlation undefined) follows the truth's opening not at all."""
    return 0.0 if np.isnan(correlation) else correlation


def _as_dict(metrics: object) -> dict[str, float]:
    return {k: float(v) for k, v in asdict(metrics).items()}  # type: ignore[call-overload]


def _write_strip(path: Path, rows: tuple[np.ndarray, ...], boxes: np.ndarray, count: int, tile: int = 160) -> None:
    """A PNG with one row per video (input, result, truth): face close-ups of ``count`` evenly spaced frames."""
    picks = np.linspace(0, len(rows[0]) - 1, count).round().astype(int)
    lines = []
    for label, frames in zip(LABELS, rows):
        crops = [cv2.resize(_face_closeup(frames[i], boxes[i]), (tile, tile), interpolation=cv2.INTER_AREA) for i in picks]
        line = np.concatenate(crops, axis=1)
        cv2.putText(line, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
        lines.append(line)
    write_png(path, np.concatenate(lines, axis=0))


def _face_closeup(frame: np.ndarray, box: np.ndarray, margin: float = 0.15) -> np.ndarray:
    """A square crop around ``box`` (x1, y1, x2, y2) with a margin, clipped to the frame."""
    x1, y1, x2, y2 = box
    half = max(x2 - x1, y2 - y1) * (0.5 + margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h, w = frame.shape[:2]
    top, left = int(max(0, cy - half)), int(max(0, cx - half))
    return frame[top:int(min(h, cy + half)), left:int(min(w, cx + half))]


def format_result(result: DemoResult) -> str:
    """The table the CLI prints."""
    lines = [f"model: {result.model}", f"frames: {result.frames}",
             "lower face against the rendered truth ('this person saying the driving audio'):",
             f"  {'':18s} {'PSNR dB':>8s} {'SSIM':>6s} {'L1':>7s}"]
    for name, m in (("result", result.mouth_result), ("input (do nothing)", result.mouth_input)):
        lines.append(f"  {name:18s} {m['psnr']:8.2f} {m['ssim']:6.3f} {m['l1']:7.4f}")
    lines += [f"{LSE_LABEL} against the driving audio (lower LSE-D, higher LSE-C: better sync), and how the",
              "mouth's measured opening correlates with the truth's (opening r, higher is better):",
              f"  {'':18s} {'LSE-D':>8s} {'LSE-C':>6s} {'offset':>7s} {'opening r':>9s}"]
    for name, m in result.lse.items():
        lines.append(f"  {name:18s} {m['lse_d']:8.3f} {m['lse_c']:6.3f} {m['offset']:7.0f} {result.opening_r[name]:+9.2f}")
    verdict = "yes" if result.follows_speech else "no"
    lines.append(f"verdict: does the result follow the driving speech better than doing nothing (higher LSE-C and "
                 f"opening r)? {verdict}")
    lines.append(f"outputs in {result.out}: input.mp4 result.mp4 side_by_side.mp4 strip.png metrics.json")
    return "\n".join(lines)
