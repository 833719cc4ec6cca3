"""Pipeline stages in threads (lipsync.stages): order, errors raised in the caller as they were, no thread left."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import pytest

from attnwav2lip.errors import ConfigError, MediaError
from attnwav2lip.lipsync.stages import THREAD_PREFIX, Stages


def stage_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


class Counting:
    """An iterator of 0, 1, 2, ... (``fail_at``: raise MediaError there) that records where it ran and its close."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.closed = False
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        try:
            for i in range(self.n):
                self.threads.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise MediaError(f"bad frame {i}")
                yield i
        finally:
            self.closed = True


@pytest.mark.parametrize("enabled", [True, False])
def test_items_pass_in_order_through_both_sides(enabled: bool) -> None:
    source, seen = Counting(50), []
    with Stages(enabled) as stages:
        give = stages.behind(seen.append, 2, "out")
        for item in stages.ahead(iter(source), 2, "in"):
            give(item * 10)
    assert seen == [10 * i for i in range(50)] and source.closed
    assert (source.threads == {threading.current_thread().name}) != enabled
    assert stage_threads() == []


@pytest.mark.parametrize("enabled", [True, False])
def test_a_producer_error_is_raised_in_the_caller_as_it_was(enabled: bool) -> None:
    source, seen = Counting(50, fail_at=7), []
    with pytest.raises(MediaError, match="^bad frame 7$"):
        with Stages(enabled) as stages:
            give = stages.behind(seen.append, 2, "out")
            for item in stages.ahead(iter(source), 2, "in"):
                give(item)
    assert seen == list(range(len(seen))) and len(seen) <= 7 and source.closed
    assert stage_threads() == []


@pytest.mark.parametrize("enabled", [True, False])
def test_a_consumer_error_stops_a_producer_blocked_on_its_full_queue(enabled: bool) -> None:
    source = Counting(10_000)

    def consume(item: int) -> None:
        if item == 5:
            raise ConfigError("hook refused frame 5")

    with pytest.raises(ConfigError, match="frame 5"):
        with Stages(enabled) as stages:
            give = stages.behind(consume, 2, "out")
            for item in stages.ahead(iter(source), 2, "in"):
                give(item)
    assert source.closed and stage_threads() == []


def test_an_error_in_the_last_items_is_raised_when_the_block_ends() -> None:
    def consume(item: int) -> None:
        time.sleep(0.01)
        if item == 3:
            raise ConfigError("the last one")

    with pytest.raises(ConfigError, match="the last one"):
        with Stages() as stages:
            give = stages.behind(consume, 8, "out")
            for item in range(4):
                give(item)  # all four queued before the consumer reaches the bad one
    assert stage_threads() == []


def test_the_callers_own_exception_stops_every_thread_promptly() -> None:
    """Ctrl-C (KeyboardInterrupt in the caller) while the producer waits on a full queue and the consumer on an empty one."""
    source = Counting(10_000)
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        with Stages() as stages:
            stages.behind(lambda item: None, 2, "out")
            items = stages.ahead(iter(source), 2, "in")
            next(items)
            time.sleep(0.2)  # the producer fills its queue and blocks
            raise KeyboardInterrupt
    assert time.perf_counter() - start < 2.0
    assert source.closed and stage_threads() == []
