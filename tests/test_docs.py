"""The docs, the README, the model card and the Makefile cite only files a reader of the repository has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXTS = sorted([ROOT / "README.md", ROOT / "Makefile", ROOT / "src/attnwav2lip/assets/MODEL_CARD.md",
                *(ROOT / "docs").glob("*.md")])
TOP = ("src/", "docs/", "configs/", "tests/", "benchmarks/", "experiments/")
# a path-like word: a top-level folder of this repository and what follows, or a Markdown file's name
CITED = re.compile(r"(?<![\w./-])((?:%s)[\w./*<>{}-]*|[\w-]+\.md)" % "|".join(re.escape(t) for t in TOP))
REPORT = re.compile(r"[\w-]+_summary\.md")
LINK = re.compile(r"\]\(([^)#\s]+)")


def cited_paths(text: str) -> set[str]:
    """Repository paths a text cites: top-level folders' paths, ``*.md`` names and relative links.

    Globs and placeholders (``configs/*.yaml``, ``docs/<name>.md``) are not checked.
    """
    paths = {m.rstrip(".") for m in CITED.findall(text) if not set(m) & set("*<>{}")}
    paths |= {m for m in LINK.findall(text) if "://" not in m}
    return {p for p in paths if p.rstrip("/") and not p.endswith("/.")}


def exists(path: str, text_file: Path) -> bool:
    """Found relative to the repository root or the citing file; a bare ``x.md`` also in docs/, or it is
    a report the scorers write (``<name>_summary.md``, ``attnwav2lip.metrics.results``)."""
    candidates = [ROOT / path, text_file.parent / path]
    if "/" not in path:
        candidates.append(ROOT / "docs" / path)
    return any(c.exists() for c in candidates) or REPORT.fullmatch(path) is not None


def test_the_scan_finds_paths_and_skips_globs() -> None:
    text = "See `docs/sync.md`, configs/*.yaml, [faces](faces.md), reference.md §5 and https://x.org/a.md."
    assert cited_paths(text) == {"docs/sync.md", "faces.md", "reference.md"}
    assert not exists("reference.md", ROOT / "README.md") and exists("faces.md", ROOT / "README.md")


@pytest.mark.parametrize("text_file", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_repository_path_exists(text_file: Path) -> None:
    missing = sorted(p for p in cited_paths(text_file.read_text(encoding="utf-8")) if not exists(p, text_file))
    assert not missing, f"{text_file.relative_to(ROOT)} cites {missing}"
