"""Wav2Lip's test-list protocol end to end: generate every pair of a list with ``LipSyncer``, then
score the results as ``attnwav2lip evaluate videos`` would (LRS protocol)."""

from __future__ import annotations

import os
from pathlib import Path

from ..checkpoints import load_model
from ..errors import AttnWav2LipError
from ..lipsync import LipSyncer, SyncOptions
from ..metrics.evaluate import LRS_PROTOCOL, describe_protocol, evaluator_label
from ..outputs import make_output_folder
from ..metrics.protocols import ListOrder, read_pair_list, resolve_media
from ..metrics.results import write_summary
from ..metrics.scoring import ScoringOptions, VideoResult, lrs_scorer, score_files
from ..metrics.stats import Summary
from ..progress import progress_of


def evaluate_generator(
    checkpoint: str | os.PathLike[str] | None,
    test_list: str | os.PathLike[str],
    evaluator_checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    options: ScoringOptions = ScoringOptions(),
    *,
    data_root: str | os.PathLike[str] | None = None,
    order: ListOrder | None = None,
    sync_options: SyncOptions | None = None,
    label: str | None = None,
    name: str = "scores",
    device: str = "cpu",
    progress: bool = True,
) -> Summary:
    """Generate every pair of a test list with ``LipSyncer``, then score the results (LRS protocol).

    Output ``<out_dir>/videos/<line index>.mp4`` as Wav2Lip's ``gen_videos_from_filelist.py``;
    each is scored against its pair's original audio file (not the re-encoded AAC track). A pair
    that cannot be generated (missing file, no face, ...) becomes an error row. ``device`` runs the
    generator too (unless ``sync_options`` is given), so ``--device cpu`` never reaches a GPU.
    """
    pairs = read_pair_list(test_list, order)
    root = Path(data_root) if data_root is not None else Path(test_list).parent
    videos = make_output_folder(Path(out_dir) / "videos")
    syncer = LipSyncer(checkpoint, sync_options or SyncOptions(progress=False, device=device, precision="fp32"))
    evaluator = load_model(evaluator_checkpoint, kind="evaluator", device=device)
    scorer = lrs_scorer(evaluator, options)
    results: list[VideoResult] = []
    for index, pair in enumerate(progress_of(pairs, show=progress, desc="generating + scoring", unit="video")):
        target = videos / f"{index}.mp4"
        try:
            audio = resolve_media(pair.audio, root)
            syncer.sync(resolve_media(pair.video, root), audio, target)
        except AttnWav2LipError as exc:
            results.append(VideoResult(str(target), error=str(exc)))
            continue
        results += score_files([(target, audio)], scorer)
    generator = Path(checkpoint).name if checkpoint else "the built-in generator"
    protocol = describe_protocol(f"{LRS_PROTOCOL}, generated from {Path(test_list).name} with {generator}", options)
    return write_summary(make_output_folder(out_dir), results, label or evaluator_label(evaluator_checkpoint), protocol, name)
