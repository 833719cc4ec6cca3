"""The training loop end to end on a tiny clip store: both commands, exact resume, the 0.75 rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from attnwav2lip import cli
from attnwav2lip.checkpoints import load_model, save_model
from attnwav2lip.config import save_recipe
from attnwav2lip.models import ExpertConfig
from attnwav2lip.errors import CheckpointError, ConfigError
from attnwav2lip.train import (ExpertTrainConfig, RuntimeConfig, ScheduleConfig, SyncLossConfig, TrainConfig,
                               build_datasets, train_expert, train_generator, with_overrides)
from attnwav2lip.train.recorder import read_metrics
from attnwav2lip.checkpoints import resolve_checkpoint
from attnwav2lip.train.state import load_state
from training_runs import WIDTH, make_store, tiny_data, tiny_generator_config

@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("store"))


def test_train_expert_command_end_to_end_and_resume(store: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "expert.yaml"
    save_recipe(ExpertTrainConfig(
        data=tiny_data(store, batch_size=4), model=ExpertConfig(width=WIDTH),
        schedule=ScheduleConfig(max_steps=2, eval_every=2, checkpoint_every=2, val_batches=1, log_every=1,
                                keep_checkpoints=2)), recipe)
    run = tmp_path / "run"
    assert cli.main(["train-expert", "--config", str(recipe), "--out", str(run), "--no-progress"]) == 0
    val = read_metrics(run, "val")
    assert [r["step"] for r in val] == [2] and {"loss", "accuracy"} <= set(val[0])
    assert load_model(run / "checkpoints" / "step_000000002" / "expert.safetensors").kind == "expert"
    assert (run / "config.yaml").is_file() and "git_revision" in json.loads((run / "run.json").read_text())
    assert not (run / "samples").exists()  # the expert draws no pictures
    # --resume alone continues the run in --out with its saved config
    assert cli.main(["train-expert", "--out", str(run), "--resume", "--max-steps", "3", "--no-progress"]) == 0
    assert load_state(run / "checkpoints" / "step_000000003")["step"] == 3
    assert [r["step"] for r in read_metrics(run, "train")] == [1, 2, 3]
    assert cli.main(["train-expert", "--out", str(run), "--resume", "--max-steps", "4", "--no-progress"]) == 0
    assert sorted(p.name for p in (run / "checkpoints").glob("step_*")) == ["step_000000003", "step_000000004"]


@pytest.mark.slow
def test_train_command_end_to_end_with_the_075_rule(store: Path, expert_file: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "gen.yaml"
    # a threshold no sync loss can miss: alpha switches on at the first validation (step 2)
    save_recipe(tiny_generator_config(store, sync=SyncLossConfig(threshold=100.0)), recipe)
    run = tmp_path / "run"
    code = cli.main(["train", "--config", str(recipe), "--expert", str(expert_file), "--attention", "spatial",
                     "--out", str(run), "--no-progress"])
    assert code == 0
    train = read_metrics(run, "train")
    assert [r["alpha"] for r in train] == [0.0, 0.0, 0.03]
    assert "sync" not in train[0] and "sync" in train[2]  # the sync term is not computed while alpha is 0
    assert {"l1", "gen", "d_real", "d_fake"} <= set(train[0])
    assert read_metrics(run, "val")[0]["alpha"] == 0.03 and "audio_gain" in read_metrics(run, "val")[0]
    folder = run / "checkpoints" / "step_000000003"
    generator = load_model(folder / "generator.safetensors", kind="generator")
    assert generator.config.attention == "spatial" and generator.config.mel_offset == -1
    assert load_state(folder)["task"]["sync_weight"]["switched_at"] == 2
    assert (folder / "discriminator.safetensors").is_file() and (run / "samples" / "step_000000002.png").is_file()
    saved, given = (load_model(f, kind="expert").state_dict() for f in (folder / "expert.safetensors", expert_file))
    assert all(torch.equal(saved[k], given[k]) for k in given)  # the frozen expert travels with the generator


@pytest.mark.slow
def test_gan_can_start_with_the_sync_term(store: Path, expert_file: Path, tmp_path: Path) -> None:
    config = with_overrides(tiny_generator_config(store, sync=SyncLossConfig(threshold=100.0)),
                            {"gan.start": "with_sync", "schedule.lr_decay_at": [1], "schedule.lr_decay": 0.5})
    train_generator(config, tmp_path / "run", expert=expert_file)
    train = read_metrics(tmp_path / "run", "train")
    assert [(r["alpha"], r["beta"]) for r in train] == [(0.0, 0.0), (0.0, 0.0), (0.03, 0.07)]
    assert all("gen" not in r and "d_real" not in r for r in train[:2])  # the discriminator idles until then
    assert {"sync", "gen", "d_real", "d_fake"} <= set(train[2])
    # the decay at step 1 came before the discriminator started (step 2): it starts at its recipe rate
    task = load_state(tmp_path / "run" / "checkpoints" / "step_000000003")["task"]
    rates = [state["param_groups"][0]["lr"] for state in (task["optimizer"], task["adversary"]["optimizer"])]
    assert rates == pytest.approx([config.optim.lr * 0.5, config.gan.lr])


def test_decays_count_from_an_optimisers_start() -> None:
    schedule = ScheduleConfig(lr_decay_at=(10, 20), lr_decay=0.1)
    assert [schedule.lr_factor(25, started_at=s) for s in (0, 15, 20)] == pytest.approx([0.01, 0.1, 1.0])


@pytest.mark.slow
def test_rule_never_switches_above_threshold(store: Path, expert_file: Path, tmp_path: Path) -> None:
    config = tiny_generator_config(store, max_steps=2, sync=SyncLossConfig(threshold=0.0))
    val = train_generator(config, tmp_path / "run", expert=expert_file)
    assert val["alpha"] == 0.0 and val["sync"] > 0.0
    assert all("sync" not in r for r in read_metrics(tmp_path / "run", "train"))


@pytest.mark.slow
def test_resume_is_bitwise_exact(store: Path, expert_file: Path, tmp_path: Path) -> None:
    """3 steps straight == 1 step, stop, resume, 2 steps (weights, discriminator, optimiser state)."""
    config = tiny_generator_config(store, max_steps=3)  # 2 batches per epoch: the resume crosses an epoch
    train_generator(config, tmp_path / "straight", expert=expert_file)
    stopped = tiny_generator_config(store, max_steps=1)
    train_generator(stopped, tmp_path / "split", expert=expert_file)
    train_generator(config, None, expert=expert_file, resume=tmp_path / "split")
    a, b = (tmp_path / name / "checkpoints" / "step_000000003" for name in ("straight", "split"))
    for name in ("generator", "discriminator"):
        sa, sb = (load_model(f / f"{name}.safetensors").state_dict() for f in (a, b))
        assert all(torch.equal(sa[k], sb[k]) for k in sa), name
    oa, ob = (load_state(f)["task"]["optimizer"]["state"] for f in (a, b))
    assert all(torch.equal(oa[i]["exp_avg"], ob[i]["exp_avg"]) for i in oa)


def generator_task_and_batch(config: TrainConfig, expert: torch.nn.Module) -> tuple[object, dict[str, torch.Tensor]]:
    """A GAN-less generator task on ``config`` and a batch of its first two training windows."""
    from attnwav2lip.models import Generator
    from attnwav2lip.train.generator_task import GeneratorTask
    from attnwav2lip.train.runtime import start

    task = GeneratorTask(Generator(config.model), expert, None, config, start(config.runtime))
    train_set, _ = build_datasets(config.data, "generator", seed=0)
    return task, {k: torch.stack([train_set[i][k] for i in range(2)]) for k in train_set[0]}


def test_frozen_expert_is_not_trained(store: Path, expert_file: Path) -> None:
    expert = load_model(expert_file, kind="expert")
    before = {k: v.clone() for k, v in expert.state_dict().items()}
    task, batch = generator_task_and_batch(tiny_generator_config(store), expert)
    trained = {id(p) for group in task.optimizer.param_groups for p in group["params"]}
    assert not trained & {id(p) for p in expert.parameters()}
    for step in range(2):
        assert "sync" in task.train_step([batch], step)
    assert all(torch.equal(before[k], v) for k, v in expert.state_dict().items())


@pytest.mark.parametrize("restart", [False, True])
@pytest.mark.slow
def test_restart_optimizer_starts_adam_afresh_at_the_switch(store: Path, expert_file: Path, restart: bool) -> None:
    config = tiny_generator_config(store, sync=SyncLossConfig(restart_optimizer=restart))
    task, batch = generator_task_and_batch(config, load_model(expert_file, kind="expert"))
    for step in range(2):
        assert "sync" not in task.train_step([batch], step)
    assert task.sync_weight.observe(0.1, step=2)
    assert "sync" in task.train_step([batch], 2)
    adam_steps = {int(s["step"]) for s in task.optimizer.state.values()}
    assert adam_steps == ({1} if restart else {3})


@pytest.mark.parametrize("freeze_bn_at", [None, 1])
@pytest.mark.slow
def test_freeze_bn_at_keeps_the_running_statistics_and_trains_the_affine_parameters(
        store: Path, expert_file: Path, tmp_path: Path, freeze_bn_at: int | None) -> None:
    config = with_overrides(tiny_generator_config(store, max_steps=2), {
        "schedule.freeze_bn_at": freeze_bn_at, "schedule.checkpoint_every": 1, "gan.enabled": False})
    train_generator(config, tmp_path, expert=expert_file)
    first, second = (
        {name: m for name, m in load_model(tmp_path / "checkpoints" / f"step_00000000{k}" / "generator.safetensors",
                                           kind="generator").named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
        for k in (1, 2))
    same_statistics = all(torch.equal(m.running_mean, second[name].running_mean) for name, m in first.items())
    assert same_statistics == (freeze_bn_at is not None)
    assert any(not torch.equal(m.weight, second[name].weight) for name, m in first.items())


@pytest.mark.slow
def test_audio_gain_is_zero_for_a_generator_deaf_to_its_audio(store: Path, expert_file: Path) -> None:
    from attnwav2lip.models import Generator
    from attnwav2lip.train.generator_task import GeneratorTask
    from attnwav2lip.train.runtime import start

    config = tiny_generator_config(store)
    train_set, _ = build_datasets(config.data, "generator", seed=0)
    batch = {k: torch.stack([train_set[i][k] for i in range(3)]) for k in train_set[0]}
    torch.manual_seed(0)
    generator = Generator(config.model)
    task = GeneratorTask(generator, load_model(expert_file, kind="expert"), None, config, start(config.runtime))
    task.set_training(False)
    last_audio_layer = generator.audio_encoder[-1].conv_block[0].weight
    with torch.no_grad():  # a fresh eval-mode network's mel embedding barely varies: amplify it
        last_audio_layer.mul_(1e4)
    hearing = task.validation_step(batch)["audio_gain"]
    with torch.no_grad():
        last_audio_layer.zero_()  # the mel no longer reaches the decoder
    assert hearing != 0.0 and task.validation_step(batch)["audio_gain"] == 0.0


def test_an_existing_run_is_not_overwritten(store: Path, expert_file: Path, tmp_path: Path) -> None:
    config = tiny_generator_config(store, max_steps=1)
    config = with_overrides(config, {"gan.enabled": False, "data.num_workers": 1})  # a worker process too
    train_generator(config, tmp_path / "run", expert=expert_file)
    with pytest.raises(ConfigError, match="already holds a run"):
        train_generator(config, tmp_path / "run", expert=expert_file)
    assert cli.main(["train", "--expert", str(expert_file), "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    # a start that fails on a bad argument leaves the run's folder as it was
    info = (tmp_path / "run" / "run.json").read_text()
    with pytest.raises(CheckpointError):
        train_generator(config, None, expert=tmp_path / "missing.safetensors", resume=tmp_path / "run")
    assert (tmp_path / "run" / "run.json").read_text() == info
    with pytest.raises(CheckpointError):
        train_generator(config, tmp_path / "new", expert=tmp_path / "missing.safetensors")
    assert not (tmp_path / "new").exists()


def test_init_from_a_wav2lip_generator(store: Path, expert_file: Path, tmp_path: Path) -> None:
    """A plain (attention "none") generator seeds an attention generator's shared layers."""
    from attnwav2lip.models import Generator

    torch.manual_seed(1)
    plain = Generator(width=WIDTH, attention="none", mel_offset=-1)
    save_model(plain, tmp_path / "wav2lip.safetensors")
    config = with_overrides(tiny_generator_config(store, max_steps=1), {"optim.lr": 1e-12, "gan.enabled": False})
    train_generator(config, tmp_path / "run", expert=expert_file, init=tmp_path / "wav2lip.safetensors")
    trained = load_model(tmp_path / "run" / "checkpoints" / "step_000000001" / "generator.safetensors")
    assert trained.config.attention == "both"
    params = dict(trained.named_parameters())
    for key, value in plain.named_parameters():  # one step at lr 1e-12 leaves them where they started
        assert torch.allclose(params[key], value, atol=1e-9), key
    with pytest.raises(CheckpointError):
        train_generator(config, tmp_path / "other", expert=expert_file, init=expert_file)


