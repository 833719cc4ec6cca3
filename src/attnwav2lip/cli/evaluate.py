"""`attnwav2lip evaluate PROTOCOL`: LSE-D / LSE-C of videos, of generated test lists, of SynthTalk
cross pairs against the rendered truth; paired comparisons; the paper's random pairs.

One subcommand per protocol, each with only the options it uses. The flags of the single parser
that came before (``evaluate --videos DIR ...``) still work: :func:`upgrade_legacy_argv` rewrites
them and says so in one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..faces import DetectorConfig
from ..metrics import evaluate
from ..metrics.protocols import list_order
from ..metrics.scoring import ScoringOptions
from ..metrics.wild import WildConfig

if TYPE_CHECKING:
    from ..metrics.stats import Summary

# the single parser's mode flags before subcommands -> (subcommand, values the flag took)
LEGACY_MODES: dict[str, tuple[str, int]] = {
    "--videos": ("videos", 1), "--test-list": ("list", 1), "--compare": ("compare", 2),
    "--random-pairs": ("pairs", 1), "--synthtalk": ("synthtalk", 1),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="LSE-D / LSE-C of videos (syncnet_python's scoring), generated test lists, SynthTalk pairs, comparisons",
        description="Score lip sync with an evaluation SyncNet exactly as syncnet_python / Wav2Lip do, compare "
                    "two result files, or draw the paper's random pairs. See docs/evaluation.md.",
    )
    protocols = parser.add_subparsers(dest="protocol_command", metavar="PROTOCOL", required=True)

    videos = protocols.add_parser(
        "videos", help="score existing videos (LRS protocol, or face tracks in the wild)",
        description="LRS protocol: whole frames resized to 224, videos brought to 25 fps and 16 kHz first (Wav2Lip's "
                    "calculate_scores_LRS.py); wild: face tracks cropped as syncnet_python's run_pipeline.py does.")
    videos.add_argument("source", metavar="DIR|LIST", help="folder of videos, or a list file of 'video [audio]' lines")
    _scoring_arguments(videos)
    videos.add_argument("--protocol", choices=("lrs", "wild"), default="lrs",
                        help="lrs: whole frames resized (Wav2Lip's LRS2/LRS3/LRW scoring); wild: face tracks + syncnet crop")
    videos.add_argument("--detector", default="auto", help="wild: face detector (auto, mediapipe, haar, s3fd)")
    videos.add_argument("--detector-weights", metavar="PTH", help="wild: s3fd.pth for --detector s3fd")
    videos.add_argument("--min-track", type=int, default=100, help="wild: frames a face track must exceed (default 100)")
    videos.add_argument("--min-face-size", type=float, default=100.0, help="wild: mean box side in px (default 100)")
    videos.set_defaults(func=run_videos)

    listed = protocols.add_parser(
        "list", help="generate each pair of a Wav2Lip-style test list with a generator, then score (LRS protocol)")
    listed.add_argument("test_list", metavar="LIST", help="Wav2Lip-style test list")
    _scoring_arguments(listed)
    listed.add_argument("--checkpoint", metavar="G", help="generator checkpoint (default: the built-in model)")
    listed.add_argument("--data-root", metavar="DIR", help="folder the list's names are relative to")
    listed.add_argument("--list-order", choices=("audio-video", "video-audio"),
                        help="column order (default: from the name; ReSyncED lists are video-audio)")
    listed.set_defaults(func=run_list)

    synthtalk = protocols.add_parser(
        "synthtalk", help="lip-sync SynthTalk clips to another identity's speech, score against the rendered truth",
        description="SynthTalk cross pairs: LSE, lower-face PSNR / SSIM / L1, mouth opening and lip leakage, with "
                    "the rendered truth and the do-nothing input as reference rows.")
    synthtalk.add_argument("corpus", metavar="CORPUS", help="SynthTalk corpus folder (with manifest.jsonl)")
    _scoring_arguments(synthtalk)
    synthtalk.add_argument("--checkpoint", metavar="G", action="append", default=[],
                           help="generator checkpoint, one row each, repeatable (none: only the reference rows)")
    synthtalk.add_argument("--split", default="test", help="corpus split to pair within (default test)")
    synthtalk.add_argument("--pairs", type=int, metavar="N", help="score the first N pairs only (default all)")
    synthtalk.add_argument("--seed", type=int, default=0, help="seed of the pairing (default 0)")
    synthtalk.set_defaults(func=run_synthtalk)

    compare = protocols.add_parser("compare", help="paired comparison of two per-video result files (B - A)")
    compare.add_argument("results", nargs=2, metavar=("A.csv", "B.csv"), help="per-video results of one evaluator")
    compare.add_argument("--out", required=True, help="output folder")
    compare.add_argument("--label", help="evaluator name, when no summary lies beside the files")
    compare.add_argument("--resamples", type=int, default=10000, help="bootstrap resamples (default 10000)")
    compare.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    compare.set_defaults(func=run_compare)

    pairs = protocols.add_parser("pairs", help="write a random audio/video pair list for test clips (paper protocol)")
    pairs.add_argument("folder", metavar="DIR", help="folder of test clips")
    pairs.add_argument("--out", required=True, metavar="LIST", help="pair-list file to write")
    pairs.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    pairs.set_defaults(func=run_pairs)


def _scoring_arguments(parser: argparse.ArgumentParser) -> None:
    """What every scoring protocol takes: the evaluator, where results go, and syncnet_python's options."""
    parser.add_argument("--evaluator", required=True, metavar="CKPT",
                        help="syncnet_v2.model or a SynthTalk evaluator (.safetensors)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--name", default="scores", help="base name of the result files (default: scores)")
    parser.add_argument("--label", help="evaluator name in the tables (default: recorded in the checkpoint)")
    parser.add_argument("--jpeg-roundtrip", action="store_true", help="emulate the JPEG round trip of published numbers")
    parser.add_argument("--vshift", type=int, default=15, help="offsets searched each way (default 15)")
    parser.add_argument("--batch-size", type=int, default=20, help="windows per forward pass (default 20)")
    parser.add_argument("--device", default="cpu", help="torch device for the evaluator and any generator (default cpu)")


