"""`attnwav2lip evaluate`: LSE-D / LSE-C of videos, paired comparisons, the paper's random pairs,
SynthTalk cross pairs scored against the rendered truth."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..faces import DetectorConfig
from ..metrics import evaluate
from ..metrics.protocols import list_order
from ..metrics.scoring import ScoringOptions
from ..metrics.wild import WildConfig

if TYPE_CHECKING:
    from ..metrics.stats import Summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="LSE-D / LSE-C of videos (syncnet_python's scoring), paired comparisons, test pairs",
        description=(
            "Score videos with an evaluation SyncNet exactly as syncnet_python / Wav2Lip do (LRS protocol: "
            "whole frames resized to 224, videos brought to 25 fps and 16 kHz first); compare two per-video "
            "result files with bootstrap confidence intervals; draw the paper's random audio/video pairs; or score "
            "generators on SynthTalk cross pairs against the rendered truth (LSE, lower-face PSNR / SSIM / L1, "
            "mouth opening, lip leakage)."
        ),
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--videos", metavar="DIR|LIST", help="folder of videos, or a list file of 'video [audio]' lines")
    mode.add_argument("--test-list", metavar="LIST", help="generate each pair of a Wav2Lip-style list, then score")
    mode.add_argument("--compare", nargs=2, metavar=("A.csv", "B.csv"), help="per-video results to compare (B - A)")
    mode.add_argument("--random-pairs", metavar="DIR", help="write a pair list for the test clips in DIR (paper protocol)")
    mode.add_argument(
        "--synthtalk", metavar="CORPUS",
        help="SynthTalk cross pairs: lip-sync each clip to another identity's speech, score against the rendered truth",
    )
    parser.add_argument("--evaluator", metavar="CKPT", help="syncnet_v2.model or a SynthTalk evaluator (.safetensors)")
    parser.add_argument(
        "--checkpoint", metavar="G", action="append",
        help="generator checkpoint; --test-list: one (default: the built-in model); --synthtalk: one row each, repeatable "
        "(none: only the ground-truth and do-nothing rows)",
    )
    parser.add_argument("--split", default="test", help="--synthtalk: corpus split to pair within (default test)")
    parser.add_argument("--pairs", type=int, metavar="N", help="--synthtalk: score the first N pairs only (default all)")
    parser.add_argument("--data-root", metavar="DIR", help="--test-list: folder the list's names are relative to")
    parser.add_argument(
        "--list-order", choices=("audio-video", "video-audio"),
        help="--test-list: column order (default: from the name; ReSyncED lists are video-audio)",
    )
    parser.add_argument("--out", required=True, help="output folder (scores, compare, synthtalk) or pair-list file (random-pairs)")
    parser.add_argument("--name", default="scores", help="base name of the result files (default: scores)")
    parser.add_argument("--label", help="evaluator name in the tables (default: from the checkpoint file)")
    parser.add_argument(
        "--protocol", choices=("lrs", "wild"), default="lrs",
        help="lrs: whole frames resized (Wav2Lip's LRS2/LRS3/LRW scoring); wild: face tracks + syncnet crop",
    )
    parser.add_argument("--detector", default="auto", help="wild: face detector (auto, mediapipe, haar, s3fd)")
    parser.add_argument("--detector-weights", metavar="PTH", help="wild: s3fd.pth for --detector s3fd")
    parser.add_argument("--min-track", type=int, default=100, help="wild: frames a face track must exceed (default 100)")
    parser.add_argument("--min-face-size", type=float, default=100.0, help="wild: mean box side in px (default 100)")
    parser.add_argument("--jpeg-roundtrip", action="store_true", help="emulate the JPEG round trip of published numbers")
    parser.add_argument("--vshift", type=int, default=15, help="offsets searched each way (default 15)")
    parser.add_argument("--batch-size", type=int, default=20, help="windows per forward pass (default 20)")
    parser.add_argument("--device", default="cpu", help="torch device for the evaluator and any generator (default cpu)")
    parser.add_argument("--resamples", type=int, default=10000, help="bootstrap resamples for --compare")
    parser.add_argument("--seed", type=int, default=0, help="seed for --compare bootstrap, --random-pairs and --synthtalk pairing")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import synthtalk
    from ..evaluation.lrs_generation import evaluate_generator

    if args.random_pairs:
        pairs = evaluate.draw_random_pairs(args.random_pairs, args.out, args.seed)
        print(f"wrote {len(pairs)} pairs ({list_order(args.out).replace('-', ' ')}) to {args.out}")
        return 0
    if args.compare:
        label, diffs = evaluate.compare_result_files(
            *args.compare, args.out, label=args.label, num_resamples=args.resamples, seed=args.seed
        )
        for d in diffs:
            print(f"LSE ({label}) {d.metric}: {d.mean:+.3f} {d.interval()} over {d.count} videos")
        return 0
    if not args.evaluator:
        raise ConfigError("scoring needs --evaluator CKPT (syncnet_v2.model or a SynthTalk evaluator)")
    options = ScoringOptions(vshift=args.vshift, batch_size=args.batch_size, jpeg_roundtrip=args.jpeg_roundtrip)
    label = args.label or evaluate.evaluator_label(args.evaluator)
    if args.synthtalk:
        report = synthtalk.score_synthtalk(
            args.synthtalk, synthtalk.checkpoint_rows(args.checkpoint or []), args.evaluator, split=args.split,
            pairs=args.pairs, seed=args.seed, work_dir=Path(args.out) / "videos", label=args.label, options=options,
            device=args.device, progress=True,
        )
        report.write(args.out, args.name)
        print(report.markdown())
        return 0
    if args.test_list:
        if args.checkpoint and len(args.checkpoint) > 1:
            raise ConfigError("--test-list takes one --checkpoint")
        summary = evaluate_generator(
            args.checkpoint[0] if args.checkpoint else None, args.test_list, args.evaluator, args.out, options, data_root=args.data_root,
            order=args.list_order, label=args.label, name=args.name, device=args.device,
        )
        print(_line(label, summary, "generated videos"))
        return 0
    if args.checkpoint:
        raise ConfigError("--videos scores existing videos: --checkpoint applies to --test-list and --synthtalk only")
    wild = None
    if args.protocol == "wild":
        wild = DetectorConfig(name=args.detector, weights=args.detector_weights, device=args.device)
    summary = evaluate.evaluate_videos(
        args.videos, args.evaluator, args.out, options,
        wild=wild, wild_config=WildConfig(min_track=args.min_track, min_face_size=args.min_face_size),
        label=args.label, name=args.name, device=args.device,
    )
    print(_line(label, summary, "face tracks" if wild else "videos"))
    return 0


def _line(label: str, summary: Summary, unit: str) -> str:
    return (
        f"LSE ({label}) over {summary.count} {unit}: LSE-D {summary.lse_d_mean:.3f} +- {summary.lse_d_std:.3f}, "
        f"LSE-C {summary.lse_c_mean:.3f} +- {summary.lse_c_std:.3f}, mean offset {summary.offset_mean:+.2f}"
    )