def test_audio_encoder_from_the_expert(store: Path, expert_file: Path, tmp_path: Path) -> None:
    """``sync.audio_from_expert`` starts a fresh run's mel encoder from the frozen expert's layers."""
    config = with_overrides(tiny_generator_config(store, max_steps=1),
                            {"optim.lr": 1e-12, "gan.enabled": False, "sync.audio_from_expert": True})
    train_generator(config, tmp_path / "run", expert=expert_file)
    trained = load_model(tmp_path / "run" / "checkpoints" / "step_000000001" / "generator.safetensors")
    expert = load_model(expert_file, kind="expert")
    first, last = trained.audio_encoder[0].conv_block[0], trained.audio_encoder[-1].conv_block[0]
    assert torch.allclose(first.weight, expert.audio_encoder[0].conv_block[0].weight, atol=1e-9)
    assert torch.allclose(last.weight, expert.audio_encoder[-1].conv_block[0].weight, atol=1e-9)


def test_validation_is_never_augmented_nor_warmed_up(store: Path) -> None:
    data = with_overrides(tiny_data(store), {"sampling.augment.enabled": True, "sampling.window.warmup_clips": 1,
                                             "sampling.window.warmup_epochs": 5})
    train_set, val_set = build_datasets(data, "generator", seed=0)
    assert train_set.config.augment.enabled and not val_set.config.augment.enabled
    assert train_set.sampler.config.warmup_clips == 1 and val_set.sampler.config.warmup_clips == 0


