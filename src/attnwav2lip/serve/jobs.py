"""One lip-sync job in a worker thread: progress from the pipeline's hook, cancel, a clean end.

The page's handler stays a plain generator that polls the job, so Gradio can close it at any time
(a cancel, a closed tab) and its ``finally`` cancels the job and removes what it wrote.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .. import LipSyncer, SyncOptions, load_builtin, load_model
from ..errors import ConfigError, MediaError

if TYPE_CHECKING:
    from torch import nn

    from ..lipsync import SyncReport

BUILTIN = "built-in"
SIDE_BY_SIDE_EVERY = 25  # keep one (input, result) frame pair this often for the side-by-side view


class JobCancelled(Exception):
    """Raised inside the pipeline (from its frame hook) to stop a cancelled job."""


class Models:
    """The generators a server offers, each loaded once: the built-in one and its ``--checkpoint`` files."""

    def __init__(self, checkpoints: Sequence[Path] = ()) -> None:
        self._paths = {Path(p).name: Path(p) for p in checkpoints}
        self._loaded: dict[str, nn.Module] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return [BUILTIN, *self._paths]

    def get(self, name: str, upload: str | os.PathLike[str] | None = None) -> tuple["nn.Module", str]:
        """(generator, description for the report); an uploaded file goes through the same safe loader."""
        if upload is not None:
            return load_model(upload, kind="generator"), f"uploaded checkpoint {Path(upload).name}"
        if name != BUILTIN and name not in self._paths:
            raise ConfigError(f"unknown model {name!r}; this server offers {', '.join(self.names)}")
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = (load_builtin("generator") if name == BUILTIN
                                      else load_model(self._paths[name], kind="generator"))
        what = "built-in generator (trained on synthetic faces only)" if name == BUILTIN else f"checkpoint {name}"
        return self._loaded[name], what


@dataclass(frozen=True)
class Progress:
    """Where a job stands: its stage ("detect" until the first frame is generated, then "sync")."""

    stage: str
    frames: int
    fps: float | None  # None until a second batch of frames has come out

    def __str__(self) -> str:
        if self.stage == "detect":
            return "detect: finding the face in every frame"
        return f"sync: {self.frames} frames" + ("" if self.fps is None else f", {self.fps:.1f} frames/s")


class Job:
    """``LipSyncer.sync`` on a thread, in a folder of its own that ``close()`` removes.

    The inputs are linked (or copied) into the folder first, so a time-to-live sweep of the
    uploads cannot pull them from under a running job.
    """

    def __init__(self, generator: "nn.Module", options: SyncOptions, face: str, audio: str | None,
                 text: str | None, folder: Path) -> None:
        self._args = (generator, options, face, audio, text)
        self.folder = folder
        self.out = folder / "result.mp4"
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._frames, self._started = 0, 0.0
        self.pair: tuple[np.ndarray, np.ndarray] | None = None  # an (input, result) frame
        self.report: SyncReport | None = None
        self.error: Exception | None = None
        # the caller's context (Gradio's progress tracker) follows the pipeline's progress bars
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,), daemon=True)

    def start(self) -> Job:
        self.folder.mkdir(parents=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop at the next frame; the pipeline removes its unfinished output."""
        self._cancelled.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job has ended (done, failed or cancelled)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """Cancel (a no-op once ended) and remove the folder when the pipeline lets go of it.

        Returns at once: Gradio may call this from its event loop, which must not wait for a frame.
        """
        self.cancel()
        if self.wait(0):
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            threading.Thread(target=lambda: (self.wait(), shutil.rmtree(self.folder, ignore_errors=True)),
                             daemon=True).start()

    @property
    def progress(self) -> Progress:
        with self._lock:
            frames, started = self._frames, self._started
        if not frames:
            return Progress("detect", 0, None)
        batch = self._args[1].batch_size  # frames come out a batch at a time: rates count from the first
        elapsed = time.perf_counter() - started
        return Progress("sync", frames, (frames - batch) / elapsed if frames > batch and elapsed > 0 else None)

    def _hook(self, i: int, source: np.ndarray, result: np.ndarray) -> None:
        if self._cancelled.is_set():
            raise JobCancelled
        with self._lock:
            self._frames = i + 1
            if self._frames == self._args[1].batch_size:
                self._started = time.perf_counter()
        if i % SIDE_BY_SIDE_EVERY == SIDE_BY_SIDE_EVERY // 2 or self.pair is None:
            self.pair = (source.copy(), result.copy())

    def _run(self) -> None:
        generator, options, face, audio, text = self._args
        try:
            face = self._own(face)
            audio = None if audio is None else self._own(audio)
            self.report = LipSyncer(generator=generator, options=options).sync(face, audio, self.out, text=text,
                                                                              hook=self._hook)
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread, which reports or raises it
            self.error = exc

    def _own(self, path: str) -> str:
        """``path`` hard-linked (same disk) or copied into the job's folder, keeping its name."""
        if not Path(path).is_file():
            raise MediaError(f"{Path(path).name}: the upload has expired on the server; upload it again")
        target = self.folder / Path(path).name
        if target.exists():  # face and speech with the same name
            target = self.folder / f"speech-{target.name}"
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
        return str(target)
