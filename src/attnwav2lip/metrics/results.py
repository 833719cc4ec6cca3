"""Results on disk: the per-video CSV, the set summary (markdown + CSV), paired comparisons.

Every table names the evaluator it came from ("LSE (syncnet_v2)", "LSE (SynthTalk evaluator)"):
numbers from different evaluators are not comparable and must never share a table.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from dataclasses import astuple, fields
from pathlib import Path
from typing import Sequence

from ..errors import MediaError
from ..fileio import write_text_atomic
from .scoring import VideoResult
from .stats import PairedDifference, Summary, paired_bootstrap, summarize

log = logging.getLogger(__name__)

RESULT_FIELDS = tuple(f.name for f in fields(VideoResult))
METRICS = ("lse_d", "lse_c")


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_results_csv(path: str | os.PathLike[str], results: Sequence[VideoResult]) -> None:
    """One row per video: video, lse_d, lse_c, offset, num_windows, error."""
    write_text_atomic(path, csv_text(RESULT_FIELDS, [astuple(r) for r in results]))


def read_results_csv(path: str | os.PathLike[str]) -> list[VideoResult]:
    """Read a file written by ``write_results_csv``."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise MediaError(f"results file not found: {path}") from None
    if rows and set(rows[0]) != set(RESULT_FIELDS):
        raise MediaError(f"{path}: not a per-video results CSV (expected columns {', '.join(RESULT_FIELDS)})")
    return [
        VideoResult(r["video"], float(r["lse_d"]), float(r["lse_c"]), int(r["offset"]), int(r["num_windows"]), r["error"])
        for r in rows
    ]


def summarize_results(results: Sequence[VideoResult]) -> Summary:
    """Summary over the rows that were scored: videos, or face tracks under the in-the-wild protocol
    (failures are counted separately by the caller)."""
    ok = [r for r in results if r.ok]
    if not ok:
        raise MediaError("no video could be scored")
    return summarize([r.lse_d for r in ok], [r.lse_c for r in ok], [r.offset for r in ok])


def write_summary(
    folder: str | os.PathLike[str], results: Sequence[VideoResult], label: str, protocol: str, name: str = "scores"
) -> Summary:
    """Write ``<name>.csv`` (per video), ``<name>_summary.csv`` and ``<name>_summary.md``; return the summary.

    When nothing could be scored, the per-video errors are still written and an earlier run's
    summaries are removed before raising: a summary beside the new scores would describe another run.
    """
    folder = Path(folder)
    write_results_csv(folder / f"{name}.csv", results)
    _log_failures(results, folder / f"{name}.csv")
    try:
        summary = summarize_results(results)
    except MediaError:
        for stale in (folder / f"{name}_summary.csv", folder / f"{name}_summary.md"):
            stale.unlink(missing_ok=True)
        raise
    failed = sum(not r.ok for r in results)
    header = ["evaluator", "protocol", *(f.name for f in fields(Summary)), "failed"]
    write_text_atomic(folder / f"{name}_summary.csv", csv_text(header, [[label, protocol, *astuple(summary), failed]]))
    lines = [
        f"# LSE ({label})",
        "",
        f"Protocol: {protocol}. Each row of {name}.csv (a video, or a face track in the wild) counts once; std over rows.",
        "",
        "| rows | failed | LSE-D mean | LSE-D std | LSE-C mean | LSE-C std | mean AV offset |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.count} | {failed} | {summary.lse_d_mean:.3f} | {summary.lse_d_std:.3f} | "
        f"{summary.lse_c_mean:.3f} | {summary.lse_c_std:.3f} | {summary.offset_mean:+.2f} |",
    ]
    errors = [r for r in results if not r.ok]
    if errors:
        lines += ["", "Not scored:", "", *(f"- {r.video}: {r.error}" for r in errors)]
    write_text_atomic(folder / f"{name}_summary.md", "\n".join(lines) + "\n")
    return summary


def _log_failures(results: Sequence[VideoResult], table: Path) -> None:
    """Say on the terminal, not only in the table, which rows could not be scored and why."""
    errors = [r for r in results if not r.ok]
    if errors:
        log.warning("warning: %d of %d rows could not be scored (also in %s):", len(errors), len(results), table)
        for r in errors:
            log.warning("  %s: %s", r.video, r.error)


def compare_results(
    a: Sequence[VideoResult], b: Sequence[VideoResult], num_resamples: int = 10000, seed: int = 0
) -> list[PairedDifference]:
    """Per-video ``b - a`` for LSE-D and LSE-C over the videos both sets scored, matched by file name."""
    left, right = _by_name(a), _by_name(b)
    common = sorted(set(left) & set(right))
    if not common:
        raise MediaError("the two result sets share no scored video (videos are matched by file name)")
    return [
        paired_bootstrap(
            [getattr(left[n], m) for n in common], [getattr(right[n], m) for n in common], m, num_resamples, seed=seed
        )
        for m in METRICS
    ]


def _by_name(results: Sequence[VideoResult]) -> dict[str, VideoResult]:
    table: dict[str, VideoResult] = {}
    for r in results:
        if not r.ok or math.isnan(r.lse_d):
            continue
        key = Path(r.video).name
        if key in table:
            raise MediaError(f"two scored videos share the file name {key}: cannot pair results by name")
        table[key] = r
    return table


def write_comparison(
    folder: str | os.PathLike[str], diffs: Sequence[PairedDifference], label: str, names: tuple[str, str], name: str = "comparison"
) -> None:
    """Write ``<name>.csv`` and ``<name>.md``: mean per-video difference (second - first) and its CI."""
    folder = Path(folder)
    header = ["evaluator", "metric", "videos", "mean_difference", "ci_low", "ci_high", "confidence"]
    rows = [[label, d.metric, d.count, d.mean, d.low, d.high, d.confidence] for d in diffs]
    write_text_atomic(folder / f"{name}.csv", csv_text(header, rows))
    lines = [
        f"# LSE ({label}): {names[1]} minus {names[0]}, paired per video",
        "",
        "| metric | videos | mean difference | bootstrap CI |",
        "|---|---:|---:|---:|",
        *(
            f"| {'LSE-D' if d.metric == 'lse_d' else 'LSE-C'} | {d.count} | {d.mean:+.3f} | {d.interval()} |"
            for d in diffs
        ),
        "",
        "Lower LSE-D and higher LSE-C are better.",
    ]
    write_text_atomic(folder / f"{name}.md", "\n".join(lines) + "\n")