def test_learning_rate_decay_follows_the_recipe_across_a_resume(store: Path, tmp_path: Path) -> None:
    """The rate comes from the recipe at every step: a resume under a new recipe decays from its boundary,
    whatever rate the saved optimiser state carries."""
    schedule = ScheduleConfig(max_steps=2, eval_every=2, checkpoint_every=1, val_batches=1, log_every=1)
    config = ExpertTrainConfig(data=tiny_data(store, batch_size=4), model=ExpertConfig(width=WIDTH),
                               schedule=schedule, runtime=RuntimeConfig(progress=False))
    run = tmp_path / "run"
    train_expert(config, run)
    saved_lr = load_state(run / "checkpoints" / "step_000000002")["task"]["optimizer"]["param_groups"][0]["lr"]
    assert saved_lr == pytest.approx(1e-4)
    decayed = with_overrides(config, {"schedule.max_steps": 4, "schedule.lr_decay_at": [3], "schedule.lr_decay": 0.5})
    train_expert(decayed, None, resume=run / "checkpoints" / "step_000000002")
    rates = [load_state(run / "checkpoints" / f"step_00000000{k}")["task"]["optimizer"]["param_groups"][0]["lr"]
             for k in (3, 4)]
    assert rates == pytest.approx([1e-4, 5e-5])  # step 3 ran with index 2 < 3; step 4 with index 3


