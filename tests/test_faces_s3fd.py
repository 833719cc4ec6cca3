"""S3FD on weights the tests make in the original key layout; decoding and NMS by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnwav2lip.errors import CheckpointError
from attnwav2lip.faces import create_detector
from attnwav2lip.faces.s3fd import (
    L2Norm,
    S3FDNet,
    candidates,
    decode,
    load_s3fd,
    nms,
    postprocess,
    prepare,
    prior_boxes,
)


@pytest.fixture(scope="module")
def net() -> S3FDNet:
    torch.manual_seed(0)
    return S3FDNet().eval()


@pytest.fixture(scope="module")
def weights(net, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("s3fd") / "s3fd.pth"
    torch.save(net.state_dict(), path)
    return str(path)


def test_state_dict_matches_the_original_layout(net):
    state = net.state_dict()
    assert len(state) == 65
    assert sum(v.numel() for v in state.values()) == 22_459_110
    assert list(state)[:2] == ["conv1_1.weight", "conv1_1.bias"]
    assert state["fc6.weight"].shape == (1024, 512, 3, 3)
    assert state["conv3_3_norm.weight"].shape == (256,) and "conv3_3_norm.bias" not in state
    assert state["conv3_3_norm_mbox_conf.weight"].shape == (4, 256, 3, 3)
    assert torch.all(state["conv4_3_norm.weight"] == 8.0)


def test_forward_gives_twelve_maps_with_fc6_padding_geometry(net):
    height, width = 96, 136  # odd map sizes appear (17 columns at stride 8, 7 rows at fc7)
    with torch.inference_mode():
        out = net(torch.zeros(1, 3, height, width))
    h3, w3 = height // 32 + 4, width // 32 + 4
    h4, w4 = math.ceil(h3 / 2), math.ceil(w3 / 2)
    maps = [(height // 4, width // 4), (height // 8, width // 8), (height // 16, width // 16), (h3, w3), (h4, w4),
            (math.ceil(h4 / 2), math.ceil(w4 / 2))]  # fmt: skip
    assert len(out) == 12
    for i, (rows, cols) in enumerate(maps):
        assert out[2 * i].shape == (1, 2, rows, cols)
        assert out[2 * i + 1].shape == (1, 4, rows, cols)


def test_max_out_background_on_source_zero(net):
    head = net.conv3_3_norm_mbox_conf
    saved = {k: v.clone() for k, v in head.state_dict().items()}
    try:
        with torch.no_grad():
            head.weight.zero_()
            head.bias.copy_(torch.tensor([1.0, 5.0, 2.0, 3.0]))
            conf0 = net(torch.zeros(1, 3, 32, 32))[0]
    finally:
        head.load_state_dict(saved)
    assert torch.all(conf0[:, 0] == 5.0) and torch.all(conf0[:, 1] == 3.0)


def test_l2norm_adds_eps_after_the_root():
    layer = L2Norm(2, 10.0)
    x = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)
    with torch.no_grad():
        y = layer(x)
    assert torch.allclose(y.view(-1), torch.tensor([6.0, 8.0]))


def test_input_is_rgb_minus_the_caffe_mean_exactly():
    frame = np.array([[[0, 255, 104]]], np.uint8)[None]
    x = prepare(frame)
    assert x.shape == (1, 3, 1, 1)
    assert x.view(-1).tolist() == [-104.0, 138.0, -19.0]


def test_priors_follow_stride_and_side():
    priors = prior_boxes(3, rows=4, cols=5)  # fc7: stride 32, side 128
    assert priors.shape == (4, 5, 4)
    assert priors[1, 2].tolist() == [80.0, 48.0, 128.0, 128.0]
    assert prior_boxes(0, 2, 2)[0, 0].tolist() == [2.0, 2.0, 16.0, 16.0]


def test_decode_by_hand():
    loc = torch.tensor([[0.5, -0.5, 0.0, math.log(2) / 0.2]])
    prior = torch.tensor([[80.0, 48.0, 128.0, 128.0]])
    box = decode(loc, prior)[0].tolist()
    # centre (80 + 0.5*0.1*128, 48 - 6.4) = (86.4, 41.6); size (128, 256)
    assert box == pytest.approx([22.4, -86.4, 150.4, 169.6], abs=1e-4)


def test_nms_uses_inclusive_pixel_iou():
    dets = np.array(
        [
            [0, 0, 9, 9, 0.9],  # area 10 x 10 = 100 (inclusive)
            [5, 0, 14, 9, 0.8],  # inter 5 x 10: IoU 50/150 = 0.333 > 0.3: suppressed
            [6, 0, 15, 9, 0.7],  # inter 4 x 10: IoU 40/160 = 0.25: kept (0.286 would also keep it exclusive)
            [30, 30, 40, 40, 0.95],
        ],
        np.float32,
    )
    assert nms(dets) == [3, 0, 2]
    # exclusive-pixel IoU would be 36/126 = 0.286 for row 1 and keep it; inclusive suppresses it
    assert nms(dets[[0, 1]]) == [0]


def _outputs(cells: dict[tuple[int, int, int], float], rows: int = 6, cols: int = 6) -> list[torch.Tensor]:
    """Face logits at (source, row, col); elsewhere background wins (p ~ 4.5e-5); zero offsets."""
    out = []
    for source in range(6):
        conf = torch.zeros(1, 2, rows, cols)
        conf[0, 0] = 10.0
        for (s, r, c), logit in cells.items():
            if s == source:
                conf[0, 0, r, c], conf[0, 1, r, c] = 0.0, logit
        out += [conf, torch.zeros(1, 4, rows, cols)]
    return out


def test_postprocess_by_hand():
    # source 2: stride 16, side 64; cell (1, 1) centre (24, 24) -> box (-8, -8, 56, 56)
    out = _outputs({(2, 1, 1): 10.0, (2, 1, 2): 2.0, (2, 1, 4): 1.0, (2, 3, 3): -1.0, (1, 0, 0): 0.0})
    (found,) = postprocess(out)
    # (1, 2) overlaps (1, 1) with inclusive IoU 3185/5265 = 0.605: suppressed
    # (1, 4) overlaps it with IoU 1105/7345 = 0.150: kept, p = sigmoid(1) = 0.731
    # (3, 3) has p = sigmoid(-1) = 0.269 and (0, 0) of source 1 p = 0.5: not > 0.5
    assert found.boxes.tolist() == [[-8.0, -8.0, 56.0, 56.0], [40.0, -8.0, 104.0, 56.0]]
    assert found.scores.tolist() == pytest.approx([1 / (1 + math.exp(-10)), 1 / (1 + math.exp(-1))], rel=1e-5)
    # NMS at 0.1 (syncnet_python's setting) also suppresses the IoU 0.150 box
    (strict,) = postprocess(out, nms_threshold=0.1)
    assert strict.boxes.tolist() == [[-8.0, -8.0, 56.0, 56.0]]


def test_prefilter_and_empty_case():
    cands = candidates(_outputs({(3, 2, 2): -2.0, (4, 0, 0): -3.5}), 0)
    # p(-2) = 0.119 passes the 0.05 pre-filter; p(-3.5) = 0.029 does not
    assert cands.shape == (1, 5) and cands[0, :4].tolist() == [16.0, 16.0, 144.0, 144.0]
    empty = candidates(_outputs({}), 0)
    assert empty.tolist() == [[0.0] * 5]
    assert len(postprocess(_outputs({}))[0]) == 0


@pytest.mark.slow
def test_load_original_state_dict_and_detect(weights, net):
    loaded = load_s3fd(weights)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), net.state_dict().values()))
    with create_detector("s3fd", weights=weights, max_side=64) as detector:
        frames = np.random.default_rng(0).integers(0, 256, (2, 60, 80, 3), dtype=np.uint8)
        found = detector.detect(frames)
        assert len(found) == 2
        for dets in found:
            assert dets.boxes.dtype == np.float32 and dets.boxes.shape[1] == 4
            assert np.all(dets.scores > 0.5) and np.all(np.diff(dets.scores) <= 0)
        assert detector.settings()["weights"] == detector.weights_id and len(detector.weights_id) == 64


def test_bad_weights_are_checkpoint_errors(tmp_path, net):
    with pytest.raises(CheckpointError, match="not found"):
        load_s3fd(tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt or truncated PyTorch file"):
        load_s3fd(junk)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({f"module.{k}": v for k, v in list(net.state_dict().items())[:3]}, wrapped)
    with pytest.raises(CheckpointError, match="not an S3FD state dict"):
        load_s3fd(wrapped)


def _loop_reference(outputs: list[torch.Tensor]) -> np.ndarray:
    """Reference A.7 written the original's way: one cell at a time, float64 priors, unstable sort."""
    rows = []
    for source in range(6):
        prob = torch.softmax(outputs[2 * source], dim=1)[0, 1].numpy()
        loc = outputs[2 * source + 1][0].numpy()
        stride = 2 ** (source + 2)
        for r, c in zip(*np.where(prob > 0.05)):
            prior = torch.tensor([[stride / 2 + c * stride, stride / 2 + r * stride, 4.0 * stride, 4.0 * stride]])
            box = decode(torch.from_numpy(loc[:, r, c]).view(1, 4), prior)[0].numpy()
            rows.append([*box, prob[r, c]])
    dets = np.array(rows, np.float32)
    keep, order = [], dets[:, 4].argsort()[::-1]
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(dets[i, 2], dets[rest, 2]) - np.maximum(dets[i, 0], dets[rest, 0]) + 1)
        h = np.maximum(0.0, np.minimum(dets[i, 3], dets[rest, 3]) - np.maximum(dets[i, 1], dets[rest, 1]) + 1)
        area = lambda d: (d[..., 2] - d[..., 0] + 1) * (d[..., 3] - d[..., 1] + 1)  # noqa: E731
        order = rest[w * h / (area(dets[i]) + area(dets[rest]) - w * h) <= 0.3]
    kept = dets[keep]
    return kept[kept[:, 4] > 0.5]


def test_vectorised_postprocess_matches_a_cell_by_cell_reference():
    generator = torch.Generator().manual_seed(3)
    sizes = [(24, 32), (12, 16), (6, 8), (7, 8), (4, 4), (2, 2)]
    outputs = []
    for rows, cols in sizes:
        conf = torch.randn(1, 2, rows, cols, generator=generator) * 2 + torch.tensor([1.5, 0.0]).view(1, 2, 1, 1)
        outputs += [conf, torch.randn(1, 4, rows, cols, generator=generator)]
    (found,) = postprocess(outputs)
    expected = _loop_reference(outputs)
    assert len(found) == len(expected) > 3
    np.testing.assert_allclose(found.boxes, expected[:, :4], rtol=0, atol=1e-4)
    np.testing.assert_allclose(found.scores, expected[:, 4], rtol=1e-6)
