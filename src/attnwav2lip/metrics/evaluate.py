"""The scoring runs behind ``attnwav2lip evaluate``: score a set of videos, compare two sets, draw
pairs (generating a test list first is ``attnwav2lip.evaluation.lrs_generation``).

Each run writes its tables into one folder and returns what it wrote, so the CLI stays a thin
layer and notebooks get the same files.
"""

from __future__ import annotations

import csv
import functools
import os
import re
from pathlib import Path

from ..checkpoints import file_provenance, load_model
from ..errors import ConfigError, MediaError
from ..faces import DetectorConfig
from ..progress import progress_of
from ..outputs import make_output_folder
from ..video import probe
from .protocols import Pair, random_pairing, write_pair_list
from .results import compare_results, read_results_csv, write_comparison, write_summary
from .scoring import ScoringOptions, collect_videos, lrs_scorer, score_files
from .stats import PairedDifference, Summary
from .wild import WildConfig, wild_scorer


SYNTHTALK_EVALUATOR = "SynthTalk evaluator"  # the label, and the provenance train-evaluator records
LRS_PROTOCOL = "LRS (whole frames resized to 224x224, no face crop)"
WILD_PROTOCOL = "in the wild (face tracks, syncnet_python crop, one row per track)"
# the clause of a protocol line that says how --test-list made the videos (see ``describe_protocol``)
_GENERATION = re.compile(r", generated from .+?(?=(?:, JPEG round trip)?, vshift -?\d+$)")


def evaluator_label(checkpoint: str | os.PathLike[str]) -> str:
    """The name numbers are reported under, which the two evaluators must never share a table under.

    The file's recorded provenance when it has one (``train-evaluator`` records "SynthTalk
    evaluator"; a syncnet_v2 converted with ``load_model`` / ``save_model`` keeps "syncnet_v2").
    Files saved before provenance was recorded: safetensors are the project's SynthTalk evaluators,
    torch files the original syncnet_v2.
    """
    recorded = file_provenance(checkpoint)
    if recorded is not None:
        return recorded
    return SYNTHTALK_EVALUATOR if Path(checkpoint).suffix == ".safetensors" else "syncnet_v2"


def evaluate_videos(
    source: str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    options: ScoringOptions = ScoringOptions(),
    *,
    wild: DetectorConfig | None = None,
    wild_config: WildConfig = WildConfig(),
    label: str | None = None,
    name: str = "scores",
    device: str = "cpu",
    progress: bool = True,
) -> Summary:
    """Score every video of a folder or list with the evaluator in ``checkpoint``.

    LRS protocol by default (whole frames); with ``wild`` (a face detector config) the in-the-wild
    protocol (face tracks, syncnet crop; one row per track). Writes ``<name>.csv``,
    ``<name>_summary.csv`` and ``<name>_summary.md`` into ``out_dir``.
    """
    items = collect_videos(source)
    evaluator = load_model(checkpoint, kind="evaluator", device=device)
    bar = functools.partial(progress_of, desc="scoring", unit="video") if progress else None
    if wild is None:
        results = score_files(items, lrs_scorer(evaluator, options), bar)
        protocol = LRS_PROTOCOL
    else:
        with wild.create() as detector:
            results = score_files(items, wild_scorer(evaluator, detector, options, wild_config), bar)
        protocol = f"{WILD_PROTOCOL}, {wild.name} detector, tracks > {wild_config.min_track} frames"
    return write_summary(
        make_output_folder(out_dir), results, label or evaluator_label(checkpoint), describe_protocol(protocol, options), name
    )


def compare_result_files(
    first: str | os.PathLike[str],
    second: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    label: str | None = None,
    num_resamples: int = 10000,
    seed: int = 0,
) -> tuple[str, list[PairedDifference]]:
    """Paired per-video differences (second - first) of two per-video CSVs, with bootstrap CIs.

    The evaluator label and protocol are read from each file's ``<name>_summary.csv``; results from
    different evaluators or scored differently are refused. ``label`` is only needed when no
    summary is beside the files.
    """
    if num_resamples < 1:
        raise ConfigError(f"the bootstrap needs at least 1 resample, got {num_resamples}")
    summaries = [_summary_row(first), _summary_row(second)]
    labels = {row["evaluator"] for row in summaries if row and row.get("evaluator")}
    if len(labels) > 1:
        raise ConfigError(f"{first} and {second} come from different evaluators ({' vs '.join(sorted(labels))}); never compare them")
    if labels and label and label not in labels:
        raise ConfigError(f"--label {label!r} contradicts the results' evaluator {labels.pop()!r}")
    label = label or (labels.pop() if labels else None)
    if not label:
        raise ConfigError(f"no summary beside {first}: name the evaluator that produced both files (--label)")
    protocols = [scoring_protocol(row.get("protocol", "")) for row in summaries if row]
    if len(protocols) == 2 and protocols[0] != protocols[1]:
        raise ConfigError(f"{first} and {second} were scored differently ({protocols[0]!r} vs {protocols[1]!r}); never compare them")
    diffs = compare_results(read_results_csv(first), read_results_csv(second), num_resamples, seed)
    write_comparison(make_output_folder(out_dir), diffs, label, _run_names(first, second))
    return label, diffs


def scoring_protocol(protocol: str) -> str:
    """A summary's protocol without how the videos were generated: what must match to compare.

    Two generators evaluated on one test list differ only in that clause, and a generator's output
    scored with ``evaluate videos`` is comparable with one generated by ``evaluate list``.
    """
    return _GENERATION.sub("", protocol)


def _run_names(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> tuple[str, str]:
    """Names for a comparison's title: file stems, else folder names (every run writes scores.csv)."""
    a, b = Path(first), Path(second)
    for names in ((a.stem, b.stem), (a.parent.name, b.parent.name)):
        if names[0] != names[1]:
            return names
    return str(a), str(b)


def _summary_row(results_csv: str | os.PathLike[str]) -> dict[str, str] | None:
    """The row of the summary ``write_summary`` put beside a per-video CSV, if any."""
    path = Path(results_csv)
    summary = path.with_name(f"{path.stem}_summary.csv")
    if not summary.is_file():
        return None
    with open(summary, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return rows[0] if rows else None


def draw_random_pairs(folder: str | os.PathLike[str], out_list: str | os.PathLike[str], seed: int = 0) -> list[Pair]:
    """The paper's protocol for a folder of test clips: each video gets a shorter clip's audio.

    Speech length is each file's duration; names are relative to ``folder``. The list is written
    audio first (Wav2Lip's format), or video first when ``out_list`` has a ReSyncED name
    (``random_pairs.txt``), so that reading it back gives the same pairs.
    """
    durations = {path.name: probe(path).duration for path, _ in collect_videos(folder)}
    pairs = random_pairing(durations, seed)
    if not pairs:
        raise MediaError(f"{folder}: needs at least two clips of different lengths to pair")
    write_pair_list(out_list, pairs)
    return pairs




def describe_protocol(protocol: str, options: ScoringOptions) -> str:
    """The protocol line of a summary: what was scored and how."""
    return protocol + (", JPEG round trip" if options.jpeg_roundtrip else "") + f", vshift {options.vshift}"
