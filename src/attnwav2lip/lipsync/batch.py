"""``sync --batch``: many lip-syncs from one manifest and one loaded model, surviving bad rows and kills.

The manifest is a CSV file with a header row, or JSONL (``.jsonl`` / ``.ndjson``: one object per
line). Each row has ``face``, ``audio`` or ``text``, ``output``, and optionally any ``SyncOptions``
field as a per-row option that overrides the command line (CSV cells: ``0 10 0 0`` for boxes and
pads, ``true``/``false`` for flags; an empty cell keeps the command line's value). ``device`` and
``precision`` belong to the model and are refused per row. Relative paths are relative to the
manifest's folder. Rows are numbered from 1 in file order (the CSV header is not a row).

Every output is written atomically. A status file (JSONL, one writer per shard) gets a
"started" record before a row runs and a "done" or "failed" one after, fsynced; a rerun of the
same command skips rows whose last record is "done" while their output exists, and retries the
rest, so a killed batch resumes where it stopped and never redoes a finished row. A bad row is
recorded with its one-line error and the batch goes on. Shard ``(k, n)`` (k counted from 0, as
``preprocess --shard``) takes rows whose number minus one is k modulo n.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import AttnWav2LipError, ConfigError
from .options import SyncOptions
from ..outputs import same_file

if TYPE_CHECKING:
    from .pipeline import LipSyncer

log = logging.getLogger(__name__)

PATH_COLUMNS = ("face", "audio", "output")
MODEL_OPTIONS = ("device", "precision")  # fixed when the model is loaded: the same for every row
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Row:
    """One manifest row. ``problem`` is set when the row itself is unusable (it fails alone)."""

    number: int
    face: Path | None
    audio: Path | None
    text: str | None
    output: Path | None
    options: dict[str, Any]
    problem: str = ""


@dataclass(frozen=True)
class RowResult:
    number: int
    output: str
    status: str  # done | failed | skipped (done by an earlier run)
    error: str = ""


@dataclass(frozen=True)
class BatchReport:
    """What one shard's run did: a result per row of the shard, in manifest order."""

    results: list[RowResult]
    status_file: Path

    @property
    def failed(self) -> list[RowResult]:
        return [r for r in self.results if r.status == "failed"]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def status_path(manifest: str | os.PathLike[str], shard: tuple[int, int]) -> Path:
    """The default status file of a shard: beside the manifest, one per shard (one writer each)."""
    manifest = Path(manifest)
    return manifest.with_name(f"{manifest.name}.shard-{shard[0]}-of-{shard[1]}.status.jsonl")


def read_batch_manifest(path: str | os.PathLike[str]) -> list[Row]:
    """Every row of a CSV or JSONL manifest. ConfigError when the file itself cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"batch manifest not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"batch manifest {path}: unreadable ({exc})") from None
    records = _jsonl(text) if path.suffix.lower() in JSONL_SUFFIXES else _csv(text, path)
    rows = [_row(number, record, path.parent) for number, record in enumerate(records, start=1)]
    if not rows:
        raise ConfigError(f"batch manifest {path}: no rows")
    _check_outputs(rows, path)
    return rows


def _jsonl(text: str) -> Iterator[dict[str, Any] | str]:
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"not a JSON object ({exc.msg})"
            continue
        yield record if isinstance(record, dict) else "not a JSON object"


def _csv(text: str, path: Path) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "output" not in reader.fieldnames:
        raise ConfigError(f"batch manifest {path}: needs a header row with face, audio or text, and output")
    for record in reader:
        yield {k: v for k, v in record.items() if k is not None and v not in (None, "")}


def _row(number: int, record: dict[str, Any] | str, root: Path) -> Row:
    """A row from its record; what is wrong with it goes into ``problem``."""
    if isinstance(record, str):
        return Row(number, None, None, None, None, {}, record)
    paths = {k: root / str(record[k]) if record.get(k) not in (None, "") else None for k in PATH_COLUMNS}
    text = record.get("text")
    try:
        options = {k: _option(k, v) for k, v in record.items() if k not in (*PATH_COLUMNS, "text") and v is not None}
        if paths["face"] is None or paths["output"] is None:
            raise ConfigError("needs a face and an output")
        if (paths["audio"] is None) == (text is None):
            raise ConfigError("needs exactly one of audio and text")
    except ConfigError as exc:
        return Row(number, paths["face"], paths["audio"], text, paths["output"], {}, str(exc))
    return Row(number, paths["face"], paths["audio"], None if text is None else str(text), paths["output"], options)


def _option(name: str, value: Any) -> Any:
    """A per-row option as SyncOptions takes it (CSV gives strings; JSON may give lists)."""

    kinds = {f.name: str(f.type) for f in dataclasses.fields(SyncOptions)}
    if name not in kinds or name in MODEL_OPTIONS or name == "progress":
        raise ConfigError(f"unknown per-row option {name!r}" if name not in kinds
                          else f"{name} applies to the whole batch, not to one row")
    kind = kinds[name]
    try:
        if kind.startswith("tuple"):
            parts = value.replace(",", " ").split() if isinstance(value, str) else list(value)
            return tuple(int(v) for v in parts)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).strip().lower() in _TRUE + _FALSE:
                return str(value).strip().lower() in _TRUE
            raise ValueError(value)
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"option {name}: cannot read {value!r} as {kind}") from None


def _check_outputs(rows: list[Row], manifest: Path) -> None:
    """Refuse a manifest whose rows would overwrite each other's outputs or inputs."""

    seen: dict[str, int] = {}
    inputs = [(r.number, p) for r in rows for p in (r.face, r.audio) if p is not None]
    for row in rows:
        if row.output is None:
            continue
        key = os.path.realpath(row.output)
        if key in seen:
            raise ConfigError(f"batch manifest {manifest}: rows {seen[key]} and {row.number} both write {row.output}")
        seen[key] = row.number
        for number, source in inputs:
            if same_file(row.output, source):
                raise ConfigError(f"batch manifest {manifest}: row {row.number} writes {row.output}, "
                                  f"which row {number} reads")


