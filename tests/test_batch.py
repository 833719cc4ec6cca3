"""`sync --batch`: resumable after a kill, bad rows fail alone, shards cover the manifest once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip.lipsync.batch import read_batch_manifest, status_path
from attnwav2lip.cli import main
from attnwav2lip.errors import ConfigError
from attnwav2lip.video import probe, write_video
from media_files import write_wav

BOX = ["--box", "8", "56", "8", "56"]
SRC = str(Path(__file__).resolve().parents[1] / "src")


def _wav(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * 16000)) / 16000
    return write_wav(path, 0.3 * np.sin(2 * np.pi * 180 * t))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inputs shared by the manifests: a face clip, short and longer speech, a tiny generator."""
    import torch

    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.models import Generator, GeneratorConfig

    root = tmp_path_factory.mktemp("batch")
    torch.manual_seed(0)
    save_model(Generator(GeneratorConfig(width=0.0625)), root / "gen.safetensors")
    write_video(root / "face.mp4", [np.full((64, 64, 3), 90 + 10 * i, np.uint8) for i in range(4)], 25)
    _wav(root / "short.wav", 0.2)
    _wav(root / "long.wav", 6.0)
    return root


def _manifest(root: Path, name: str, rows: list[str]) -> Path:
    path = root / name
    path.write_text("face,audio,output,crf\n" + "".join(row + "\n" for row in rows))
    return path


def _statuses(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _batch(folder: Path, manifest: Path, *args: str) -> int:
    return main(["sync", "--checkpoint", str(folder / "gen.safetensors"), "--quiet", *BOX, "--batch", str(manifest), *args])


def test_a_bad_row_fails_alone_with_its_one_line_error(tmp_path: Path, folder: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("face.mp4", "short.wav"):
        (tmp_path / name).symlink_to(folder / name)
    manifest = _manifest(tmp_path, "jobs.csv", [
        "face.mp4,short.wav,a.mp4,", "missing.mp4,short.wav,b.mp4,", "face.mp4,short.wav,c.mp4,99",
        "face.mp4,short.wav,d.mkv,20",
    ])
    assert _batch(folder, manifest) == 1
    out = capsys.readouterr().out
    assert "4 rows, 2 done, 0 done earlier, 2 failed" in out
    assert "failed row 2 (" in out and "missing.mp4: file not found" in out
    assert "failed row 3 (" in out and "crf must be in 0..51, got 99" in out
    assert probe(tmp_path / "a.mp4").has_audio and probe(tmp_path / "d.mkv").has_audio
    assert not (tmp_path / "b.mp4").exists() and not (tmp_path / "c.mp4").exists()
    last = {r["row"]: r for r in _statuses(status_path(manifest, (0, 1)))}
    assert [last[n]["status"] for n in (1, 2, 3, 4)] == ["done", "failed", "failed", "done"]
    assert "\n" not in last[2]["error"]
    assert _batch(folder, manifest) == 1  # a rerun retries the failed rows only
    assert "0 done, 2 done earlier, 2 failed" in capsys.readouterr().out


@pytest.mark.slow
def test_a_killed_batch_resumes_without_redoing_or_losing_a_row(tmp_path: Path, folder: Path) -> None:
    """SIGKILL in the middle of a row (no handler runs: a power cut), then the same command again."""
    for name in ("face.mp4", "long.wav"):
        (tmp_path / name).symlink_to(folder / name)
    manifest = _manifest(tmp_path, "jobs.csv", [f"face.mp4,long.wav,out{n}.mp4," for n in range(1, 4)])
    status = status_path(manifest, (0, 1))
    env = {**os.environ, "PYTHONPATH": SRC, "ATTNWAV2LIP_NATIVE_BF16": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "attnwav2lip", "sync", "--checkpoint", str(folder / "gen.safetensors"),
                             "--quiet", *BOX, "--batch", str(manifest)], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        started = [r["row"] for r in _statuses(status)] if status.exists() else []
        if 2 in started and list(tmp_path.glob(".out2.*.tmp.mp4")):
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the batch ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _statuses(status)
    done_before = {r["row"] for r in before if r["status"] == "done"}
    assert done_before == {1}  # killed in row 2, after row 1 finished
    assert len(list(tmp_path.glob(".out*.tmp.mp4"))) >= 1, "row 2's partial file is left behind"
    mtimes = {n: (tmp_path / f"out{n}.mp4").stat().st_mtime_ns for n in done_before}

    assert _batch(folder, manifest) == 0
    after = _statuses(status)[len(before):]
    assert not {r["row"] for r in after if r["status"] == "started"} & done_before  # nothing finished is redone
    done = Counter(r["row"] for r in before + after if r["status"] == "done")
    assert done == Counter({1: 1, 2: 1, 3: 1})  # every row done exactly once
    assert {n: (tmp_path / f"out{n}.mp4").stat().st_mtime_ns for n in done_before} == mtimes
    assert sorted(p.name for p in tmp_path.glob("out*")) == ["out1.mp4", "out2.mp4", "out3.mp4"]
    assert not list(tmp_path.glob(".out*.tmp.mp4"))  # the killed run's partial file is gone


def test_two_shards_cover_the_manifest_exactly_once(tmp_path: Path, folder: Path) -> None:
    rows = [json.dumps({"face": str(folder / "face.mp4"), "audio": str(folder / "short.wav"), "output": f"o{n}.mp4",
                        "pads": [0, 10, 0, 0], "static": n % 2 == 0}) for n in range(1, 6)]
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text("\n".join(rows) + "\n")
    assert _batch(folder, manifest, "--shard", "0/2") == 0
    assert _batch(folder, manifest, "--shard", "1/2") == 0
    shards = [{r["row"] for r in _statuses(status_path(manifest, (k, 2))) if r["status"] == "done"} for k in (0, 1)]
    assert shards == [{1, 3, 5}, {2, 4}]
    assert sorted(p.name for p in tmp_path.glob("o*.mp4")) == [f"o{n}.mp4" for n in range(1, 6)]


def test_manifest_errors_are_refused_before_any_row(tmp_path: Path, folder: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    face, speech = folder / "face.mp4", folder / "short.wav"
    same = _manifest(tmp_path, "same.csv", [f"{face},{speech},x.mp4,", f"{face},{speech},x.mp4,"])
    with pytest.raises(ConfigError, match="rows 1 and 2 both write"):
        read_batch_manifest(same)
    clobber = _manifest(tmp_path, "clobber.csv", [f"{face},{speech},x.mp4,", f"x.mp4,{speech},y.mp4,"])
    with pytest.raises(ConfigError, match="row 1 writes .*x.mp4, which row 2 reads"):
        read_batch_manifest(clobber)
    rows = read_batch_manifest(_manifest(tmp_path, "odd.csv", [f"{face},,a.mp4,", f"{face},{speech},b.mp4,fast"]))
    assert rows[0].problem == "needs exactly one of audio and text"
    assert rows[1].problem == "option crf: cannot read 'fast' as int"
    assert _batch(folder, tmp_path / "none.csv", "--shard", "0/2") == 2
    assert "batch manifest not found" in capsys.readouterr().err
    assert _batch(folder, same, "--shard", "2/2") == 2
    assert main(["sync", "--batch", str(same), "--face", str(face)]) == 2
    assert "not --face" in capsys.readouterr().err
