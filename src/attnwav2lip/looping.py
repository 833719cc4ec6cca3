"""How an output longer than its source video repeats the source: one schedule for ``sync``, the
SynthTalk truth and the do-nothing baseline, so all three show the same source frame at each step."""

from __future__ import annotations

from typing import Literal

import numpy as np

Loop = Literal["pingpong", "forward"]
LOOPS: tuple[Loop, ...] = ("pingpong", "forward")


def loop_schedule(num_output: int, num_source: int, loop: Loop = "pingpong") -> np.ndarray:
    """Source frame index for each output frame: play through, then repeat.

    "pingpong" runs 0..n-1, n-2..1, 0..n-1, ... (no jump); "forward" restarts at 0.
    """
    i = np.arange(num_output)
    if num_source <= 1:
        return np.zeros(num_output, np.int64)
    if loop == "forward":
        return i % num_source
    k = i % (2 * num_source - 2)
    return np.where(k < num_source, k, 2 * num_source - 2 - k)
