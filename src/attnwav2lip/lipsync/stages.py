"""Pipeline stages in background threads, joined to the caller by bounded queues (docs/sync.md).

``sync`` decodes, crops, generates, blends and encodes; PyAV, OpenCV and torch release the GIL in
their heavy parts, so a stage in its own thread runs while the caller's thread runs another. One
class serves both passes: ``ahead`` runs an iterator in a thread a few items ahead of the caller,
``behind`` runs a consumer in a thread a few items behind it. Items cross in order, so state that
a stage updates item by item (reference anchors, the loop's frame cache) changes in the same order
as without threads.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from types import TracebackType
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

POLL_S = 0.05  # how often a thread blocked on a queue looks whether the run has stopped
THREAD_PREFIX = "attnwav2lip-stage"  # names of the stage threads (tests look for leftovers by it)
_END = object()  # the last item of a queue


class _Stopped(Exception):
    """Raised inside a stage thread when the run stops (another thread failed, or the caller left)."""


class Stages:
    """Background threads for parts of a pipeline, started by ``ahead`` and ``behind``, inside ``with``.

    The first error in a stage thread stops every thread and is raised in the caller, at its next
    exchange with a stage, as the very exception object (type, message and traceback kept); an
    exception leaving the ``with`` block (Ctrl-C and SIGTERM included) stops every thread first.
    When the block ends, every thread has ended: none is left running or blocked on a full queue.
    ``enabled=False`` runs the same stages in the caller's thread, one after the other: the path
    to compare against and to debug with.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._owner = threading.current_thread()
        self._threads: list[threading.Thread] = []
        self._consumers: list[tuple[queue.Queue[object], threading.Thread]] = []
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                for inbox, thread in self._consumers:  # consumers finish what they were given
                    self._put(inbox, _END)
                    thread.join()
        finally:
            self._stop.set()
            for thread in self._threads:
                thread.join()
        if exc_type is None and self._error is not None:
            raise self._error

    def ahead(self, items: Iterable[T], depth: int, name: str) -> Iterator[T]:
        """``items``, produced in a thread up to ``depth`` items ahead of the caller."""
        if not self.enabled:
            return iter(items)
        outbox: queue.Queue[object] = queue.Queue(depth)

        def produce() -> None:
            iterator = iter(items)
            try:
                for item in iterator:
                    self._put(outbox, item)
                self._put(outbox, _END)
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:  # a generator's cleanup (files, decoders) runs here, in its thread
                    close()

        self._start(produce, name)
        return self._drain(outbox)

    def behind(self, consume: Callable[[T], None], depth: int, name: str) -> Callable[[T], None]:
        """A function that hands its argument to ``consume``, run in a thread up to ``depth`` items behind."""
        if not self.enabled:
            return consume
        inbox: queue.Queue[object] = queue.Queue(depth)

        def run() -> None:
            for item in self._drain(inbox):
                consume(item)  # type: ignore[arg-type]  # items are what the caller put

        self._consumers.append((inbox, self._start(run, name)))
        return functools.partial(self._put, inbox)

    def _start(self, work: Callable[[], None], name: str) -> threading.Thread:
        def body() -> None:
            try:
                work()
            except _Stopped:
                pass
            except BaseException as error:  # noqa: BLE001 - handed to the caller, who raises it
                with self._lock:
                    if self._error is None:
                        self._error = error
                    else:
                        log.debug("%s also failed after the run stopped: %r", name, error)
                self._stop.set()

        thread = threading.Thread(target=body, name=f"{THREAD_PREFIX}-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _check(self) -> None:
        """Raise if the run has stopped: the stage's error in the caller, ``_Stopped`` in a stage thread."""
        if not self._stop.is_set():
            return
        if threading.current_thread() is self._owner and self._error is not None:
            raise self._error
        raise _Stopped

    def _put(self, box: queue.Queue[object], item: object) -> None:
        while True:
            self._check()
            try:
                box.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def _drain(self, box: queue.Queue[object]) -> Iterator[T]:
        while True:
            self._check()
            try:
                item = box.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if item is _END:
                return
            yield item  # type: ignore[misc]
