"""SynthTalk cross pairs: pairing rules, every row scored against the rendered truth, files, CLI."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")

from attnwav2lip.errors import ConfigError  # noqa: E402
from attnwav2lip.evaluation.synthtalk import checkpoint_rows, draw_pairs, score_synthtalk  # noqa: E402
from attnwav2lip.metrics.synthtalk_report import GROUND_TRUTH, INPUT, METRIC_NAMES, TRUTH_AT_FACE_SIZE  # noqa: E402
from attnwav2lip.synth.corpus import CorpusConfig, write_corpus  # noqa: E402

CONFIG = CorpusConfig(clips=3, seed=3, size=128, fps=25.0, min_seconds=1.0, max_seconds=1.4, clips_per_identity=1,
                      split_shares=(0, 0, 1, 0))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthtalk")
    write_corpus(CONFIG, out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import torch

    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.models import Generator, GeneratorConfig, SyncNetEvaluator

    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(1)
    save_model(Generator(GeneratorConfig(width=0.0625)), folder / "tiny.safetensors")
    save_model(SyncNetEvaluator(width=0.0625, embedding_dim=64), folder / "evaluator.safetensors")
    return folder / "tiny.safetensors", folder / "evaluator.safetensors"


@pytest.fixture(scope="module")
def report(corpus: Path, models: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    import torch

    from attnwav2lip.models import Generator, GeneratorConfig

    generator, evaluator = models
    torch.manual_seed(2)
    second = Generator(GeneratorConfig(width=0.0625))
    work = tmp_path_factory.mktemp("work")
    return score_synthtalk(corpus, {"tiny": generator, "module": second}, evaluator, pairs=2, work_dir=work), work


def _records(identities: list[int], texts: list[str]) -> list[dict]:
    return [{"id": f"{k:06d}", "split": "test", "identity": i, "text": t} for k, (i, t) in enumerate(zip(identities, texts))]


def test_pairing_is_seeded_and_never_pairs_one_identity_or_sentence() -> None:
    records = _records([1, 1, 2, 2, 3, 3], ["a", "b", "c", "a", "d", "e"])
    by_id = {r["id"]: r for r in records}
    pairs = draw_pairs(records, "test", seed=4)
    assert pairs == draw_pairs(records, "test", seed=4) and len(pairs) == len(records)
    assert draw_pairs(records, "test", 3, seed=4) == pairs[:3]  # a limit keeps the first pairs
    assert draw_pairs(records, "test", seed=5) != pairs
    assert sorted(p.source for p in pairs) == sorted(by_id)  # every clip's video once
    for p in pairs:
        source, driving = by_id[p.source], by_id[p.driving]
        assert source["identity"] != driving["identity"] and source["text"] != driving["text"]
    with pytest.raises(ConfigError, match="no two clips"):
        draw_pairs(_records([7, 7], ["a", "b"]), "test")
    with pytest.raises(ConfigError, match="no two clips"):
        draw_pairs(records, "val")


def test_checkpoint_rows_are_named_by_file() -> None:
    assert list(checkpoint_rows(["a/g.safetensors", "b/h.pth"])) == ["g", "h"]
    assert list(checkpoint_rows(["a/g.safetensors", "b/g.safetensors"])) == ["a/g.safetensors", "b/g.safetensors"]


@pytest.mark.slow
def test_every_row_is_scored_on_every_pair(report) -> None:
    report, _ = report
    assert report.rows == ("tiny", "module", GROUND_TRUTH, TRUTH_AT_FACE_SIZE, INPUT) and report.generators == ("tiny", "module")
    assert report.label == "SynthTalk evaluator" and len(report.pairs) == 2
    for scores in report.results.values():
        assert [s.pair for s in scores] == [0, 1] and all(s.ok for s in scores)
        for s in scores:
            assert s.frames >= 25 and (s.source, s.driving)  # clips last min_seconds (1 s) at least == (report.pairs[s.pair].source, report.pairs[s.pair].driving)
            for name in METRIC_NAMES:
                assert math.isfinite(getattr(s, name)), (s.row, name)


@pytest.mark.slow
def test_the_truth_row_matches_the_truth_up_to_the_codec(report) -> None:
    report, work = report
    truth, do_nothing = report.results[GROUND_TRUTH], report.results[INPUT]
    for t, d in zip(truth, do_nothing):
        assert t.psnr > 30 and t.l1 < 0.02 and t.ssim > 0.9  # H.264 at crf 18 loses ~30-35 dB worth
        assert t.psnr > d.psnr  # the source's old mouth is wrong wherever the new speech differs
        assert t.silent_opening_error < 0.05  # measured against itself, only codec noise remains
    # the estimator follows the rendered mouth (not on every face at 128 px: docs/evaluation.md)
    assert max(t.opening_corr for t in truth) > 0.5
    for row in ("tiny", "module", "ground_truth", "truth_at_96_px"):
        assert sorted(p.name for p in (work / row).iterdir()) == ["0000.mp4", "0001.mp4"]


@pytest.mark.slow
def test_truth_at_96_px_lies_between_the_truth_and_doing_nothing(report) -> None:
    """The generator's resolution costs detail, and the blend keeps the source outside the mouth."""
    report, _ = report
    truth, at_96, do_nothing = (report.results[row] for row in (GROUND_TRUTH, TRUTH_AT_FACE_SIZE, INPUT))
    for t, r, d in zip(truth, at_96, do_nothing):
        assert t.l1 < r.l1 < d.l1 and t.mouth_l1 < r.mouth_l1 < d.mouth_l1


