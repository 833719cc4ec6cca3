"""The four networks: parameter counts and key names of the originals, layouts, attention behaviour."""

from __future__ import annotations

import pytest
import torch

from attnwav2lip.errors import ConfigError
from attnwav2lip.models import (
    Generator,
    GeneratorConfig,
    LipSyncExpert,
    QualityDiscriminator,
    SyncNetEvaluator,
)
from attnwav2lip.models.attention import ChannelAttention, SpatialAttention, channel_hidden, make_attention
from attnwav2lip.models.blocks import copy_audio_encoder
from attnwav2lip.models.config import scale_channels

WAV2LIP_PARAMS = 36_298_035
ATTENTION_KINDS = ("none", "spatial", "channel", "both")


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def generators() -> dict[str, Generator]:
    """Width-1.0 generators of every attention kind (built once: the counts need full width)."""
    return {kind: Generator(attention=kind) for kind in ATTENTION_KINDS}


def wrapper_keys(prefix: str, norm: bool = True) -> list[str]:
    keys = [f"{prefix}.conv_block.0.weight", f"{prefix}.conv_block.0.bias"]
    if norm:
        keys += [f"{prefix}.conv_block.1.{n}" for n in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]
    return keys


def original_generator_keys() -> set[str]:
    """The state_dict keys of Wav2Lip's ``models/wav2lip.py``, written out independently of the model code."""
    encoder = {0: 1, 1: 3, 2: 4, 3: 3, 4: 3, 5: 2, 6: 2}
    decoder = {0: 1, 1: 2, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3}
    prefixes = [f"face_encoder_blocks.{i}.{j}" for i, n in encoder.items() for j in range(n)]
    prefixes += [f"audio_encoder.{i}" for i in range(13)]
    prefixes += [f"face_decoder_blocks.{i}.{j}" for i, n in decoder.items() for j in range(n)]
    prefixes += ["output_block.0"]
    return {k for p in prefixes for k in wrapper_keys(p)} | {"output_block.1.weight", "output_block.1.bias"}


def attention_params(kind: str, width: float = 1.0, kernel: int = 7) -> int:
    """Parameters CBAM adds: a bias-free C->h->C MLP and a 2->1 kxk conv with bias, per block."""
    ch = [scale_channels(c, width) for c in (16, 32, 64, 128, 256, 512, 512, 512, 512, 512, 384, 256, 128, 64)]
    channel = sum(2 * c * channel_hidden(c, 16, 8) for c in ch) if kind in ("channel", "both") else 0
    spatial = len(ch) * (2 * kernel * kernel + 1) if kind in ("spatial", "both") else 0
    return channel + spatial


# --- originals: parameter counts and key names --------------------------------------------------

@pytest.mark.parametrize("kind", ATTENTION_KINDS)
@pytest.mark.slow
def test_generator_parameter_counts(generators: dict[str, Generator], kind: str) -> None:
    assert n_params(generators[kind]) == WAV2LIP_PARAMS + attention_params(kind)


def test_quarter_width_generator_counts_quoted_in_the_docs() -> None:
    """docs/models.md and the model card quote these for the built-in width 0.25."""
    assert n_params(Generator(GeneratorConfig(width=0.25))) == 2_292_889  # default attention: both
    assert n_params(Generator(GeneratorConfig(width=0.25, attention="none"))) == 2_275_983


def test_generator_per_block_counts(generators: dict[str, Generator]) -> None:
    g = generators["none"]
    assert [n_params(b) for b in g.face_encoder_blocks] == [4752, 23328, 129792, 369792, 1476864, 3542016, 2624512]
    assert [n_params(b) for b in g.face_decoder_blocks] == [263680, 7080960, 9441792, 5311872, 2361600, 664704, 166464]
    assert n_params(g.audio_encoder) == 2_812_672
    assert n_params(g.output_block) == 23_235


def test_generator_keys_match_the_original(generators: dict[str, Generator]) -> None:
    state = generators["none"].state_dict()
    assert len(state) == 352
    assert set(state) == original_generator_keys()
    assert state["face_encoder_blocks.0.0.conv_block.0.weight"].shape == (16, 6, 7, 7)
    assert state["face_decoder_blocks.1.0.conv_block.0.weight"].shape == (1024, 512, 3, 3)
    assert state["output_block.1.weight"].shape == (3, 32, 1, 1)


@pytest.mark.parametrize("kind", ["spatial", "channel", "both"])
def test_attention_adds_keys_and_renames_none(generators: dict[str, Generator], kind: str) -> None:
    keys = set(generators[kind].state_dict())
    added = keys - original_generator_keys()
    assert original_generator_keys() <= keys
    assert all(k.split(".")[0] in ("encoder_attention", "decoder_attention") for k in added)
    parts = {k.split(".")[2] for k in added}
    assert parts == {"spatial": {"spatial"}, "channel": {"channel"}, "both": {"spatial", "channel"}}[kind]
    assert {int(k.split(".")[1]) for k in added} == set(range(7))