def test_lr_decay_must_shrink_the_rate() -> None:
    assert ScheduleConfig(lr_decay_at=(10, 20), lr_decay=0.1).lr_factor(25) == pytest.approx(0.01)
    with pytest.raises(ConfigError, match="lr_decay"):
        ScheduleConfig(lr_decay=2.0)


def tiny_expert_config(root: Path, **overrides: object) -> ExpertTrainConfig:
    """One step of a width-0.0625 expert over 2 batches of 2 per epoch: step 1 stops mid-epoch."""
    schedule = ScheduleConfig(max_steps=1, eval_every=1, checkpoint_every=1, val_batches=1, log_every=1)
    config = ExpertTrainConfig(data=tiny_data(root), model=ExpertConfig(width=WIDTH), schedule=schedule,
                               runtime=RuntimeConfig(progress=False))
    return with_overrides(config, overrides)


def rewrite_state(folder: Path, **changes: object) -> None:
    """Edit a checkpoint's state.pt in place (``None`` deletes a key): an older or foreign checkpoint."""
    state = load_state(folder)
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    torch.save(state, folder / "state.pt")


@pytest.mark.parametrize(("override", "changed"), [({"data.batch_size": 4}, "data.batch_size is 4 but was 2"),
                                                   ({"runtime.seed": 1}, "runtime.seed is 1 but was 0"),
                                                   ({"data.sampling.samples_per_epoch": 6}, "samples per epoch is 6")])
