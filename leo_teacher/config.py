"""Typed configuration: one dataclass per part, YAML presets, command-line overrides.

Every default lives here, once. A YAML file in ``configs/`` holds a base section plus named
presets; the command line overrides any field with ``--set section.field=value``.
Unknown keys and bad values raise :class:`ConfigError`, whose message lists what is valid.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

MODES = (
    "teacher-as-teacher",
    "teacher-as-actor",
    "student-only",
    "random",
    # baselines: a goal-conditioned Q network in the teacher's slot, acting alone
    "pqn",
    "pqn-her",
    "all-goals-relabel",
    # Dual LEO with a PQN student acting on a mix of its own and the teacher's values
    "dual-leo-pqn",
)
HER_STRATEGIES = ("random", "positive", "mixed")
ENV_NAMES = ("gridworld", "craftax-classic", "craftax", "brax-reacher")
DISTILL_TARGETS = ("argmax", "softmax", "kl")
# Coordinator fields each student may set for itself in the ``per_student`` section.
PER_STUDENT_FIELDS = ("distill_target", "distill_coef", "distill_tau", "value_distill_coef", "anneal_distill")
GOAL_INPUTS = ("representation", "index")


class ConfigError(ValueError):
    """A configuration problem the user can fix; the message says how."""


@dataclass
class EnvConfig:
    """Which environment, and how many envs step in parallel for how long per iteration."""

    name: str = "gridworld"
    num_envs: int = 256
    rollout_steps: int = 32
    # gridworld
    size: int = 16
    wall_prob: float = 0.3
    map_seed: int = 0
    episode_length: int = 200
    random_start_steps: int = 50
    # craftax
    reset_scheme: str = "auto"
    reset_fraction: float = 0.02
    bank_size: int = 1024
    # brax-reacher (continuous torques; leo_teacher/envs/brax_reacher.py). episode_length and
    # random_start_steps above apply too (its preset: 50-step episodes of 0.02 s).
    backend: str = "spring"  # Brax pipeline; spring measured fastest on CPU for the arm
    goal_rings: int = 3  # targets on rings of radius 0.2 m * k / goal_rings
    goals_per_ring: int = 8
    goal_radius: float = 0.02  # metres: fingertip within this of a target achieves it


@dataclass
class TeacherConfig:
    """The LEO teacher: an MLP from observation to [G, A] sigmoid values (DESIGN §1)."""

    width: int = 256
    depth: int = 2
    lr: float = 2e-4
    anneal_lr: bool = True
    max_grad_norm: float = 1.0
    epochs: int = 2
    minibatch_size: int = 512
    gamma: float | None = None  # None: 0.99 when the teacher acts, 0.995 when a student acts
    td_lambda: float = 0.0  # 0: one-step targets (DESIGN §1); >0: PQN-style Q(lambda)
    # epsilon when the teacher acts (continuous actions: the std of its Gaussian action noise)
    eps_start: float = 0.2
    eps_end: float = 0.01
    eps_decay_fraction: float = 0.2
    conv_features: int = -1  # 3x3 conv over map observations; -1: auto (16 for maps, else none)
    # hindsight relabelling (mode pqn-her): extra goals per env and rollout, and how to pick them
    relabel_count: int = 4
    her_strategy: str = "mixed"
    # continuous actions (leo_teacher/continuous.py): per-goal critic head width, and TD3's
    # target-policy smoothing noise (std, clip) on the bootstrap action
    head_width: int = 64
    target_noise: float = 0.2
    target_noise_clip: float = 0.5


@dataclass
class StudentConfig:
    """A goal-conditioned student trained by PPO and distilled from the teacher."""

    name: str = "mlp"
    goal_input: str = "representation"  # or "index": a learned embedding of the goal index
    conv_features: int = -1  # 3x3 conv over map observations; -1: auto (32 for maps, else none)
    width: int = 256
    depth: int = 2
    lr: float = 2e-4
    anneal_lr: bool = True
    max_grad_norm: float = 0.5
    adam_eps: float = 1e-5
    epochs: int = 1
    minibatch_size: int = 2048
    gamma: float = 0.995
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    entropy_coef: float = 0.005
    value_coef: float = 0.5
    log_std_init: float = -0.5  # continuous actions: initial log std of the Gaussian policy
    # transformer student (students/transformer.py). CPU-sized defaults, measured on the
    # gridworld (2M steps): one block and one token for its 256 flat features cost about what
    # the MLP does and reach 0.91/0.93 of reachable goals (seeds 0/1); 2 blocks of width 32
    # over 4 tokens reached 0.82 (seed 0) at a larger cost. Deeper models want num_layers >= 2 (with one block,
    # only the CLS token queries: attention pooling plus a feed-forward).
    token_dim: int = 64
    num_layers: int = 1
    num_heads: int = 4
    mlp_ratio: int = 4  # feed-forward width = mlp_ratio * token_dim
    chunk_size: int = 256  # flat features per token (map observations: one token per cell)
    pooling: str = "cls"  # or "mean" over all tokens


@dataclass
class CoordinatorConfig:
    """The schedule of the joint teacher and student updates.

    ``mode`` picks who acts and who learns; the distillation fields shape the student's loss
    towards the teacher (ignored in modes without a teacher or without a student).
    """

    mode: str = "teacher-as-teacher"
    distill_target: str = "argmax"
    distill_coef: float = 0.1
    distill_tau: float = 1.0
    value_distill_coef: float = 0.0
    anneal_distill: bool = False
    teacher_warmup_iterations: int = 0
    teacher_value_weight: float = 0.3  # dual-leo-pqn: weight of the teacher's values when acting


@dataclass
class RunConfig:
    """Budget, seed, logging, evaluation and where results go."""

    seed: int = 0
    total_steps: int = 2_000_000
    run_dir: str = ""
    log_every: int = 10  # iterations per jitted chunk, one metrics line each
    eval_every: int = 0  # chunks between evaluations; 0: only at the end
    eval_repeats: int = 16
    eval_max_steps: int = 512
    eval_seed: int = 12345
    checkpoint_every: int = 10  # chunks between checkpoints; 0: only at the end (always at the end)
    num_seeds: int = 1  # independent seeds (seed, seed+1, ...) vmapped in one program
    devices: int = 0  # devices the env batch is sharded over; 0: all
    distributed: bool = False  # join a multi-host job with jax.distributed.initialize()
    wandb: bool = False
    wandb_project: str = "leo-teacher"


@dataclass
class Config:
    env: EnvConfig = field(default_factory=EnvConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    coordinator: CoordinatorConfig = field(default_factory=CoordinatorConfig)
    run: RunConfig = field(default_factory=RunConfig)
    # Distillation options per student, {student name: {field: value}} with fields from
    # PER_STUDENT_FIELDS; what a student does not set follows `coordinator` (coordinator_for).
    per_student: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def student_names(self) -> list[str]:
        """The run's students, in order (``student.name`` is comma-separated)."""
        return [n.strip() for n in self.student.name.split(",") if n.strip()]

    def coordinator_for(self, student: str) -> CoordinatorConfig:
        """The coordinator settings as ``student`` sees them: its ``per_student`` entry on top."""
        return dataclasses.replace(self.coordinator, **self.per_student.get(student, {}))

    @property
    def rollout_size(self) -> int:
        return self.env.num_envs * self.env.rollout_steps

    @property
    def num_iterations(self) -> int:
        return max(0, self.run.total_steps // self.rollout_size)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SECTIONS = tuple(f.name for f in dataclasses.fields(Config))


def _field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(value: Any, typ: Any, where: str) -> Any:
    """Convert a YAML or command-line value to the field's declared type."""
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return _coerce(value, args[0], where)
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = value.replace("_", "")
                return int(float(value)) if "e" in value.lower() else int(value)
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if typ is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if typ is str:
            if not isinstance(value, (str, int, float)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        raise ConfigError(f"{where}: unsupported field type {typ}")
    raise ConfigError(f"{where}={value!r} is not a valid {getattr(typ, '__name__', typ)}")


def apply_overrides(cfg: Config, overrides: dict[str, Any], source: str) -> None:
    """Apply a nested {section: {field: value}} mapping onto ``cfg`` in place."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(overrides).__name__}")
    for section, values in overrides.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"{source}: unknown section {section!r}; valid sections: {', '.join(SECTIONS)}"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: section {section!r} must be a mapping of fields")
        if section == "per_student":
            _apply_per_student(cfg, values, source)
            continue
        sub = getattr(cfg, section)
        types_ = _field_types(type(sub))
        for key, value in values.items():
            if key not in types_:
                raise ConfigError(
                    f"{source}: unknown field {section}.{key}; valid fields of {section}: "
                    f"{', '.join(types_)}"
                )
            setattr(sub, key, _coerce(value, types_[key], f"{section}.{key}"))


def _apply_per_student(cfg: Config, values: dict[str, Any], source: str) -> None:
    """Merge per-student settings: YAML ``{name: {field: value}}`` or ``--set`` ``{"name.field": value}``.

    A student name may hold dots (an import path), field names do not: split at the last dot.
    """
    types_ = _field_types(CoordinatorConfig)
    for key, value in values.items():
        if isinstance(value, dict):
            items = [(str(key), f, v) for f, v in value.items()]
        else:
            name, dot, f = str(key).rpartition(".")
            if not dot or not name:
                raise ConfigError(
                    f"{source}: per_student.{key} names no student; use per_student.STUDENT.FIELD, "
                    "e.g. --set per_student.transformer.distill_target=kl"
                )
            items = [(name, f, value)]
        for name, f, v in items:
            if f not in PER_STUDENT_FIELDS:
                raise ConfigError(
                    f"{source}: per_student.{name}.{f} cannot be set per student; valid fields: "
                    f"{', '.join(PER_STUDENT_FIELDS)}"
                )
            cfg.per_student.setdefault(name, {})[f] = _coerce(v, types_[f], f"per_student.{name}.{f}")


def parse_set(items: list[str]) -> dict[str, dict[str, str]]:
    """Turn ``["teacher.lr=1e-4", ...]`` into ``{"teacher": {"lr": "1e-4"}}``."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise ConfigError(
                f"--set {item!r}: expected SECTION.FIELD=VALUE, e.g. --set teacher.lr=1e-4"
            )
        out.setdefault(section, {})[name] = value.strip()
    return out


def preset_path(env_name: str) -> Path:
    return CONFIG_DIR / f"{env_name.replace('-', '_')}.yaml"


def load_yaml(path: Path, preset: str | None) -> dict[str, Any]:
    """Read a preset file: its ``base`` section merged with ``presets[preset]``."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found; pass an existing --config file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {e}".splitlines()[0]) from None
    presets = data.pop("presets", {}) or {}
    base = data.pop("base", data)
    merged = {k: dict(v) for k, v in base.items()}
    if preset is not None:
        if preset not in presets:
            raise ConfigError(
                f"unknown preset {preset!r} in {path.name}; valid presets: "
                f"{', '.join(presets) or '(none)'}"
            )
        for section, values in presets[preset].items():
            merged.setdefault(section, {}).update(values)
    return merged


def build_config(
    env: str | None = None,
    preset: str | None = None,
    config_file: str | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Config:
    """Defaults <- env's YAML preset (or ``config_file``) <- ``overrides``; then validate."""
    cfg = Config()
    if env is not None and env not in ENV_NAMES:
        raise ConfigError(f"unknown env {env!r}; valid envs: {', '.join(ENV_NAMES)}")
    path = Path(config_file) if config_file else preset_path(env or cfg.env.name)
    if config_file or path.exists():
        apply_overrides(cfg, load_yaml(path, preset), str(path.name))
    elif preset is not None:
        raise ConfigError(f"no preset file for env {env!r} (looked for {path})")
    if env is not None:
        cfg.env.name = env
    if overrides:
        apply_overrides(cfg, overrides, "command line")
    validate(cfg)
    return cfg


def _divisors_hint(n: int, near: int) -> str:
    divs = [d for d in range(1, n + 1) if n % d == 0]
    best = sorted(divs, key=lambda d: abs(d - near))[:2]
    return " or ".join(str(d) for d in sorted(best))


def validate(cfg: Config) -> None:
    """Check values that types alone cannot; raise ConfigError with the fix."""
    c = cfg.coordinator
    if c.mode not in MODES:
        raise ConfigError(f"unknown mode {c.mode!r}; valid modes: {', '.join(MODES)}")
    if c.distill_target not in DISTILL_TARGETS:
        raise ConfigError(
            f"unknown coordinator.distill_target {c.distill_target!r}; valid: "
            f"{', '.join(DISTILL_TARGETS)}"
        )
    for name in cfg.per_student:
        if name not in cfg.student_names:
            raise ConfigError(
                f"per_student.{name}: {name!r} is not a student of this run (students: "
                f"{', '.join(cfg.student_names)}); name one of them or drop the setting"
            )
        target = cfg.coordinator_for(name).distill_target
        if target not in DISTILL_TARGETS:
            raise ConfigError(
                f"unknown per_student.{name}.distill_target {target!r}; valid: {', '.join(DISTILL_TARGETS)}"
            )
    if cfg.student.goal_input not in GOAL_INPUTS:
        raise ConfigError(
            f"unknown student.goal_input {cfg.student.goal_input!r}; valid: {', '.join(GOAL_INPUTS)}"
        )
    if cfg.teacher.her_strategy not in HER_STRATEGIES:
        raise ConfigError(
            f"unknown teacher.her_strategy {cfg.teacher.her_strategy!r}; valid: {', '.join(HER_STRATEGIES)}"
        )
    if cfg.teacher.relabel_count < 0:
        raise ConfigError(f"teacher.relabel_count={cfg.teacher.relabel_count} must be >= 0")
    positive = {
        "env.num_envs": cfg.env.num_envs,
        "env.rollout_steps": cfg.env.rollout_steps,
        "teacher.minibatch_size": cfg.teacher.minibatch_size,
        "student.minibatch_size": cfg.student.minibatch_size,
        "teacher.width": cfg.teacher.width,
        "student.width": cfg.student.width,
        "run.log_every": cfg.run.log_every,
        "run.eval_repeats": cfg.run.eval_repeats,
        "run.eval_max_steps": cfg.run.eval_max_steps,
        "run.num_seeds": cfg.run.num_seeds,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key}={value} must be positive")
    if cfg.run.devices < 0:
        raise ConfigError(f"run.devices={cfg.run.devices} must be >= 0 (0: all devices)")
    if cfg.run.total_steps < 0:
        raise ConfigError(f"run.total_steps={cfg.run.total_steps} must be >= 0")
    if cfg.run.checkpoint_every < 0:
        raise ConfigError(
            f"run.checkpoint_every={cfg.run.checkpoint_every} must be >= 0 (0: only at the end)"
        )
    n = cfg.rollout_size
    for part in ("teacher", "student"):
        mb = getattr(cfg, part).minibatch_size
        if n % mb:
            raise ConfigError(
                f"{part}.minibatch_size={mb} does not divide the rollout size "
                f"env.num_envs*env.rollout_steps={n}; use a divisor such as {_divisors_hint(n, mb)}"
            )
    if cfg.run.total_steps and cfg.run.total_steps < n:
        raise ConfigError(
            f"run.total_steps={cfg.run.total_steps} is less than one rollout ({n} steps); "
            f"raise --total-steps or lower env.num_envs / env.rollout_steps"
        )
    for key in ("teacher.epochs", "student.epochs"):
        part, name = key.split(".")
        if getattr(getattr(cfg, part), name) < 0:
            raise ConfigError(f"{key} must be >= 0")
    if not 0.0 <= cfg.env.wall_prob < 1.0:
        raise ConfigError(f"env.wall_prob={cfg.env.wall_prob} must be in [0, 1)")


def to_yaml(cfg: Config) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def from_dict(data: dict[str, Any]) -> Config:
    """Rebuild a Config from :meth:`Config.to_dict` output (e.g. a run's config.yaml)."""
    cfg = Config()
    apply_overrides(cfg, data, "saved config")
    validate(cfg)
    return cfg
