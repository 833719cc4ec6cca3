"""The attention ablation: both phases end to end on a tiny store and corpus; the statistics on known rows."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from attnwav2lip.checkpoints import save_model
from attnwav2lip.config import save_recipe
from attnwav2lip.evaluation import ablation
from attnwav2lip.models import EvaluatorConfig, SyncNetEvaluator
from attnwav2lip.train import with_overrides
from attnwav2lip.train.recorder import read_metrics
from training_runs import WIDTH, make_store

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "configs" / "ablation_cpu.yaml"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def recipe(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """configs/ablation_cpu.yaml shrunk: tiny widths, 2 steps, one validation, no loader process."""
    schedule = ablation.run_config(RECIPE, ablation.Run("both", 0, Path(".")), store=store, steps=2)
    tiny = with_overrides(schedule,
                          {"model.width": WIDTH, "data.batch_size": 2, "data.num_workers": 0,
                           "data.sampling.samples_per_epoch": 4, "schedule.eval_every": 2, "schedule.val_batches": 1,
                           "schedule.log_every": 1, "runtime.progress": False})
    path = tmp_path_factory.mktemp("recipe") / "ablation.yaml"
    save_recipe(tiny, path)
    return path


def test_the_recipe_is_the_issue_schedule() -> None:
    config = ablation.run_config(RECIPE, ablation.Run("channel", 2, Path("x")), store="s", steps=None)
    assert (config.model.attention, config.runtime.seed, config.data.root) == ("channel", 2, "s")
    assert (config.model.width, config.data.batch_size) == (0.25, 4)
    assert (config.optim.lr, config.optim.betas) == (1e-3, (0.5, 0.999))
    assert (config.schedule.max_steps, config.schedule.eval_every, config.schedule.checkpoint_every) == (400, 200, 400)
    assert (config.sync.schedule, config.sync.weight, config.gan.enabled) == ("fixed", 0.03, False)


def test_runs_are_seed_major() -> None:
    names = [run.name for run in ablation.plan_runs(Path("out"), ["none", "both"], [0, 1])]
    assert names == ["none_s0", "both_s0", "none_s1", "both_s1"]


@pytest.fixture(scope="module")
def trained(recipe: Path, expert_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two variants, one seed, 2 steps: interrupted after 1 step, then resumed by the same command.

    none_s0 starts as a run that died before its first checkpoint: it is started over, not appended to."""
    out = tmp_path_factory.mktemp("ablation")
    (out / "none_s0").mkdir()
    (out / "none_s0" / "metrics.jsonl").write_text('{"split": "train", "step": 7, "time": 0}\n')
    runs = ablation.plan_runs(out, ["none", "both"], [0])
    ablation.train(runs, recipe=recipe, store=None, expert=expert_file, steps=1)
    assert [ablation.trained_steps(out / name) for name in ("none_s0", "both_s0")] == [1, 1]
    ablation.train(runs, recipe=recipe, store=None, expert=expert_file, steps=None)
    return out