def upgrade_legacy_argv(argv: Sequence[str]) -> list[str]:
    """``evaluate --videos DIR ...`` (the flags before subcommands) as ``evaluate videos DIR ...``.

    Prints one deprecation line on stderr when it rewrites anything; other command lines pass unchanged.
    """
    argv = list(argv)
    command = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)  # top-level flags take no values
    if command is None or argv[command] != "evaluate":
        return argv
    at = command + 1
    rest = argv[at:]
    modes = [flag for flag in rest if flag in LEGACY_MODES]
    if not modes or (rest and not rest[0].startswith("-")):  # already a subcommand, or not the old form
        return argv
    flag = modes[0]
    command, count = LEGACY_MODES[flag]
    start = rest.index(flag)
    values = rest[start + 1:start + 1 + count]
    print(f"attnwav2lip evaluate: {flag} is deprecated; use `attnwav2lip evaluate {command} "
          f"{' '.join(values) or '...'} ...`", file=sys.stderr)
    return argv[:at] + [command, *values] + rest[:start] + rest[start + 1 + count:]


def _options(args: argparse.Namespace) -> ScoringOptions:
    return ScoringOptions(vshift=args.vshift, batch_size=args.batch_size, jpeg_roundtrip=args.jpeg_roundtrip)


def run_videos(args: argparse.Namespace) -> int:
    wild = None
    if args.protocol == "wild":
        wild = DetectorConfig(name=args.detector, weights=args.detector_weights, device=args.device)
    summary = evaluate.evaluate_videos(
        args.source, args.evaluator, args.out, _options(args),
        wild=wild, wild_config=WildConfig(min_track=args.min_track, min_face_size=args.min_face_size),
        label=args.label, name=args.name, device=args.device,
    )
    print(_line(args.label or evaluate.evaluator_label(args.evaluator), summary, "face tracks" if wild else "videos"))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..evaluation.lrs_generation import evaluate_generator

    summary = evaluate_generator(
        args.checkpoint, args.test_list, args.evaluator, args.out, _options(args), data_root=args.data_root,
        order=args.list_order, label=args.label, name=args.name, device=args.device,
    )
    print(_line(args.label or evaluate.evaluator_label(args.evaluator), summary, "generated videos"))
    return 0


def run_synthtalk(args: argparse.Namespace) -> int:
    from ..evaluation import synthtalk

    report = synthtalk.score_synthtalk(
        args.corpus, synthtalk.checkpoint_rows(args.checkpoint), args.evaluator, split=args.split,
        pairs=args.pairs, seed=args.seed, work_dir=Path(args.out) / "videos", label=args.label, options=_options(args),
        device=args.device, progress=True,
    )
    report.write(args.out, args.name)
    print(report.markdown())
    return 0


def run_compare(args: argparse.Namespace) -> int:
    label, diffs = evaluate.compare_result_files(
        *args.results, args.out, label=args.label, num_resamples=args.resamples, seed=args.seed
    )
    for d in diffs:
        print(f"LSE ({label}) {d.metric}: {d.mean:+.3f} {d.interval()} over {d.count} videos")
    return 0


def run_pairs(args: argparse.Namespace) -> int:
    pairs = evaluate.draw_random_pairs(args.folder, args.out, args.seed)
    print(f"wrote {len(pairs)} pairs ({list_order(args.out).replace('-', ' ')}) to {args.out}")
    return 0


def _line(label: str, summary: Summary, unit: str) -> str:
    return (
        f"LSE ({label}) over {summary.count} {unit}: LSE-D {summary.lse_d_mean:.3f} +- {summary.lse_d_std:.3f}, "
        f"LSE-C {summary.lse_c_mean:.3f} +- {summary.lse_c_std:.3f}, mean offset {summary.offset_mean:+.2f}"
    )