def test_expert_discriminator_evaluator_counts_and_keys() -> None:
    expert = LipSyncExpert()
    assert n_params(expert) == 16_435_072
    assert n_params(expert.face_encoder) == 13_031_808
    expected = {k for i in range(17) for k in wrapper_keys(f"face_encoder.{i}")}
    expected |= {k for i in range(14) for k in wrapper_keys(f"audio_encoder.{i}")}
    assert set(expert.state_dict()) == expected

    disc = QualityDiscriminator()
    assert n_params(disc) == 14_113_793
    blocks = {0: 1, 1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2}
    expected = {k for i, n in blocks.items() for j in range(n) for k in wrapper_keys(f"face_encoder_blocks.{i}.{j}", norm=False)}
    assert set(disc.state_dict()) == expected | {"binary_pred.0.weight", "binary_pred.0.bias"}

    evaluator = SyncNetEvaluator()
    assert n_params(evaluator) == 13_631_616
    # §9.2 as nn.Sequential indices: conv, BN, ReLU (+ MaxPool) per step.
    convs = (0, 4, 8, 11, 14, 18)
    expected = set()
    for stream in ("netcnnaud", "netcnnlip"):
        expected |= {f"{stream}.{i}.{p}" for i in convs for p in ("weight", "bias")}
        expected |= {f"{stream}.{i + 1}.{p}" for i in convs for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}
    for head in ("netfcaud", "netfclip"):
        expected |= {f"{head}.{i}.{p}" for i in (0, 3) for p in ("weight", "bias")}
        expected |= {f"{head}.1.{p}" for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}
    assert set(evaluator.state_dict()) == expected
    assert evaluator.state_dict()["netcnnlip.0.weight"].shape == (96, 3, 5, 7, 7)
    assert evaluator.state_dict()["netcnnaud.18.weight"].shape == (512, 256, 5, 4)


# --- layouts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, width", [(kind, 0.125) for kind in ATTENTION_KINDS] + [("both", 0.25)])
def test_generator_layouts(kind: str, width: float) -> None:
    g = Generator(width=width, attention=kind).eval()
    assert g.kind == "generator" and g.config == GeneratorConfig(width=width, attention=kind)
    with torch.no_grad():
        out = g(torch.rand(2, 1, 80, 16), torch.rand(2, 6, 96, 96))
        assert out.shape == (2, 3, 96, 96)
        assert out.min() >= 0 and out.max() <= 1
        windowed = g(torch.rand(1, 5, 1, 80, 16), torch.rand(1, 6, 5, 96, 96))
        assert windowed.shape == (1, 3, 5, 96, 96)


def test_windowed_generator_folds_time_major() -> None:
    """Frame t of sample b in the window layout is the per-frame output of (mels[b, t], faces[b, :, t])."""
    g = Generator(width=0.125, attention="both").eval()
    mels, faces = torch.rand(2, 3, 1, 80, 16), torch.rand(2, 6, 3, 96, 96)
    with torch.no_grad():
        windowed = g(mels, faces)
        for t in range(3):
            torch.testing.assert_close(windowed[:, :, t], g(mels[:, t], faces[:, :, t]), atol=1e-5, rtol=1e-5)


def test_expert_embeddings() -> None:
    expert = LipSyncExpert(width=0.25).eval()
    assert expert.kind == "expert"
    with torch.no_grad():
        audio, face = expert(torch.rand(4, 1, 80, 16), torch.rand(4, 15, 48, 96))
    assert audio.shape == face.shape == (4, scale_channels(512, 0.25))
    torch.testing.assert_close(audio.norm(dim=1), torch.ones(4))
    torch.testing.assert_close(face.norm(dim=1), torch.ones(4))
    cosine = (audio * face).sum(dim=1)
    assert (audio >= 0).all() and (face >= 0).all() and (cosine >= 0).all() and (cosine <= 1 + 1e-6).all()


def test_discriminator_judges_lower_half_per_frame() -> None:
    disc = QualityDiscriminator(width=0.25).eval()
    assert disc.kind == "discriminator"
    faces = torch.rand(2, 3, 5, 96, 96)
    changed = faces.clone()
    changed[:, :, :, :48] = torch.rand(2, 3, 5, 48, 96)  # upper half only
    with torch.no_grad():
        probs = disc(faces)
        assert probs.shape == (10, 1) and ((probs > 0) & (probs < 1)).all()
        torch.testing.assert_close(disc(changed), probs)
        torch.testing.assert_close(probs[2:4], disc(faces[:, :, 1]))  # time-major: rows 2..3 are t=1


