"""How sharp must a generator be to beat doing nothing on SynthTalk's lower-face L1?

Run:  .venv/bin/python experiments/l1_blur_ladder.py --corpus SYNTH --split test --pairs 20

On the cross pairs ``evaluate synthtalk`` scores (same seed, same first pairs), the rendered
truth is put through what ``sync`` does to a generator's faces (face box resized to 96 px, blended
back onto A's frame with the feather mask, H.264 at sync's settings), first exactly and then
blurred at 96 px with Gaussians of growing sigma. Prints, per row, the lower-face L1 and the
mouth-strip L1 (mean ± std over pairs) next to doing nothing (A's looped video), so that a
generator's score can be read as "as good as the truth blurred by sigma".
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from attnwav2lip.evaluation.synthtalk import draw_pairs, looped_source
from attnwav2lip.faces.boxes import lower_face
from attnwav2lip.lipsync import SyncOptions
from attnwav2lip.metrics.ground_truth import region_l1
from attnwav2lip.metrics.synthtalk_report import INPUT, TRUTH_AT_FACE_SIZE
from attnwav2lip.metrics.synthtalk_scores import pair_truth
from attnwav2lip.synth.truth import truth_at_face_size
from attnwav2lip.synth.corpus import read_corpus_manifest
from attnwav2lip.video import iter_frames, write_video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0, 1, 1.5, 2, 3])
    args = parser.parse_args()

    root, options = Path(args.corpus), SyncOptions(progress=False)
    records = read_corpus_manifest(root)
    by_id = {r["id"]: r for r in records}
    scores: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        video = Path(scratch) / "row.mp4"
        for pair in draw_pairs(records, args.split, args.pairs, args.seed):
            truth = pair_truth(root, by_id, pair, options.loop)
            source = looped_source(truth, options.loop)
            rows = {INPUT: source}
            for sigma in args.sigmas:
                frames = truth_at_face_size(truth.frames, source, truth.faces, options.feather, sigma)
                write_video(video, frames, truth.fps, truth.audio, preset=options.preset, crf=options.crf)
                rows[f"{TRUTH_AT_FACE_SIZE}, blur sigma {sigma:g}"] = np.stack(list(iter_frames(video)))
            for name, frames in rows.items():
                scores.setdefault(name, []).append(
                    (region_l1(frames, truth.frames, lower_face(truth.faces)), region_l1(frames, truth.frames, truth.strips)))
    print(f"{args.pairs} cross pairs of {root.name} split {args.split!r} (seed {args.seed}); mean ± std over pairs")
    print("| row | lower-face L1 | mouth L1 |\n|---|---:|---:|")
    for name, values in scores.items():
        v = np.array(values)
        print(f"| {name} | {v[:, 0].mean():.4f} ± {v[:, 0].std():.4f} | {v[:, 1].mean():.4f} ± {v[:, 1].std():.4f} |")


if __name__ == "__main__":
    main()
