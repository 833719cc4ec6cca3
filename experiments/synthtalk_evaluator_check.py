"""Does an evaluator find planted audio offsets? In-sync vs shifted audio on held-out SynthTalk clips.

Run:  .venv/bin/python experiments/synthtalk_evaluator_check.py --corpus SYNTH --evaluator RUN/.../evaluator.safetensors

For each held-out clip of the split (clip k with k % val_every == 0, as ``train-evaluator`` holds
them out) the frames are scored against their own audio delayed by each shift (zeros in front,
same length); a delay of s frames should be found as offset -s. Prints per-shift means of LSE-D,
LSE-C, the offset and the share of clips whose offset is exact (scores are "LSE (SynthTalk
evaluator)" when the evaluator is ours).
"""

from __future__ import annotations

import argparse

import numpy as np

from attnwav2lip.checkpoints import load_model
from attnwav2lip.metrics import lse_scores
from attnwav2lip.metrics.lse import SAMPLES_PER_FRAME


def main() -> None:
    from pathlib import Path

    from attnwav2lip.audio import load_audio
    from attnwav2lip.train.evaluator import crop_rendered_faces
    from attnwav2lip.metrics.scoring import read_scoring_frames
    from attnwav2lip.synth.corpus import read_corpus_manifest

    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--evaluator", required=True)
    parser.add_argument("--split", default="evaluator")
    parser.add_argument("--val-every", type=int, default=5)
    parser.add_argument("--shifts", type=int, nargs="+", default=[0, 2, 5, -5, 10])
    args = parser.parse_args()

    evaluator = load_model(args.evaluator, kind="evaluator")
    records = [r for r in read_corpus_manifest(args.corpus) if r["split"] == args.split]
    held_out = [r for k, r in enumerate(records) if k % args.val_every == 0]  # train-evaluator's hold-out rule
    rows: dict[int, list[tuple[float, float, int]]] = {s: [] for s in args.shifts}
    for record in held_out:
        frames = crop_rendered_faces(args.corpus, record, read_scoring_frames(Path(args.corpus) / record["video"]))
        audio = load_audio(Path(args.corpus) / record["audio"])
        for shift in args.shifts:
            n = shift * SAMPLES_PER_FRAME
            delayed = np.concatenate([np.zeros(n, np.float32), audio[: len(audio) - n]]) if n >= 0 else \
                np.concatenate([audio[-n:], np.zeros(-n, np.float32)])
            s = lse_scores(frames, delayed, evaluator)
            rows[shift].append((s.lse_d, s.lse_c, s.offset))
    print(f"{len(held_out)} held-out clips, evaluator {args.evaluator}")
    print("audio delay (frames) | LSE-D | LSE-C | mean offset | offset == -delay")
    for shift, values in rows.items():
        d, c, o = (np.array(v, dtype=float) for v in zip(*values))
        print(f"{shift:+d} | {d.mean():.3f} | {c.mean():.3f} | {o.mean():+.2f} | {np.mean(o == -shift):.0%}")


if __name__ == "__main__":
    main()