@pytest.mark.slow
def test_train_resumes_partial_runs_and_skips_finished_ones(trained: Path, recipe: Path, expert_file: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    for name in ("none_s0", "both_s0"):
        assert ablation.trained_steps(trained / name) == 2 and ablation.is_finished(trained / name)
        assert [r["step"] for r in read_metrics(trained / name, "train")] == [1, 2]  # resumed, not restarted
        assert not math.isnan(ablation.last_validation(trained / name)["val_l1"])
    stamp = (trained / "none_s0" / "checkpoints" / "latest").stat().st_mtime_ns
    with caplog.at_level("INFO", logger="attnwav2lip"):
        ablation.train(ablation.plan_runs(trained, ["none", "both"], [0]), recipe=recipe, store=None,
                       expert=expert_file, steps=None)
    assert caplog.text.count("skipped") == 2
    assert (trained / "none_s0" / "checkpoints" / "latest").stat().st_mtime_ns == stamp


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two short test clips of two identities: one cross pair each way."""
    pytest.importorskip("espeakng_loader")
    from attnwav2lip.synth.corpus import CorpusConfig, write_corpus

    out = tmp_path_factory.mktemp("synthtalk")
    config = CorpusConfig(clips=2, seed=1, size=96, fps=25.0, min_seconds=1.0, max_seconds=1.6, clips_per_identity=1,
                          split_shares=(0, 0, 1, 0))
    write_corpus(config, out, workers=1, progress=False)
    return out


@pytest.mark.slow
def test_report_scores_every_finished_run_on_the_same_pairs(trained: Path, corpus: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    evaluator = tmp_path / "evaluator.safetensors"
    save_model(SyncNetEvaluator(EvaluatorConfig(width=WIDTH)), evaluator)
    ablation.report(ablation.plan_runs(trained, ["none", "both"], [0, 1]), corpus=corpus, evaluator=evaluator,
                    pairs=1)
    text = (trained / "ablation.md").read_text()
    assert "| none | 1 |" in text and "| both | 1 |" in text  # seed 1 never trained: left out
    assert "Seeds: 1 (0)" in text and "Test pairs: 1" in text and "2 steps × 2 windows" in text
    assert "| both | LSE-D | 1 |" in text and "**underpowered**" in text  # one pair proves nothing
    with open(trained / "ablation.csv", newline="") as f:
        summary = {row["variant"]: row for row in csv.DictReader(f)}
    assert set(summary) == {"none", "both"} and all(math.isfinite(float(r["psnr_mean"])) for r in summary.values())
    with open(trained / "ablation_pairs.csv", newline="") as f:
        pairs = list(csv.DictReader(f))
    assert [(r["variant"], r["pair"]) for r in pairs] == [("none", "0"), ("both", "0")]
    assert pairs[0]["source"] == pairs[1]["source"] and pairs[0]["driving"] == pairs[1]["driving"]


@pytest.mark.slow
def test_statistics_pair_on_seed_and_test_pair() -> None:
    """'both' beats 'none' by exactly +1 LSE-C on every pair; its L1 differs by +-0.01 noise around 0."""
    seeds = (0, 1, 2)
    rows = []
    for seed in seeds:
        for pair in range(4):
            base = {"lse_d": 8.0, "lse_c": 1.0 + seed + pair, "psnr": 20.0 + seed, "ssim": 0.5, "l1": 0.1}
            rows.append({"variant": "none", "seed": seed, "pair": pair, **base})
            noise = 0.01 if (seed + pair) % 2 else -0.01
            rows.append({"variant": "both", "seed": seed, "pair": pair, **base, "lse_c": base["lse_c"] + 1.0,
                         "l1": 0.1 + noise})
    validation = {(v, s): {"val_l1": 0.2 + s, "val_sync": 0.7} for v in ("none", "both") for s in seeds}
    summary = {row["variant"]: row for row in ablation.variant_summary(rows, validation, ["none", "both"])}
    assert summary["none"]["runs"] == 3
    # per-run means over pairs: 2.5, 3.5, 4.5 (seeds 0, 1, 2); then mean and sample std over seeds
    assert summary["none"]["lse_c_mean"] == pytest.approx(3.5)
    assert summary["none"]["lse_c_std"] == pytest.approx(1.0)
    assert summary["both"]["lse_c_mean"] == pytest.approx(4.5)
    assert summary["both"]["val_l1_mean"] == pytest.approx(1.2) and summary["both"]["psnr_mean"] == pytest.approx(21.0)
    diffs = {row["metric"]: row for row in ablation.paired_differences(rows, ["none", "both"])}
    assert diffs["LSE-C"]["pairs"] == 12 and diffs["LSE-C"]["mean"] == pytest.approx(1.0)
    assert diffs["LSE-C"]["verdict"] == "better"
    assert diffs["L1"]["low"] < 0 < diffs["L1"]["high"] and diffs["L1"]["verdict"] == "underpowered"
    # the same consistent gain from two seeds only leaves the spread between runs unmeasured
    two_seeds = [r for r in rows if r["seed"] < 2]
    assert {r["metric"]: r["verdict"] for r in ablation.paired_differences(two_seeds, ["none", "both"])}["LSE-C"] \
        == "underpowered"
    text = ablation.markdown(list(summary.values()), list(diffs.values()), budget=["2 steps"], seeds=list(seeds), pairs=4,
                             split="test", evaluator="ev")
    assert "| both | 3 |" in text and "Seeds: 3" in text and "**Underpowered:**" in text


@pytest.mark.slow
def test_the_experiment_script_is_a_command_line_over_the_library() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "experiments" / "ablation.py"), "--help"],
                            capture_output=True, text=True, check=True)
    assert "{train,report}" in result.stdout and "ablation_cpu.yaml" in result.stdout
