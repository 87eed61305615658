"""Config: presets, overrides, and errors that list what is valid."""

import pytest

from leo_teacher.config import ConfigError, build_config, parse_set


def test_defaults_and_preset():
    cfg = build_config()
    assert cfg.env.name == "gridworld" and cfg.student.name == "mlp"
    assert cfg.coordinator.mode == "teacher-as-teacher"
    tiny = build_config(preset="tiny")
    assert tiny.env.num_envs == 32 and tiny.env.size == 8


def test_set_overrides_types():
    cfg = build_config(overrides=parse_set(["teacher.lr=1e-4", "student.minibatch_size=512", "run.wandb=true"]))
    assert cfg.teacher.lr == pytest.approx(1e-4)
    assert cfg.student.minibatch_size == 512 and isinstance(cfg.student.minibatch_size, int)
    assert cfg.run.wandb is True


@pytest.mark.parametrize(
    "override, message",
    [
        ({"teacher": {"nope": 1}}, "valid fields of teacher: width"),
        ({"bogus": {"x": 1}}, "valid sections: env, teacher"),
        ({"teacher": {"lr": "fast"}}, "not a valid float"),
        ({"coordinator": {"mode": "solo"}}, "valid modes: teacher-as-teacher"),
        ({"coordinator": {"distill_target": "l2"}}, "valid: argmax, softmax, kl"),
        ({"student": {"minibatch_size": 3000}}, "does not divide the rollout size"),
        ({"env": {"num_envs": 0}}, "must be positive"),
    ],
)
def test_bad_values_name_the_fix(override, message):
    with pytest.raises(ConfigError, match=message):
        build_config(overrides=override)


def test_bad_set_syntax():
    with pytest.raises(ConfigError, match="SECTION.FIELD=VALUE"):
        parse_set(["lr=3"])


def test_unknown_preset():
    with pytest.raises(ConfigError, match="valid presets: cpu, tiny"):
        build_config(preset="huge")
