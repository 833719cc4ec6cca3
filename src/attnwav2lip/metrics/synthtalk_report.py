"""SynthTalk cross-pair results: per-pair scores of every row, summaries, paired comparisons, tables.

Rows: each generator, plus three reference rows scored the same way (``attnwav2lip.evaluation.synthtalk``
explains them): "ground truth" (the codec's ceiling), "truth at 96 px" (the best a 96-px generator
can do) and "input (do nothing)" (the floor).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..fileio import write_text_atomic
from .results import csv_text
from .stats import PairedDifference, paired_bootstrap

GROUND_TRUTH = "ground truth"
TRUTH_AT_FACE_SIZE = "truth at 96 px"
INPUT = "input (do nothing)"
REFERENCE_ROWS = (GROUND_TRUTH, TRUTH_AT_FACE_SIZE, INPUT)
#: per-pair metrics, in table order; the arrow says which way is better
METRICS: tuple[tuple[str, str, str], ...] = (
    ("lse_d", "LSE-D", "lower"), ("lse_c", "LSE-C", "higher"), ("offset", "offset", ""),
    ("psnr", "PSNR dB", "higher"), ("ssim", "SSIM", "higher"), ("l1", "L1", "lower"), ("mouth_l1", "mouth L1", "lower"),
    ("opening_corr", "opening r", "higher"), ("silent_opening_error", "silent opening err", "lower"),
    ("source_lse_c", "source LSE-C", "lower"),
)
METRIC_NAMES = tuple(name for name, _, _ in METRICS)


@dataclass(frozen=True)
class CrossPair:
    """Pair ``index``: clip ``source``'s video (identity, motion) driven by clip ``driving``'s audio."""

    index: int
    source: str
    driving: str


@dataclass(frozen=True)
class PairScores:
    """One row's scores on one pair; a pair that could not be generated or scored keeps its error."""

    row: str
    pair: int
    source: str
    driving: str
    frames: int = 0
    lse_d: float = math.nan
    lse_c: float = math.nan
    offset: float = math.nan
    psnr: float = math.nan
    ssim: float = math.nan
    l1: float = math.nan
    mouth_l1: float = math.nan
    opening_corr: float = math.nan
    silent_opening_error: float = math.nan
    source_lse_c: float = math.nan
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class MetricSummary:
    """Mean and std (ddof 1; 0 for one value) over the pairs where the metric is defined."""

    mean: float
    std: float
    count: int