def test_evaluator_embeddings() -> None:
    evaluator = SyncNetEvaluator(width=0.125).eval()
    assert evaluator.kind == "evaluator"
    with torch.no_grad():
        assert evaluator.forward_video(torch.rand(2, 3, 5, 224, 224) * 255).shape == (2, 1024)
        assert evaluator.forward_audio(torch.randn(2, 1, 13, 20)).shape == (2, 1024)


def test_generator_mel_encoder_starts_from_the_experts() -> None:
    """The expert's extra 256-channel residual is skipped; the copied encoder computes the expert's
    embedding without it, and a width mismatch is refused."""
    torch.manual_seed(0)
    expert, generator = LipSyncExpert(width=0.25).eval(), Generator(width=0.25).eval()
    copy_audio_encoder(expert.audio_encoder, generator.audio_encoder)
    without_second_residual = torch.nn.Sequential(*[m for i, m in enumerate(expert.audio_encoder) if i != 11])
    mels = torch.randn(3, 1, 80, 16)
    with torch.no_grad():
        torch.testing.assert_close(generator.audio_encoder(mels), without_second_residual(mels))
    with pytest.raises(ConfigError, match="width"):
        copy_audio_encoder(LipSyncExpert(width=0.125).audio_encoder, generator.audio_encoder)


def test_width_rounding_keeps_narrow_networks_whole() -> None:
    assert [scale_channels(c, 0.25) for c in (16, 32, 384, 512)] == [4, 8, 96, 128]
    assert [scale_channels(c, 0.125) for c in (16, 32, 384, 512)] == [2, 4, 48, 64]
    assert scale_channels(3, 0.1) == 1


@pytest.mark.parametrize("bad", [{"attention": "cbam"}, {"width": 0}, {"spatial_kernel": 5}, {"img_size": 128}, {"reduction": 0}])
def test_generator_config_rejects_invalid_values(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        GeneratorConfig(**bad)  # type: ignore[arg-type]


# --- attention ------------------------------------------------------------------------------------

def test_channel_attention_is_cbam_formula() -> None:
    module = ChannelAttention(32, 8)
    x = torch.randn(2, 32, 6, 5)
    w1, w2 = module.mlp[0].weight[:, :, 0, 0], module.mlp[2].weight[:, :, 0, 0]

    def mlp(v: torch.Tensor) -> torch.Tensor:
        return torch.relu(v @ w1.T) @ w2.T

    expected = torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3))))
    torch.testing.assert_close(module(x)[:, :, 0, 0], expected)


@pytest.mark.parametrize("norm", [False, True])
def test_spatial_attention_is_cbam_formula(norm: bool) -> None:
    module = SpatialAttention(kernel_size=3, norm=norm).eval()
    x = torch.randn(2, 8, 6, 5)
    pooled = torch.cat((x.mean(1, keepdim=True), x.amax(1, keepdim=True)), dim=1)
    expected = module.norm(torch.nn.functional.conv2d(pooled, module.conv.weight, module.conv.bias, padding=1))
    torch.testing.assert_close(module(x), torch.sigmoid(expected))
    assert (module.conv.bias is None) == norm


def test_residual_gates_scale_features_where_they_should() -> None:
    """Channel attention scales each channel uniformly over space, spatial attention each pixel
    uniformly over channels, each by a factor in (1, 2)."""
    x = torch.rand(2, 16, 6, 6) + 0.1
    ratio = make_attention("channel", 16)(x) / x
    assert ((ratio > 1) & (ratio < 2)).all()
    torch.testing.assert_close(ratio, ratio[:, :, :1, :1].expand_as(ratio))
    ratio = make_attention("spatial", 16)(x) / x
    assert ((ratio > 1) & (ratio < 2)).all()
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))
    assert n_params(make_attention("none", 16)) == 0
    with pytest.raises(ConfigError):
        make_attention("se", 16)


def test_channel_hidden_floor() -> None:
    assert [channel_hidden(c, 16, 8) for c in (2, 16, 128, 512)] == [2, 8, 8, 32]


@pytest.mark.slow
def test_spatial_attention_maps() -> None:
    g = Generator(width=0.125, attention="both").eval()
    with torch.no_grad():
        maps = g.spatial_attention_maps(torch.rand(1, 1, 80, 16), torch.rand(1, 6, 96, 96))
    sizes = (96, 48, 24, 12, 6, 3, 1)
    expected = {f"encoder.{i}": s for i, s in enumerate(sizes)} | {f"decoder.{i}": s for i, s in enumerate(reversed(sizes))}
    assert {k: v.shape for k, v in maps.items()} == {k: (1, 1, s, s) for k, s in expected.items()}
    assert all(((m > 0) & (m < 1)).all() for m in maps.values())
    assert not any(h for m in g.modules() for h in m._forward_hooks.values())  # hooks removed
    with pytest.raises(ConfigError, match="no spatial attention"):
        Generator(width=0.125, attention="channel").spatial_attention_maps(torch.rand(1, 1, 80, 16), torch.rand(1, 6, 96, 96))
