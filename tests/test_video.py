"""``evaluate --video``: one GIF per commanded goal, decoded back frame by frame."""

from __future__ import annotations

import json

import imageio.v3 as iio
import pytest

pytestmark = pytest.mark.xdist_group("tiny-run")


def check_videos(video_dir, expected_goals: int) -> list[dict]:
    """Every GIF in videos.json decodes to as many frames as its episode had: one per step the
    policy acted, plus the last state unless the episode ended there."""
    index = json.loads((video_dir / "videos.json").read_text())
    assert len(index) == expected_goals
    for v in index:
        frames = iio.imread(video_dir / v["file"], index=None)
        assert frames.ndim == 4 and frames.shape[-1] == 3 and frames.shape[1] > 14
        assert len(frames) == v["frames"] == v["steps"] + (0 if v["episode_ended"] else 1), v
        assert v["success"] or v["episode_ended"] or v["steps"] > 0
    return index


def test_gridworld_videos_per_goal(tiny_run, tmp_path):
    from leo_teacher.artifact.export import export_policy
    from leo_teacher.cli.evaluate import main

    run_dir, _ = tiny_run
    artifact = export_policy(run_dir, tmp_path / "policy")
    out = tmp_path / "videos"
    assert main([str(artifact), "--video", str(out), "--goals", "position/4-4,position/0-0", "--max-steps", "40"]) == 0
    index = check_videos(out, 2)
    assert [v["name"] for v in index] == ["position/4-4", "position/0-0"]
    # position/0-0 is not reached by the tiny run's student: all 40 steps, and the state after them
    assert not index[1]["success"] and index[1]["steps"] == 40 and index[1]["frames"] == 41
    assert main([str(artifact), "--video", str(out), "--goals", "position/4-4"]) == 2  # exists: --overwrite
    assert main([str(artifact), "--video", str(tmp_path / "v2"), "--goals", "nosuch"]) == 2
    assert main([str(artifact)]) == 2  # neither --run-dir nor --video