@dataclass(frozen=True)
class SynthTalkReport:
    """Everything one run scored: rows in table order, each with one ``PairScores`` per pair."""

    label: str
    protocol: str
    pairs: tuple[CrossPair, ...]
    results: Mapping[str, list[PairScores]]

    @property
    def rows(self) -> tuple[str, ...]:
        return tuple(self.results)

    @property
    def generators(self) -> tuple[str, ...]:
        return tuple(r for r in self.results if r not in REFERENCE_ROWS)

    def summary(self, row: str) -> dict[str, MetricSummary]:
        """Per metric: mean, std and count over the pairs of ``row`` where it is a number."""
        return {name: _summarize([getattr(s, name) for s in self.results[row] if s.ok]) for name in METRIC_NAMES}

    def compare(self, first: str | Sequence[str], second: str | Sequence[str], num_resamples: int = 10000,
                seed: int = 0) -> list[PairedDifference]:
        """Per-pair ``second - first`` for every metric, with a percentile bootstrap 95% CI.

        Either side may be several rows (e.g. checkpoints 500 steps apart of one run), scored by
        their per-pair mean: one checkpoint's lip-sync scores can differ from the next one's by
        more than two recipes differ (docs/training_synthtalk.md), and the interval over pairs does not see that.
        """
        left_rows, right_rows = ([rows] if isinstance(rows, str) else list(rows) for rows in (first, second))
        if not left_rows or not right_rows:
            raise ConfigError("compare needs at least one row on each side")
        split, out = len(left_rows), []
        for name in METRIC_NAMES:
            usable = []
            for scores in zip(*(self.results[row] for row in left_rows + right_rows)):
                values = np.array([getattr(s, name) if s.ok else math.nan for s in scores])
                if np.isfinite(values).all():
                    usable.append((values[:split].mean(), values[split:].mean()))
            if usable:
                left, right = zip(*usable)
                out.append(paired_bootstrap(left, right, name, num_resamples, seed=seed))
        return out

    def write(self, folder: str | os.PathLike[str], name: str = "synthtalk") -> list[Path]:
        """Write ``<name>.csv`` (per pair and row), ``<name>_summary.csv`` / ``.md`` (one line per row)
        and, with two or more generators, ``<name>_comparison.csv`` / ``.md`` (each generator minus
        the first, paired per pair). Returns the paths written."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / f"{name}.csv", folder / f"{name}_summary.csv", folder / f"{name}_summary.md"]
        columns = [f.name for f in fields(PairScores)]
        rows = [[getattr(s, c) for c in columns] for scores in self.results.values() for s in scores]
        write_text_atomic(written[0], csv_text(columns, rows))
        summaries = {row: self.summary(row) for row in self.rows}
        header = ["row", "evaluator", "pairs", "failed"] + [f"{m}_{k}" for m in METRIC_NAMES for k in ("mean", "std", "count")]
        lines = [[row, self.label, len(self.results[row]), self._failed(row)]
                 + [v for m in METRIC_NAMES for v in _values(summaries[row][m])] for row in self.rows]
        write_text_atomic(written[1], csv_text(header, lines))
        write_text_atomic(written[2], self.markdown())
        base, *others = self.generators or ("",)
        if others:
            diffs = {other: self.compare(base, other) for other in others}
            written += [folder / f"{name}_comparison.csv", folder / f"{name}_comparison.md"]
            header = ["evaluator", "first", "second", "metric", "pairs", "mean_difference", "ci_low", "ci_high", "confidence"]
            table = [[self.label, base, other, d.metric, d.count, d.mean, d.low, d.high, d.confidence]
                     for other, ds in diffs.items() for d in ds]
            write_text_atomic(written[3], csv_text(header, table))
            write_text_atomic(written[4], self._comparison_markdown(base, diffs))
        return written

    def _failed(self, row: str) -> int:
        return sum(not s.ok for s in self.results[row])

    def markdown(self) -> str:
        """The Table-1-style summary: one line per row, mean ± std over pairs."""
        titles = [f"{title} {'↓' if better == 'lower' else '↑' if better else ''}".strip() for _, title, better in METRICS]
        lines = [
            f"# SynthTalk cross pairs, LSE ({self.label})", "",
            f"Protocol: {self.protocol}.", "",
            "Mean ± std over pairs. LSE against the driving audio; PSNR / SSIM / L1 of the lower face against "
            "the rendered truth, mouth L1 of its mouth strip; truth at 96 px: the truth through the generator's "
            "96 px and sync's blend, the best a 96-px generator can score; opening r: correlation of the measured mouth opening with the truth's; "
            "leakage: silent opening err (mouth open where the driving audio is silent) and source LSE-C "
            "(sync with the source clip's own audio).", "",
            "| row | pairs | failed | " + " | ".join(titles) + " |",
            "|---|---:|---:|" + "---:|" * len(METRICS),
        ]
        for row in self.rows:
            summary = self.summary(row)
            cells = [_cell(name, summary[name]) for name in METRIC_NAMES]
            lines.append(f"| {row} | {len(self.results[row])} | {self._failed(row)} | " + " | ".join(cells) + " |")
        errors = [s for scores in self.results.values() for s in scores if not s.ok]
        if errors:
            lines += ["", "Not scored:", "", *(f"- {s.row}, pair {s.pair} ({s.source} <- {s.driving}): {s.error}" for s in errors)]
        return "\n".join(lines) + "\n"

    def _comparison_markdown(self, base: str, diffs: Mapping[str, list[PairedDifference]]) -> str:
        lines = [f"# SynthTalk cross pairs, LSE ({self.label}): paired per pair, minus {base}", ""]
        for other, ds in diffs.items():
            lines += [f"## {other} minus {base}", "", "| metric | pairs | mean difference | bootstrap CI |", "|---|---:|---:|---:|"]
            titles = {name: title for name, title, _ in METRICS}
            lines += [f"| {titles[d.metric]} | {d.count} | {d.mean:+.4f} | {d.interval(4)} |"
                      for d in ds]
            lines.append("")
        return "\n".join(lines)


def _values(summary: MetricSummary) -> tuple[float, float, int]:
    return summary.mean, summary.std, summary.count


def _summarize(values: Sequence[float]) -> MetricSummary:
    kept = np.array([v for v in values if not math.isnan(v)], dtype=np.float64)
    if not len(kept):
        return MetricSummary(math.nan, math.nan, 0)
    if np.isinf(kept).any():
        return MetricSummary(float(kept.mean()), math.nan, len(kept))
    return MetricSummary(float(kept.mean()), float(kept.std(ddof=1 if len(kept) > 1 else 0)), len(kept))


def _cell(name: str, summary: MetricSummary) -> str:
    if not summary.count:
        return "-"
    digits = 2 if name in ("psnr", "offset") else 3
    std = "" if math.isnan(summary.std) else f" ± {summary.std:.{digits}f}"
    sign = "+" if name == "offset" else ""
    return f"{summary.mean:{sign}.{digits}f}{std}"