@pytest.mark.slow
def test_random_generators_score_below_the_truth(report) -> None:
    report, _ = report
    truth = report.summary(GROUND_TRUTH)
    for row in report.generators:
        summary = report.summary(row)
        assert summary["psnr"].mean < truth["psnr"].mean and summary["l1"].mean > truth["l1"].mean
        assert summary["psnr"].count == 2


@pytest.mark.slow
def test_tables_are_written(report, tmp_path: Path) -> None:
    report, _ = report
    written = report.write(tmp_path, "st")
    assert [p.name for p in written] == ["st.csv", "st_summary.csv", "st_summary.md", "st_comparison.csv", "st_comparison.md"]
    with open(tmp_path / "st.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 and {r["row"] for r in rows} == set(report.rows)
    with open(tmp_path / "st_summary.csv", newline="") as handle:
        summary = {r["row"]: r for r in csv.DictReader(handle)}
    assert float(summary[GROUND_TRUTH]["psnr_mean"]) == pytest.approx(report.summary(GROUND_TRUTH)["psnr"].mean)
    assert summary["tiny"]["evaluator"] == "SynthTalk evaluator" and summary["tiny"]["offset_count"] == "2"
    markdown = (tmp_path / "st_summary.md").read_text()
    assert "LSE (SynthTalk evaluator)" in markdown and "| input (do nothing) | 2 | 0 |" in markdown
    with open(tmp_path / "st_comparison.csv", newline="") as handle:
        diffs = list(csv.DictReader(handle))
    assert {d["metric"] for d in diffs} == set(METRIC_NAMES) and {d["second"] for d in diffs} == {"module"}
    psnr = next(d for d in diffs if d["metric"] == "psnr")
    expected = np.mean([b.psnr - a.psnr for a, b in zip(report.results["tiny"], report.results["module"])])
    assert float(psnr["mean_difference"]) == pytest.approx(expected)
    assert float(psnr["ci_low"]) <= float(psnr["mean_difference"]) <= float(psnr["ci_high"])


@pytest.mark.slow
def test_groups_of_rows_compare_by_their_per_pair_means(report) -> None:
    report, _ = report
    tiny, module = report.results["tiny"], report.results["module"]
    diffs = {d.metric: d for d in report.compare(["tiny", "module"], INPUT)}
    means = [(a.l1 + b.l1) / 2 for a, b in zip(tiny, module)]
    expected = np.mean([c.l1 - m for c, m in zip(report.results[INPUT], means)])
    assert diffs["l1"].count == len(report.pairs) and diffs["l1"].mean == pytest.approx(expected)
    single = {d.metric: d.mean for d in report.compare("tiny", INPUT)}
    assert single["l1"] == pytest.approx(np.mean([c.l1 - a.l1 for a, c in zip(tiny, report.results[INPUT])]))


@pytest.mark.slow
def test_reserved_names_are_refused(corpus: Path, models: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        score_synthtalk(corpus, {GROUND_TRUTH: models[0]}, models[1], pairs=1)
    with pytest.raises(ConfigError, match="share the video folder"):  # "ground_truth" is the truth row's folder
        score_synthtalk(corpus, {"ground_truth": models[0]}, models[1], pairs=1)


@pytest.mark.slow
def test_cli_scores_one_pair(corpus: Path, models: tuple[Path, Path], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from attnwav2lip.cli import main

    generator, evaluator = models
    args = ["evaluate", "synthtalk", str(corpus), "--checkpoint", str(generator), "--evaluator", str(evaluator),
            "--out", str(tmp_path), "--pairs", "1", "--seed", "3"]
    monkeypatch.setenv("ATTNWAV2LIP_NATIVE_BF16", "1")  # where auto would choose bf16, scoring still runs fp32
    with caplog.at_level("INFO", logger="attnwav2lip"):
        assert main(args) == 0
    assert "precision: fp32 (asked for)" in caplog.messages
    with open(tmp_path / "scores_summary.csv", newline="") as handle:
        rows = {r["row"]: r for r in csv.DictReader(handle)}
    assert list(rows) == ["tiny", GROUND_TRUTH, TRUTH_AT_FACE_SIZE, INPUT] and rows["tiny"]["pairs"] == "1"
    assert (tmp_path / "videos" / "tiny" / "0000.mp4").is_file()


def test_crops_are_the_same_face_region_at_any_render_size() -> None:
    """The evaluator's crop convention is in 256-px render pixels: a 512-px render's boxes are scaled to it."""
    import cv2

    from attnwav2lip.metrics.synthtalk_scores import synthtalk_crops

    rng = np.random.default_rng(0)
    small = cv2.resize(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), (256, 256), interpolation=cv2.INTER_CUBIC)
    large = cv2.resize(small, (512, 512), interpolation=cv2.INTER_CUBIC)
    box = np.array([[70.0, 60.0, 180.0, 200.0]] * 20)  # clip-long: the boxes are median-filtered over 13 frames
    at_256 = synthtalk_crops(np.stack([small] * 20), box).astype(float)
    at_512 = synthtalk_crops(np.stack([large] * 20), box * 2).astype(float)
    assert np.abs(at_256 - at_512).mean() < 3  # only resampling differs