def test_resume_refuses_a_changed_sample_order(store: Path, tmp_path: Path, override: dict, changed: str) -> None:
    train_expert(tiny_expert_config(store), tmp_path / "run")
    config = tiny_expert_config(store, **override, **{"schedule.max_steps": 2})
    with pytest.raises(ConfigError, match=changed):
        train_expert(config, None, resume=tmp_path / "run")


def test_resume_refuses_a_store_whose_clips_changed(store: Path, tmp_path: Path) -> None:
    """Clips added or reordered would give the same (epoch, batch) other samples, whatever the epoch length."""
    train_expert(tiny_expert_config(store), tmp_path / "run")
    folder = tmp_path / "run" / "checkpoints" / "step_000000001"
    saved = load_state(folder)["sample_order"]
    assert len(saved["clips"]) == 16
    rewrite_state(folder, sample_order={**saved, "clips": "0" * 16})  # as if saved on another store
    with pytest.raises(ConfigError, match="training clips"):
        train_expert(tiny_expert_config(store, **{"schedule.max_steps": 2}), None, resume=folder)


def test_resume_of_an_old_checkpoint_past_the_epochs_end_raises_instead_of_hanging(store: Path, tmp_path: Path) -> None:
    train_expert(tiny_expert_config(store), tmp_path / "run")
    folder = tmp_path / "run" / "checkpoints" / "step_000000001"
    rewrite_state(folder, sample_order=None)  # saved before the sample order was recorded, at batch 1 of 2
    config = tiny_expert_config(store, **{"data.batch_size": 4, "schedule.max_steps": 2})  # now 1 batch per epoch
    with pytest.raises(ConfigError, match="saved at batch 1 of an epoch that now has 1 batches"):
        train_expert(config, None, resume=folder)
    assert cli.main(["train-expert", "--out", str(tmp_path / "run"), "--resume", "--batch-size", "4",
                     "--no-progress"]) == 2