class StatusFile:
    """The per-shard status log: append-only JSONL, each record fsynced before the work it announces."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last: dict[int, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # the torn last line of a killed run
                    continue
                self.last[int(record["row"])] = record

    def finished(self, row: Row) -> bool:
        """Done by an earlier run, and its output is still there."""
        record = self.last.get(row.number)
        return (record is not None and record["status"] == "done" and row.output is not None
                and record["output"] == str(row.output) and row.output.is_file())

    def record(self, row: Row, status: str, **extra: Any) -> None:
        entry = {"row": row.number, "output": str(row.output), "status": status, "pid": os.getpid(),
                 "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **extra}
        try:
            with self.path.open("a", encoding="utf-8") as file:
                file.write(json.dumps(entry) + "\n")
                file.flush()
                os.fsync(file.fileno())
        except OSError as exc:
            raise ConfigError(f"cannot write the batch status file {self.path}: {exc.strerror}") from None
        self.last[row.number] = entry


def run_batch(
    manifest: str | os.PathLike[str],
    syncer: "LipSyncer",
    *,
    shard: tuple[int, int] = (0, 1),
    status: str | os.PathLike[str] | None = None,
) -> BatchReport:
    """Run this shard's rows of ``manifest`` with ``syncer`` (its model loaded once, its options the
    defaults of every row). Bad rows fail alone; see the module docstring for resuming."""
    index, count = shard
    if not 0 <= index < count:
        raise ConfigError(f"--shard {index}/{count}: expected K/N with 0 <= K < N (K counts from 0)")
    rows = [r for r in read_batch_manifest(manifest) if (r.number - 1) % count == index]
    log_file = StatusFile(Path(status) if status is not None else status_path(manifest, shard))
    results = []
    for row in rows:
        if log_file.finished(row):
            results.append(RowResult(row.number, str(row.output), "skipped"))
            continue
        log_file.record(row, "started")
        error = row.problem or _sync_row(syncer, row)
        log_file.record(row, "failed" if error else "done", **({"error": error} if error else {}))
        results.append(RowResult(row.number, str(row.output), "failed" if error else "done", error))
        if error:
            log.warning("row %d failed: %s", row.number, error)
    return BatchReport(results, log_file.path)


def _sync_row(syncer: "LipSyncer", row: Row) -> str:
    """Run one row; its error in one line, or "" when it succeeded. A bug fails its row, not the batch
    (thousands of clips), but keeps its traceback in the log."""
    try:
        row_syncer = copy.copy(syncer)  # shares the loaded generator
        row_syncer.options = dataclasses.replace(syncer.options, **row.options)
        row_syncer.sync(row.face, row.audio, row.output, text=row.text)  # type: ignore[arg-type]
    except AttnWav2LipError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.exception("row %d: internal error", row.number)
        return f"internal error: {type(exc).__name__}: {exc}"
    return ""
