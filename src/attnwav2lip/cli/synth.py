"""`attnwav2lip synth`: write a SynthTalk corpus (or the documentation figures)."""

from __future__ import annotations

import argparse

from ..synth.corpus import CorpusConfig, write_corpus
from ..synth.figures import write_figures


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth", help="generate SynthTalk: synthetic talking faces with exact ground truth",
        description="Writes per clip an mp4 (H.264 + AAC), the wav, its phoneme timeline and the per-frame "
                    "ground truth (npz), plus manifest.jsonl with train/val/test/evaluator splits by identity. "
                    "Resumable: complete clips are skipped.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="corpus folder (created if missing)")
    parser.add_argument("--clips", type=int, default=200, help="number of clips (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate (default 25)")
    parser.add_argument("--size", type=int, default=256, help="frame side in pixels (default 256)")
    parser.add_argument("--min-seconds", type=float, default=2.0, help="shortest clip, at clause granularity")
    parser.add_argument("--max-seconds", type=float, default=6.0,
                        help="longest clip, never exceeded: speech is cut at a clause end, or at a word boundary when "
                             "the first clause alone is longer")
    parser.add_argument("--clips-per-identity", type=int, default=2, help="clips sharing one identity (default 2)")
    parser.add_argument("--split-shares", type=float, nargs=4, default=(0.7, 0.1, 0.1, 0.1),
                        metavar=("TRAIN", "VAL", "TEST", "EVALUATOR"),
                        help="shares of identities per split (default 0.7 0.1 0.1 0.1; 0 0 0 1: an evaluator-only corpus)")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    parser.add_argument("--figures", action="store_true",
                        help="instead of a corpus, write the contact sheet and mouth strip PNGs into --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.figures:
        for path in write_figures(args.out):
            print(path)
        return 0

    config = CorpusConfig(clips=args.clips, seed=args.seed, fps=args.fps, size=args.size,
                          min_seconds=args.min_seconds, max_seconds=args.max_seconds,
                          clips_per_identity=args.clips_per_identity, split_shares=tuple(args.split_shares))
    records = write_corpus(config, args.out, workers=args.workers)
    counts = {s: sum(r["split"] == s for r in records) for s in ("train", "val", "test", "evaluator")}
    print(f"{len(records)} clips in {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
