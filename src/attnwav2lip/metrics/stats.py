"""Test-set aggregation as Wav2Lip does it (each video counts once) and paired comparisons.

LSE-D and LSE-C of a set = arithmetic means over videos (Wav2Lip's ``evaluation/scores_LSE/calculate_scores_LRS.py``). Two result sets
scored on the same videos are compared per video: the mean of the per-video differences with a
percentile bootstrap 95% interval, because a difference of means over ~1000 clips hides how
consistent the change is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class Summary:
    """One result set. Standard deviations are over videos (ddof = 1; 0 for a single video)."""

    count: int
    lse_d_mean: float
    lse_d_std: float
    lse_c_mean: float
    lse_c_std: float
    offset_mean: float


MIN_PAIRS = 2  # fewer pairs give no bootstrap interval


@dataclass(frozen=True)
class PairedDifference:
    """Mean of per-video ``b - a`` with its bootstrap confidence interval.

    ``low`` and ``high`` are NaN for a single pair: resampling one value only returns it, and a
    zero-width interval would claim a certainty one pair cannot give.
    """

    metric: str
    count: int
    mean: float
    low: float
    high: float
    confidence: float

    def interval(self, digits: int = 3) -> str:
        """The interval as tables print it, or why there is none."""
        if self.count < MIN_PAIRS:
            return f"n/a (needs >= {MIN_PAIRS} pairs)"
        return f"[{self.low:+.{digits}f}, {self.high:+.{digits}f}] ({self.confidence:.0%})"


def summarize(lse_d: Sequence[float], lse_c: Sequence[float], offsets: Sequence[int]) -> Summary:
    """Mean, std, count and mean AV offset of per-video scores."""
    d, c, o = (np.asarray(v, dtype=np.float64) for v in (lse_d, lse_c, offsets))
    if not len(d) == len(c) == len(o):
        raise ValueError("lse_d, lse_c and offsets must have one value per video")
    if len(d) == 0:
        raise ValueError("no scores to summarize")
    ddof = 1 if len(d) > 1 else 0
    return Summary(len(d), float(d.mean()), float(d.std(ddof=ddof)), float(c.mean()), float(c.std(ddof=ddof)), float(o.mean()))


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    metric: str = "",
    num_resamples: int = 10000,
    confidence: float = 0.95,
    seed: int = 0,
    groups: Sequence[Hashable] | None = None,
) -> PairedDifference:
    """Mean per-video difference ``b - a`` with a percentile bootstrap interval over videos.

    ``groups`` labels units that share a source of variation (e.g. the training seed of the two
    models compared): the resampling then draws groups with replacement and units within each drawn
    group (a two-level bootstrap), so the interval includes the spread between groups instead of
    treating every unit as independent. With a single pair the bounds are NaN (see
    ``PairedDifference``).
    """
    first, second = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if first.ndim != 1 or first.shape != second.shape or len(first) == 0:
        raise ValueError(f"paired scores must be two equally long, non-empty sequences (got {first.shape} and {second.shape})")
    if num_resamples < 1:
        raise ConfigError(f"num_resamples must be at least 1, got {num_resamples}")
    diff = second - first
    if groups is not None and len(groups) != len(diff):
        raise ValueError(f"groups must label every pair: {len(groups)} labels for {len(diff)} pairs")
    if len(diff) < MIN_PAIRS:
        return PairedDifference(metric, len(diff), float(diff.mean()), math.nan, math.nan, confidence)
    rng = np.random.default_rng(seed)
    means = _two_level_means(diff, groups, num_resamples, rng) if groups is not None else \
        _resampled_means(diff, num_resamples, rng)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return PairedDifference(metric, len(diff), float(diff.mean()), float(low), float(high), confidence)


def _resampled_means(values: np.ndarray, num_resamples: int, rng: np.random.Generator) -> np.ndarray:
    means = np.empty(num_resamples)
    for start in range(0, num_resamples, 1000):  # bounded memory for large sets
        stop = min(num_resamples, start + 1000)
        means[start:stop] = values[rng.integers(0, len(values), (stop - start, len(values)))].mean(1)
    return means


def _two_level_means(values: np.ndarray, groups: Sequence[Hashable], num_resamples: int,
                     rng: np.random.Generator) -> np.ndarray:
    labels = list(dict.fromkeys(groups))
    members = [values[[i for i, g in enumerate(groups) if g == label]] for label in labels]
    means = np.empty(num_resamples)
    for r in range(num_resamples):
        drawn = [members[k] for k in rng.integers(0, len(members), len(members))]
        means[r] = np.concatenate([m[rng.integers(0, len(m), len(m))] for m in drawn]).mean()
    return means
