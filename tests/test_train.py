"""Training pieces on their own: losses, sample order, the 0.75 rule, the frozen expert, the adversary, recipes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from attnwav2lip import cli
from attnwav2lip.cli.train import run_overrides
from attnwav2lip.config import load_recipe, parse_assignments
from attnwav2lip.errors import ConfigError
from attnwav2lip.models import LipSyncExpert, QualityDiscriminator
from attnwav2lip.train import ExpertTrainConfig, GanConfig, SyncLossConfig, TrainConfig, with_overrides
from attnwav2lip.train.adversarial import Adversary
from attnwav2lip.train.config import RuntimeConfig
from attnwav2lip.train.losses import cosine_bce, lower_half_frames, sync_accuracy
from attnwav2lip.train.runtime import start, stop
from attnwav2lip.train.sampler import Position, ShardedBatchSampler
from attnwav2lip.train.expert_loss import FrozenExpert, SyncWeight

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_lower_half_frames_is_the_originals_frame_major_stack() -> None:
    g = torch.rand(2, 3, 5, 96, 96)
    original = torch.cat([g[:, :, i] for i in range(g.size(2))], dim=1)[:, :, 48:]
    assert torch.equal(lower_half_frames(g), original)


def test_cosine_bce_matches_the_formula() -> None:
    a, v = F.normalize(torch.rand(6, 8), dim=1), F.normalize(torch.rand(6, 8), dim=1)
    y = torch.tensor([1.0, 0, 1, 0, 1, 1]).view(-1, 1)
    cos = (a * v).sum(1, keepdim=True)
    expected = -(y * cos.log() + (1 - y) * (1 - cos).log()).mean()
    assert torch.allclose(cosine_bce(a, v, y), expected, atol=1e-6)


def test_cosine_bce_accepts_parallel_embeddings_whose_cosine_rounds_above_one() -> None:
    torch.manual_seed(0)
    for _ in range(20):  # cosines of these pairs reach 1.0000002 in float32
        a = F.normalize(torch.rand(64, 512), dim=1)
        v = F.normalize(a + 1e-6 * torch.randn_like(a), dim=1)
        y = torch.ones(64, 1)
        assert 0.0 <= cosine_bce(a, v, y).item() < 1e-5
        assert cosine_bce(a, v, 1 - y).item() > 10.0
        assert sync_accuracy(a, v, y).item() == 1.0


def test_sampler_shards_cover_each_global_batch_and_resume_mid_epoch() -> None:
    shards = [list(ShardedBatchSampler(23, 4, rank=r, world_size=2, seed=3)) for r in range(2)]
    single = list(ShardedBatchSampler(23, 4, seed=3))
    assert len(single) == 5  # 23 // 4, the incomplete last batch dropped
    assert [a + b for a, b in zip(*shards)] == single
    later = ShardedBatchSampler(23, 4, seed=3)
    later.set_position(Position(epoch=0, batch=2))
    assert list(later) == single[2:]
    later.set_position(Position(epoch=1, batch=0))
    epoch1 = sum(list(later), [])
    assert epoch1 != sum(single, []) and len(set(epoch1)) == len(epoch1) == 20  # a fresh permutation
    assert list(ShardedBatchSampler(23, 4, seed=3, shuffle=False))[0] == [0, 1, 2, 3]
    with pytest.raises(ConfigError):
        ShardedBatchSampler(23, 5, world_size=2)


def test_sync_weight_rule_switches_once_and_fixed_is_on_from_the_start() -> None:
    rule = SyncWeight(SyncLossConfig(weight=0.03, threshold=0.75))
    assert rule.value(0) == 0.0
    assert not rule.observe(0.80, step=3000)
    assert rule.observe(0.74, step=6000) and rule.value(6000) == 0.03
    assert not rule.observe(0.90, step=9000) and rule.value(9000) == 0.03  # permanent, as in the original
    restored = SyncWeight(SyncLossConfig())
    restored.load_state_dict(rule.state_dict())
    assert restored.switched_at == 6000
    assert SyncWeight(SyncLossConfig(schedule="fixed")).value(0) == 0.03
    by_hand = SyncWeight(SyncLossConfig(schedule="fixed"))
    by_hand.load_state_dict({"switched_at": None})  # switching it on by hand when resuming a rule run
    assert by_hand.value(4000) == 0.03 and by_hand.switched_at == 4000
    deadline = SyncWeight(SyncLossConfig(switch_by=5000))
    assert deadline.value(4999) == 0.0 and deadline.value(5000) == 0.03 and deadline.switched_at == 5000
    early = SyncWeight(SyncLossConfig(switch_by=5000))
    assert early.observe(0.7, step=2000) and early.value(5000) == 0.03 and early.switched_at == 2000  # the rule first
    with pytest.raises(ConfigError, match="switch_by"):
        SyncLossConfig(schedule="fixed", switch_by=100)


@pytest.mark.parametrize("bn_mode", ["train", "eval"])
def test_frozen_expert_passes_gradients_but_never_changes(bn_mode: str) -> None:
    expert = LipSyncExpert(width=0.0625)
    before = {k: v.clone() for k, v in expert.state_dict().items()}
    frozen = FrozenExpert(expert, bn_mode).train()
    generated = torch.rand(3, 3, 5, 96, 96, requires_grad=True)
    mel = torch.rand(3, 1, 80, 16)
    loss = frozen(generated, mel)
    loss.backward()
    assert generated.grad is not None and generated.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in expert.parameters())
    assert all(torch.equal(before[k], v) for k, v in expert.state_dict().items())  # running stats too
    # "train" normalises each batch with its own statistics: a sample's score depends on its batch-mates

    def first_cosine(n: int) -> torch.Tensor:
        audio_emb, face_emb = expert(mel[:n], lower_half_frames(generated[:n]))
        return F.cosine_similarity(audio_emb, face_emb)[0]

    assert torch.allclose(first_cosine(2), first_cosine(3), atol=1e-6) == (bn_mode == "eval")


def test_adversary_steps_only_the_discriminator_and_owns_its_state() -> None:
    runtime = start(RuntimeConfig(progress=False))
    adversary = Adversary(QualityDiscriminator(width=0.0625), GanConfig(), runtime)
    assert adversary.optimizer.defaults["betas"] == (0.5, 0.999) and adversary.optimizer.defaults["lr"] == 1e-4
    fake = torch.rand(2, 3, 5, 96, 96, requires_grad=True)
    real = torch.rand(2, 3, 5, 96, 96)
    adversary.generator_loss(fake).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(p.grad is None and p.requires_grad for p in adversary.network.parameters())
    before = [p.clone() for p in adversary.network.parameters()]
    metrics = adversary.train_step(fake, real)
    assert set(metrics) == {"d_real", "d_fake"}
    assert any(not torch.equal(a, b) for a, b in zip(before, adversary.network.parameters()))
    assert "optimizer" in adversary.state_dict()


def test_adversary_micro_batches_match_one_batch() -> None:
    runtime = start(RuntimeConfig(progress=False))
    fake, real = torch.rand(4, 3, 5, 96, 96), torch.rand(4, 3, 5, 96, 96)
    results = []
    for micro in (1, 2):
        torch.manual_seed(0)
        adversary = Adversary(QualityDiscriminator(width=0.0625), GanConfig(), runtime)
        metrics = adversary.train_step(fake, real, micro_batches=micro)
        results.append((metrics, [p.detach().clone() for p in adversary.network.parameters()]))
    (m1, p1), (m2, p2) = results
    assert m1 == pytest.approx(m2, abs=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(p1, p2))


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_recipes_load(name: str) -> None:
    from attnwav2lip.train.evaluator import EvaluatorTrainConfig

    cls = EvaluatorTrainConfig if "evaluator" in name else ExpertTrainConfig if "expert" in name else TrainConfig
    config = load_recipe(cls, CONFIGS / name)
    assert config.data.batch_size >= 1


def test_generator_recipes_state_mel_offset_once(tmp_path: Path) -> None:
    """The model's offset is the sampler's: a recipe gives it once (either side), a saved config both."""
    for name in ("ablation_cpu.yaml", "lrs2_attnwav2lip.yaml", "synth_cpu.yaml", "synth_cpu_builtin.yaml"):
        assert (CONFIGS / name).read_text().count("mel_offset:") == 1
    for recipe in ("model: {mel_offset: 0}\n", "data: {sampling: {window: {mel_offset: 0}}}\n"):
        (tmp_path / "r.yaml").write_text(recipe)
        config = load_recipe(TrainConfig, tmp_path / "r.yaml")
        assert config.model.mel_offset == config.data.sampling.window.mel_offset == 0
    (tmp_path / "r.yaml").write_text("model: {mel_offset: 0}\ndata: {sampling: {window: {mel_offset: -1}}}\n")
    with pytest.raises(ConfigError, match="mel_offset"):
        load_recipe(TrainConfig, tmp_path / "r.yaml")


def test_paper_recipe_values() -> None:
    config = load_recipe(TrainConfig, CONFIGS / "lrs2_attnwav2lip.yaml")
    assert (config.model.width, config.model.attention, config.data.batch_size) == (1.0, "both", 16)
    assert (config.sync.weight, config.sync.schedule, config.sync.threshold, config.gan.weight) == (0.03, "rule", 0.75, 0.07)
    assert config.schedule.eval_every == config.schedule.checkpoint_every == 3000
    assert config.optim.lr == 1e-4 and config.gan.lr == 1e-4


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match="mel_offset"):
        with_overrides(TrainConfig(), {"model.mel_offset": 0})
    for key in ("sync.wieght", "synk.weight", "data.filelists.x", "sync.weight.x"):  # a leaf, parent, None, value
        with pytest.raises(ConfigError, match=f"unknown config key '{key}'"):
            with_overrides(TrainConfig(), {key: 0.1})
    with pytest.raises(ConfigError, match="< 1"):
        with_overrides(TrainConfig(), {"sync.weight": 0.5, "gan.weight": 0.5})
    assert with_overrides(TrainConfig(), {"model.attention": "spatial"}).model.attention == "spatial"
    with pytest.raises(ConfigError, match="freeze_bn_at"):
        with_overrides(TrainConfig(), {"schedule.freeze_bn_at": -1})
    for key, value, message in (("data.sampling.window.warmup_clips", 4, "warm-up needs"),
                                ("data.sampling.samples_per_epoch", 0, "samples_per_epoch"),
                                ("data.sampling.window.window", 3, "5 frames of 96 px"),
                                ("data.sampling.size", 128, "5 frames of 96 px")):
        with pytest.raises(ConfigError, match=message):  # at config time, not silently or at the first forward
            with_overrides(TrainConfig(), {key: value})


def test_a_run_leaves_torchs_process_settings_as_it_found_them() -> None:
    threads = torch.get_num_threads()
    runtime = start(RuntimeConfig(progress=False, threads=threads + 1, deterministic=True))
    assert torch.get_num_threads() == threads + 1 and torch.are_deterministic_algorithms_enabled()
    stop(runtime)
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()


def test_set_overrides_are_typed_and_checked() -> None:
    values = parse_assignments(TrainConfig, ["sync.weight=0.05", "schedule.lr_decay_at=[40000, 60000]",
                                             "gan.enabled=false", "schedule.freeze_bn_at=null", "gan.betas=0.4,0.9",
                                             "runtime.precision=bf16", "data.root=a=b"])
    assert values == {"sync.weight": 0.05, "schedule.lr_decay_at": (40000, 60000), "gan.enabled": False,
                      "schedule.freeze_bn_at": None, "gan.betas": (0.4, 0.9), "runtime.precision": "bf16",
                      "data.root": "a=b"}
    with_overrides(TrainConfig(), values)
    for item, message in (("sync.wieght=1", "unknown config key 'sync.wieght'"), ("sync=1", "sync is a section"),
                          ("sync.weight", "expects key=value"), ("sync.weight=abc", "sync.weight expects float"),
                          ("schedule.max_steps=1.5", "schedule.max_steps expects int"),
                          ("gan.enabled=maybe", "expects bool"), ("gan.betas=1,2,3", "gan.betas expects"),
                          ("runtime.precision=fp16", "one of auto|fp32|bf16")):
        with pytest.raises(ConfigError, match=message):
            parse_assignments(TrainConfig, [item])


def test_every_training_command_takes_set_after_its_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(["train", "--expert", "e.pt", "--max-steps", "5", "--no-gan",
                                          "--set", "sync.weight=0.05", "--set", "schedule.max_steps=7"])
    assert run_overrides(TrainConfig, args, {"gan.enabled": False}) == {
        "schedule.max_steps": 7, "gan.enabled": False, "sync.weight": 0.05}
    for command in ("train-expert", "train-evaluator"):
        assert cli.main([command, "--out", str(tmp_path / command), "--set", "sync.weight=0.1"]) == 2
        assert capsys.readouterr().err == f"attnwav2lip {command}: error: unknown config key 'sync.weight'\n"
