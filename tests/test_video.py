"""``evaluate --video``: one GIF per commanded goal, decoded back frame by frame."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
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


@pytest.mark.xdist_group("craftax-video")
def test_craftax_classic_videos_per_goal(tmp_path):
    """A Craftax-Classic artifact (its students' initial parameters, exported from a checkpoint
    written before any update) gives one playable GIF per goal, frames from craftax's renderer."""
    pytest.importorskip("craftax")
    from conftest import untrained_artifact
    from leo_teacher.cli.evaluate import main
    from leo_teacher.config import build_config, parse_set
    from leo_teacher.envs import make_env

    cfg = build_config(env="craftax-classic", preset="tiny",
                       overrides=parse_set(["env.bank_size=4", "env.reset_fraction=0.5"]))
    env = make_env(cfg.env)
    artifact = untrained_artifact(cfg, tmp_path)
    out = tmp_path / "videos"
    assert main([str(artifact), "--video", str(out), "--goals", "inventory/wood_1,tools", "--max-steps", "5"]) == 0
    tools = [n for n in env.goal_set.names if n.startswith("tools/")]
    index = check_videos(out, 1 + len(tools))
    assert [v["name"] for v in index] == ["inventory/wood_1", *tools]
    # craftax's renderer: 16-pixel blocks, a 7x9 local view above a 2-row inventory strip (144 x 144),
    # under the 14-pixel caption, padded to the caption's 200-pixel width
    frames = iio.imread(out / index[0]["file"], index=None)
    assert frames.shape[1:] == (14 + 16 * 7 + 16 * 2, 200, 3), frames.shape
    view = frames[0, 14:14 + 16 * 7, :16 * 9]
    assert len(np.unique(view.reshape(-1, 3), axis=0)) > 20  # textured blocks, not a blank frame
