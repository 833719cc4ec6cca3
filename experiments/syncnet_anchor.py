"""Reproduce syncnet_python's demo anchor with attnwav2lip's scorer.

syncnet_python's README: ``python demo_syncnet.py --videofile data/example.avi`` prints

    AV offset:      3
    Min dist:       5.353
    Confidence:     10.021

This script scores the same clip with ``attnwav2lip.metrics`` and the original weights::

    python experiments/syncnet_anchor.py --weights data/syncnet_v2.model --video data/example.avi

(get both with syncnet_python's ``download_model.sh``). The demo dumps frames through ffmpeg's
default JPEG before scoring, so the round trip is on by default (``--no-jpeg`` turns it off).
Our round trip is ffmpeg's MJPEG encoder at its defaults, fed RGB frames rather than the
decoded YUV, so expect the offset exactly and the distances to within a few hundredths, not
bit-identical (see docs/evaluation.md). Exit status 0 when the result is within tolerance.

Not run in this repository's CI: the weights and the clip cannot be downloaded here.
"""

from __future__ import annotations

import argparse
import sys

EXPECTED_OFFSET = 3
EXPECTED_MIN_DIST = 5.353
EXPECTED_CONFIDENCE = 10.021


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True, help="syncnet_python's data/syncnet_v2.model")
    parser.add_argument("--video", required=True, help="syncnet_python's data/example.avi")
    parser.add_argument("--no-jpeg", action="store_true", help="score the decoded frames without the JPEG round trip")
    parser.add_argument("--tolerance", type=float, default=0.05, help="allowed |difference| of min dist and confidence")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    from attnwav2lip.checkpoints import load_model
    from attnwav2lip.metrics.scoring import ScoringOptions, score_file

    evaluator = load_model(args.weights, kind="evaluator", device=args.device)
    options = ScoringOptions(vshift=15, batch_size=20, jpeg_roundtrip=not args.no_jpeg)
    scores = score_file(args.video, evaluator, options=options)
    print(f"AV offset:  \t{scores.offset:d}   (expected {EXPECTED_OFFSET})")
    print(f"Min dist:   \t{scores.lse_d:.3f}   (expected {EXPECTED_MIN_DIST})")
    print(f"Confidence: \t{scores.lse_c:.3f}   (expected {EXPECTED_CONFIDENCE})")
    print(f"windows:    \t{scores.num_windows}   JPEG round trip: {options.jpeg_roundtrip}")
    ok = (
        scores.offset == EXPECTED_OFFSET
        and abs(scores.lse_d - EXPECTED_MIN_DIST) <= args.tolerance
        and abs(scores.lse_c - EXPECTED_CONFIDENCE) <= args.tolerance
    )
    print("anchor reproduced" if ok else "anchor NOT reproduced")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
