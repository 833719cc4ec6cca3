"""Does the pixel mouth-opening estimator follow the opening SynthTalk rendered?

Run:  .venv/bin/python experiments/mouth_opening_check.py --corpus SYNTH --split test

For each clip of the split, the estimator (``attnwav2lip.metrics.mouth_opening``) reads the encoded
video inside the mouth strip of the pose-only face boxes; its values are correlated with the
rendered opening ``open * (1 - press)`` of the clip's ground truth. Prints Pearson r per clip, the
median and mean over clips, and r pooled over all frames (which also counts level differences
between faces, e.g. lip thickness, against the estimator).
"""

from __future__ import annotations

import argparse

import numpy as np

from attnwav2lip.metrics.mouth_opening import check_corpus, pooled_correlation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, help="first N clips of the split only")
    args = parser.parse_args()

    checks = check_corpus(args.corpus, args.split, args.limit)
    print(f"{len(checks)} clips of split {args.split!r} in {args.corpus}")
    print("clip | frames | Pearson r")
    for c in checks:
        print(f"{c.clip} | {c.frames} | {c.correlation:.3f}")
    per_clip = np.array([c.correlation for c in checks])
    print(f"per clip: median {np.nanmedian(per_clip):.3f}, mean {np.nanmean(per_clip):.3f}, "
          f"min {np.nanmin(per_clip):.3f}, max {np.nanmax(per_clip):.3f}")
    print(f"pooled over {sum(c.frames for c in checks)} frames: {pooled_correlation(checks):.3f}")


if __name__ == "__main__":
    main()
