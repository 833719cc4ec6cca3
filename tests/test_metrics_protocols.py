"""Pair lists, random pairing, aggregation, bootstrap intervals and the results files."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from attnwav2lip.errors import AttnWav2LipError, ConfigError
from attnwav2lip.metrics.protocols import Pair, random_pairing, read_pair_list, resolve_media, write_pair_list
from attnwav2lip.metrics.results import (
    compare_results,
    read_results_csv,
    write_comparison,
    write_summary,
)
from attnwav2lip.metrics.scoring import VideoResult, collect_videos, resample_frames
from attnwav2lip.metrics.stats import paired_bootstrap, summarize


def test_lrs_lists_are_audio_first(tmp_path) -> None:
    path = tmp_path / "lrs2.txt"
    path.write_text("6330311066473698535/00011 6330311066473698535/00013\n\nuL5XUwfkxZw/00007 DOgsYATbVSs/00003\n")
    assert read_pair_list(path) == [
        Pair(video="6330311066473698535/00013", audio="6330311066473698535/00011"),
        Pair(video="DOgsYATbVSs/00003", audio="uL5XUwfkxZw/00007"),
    ]


def test_resynced_lists_are_video_first(tmp_path) -> None:
    folder = tmp_path / "ReSyncED"
    folder.mkdir()
    (folder / "random_pairs.txt").write_text("sachin.mp4 emma_cropped.mp4\n")
    (folder / "tts_pairs.txt").write_text("elon.mp4 elon_tts.wav\n")
    assert read_pair_list(folder / "random_pairs.txt") == [Pair(video="sachin.mp4", audio="emma_cropped.mp4")]
    assert read_pair_list(folder / "tts_pairs.txt") == [Pair(video="elon.mp4", audio="elon_tts.wav")]
    # an explicit order wins over the name
    assert read_pair_list(folder / "tts_pairs.txt", "audio-video") == [Pair(video="elon_tts.wav", audio="elon.mp4")]


def test_lrw_names_resolve_flat_or_in_the_lrw_tree(tmp_path) -> None:
    path = tmp_path / "lrw.txt"
    path.write_text("BRING_00018 WESTERN_00039\n")
    (pair,) = read_pair_list(path)
    assert pair == Pair(video="WESTERN_00039", audio="BRING_00018")
    (tmp_path / "WESTERN_00039.mp4").write_bytes(b"")
    (tmp_path / "BRING" / "test").mkdir(parents=True)
    (tmp_path / "BRING" / "test" / "BRING_00018.mp4").write_bytes(b"")
    assert resolve_media(pair.video, tmp_path) == tmp_path / "WESTERN_00039.mp4"
    assert resolve_media(pair.audio, tmp_path) == tmp_path / "BRING" / "test" / "BRING_00018.mp4"
    with pytest.raises(AttnWav2LipError, match="not found"):
        resolve_media("ABOUT_00001", tmp_path)


def test_bad_lists_are_clear_errors(tmp_path) -> None:
    with pytest.raises(AttnWav2LipError, match="not found"):
        read_pair_list(tmp_path / "missing.txt")
    bad = tmp_path / "lrs3.txt"
    bad.write_text("a/1 b/2\nonly_one\n")
    with pytest.raises(AttnWav2LipError, match=r"lrs3.txt:2: expected two names"):
        read_pair_list(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(AttnWav2LipError, match="no pairs"):
        read_pair_list(empty)


def test_pair_list_round_trip(tmp_path) -> None:
    pairs = [Pair("v1", "a1"), Pair("v2", "a2")]
    write_pair_list(tmp_path / "pairs.txt", pairs)
    assert (tmp_path / "pairs.txt").read_text() == "a1 v1\na2 v2\n"
    assert read_pair_list(tmp_path / "pairs.txt") == pairs


def test_pair_lists_read_back_as_written_whatever_the_name(tmp_path) -> None:
    pairs = [Pair(video="long.mp4", audio="short.mp4")]
    write_pair_list(tmp_path / "random_pairs.txt", pairs)
    assert (tmp_path / "random_pairs.txt").read_text() == "long.mp4 short.mp4\n"  # ReSyncED order for that name
    assert read_pair_list(tmp_path / "random_pairs.txt") == pairs
    write_pair_list(tmp_path / "lrs2.txt", pairs)
    assert (tmp_path / "lrs2.txt").read_text() == "short.mp4 long.mp4\n"
    assert read_pair_list(tmp_path / "lrs2.txt") == pairs


def test_random_pairing_uses_shorter_speech_and_is_seeded() -> None:
    durations = {f"clip{i}": float(d) for i, d in enumerate([3.0, 1.0, 2.5, 2.5, 4.0, 1.5])}
    pairs = random_pairing(durations, seed=7)
    assert pairs == random_pairing(dict(reversed(durations.items())), seed=7)  # order of the mapping is irrelevant
    assert {p.video for p in pairs} == set(durations) - {"clip1"}  # the shortest clip has no partner
    for pair in pairs:
        assert pair.audio != pair.video
        assert durations[pair.audio] < durations[pair.video]
    draws = {tuple(random_pairing(durations, seed=s)) for s in range(20)}
    assert len(draws) > 1


def test_summary_is_a_mean_over_videos() -> None:
    summary = summarize([6.0, 8.0], [7.0, 5.0], [0, 3])
    assert summary.count == 2
    assert summary.lse_d_mean == 7.0 and summary.lse_c_mean == 6.0 and summary.offset_mean == 1.5
    assert summary.lse_d_std == pytest.approx(math.sqrt(2.0))
    assert summarize([6.0], [7.0], [1]).lse_d_std == 0.0


def test_paired_bootstrap_interval() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(7.0, 1.0, 400)
    b = a - 0.3 + rng.normal(0.0, 0.2, 400)
    diff = paired_bootstrap(a, b, "lse_d", num_resamples=4000)
    assert diff.count == 400
    assert diff.mean == pytest.approx(float(np.mean(b - a)))
    assert diff.low < diff.mean < diff.high
    standard_error = np.std(b - a, ddof=1) / np.sqrt(400)
    assert diff.high - diff.low == pytest.approx(2 * 1.96 * standard_error, rel=0.1)
    assert diff.high < 0  # a consistent improvement is clearly non-zero
    same = paired_bootstrap(a, a)
    assert same.mean == same.low == same.high == 0.0
    assert paired_bootstrap(a, b, seed=1) != paired_bootstrap(a, b, seed=2)


def test_paired_bootstrap_refuses_unpaired_input_and_has_no_interval_for_one_pair(tmp_path) -> None:
    with pytest.raises(ValueError, match="equally long"):
        paired_bootstrap([5.0], [1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match="num_resamples"):
        paired_bootstrap([1.0, 2.0], [2.0, 3.0], num_resamples=0)
    single = paired_bootstrap([5.0], [4.0], "lse_d")
    assert single.count == 1 and single.mean == -1.0 and math.isnan(single.low) and math.isnan(single.high)
    write_comparison(tmp_path, [single], "syncnet_v2", ("a", "b"))
    assert "| LSE-D | 1 | -1.000 | n/a (needs >= 2 pairs) |" in (tmp_path / "comparison.md").read_text()


def test_results_files_and_comparison(tmp_path) -> None:
    first = [
        VideoResult("/gen/a/0.mp4", 7.0, 6.0, 1, 40),
        VideoResult("/gen/a/1.mp4", 8.0, 5.0, -1, 30),
        VideoResult("/gen/a/2.mp4", error="2.mp4: too short to score"),
    ]
    summary = write_summary(tmp_path, first, "syncnet_v2", "LRS (whole frames resized to 224)", name="a")
    assert summary.count == 2 and summary.lse_d_mean == 7.5 and summary.offset_mean == 0.0
    assert read_results_csv(tmp_path / "a.csv")[:2] == first[:2]
    assert read_results_csv(tmp_path / "a.csv")[2].error == "2.mp4: too short to score"
    markdown = (tmp_path / "a_summary.md").read_text()
    assert "# LSE (syncnet_v2)" in markdown and "| 2 | 1 | 7.500 |" in markdown and "too short" in markdown
    with open(tmp_path / "a_summary.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["evaluator"] == "syncnet_v2" and row["count"] == "2" and row["failed"] == "1"

    second = [VideoResult("/gen/b/1.mp4", 7.5, 5.5, 0, 30), VideoResult("/gen/b/0.mp4", 6.5, 6.5, 0, 40)]
    diffs = compare_results(first, second, num_resamples=200)
    assert [d.metric for d in diffs] == ["lse_d", "lse_c"]
    assert diffs[0].count == 2 and diffs[0].mean == pytest.approx(-0.5) and diffs[1].mean == pytest.approx(0.5)
    write_comparison(tmp_path, diffs, "syncnet_v2", ("a", "b"))
    assert "| LSE-D | 2 | -0.500 |" in (tmp_path / "comparison.md").read_text()
    with pytest.raises(AttnWav2LipError, match="share no scored video"):
        compare_results(first, [VideoResult("/x/9.mp4", 1.0, 1.0, 0, 5)])


def test_a_run_that_scores_nothing_leaves_no_earlier_summary(tmp_path) -> None:
    write_summary(tmp_path, [VideoResult("0.mp4", 7.0, 6.0, 0, 20)], "syncnet_v2", "LRS")
    with pytest.raises(AttnWav2LipError, match="no video could be scored"):
        write_summary(tmp_path, [VideoResult("0.mp4", error="no face")], "SynthTalk evaluator", "LRS")
    assert read_results_csv(tmp_path / "scores.csv")[0].error == "no face"
    assert not (tmp_path / "scores_summary.csv").exists() and not (tmp_path / "scores_summary.md").exists()


def test_resample_frames_by_timestamp() -> None:
    frames = list(range(30))  # one second at 30 fps
    out = list(resample_frames(frames, 30.0))
    assert len(out) == 25
    assert out[:7] == [0, 1, 2, 4, 5, 6, 7]  # frames 3 and 4 share slot 3: the later one is shown
    assert list(resample_frames(frames[:10], 25.0)) == frames[:10]
    assert list(resample_frames(list(range(10)), 12.5)) == [f for f in range(10) for _ in range(2)]
    assert len(list(resample_frames(list(range(48)), 48.0))) == 25
    with pytest.raises(AttnWav2LipError, match="frame rate"):
        list(resample_frames(frames, 0.0))


def test_collect_videos_from_folder_and_list(tmp_path) -> None:
    for name in ("b.mp4", "a.avi", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert collect_videos(tmp_path) == [(tmp_path / "a.avi", None), (tmp_path / "b.mp4", None)]
    listing = tmp_path / "list.txt"
    listing.write_text("a.avi\n# comment\nb.mp4 /data/original.wav\n")
    assert collect_videos(listing) == [(tmp_path / "a.avi", None), (tmp_path / "b.mp4", tmp_path / "/data/original.wav")]
    with pytest.raises(AttnWav2LipError, match="no such folder"):
        collect_videos(tmp_path / "missing")


def test_evaluate_scans_the_same_suffixes_as_preprocess(tmp_path) -> None:
    from attnwav2lip.data.sources import find_videos

    for name in ("a.mpg", "b.MPEG", "c.webm", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    scored = [video for video, _ in collect_videos(tmp_path)]
    assert scored == [v.path for v in find_videos(tmp_path)] == [tmp_path / n for n in ("a.mpg", "b.MPEG", "c.webm")]


def test_two_level_bootstrap_widens_with_the_spread_between_groups() -> None:
    """Three 'seeds' that disagree: pairs within a seed are consistent, so the one-level interval is
    narrow and excludes 0; resampling seeds first exposes that one seed goes the other way."""
    rng = np.random.default_rng(0)
    shifts = (1.0, 0.8, -0.9)
    b = np.concatenate([shift + rng.normal(0.0, 0.05, 20) for shift in shifts])
    a = np.zeros_like(b)
    groups = [seed for seed in range(3) for _ in range(20)]
    flat = paired_bootstrap(a, b, num_resamples=2000)
    nested = paired_bootstrap(a, b, num_resamples=2000, groups=groups)
    assert flat.mean == nested.mean and flat.low > 0
    assert nested.low < 0 < nested.high and nested.high - nested.low > 3 * (flat.high - flat.low)
    with pytest.raises(ValueError, match="groups"):
        paired_bootstrap(a, b, groups=groups[:-1])