def test_resume_applies_the_recipes_optimiser_settings_and_warns_on_a_new_world_size(
        store: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    train_expert(tiny_expert_config(store), tmp_path / "run")
    folder = tmp_path / "run" / "checkpoints" / "step_000000001"
    rewrite_state(folder, world_size=2, rng=[load_state(folder)["rng"][0]] * 2)
    config = tiny_expert_config(store, **{"optim.betas": [0.5, 0.99], "schedule.max_steps": 2})
    with caplog.at_level("WARNING", logger="attnwav2lip"):
        train_expert(config, None, resume=folder)
    assert "random generator states are not restored" in caplog.text
    groups = load_state(tmp_path / "run" / "checkpoints" / "step_000000002")["task"]["optimizer"]["param_groups"]
    assert [tuple(g["betas"]) for g in groups] == [(0.5, 0.99)]
    # the run keeps what its first step ran under: the recipe, and the command's record
    earlier = yaml.safe_load((tmp_path / "run" / "config.to_step_000000001.yaml").read_text())
    assert earlier["optim"]["betas"] != [0.5, 0.99]
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["optim"]["betas"] == [0.5, 0.99]
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["resumed_from"] is not None and len(info["earlier"]) == 1
    assert info["earlier"][0]["resumed_from"] is None


def test_train_mode_expert_needs_two_windows_per_forward(store: Path, expert_file: Path, tmp_path: Path) -> None:
    """The expert's BatchNorm sees 1x1 maps: one window per micro-batch is refused before anything is written."""
    with pytest.raises(ConfigError, match="1 window.* per expert forward"):
        train_generator(tiny_generator_config(store, grad_accum=2), tmp_path / "run", expert=expert_file)
    assert not (tmp_path / "run").exists()
    eval_bn = tiny_generator_config(store, max_steps=1, grad_accum=2, sync=SyncLossConfig(schedule="fixed",
                                                                                          expert_bn="eval"))
    train_generator(eval_bn, tmp_path / "eval", expert=expert_file)
    assert "sync" in read_metrics(tmp_path / "eval", "train")[0]


def test_resuming_an_earlier_checkpoint_prunes_only_up_to_the_new_one(store: Path, tmp_path: Path) -> None:
    """The abandoned branch's later folders neither count as newest nor survive inside a step saved again."""
    run = tmp_path / "run"
    train_expert(tiny_expert_config(store, **{"schedule.max_steps": 4, "schedule.keep_checkpoints": 3}), run)
    (run / "checkpoints" / "step_000000003" / "discriminator.safetensors").touch()  # a file the new branch lacks
    config = tiny_expert_config(store, **{"schedule.max_steps": 3, "schedule.keep_checkpoints": 1})
    train_expert(config, None, resume=run / "checkpoints" / "step_000000002")
    assert sorted(p.name for p in (run / "checkpoints").glob("step_*")) == ["step_000000003", "step_000000004"]
    latest = resolve_checkpoint(run)
    assert latest.name == "step_000000003" and load_state(latest)["step"] == 3
    assert sorted(p.name for p in latest.iterdir()) == ["expert.safetensors", "state.pt"]


def with_precision(config: TrainConfig, precision: str, **changes: object) -> TrainConfig:
    return with_overrides(config, {"runtime.precision": precision, **changes})


@pytest.mark.slow
def test_forced_bf16_run_records_its_precision_and_resumes_bitwise(
        store: Path, expert_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under bf16 autocast (forced, so it runs on any CPU) 3 steps straight == 1 step, stop, resume 2."""
    config = with_precision(tiny_generator_config(store, max_steps=3), "bf16")
    train_generator(config, tmp_path / "straight", expert=expert_file)
    train_generator(with_precision(tiny_generator_config(store, max_steps=1), "bf16"), tmp_path / "split",
                    expert=expert_file)
    # the resumed part asks for fp32 under a CPU that "has" native bf16: the checkpoint's bf16 is kept
    monkeypatch.setenv("ATTNWAV2LIP_NATIVE_BF16", "1")
    train_generator(with_precision(config, "fp32"), None, expert=expert_file, resume=tmp_path / "split")
    a, b = (tmp_path / name / "checkpoints" / "step_000000003" for name in ("straight", "split"))
    for name in ("generator", "discriminator"):
        sa, sb = (load_model(f / f"{name}.safetensors").state_dict() for f in (a, b))
        assert all(torch.equal(sa[k], sb[k]) for k in sa), name
        assert all(v.dtype == torch.float32 for v in sa.values() if v.is_floating_point())  # weights stay fp32
    assert load_state(b)["precision"] == "bf16"
    info = json.loads((tmp_path / "split" / "run.json").read_text())
    assert info["precision"].startswith("bf16 (recorded") and info["earlier"][0]["precision"] == "bf16 (asked for)"
    assert info["cpu"]


def test_auto_without_native_bf16_trains_in_fp32_and_says_so(store: Path, expert_file: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="attnwav2lip"):
        train_generator(tiny_generator_config(store, max_steps=1), tmp_path / "run", expert=expert_file)
    assert "the system may wipe" in caplog.text  # pytest's tmp_path is under the temporary folder
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["precision"] == "fp32 (auto: ATTNWAV2LIP_NATIVE_BF16=0)"
    assert load_state(tmp_path / "run" / "checkpoints" / "step_000000001")["precision"] == "fp32"


@pytest.mark.slow
def test_a_checkpoint_from_before_precisions_were_recorded_resumes_in_fp32_on_cpu(
        store: Path, expert_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    train_generator(tiny_generator_config(store, max_steps=2), tmp_path / "run", expert=expert_file)
    folder = tmp_path / "run" / "checkpoints" / "step_000000002"
    rewrite_state(folder, precision=None)
    monkeypatch.setenv("ATTNWAV2LIP_NATIVE_BF16", "1")  # auto would now pick bf16
    with caplog.at_level("WARNING", logger="attnwav2lip"):
        train_generator(tiny_generator_config(store, max_steps=3), None, expert=expert_file, resume=folder)
    assert "before precisions were recorded" in caplog.text
    assert load_state(tmp_path / "run" / "checkpoints" / "step_000000003")["precision"] == "fp32"
