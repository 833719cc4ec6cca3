"""The package shell: lazy import, CLI error handling, config round trips, atomic output."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from attnwav2lip import cli
from attnwav2lip.config import from_dict, load_recipe, save_recipe, to_dict
from attnwav2lip.errors import AttnWav2LipError, ConfigError
from attnwav2lip.fileio import atomic_path, create_text_atomic
from attnwav2lip.progress import progress_bar, shows_progress


def test_import_is_light() -> None:
    code = "import sys, attnwav2lip; print(sorted(m for m in ('torch', 'librosa', 'av', 'cv2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cli_help_and_info(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert cli.main(["info"]) == 0
    assert "attnwav2lip" in capsys.readouterr().out


@dataclasses.dataclass(frozen=True)
class Inner:
    width: float = 1.0
    pads: tuple[int, int] = (0, 10)


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str = "x"
    inner: Inner = Inner()


def test_config_round_trip(tmp_path: Path) -> None:
    config = Outer(name="y", inner=Inner(width=0.25, pads=(1, 2)))
    save_recipe(config, tmp_path / "c.yaml")
    assert load_recipe(Outer, tmp_path / "c.yaml") == config
    assert to_dict(config) == {"name": "y", "inner": {"width": 0.25, "pads": [1, 2]}}


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="widht"):
        from_dict(Outer, {"inner": {"widht": 2}})


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"done")
    assert target.read_bytes() == b"done"
    assert list(tmp_path.iterdir()) == [target]


def test_create_text_atomic_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "settings.yaml"
    assert create_text_atomic(target, "first\n")
    assert not create_text_atomic(target, "second\n")  # the first writer wins, e.g. of racing shards
    assert target.read_text() == "first\n" and [p.name for p in tmp_path.iterdir()] == ["settings.yaml"]


def test_atomic_path_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(AttnWav2LipError, match="does not exist"):
        with atomic_path(tmp_path / "nope" / "x.mp4"):
            pass


def test_atomic_path_gives_ordinary_file_mode(tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "x.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o644


def test_verbose_and_quiet_set_the_package_logger_and_quiet_hides_progress_bars(
        capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("attnwav2lip")
    before = logger.level
    try:
        for flags, level in (([], logging.INFO), (["-v"], logging.DEBUG), (["--quiet"], logging.WARNING)):
            assert cli.main([*flags, "info"]) == 0
            assert logger.level == level and shows_progress() == (level <= logging.INFO)
        assert not shows_progress(False)
        bar = progress_bar(total=3)
        bar.update(3)
        bar.close()
        assert capsys.readouterr().err == ""  # quiet: no bar
        with pytest.raises(SystemExit):
            cli.main(["-v", "-q", "info"])
    finally:
        logger.setLevel(before)
