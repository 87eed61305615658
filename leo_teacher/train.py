"""Training entry point: ``python -m leo_teacher.train [--env ...] [--student ...] [--mode ...]``.

A thin Python loop around jitted chunks of iterations: progress bar, metrics, periodic
evaluation, checkpoints (``--resume`` continues from the latest), and the run directory
(DESIGN §3). Exit status: 0 done; 2 a problem with the input (one line says the fix); 3 training
diverged (NaN/inf); 130/143 stopped by SIGINT/SIGTERM after saving a checkpoint.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from leo_teacher.config import MODES, Config, ConfigError, build_config, parse_set, to_yaml

DEFAULT_CACHE = Path.home() / ".cache" / "leo_teacher" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> None:
    """Turn on JAX's persistent compilation cache (JAX_COMPILATION_CACHE_DIR wins)."""
    import jax

    path = os.environ.get("JAX_COMPILATION_CACHE_DIR") or path or DEFAULT_CACHE
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def default_run_dir(cfg: Config) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    student = cfg.student.name.replace(",", "+").replace(":", ".").replace("/", ".")
    return Path("runs") / f"{cfg.env.name}-{cfg.coordinator.mode}-{student}-seed{cfg.run.seed}-{stamp}"


class Trainer:
    """Runs one configured training job into a run directory and returns its summary."""

    def __init__(self, cfg: Config, run_dir: str | os.PathLike | None = None, overwrite: bool = False,
                 progress: bool = True, resume: bool = False):
        from leo_teacher.coordinator import Coordinator
        from leo_teacher.envs import make_env

        self.cfg = cfg
        try:
            self.env = make_env(cfg.env)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        # Build everything that can reject the config before touching the run directory.
        self.coord = Coordinator(cfg, self.env)
        self.run_dir = Path(run_dir or cfg.run.run_dir or default_run_dir(cfg)).resolve()  # orbax needs absolute paths
        cfg.run.run_dir = str(self.run_dir)
        self.overwrite = overwrite
        self.progress = progress
        self.resume = resume  # continue from the latest checkpoint in run_dir
        from leo_teacher import parallel

        parallel.maybe_initialize_distributed(cfg.run.distributed)
        self.mesh = parallel.make_mesh(cfg.run.devices, cfg.env.num_envs)

    # ------------------------------------------------------------------ evaluation

    def _evaluators(self):
        """name -> (jitted evaluate(params, rng), params getter) for the policies worth scoring."""
        from leo_teacher.evaluation import make_evaluator, random_policy

        sched, run = self.coord.schedule, self.cfg.run
        policies = self.coord.greedy_policies()
        out = {}
        if sched.actor == "random":
            build = make_evaluator(self.env, run.eval_repeats, run.eval_max_steps, stochastic=True)
            out["random"] = (build(random_policy(self.env.num_actions, getattr(self.env, "continuous", False))),
                             lambda s: None)
            return out
        build = make_evaluator(self.env, run.eval_repeats, run.eval_max_steps)
        if sched.needs_student and sched.actor == "student":
            for name in self.coord.student_names:
                act, getter = policies[name]
                out[name] = (build(act), getter)
        if sched.train_teacher or sched.actor == "teacher":
            act, getter = policies["teacher"]
            out["teacher"] = (build(act), getter)
        return out

    def headline_policy(self) -> str:
        actor = self.coord.schedule.actor
        return {"student": self.coord.student_names[0], "teacher": "teacher", "random": "random"}[actor]

    def evaluate(self, state, evaluators) -> dict[str, np.ndarray]:
        import jax

        rng = jax.random.PRNGKey(self.cfg.run.eval_seed)
        return {name: np.asarray(fn(get(state), rng)) for name, (fn, get) in evaluators.items()}

    # ------------------------------------------------------------------ the loop

    def run(self) -> dict:
        """Train (or continue, with ``resume``) and return the summary.

        Holds the run directory's lock throughout, and turns SIGINT/SIGTERM into a checkpoint
        and :class:`leo_teacher.faults.Interrupted`; NaN/inf raises ``TrainingDiverged``.
        """
        from leo_teacher.faults import RunLock, SignalCatcher

        lock = self._lock = RunLock(self.run_dir)
        lock.acquire()
        signals = SignalCatcher().install()
        try:
            return self._run(signals)
        finally:
            signals.restore()
            lock.release()

    @property
    def seeds(self) -> list[int]:
        return [self.cfg.run.seed + k for k in range(self.cfg.run.num_seeds)]

    def init_state(self):
        """The initial state: one seed's, or K seeds' stacked on a leading axis."""
        from leo_teacher import parallel

        if len(self.seeds) == 1:
            return self.coord.init(self.seeds[0])
        return parallel.seed_stack_init(self.coord, self.seeds)

    def seed_state(self, state, k: int = 0):
        """Seed k's state out of the (possibly seed-stacked) training state."""
        from leo_teacher import parallel

        return state if len(self.seeds) == 1 else parallel.take_seed(state, k)

    def _start(self):
        """(state, metrics rows, chunks done, iterations done, train seconds so far).

        Fresh, or with ``resume`` from the latest checkpoint (metrics.jsonl cut back to it).
        """
        from leo_teacher import checkpoint, rundir

        cfg = self.cfg
        if not self.resume:
            rundir.prepare(self.run_dir, self.overwrite)
            if checkpoint.list_checkpoints(self.run_dir):  # left only without --overwrite
                raise ConfigError(
                    f"--run-dir {self.run_dir} already holds a run (checkpoints); pass --resume to "
                    "continue it, --overwrite to replace it, or choose another --run-dir"
                )
            self._lock.refresh()  # --overwrite removed the lock file with everything else
            (self.run_dir / "config.yaml").write_text(to_yaml(cfg))
            return self.init_state(), [], 0, 0, 0.0
        import jax

        info = checkpoint.latest(self.run_dir)
        checkpoint.check_resume_config(info, cfg)
        state = checkpoint.restore(info, jax.eval_shape(self.init_state))
        rows = checkpoint.reconcile_metrics(self.run_dir, info)
        self.last_checkpoint = info.path
        return state, rows, info.chunks_done, info.iteration, float(info.meta.get("train_seconds", 0.0))

    def _checkpoint(self, state, chunks_done: int, done_iters: int, rows: list, start: float) -> Path:
        from leo_teacher import checkpoint

        self.last_checkpoint = checkpoint.save(
            self.run_dir, state, chunks_done=chunks_done, iteration=done_iters,
            env_steps=done_iters * self.cfg.rollout_size, metrics_rows=len(rows),
            train_seconds=time.perf_counter() - start, config=self.cfg,
        )
        return self.last_checkpoint

    def _run(self, signals) -> dict:
        import jax
        from tqdm import tqdm

        from leo_teacher import faults, parallel, rundir

        cfg, coord = self.cfg, self.coord
        self.last_checkpoint = None
        state, rows, done_chunks, done_iters, prior_seconds = self._start()
        logger = _make_wandb(cfg, self.run_dir)

        start = time.perf_counter() - prior_seconds
        K = len(self.seeds)
        state = parallel.shard_state(state, self.mesh, cfg.env.num_envs, batch_axis=0 if K == 1 else 1)
        evaluators = self._evaluators()
        total_iters = cfg.num_iterations
        chunk = cfg.run.log_every
        num_chunks = math.ceil(total_iters / chunk) if total_iters else 0
        bar = tqdm(total=total_iters * cfg.rollout_size, initial=done_iters * cfg.rollout_size,
                   unit="step", unit_scale=True, disable=not self.progress, mininterval=2.0,
                   file=sys.stderr)
        success = None
        every = cfg.run.checkpoint_every
        for c in range(done_chunks, num_chunks):
            length = min(chunk, total_iters - done_iters)
            state, metrics = coord.chunk_fn(length, K)(state)
            # Seed-stacked metrics are [K, length]: iterations first, like a single seed's.
            metrics = {k: np.moveaxis(np.asarray(v), 0, -1) if K > 1 else np.asarray(v)
                       for k, v in jax.device_get(metrics).items()}
            done_iters += length
            row = {"iteration": done_iters, "env_steps": done_iters * cfg.rollout_size}
            for key, values in metrics.items():
                # Counters are read at the chunk's end; losses averaged over it (and over seeds).
                last = key in ("goals_seen", "live_success", "epsilon", "distill_scale")
                row[key] = float(np.mean(values[-1]) if last else np.mean(values))
            if K > 1:
                row["live_success_per_seed"] = [float(v) for v in metrics["live_success"][-1]]
            if cfg.run.eval_every and (c + 1) % cfg.run.eval_every == 0 and c + 1 < num_chunks:
                success = self.evaluate_seeds(state, evaluators)[0]
                row.update({f"eval/{k}": float(v.mean()) for k, v in success.items()})
            elapsed = time.perf_counter() - start
            row["wall_seconds"] = round(elapsed, 3)
            row["steps_per_second"] = round(row["env_steps"] / max(elapsed, 1e-9), 1)
            rows.append(row)
            rundir.append_metrics(self.run_dir, row)
            if logger:
                logger.log(row, step=row["env_steps"])
            bar.update(length * cfg.rollout_size)
            bar.set_postfix(live=f"{row['live_success']:.2f}", seen=int(row["goals_seen"]))
            # Check before saving, so the last checkpoint is always a good one.
            faults.check_finite(metrics, done_iters - length + 1, self.last_checkpoint)
            faults.check_parameters(state, done_iters, self.last_checkpoint)
            if (every and (c + 1) % every == 0) or signals.received:
                self._checkpoint(state, c + 1, done_iters, rows, start)
            if signals.received:
                bar.close()
                raise faults.Interrupted(signals.received, done_iters, self.last_checkpoint, self.run_dir)
        bar.close()
        self._checkpoint(state, num_chunks, done_iters, rows, start)  # no-op if just written
        if signals.received:
            raise faults.Interrupted(signals.received, done_iters, self.last_checkpoint, self.run_dir)
        train_seconds = time.perf_counter() - start

        success, per_seed = self.evaluate_seeds(state, evaluators)
        if rows:
            rows[-1].update({f"eval/{k}": float(v.mean()) for k, v in success.items()})
            # Rewrite the last line so the final evaluation sits in metrics.jsonl too.
            lines = (self.run_dir / "metrics.jsonl").read_text().splitlines()
            import json

            lines[-1] = json.dumps(rows[-1], sort_keys=True)
            tmp = self.run_dir / "metrics.jsonl.tmp"  # atomic: a kill here must not cut the file
            tmp.write_text("\n".join(lines) + "\n")
            tmp.replace(self.run_dir / "metrics.jsonl")
        return self._finish(state, success, rows, train_seconds, start, logger, per_seed)

    def evaluate_seeds(self, state, evaluators):
        """(per-goal success averaged over seeds, [per-seed success dicts])."""
        per_seed = [self.evaluate(self.seed_state(state, k), evaluators) for k in range(len(self.seeds))]
        mean = {name: np.mean([s[name] for s in per_seed], axis=0) for name in per_seed[0]}
        return mean, per_seed

    def _finish(self, state, success, rows, train_seconds, start, logger, per_seed=None) -> dict:
        from leo_teacher import rundir
        from leo_teacher.evaluation import summarize

        cfg, gs = self.cfg, self.env.goal_set
        reachable = gs.reachable_mask()
        rundir.write_per_goal(self.run_dir / "per_goal_success.csv", gs.names, reachable, success)
        head = self.headline_policy()
        env_steps = cfg.num_iterations * cfg.rollout_size
        summary = {
            **summarize(success[head], reachable),
            "evaluated_policy": head,
            "policies": {k: summarize(v, reachable) for k, v in success.items()},
            "env_steps": env_steps,
            "wall_seconds": round(time.perf_counter() - start, 3),
            "train_seconds": round(train_seconds, 3),
            "steps_per_second": round(env_steps / max(train_seconds, 1e-9), 1),
            "mode": cfg.coordinator.mode,
            "student": cfg.student.name,
            "students": list(self.coord.student_names),
            "env": cfg.env.name,
            "seed": cfg.run.seed,
            "eval_seed": cfg.run.eval_seed,
            "eval_repeats": cfg.run.eval_repeats,
            "goals_seen": int(np.asarray(self.seed_state(state).actors.seen).sum()),
            "live_success": rows[-1]["live_success"] if rows else None,
        }
        if len(self.seeds) > 1:
            per = [summarize(s[head], reachable) for s in per_seed]
            summary.update({
                "seeds": self.seeds,
                "success_rate_per_seed": [p["success_rate"] for p in per],
                "success_rate_mean": float(np.mean([p["success_rate"] for p in per])),
                "success_rate_std": float(np.std([p["success_rate"] for p in per])),
                "success_rate_reachable_per_seed": [p["success_rate_reachable"] for p in per],
                "num_devices": int(self.mesh.devices.size),
            })
        rundir.write_json(self.run_dir / "summary.json", summary)
        seeds = f"seeds {self.seeds[0]}-{self.seeds[-1]}" if len(self.seeds) > 1 else f"seed {cfg.run.seed}"
        title = f"{cfg.env.name} / {cfg.coordinator.mode} / {cfg.student.name} / {seeds}"
        rundir.plot_learning_curve(self.run_dir, rows, title)
        rundir.plot_per_goal(self.run_dir, success, self.env)
        if len(self.coord.student_names) > 1:
            rundir.plot_students(self.run_dir, success, reachable, self.coord.student_names)
        if logger:
            logger.log({"final/success_rate": summary["success_rate"]})
            logger.finish()
        self.state = state
        return summary


def _make_wandb(cfg: Config, run_dir: Path):
    """A wandb run when enabled; offline unless an API key is configured."""
    if not cfg.run.wandb:
        return None
    import wandb

    mode = "online" if os.environ.get("WANDB_API_KEY") else "offline"
    return wandb.init(project=cfg.run.wandb_project, config=cfg.to_dict(), dir=str(run_dir),
                      mode=mode, name=run_dir.name)


def report(summary: dict, trainer: Trainer, success_csv: Path) -> str:
    """The human-readable end-of-run report printed by the CLI."""
    lines = [
        f"run: {trainer.run_dir}",
        f"env {summary['env']} | mode {summary['mode']} | students {','.join(summary['students'])} | "
        f"seed {summary['seed']}",
        f"env steps {summary['env_steps']:,} in {summary['wall_seconds']:.1f}s "
        f"({summary['steps_per_second']:,.0f} steps/s incl. compile)",
    ]
    for name, s in summary["policies"].items():
        lines.append(
            f"per-goal success [{name}]: all goals {s['success_rate']:.3f} | reachable "
            f"{s['success_rate_reachable']:.3f} ({s['num_reachable']}/{s['num_goals']} goals reachable)"
        )
    from leo_teacher import rundir
    import csv

    with open(success_csv) as f:
        col = [r for r in csv.DictReader(f)]
    key = next(k for k in col[0] if k.startswith("success"))
    if len(summary["students"]) > 1:  # side by side, from the per-goal table
        reachable = np.array([r["reachable"] == "1" for r in col])
        per_goal = {k[len("success_"):]: np.array([float(r[k]) for r in col])
                    for k in col[0] if k.startswith("success_")}
        lines.append("students side by side (solved: success >= 0.5; only: solved by no other student):")
        lines.append(rundir.students_table(per_goal, reachable, summary["students"]))
        lines.append(f"students' per-goal plot: {trainer.run_dir / 'students_per_goal.png'}")
    grid = rundir.success_map(trainer.env, [float(r[key]) for r in col])
    if grid:
        lines.append(f"per-goal success map ({key}; # wall, 0-9 tenths, * = 1.0):")
        lines.append(grid)
    lines.append(f"per-goal table: {success_csv}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leo_teacher.train", description=__doc__.splitlines()[0])
    p.add_argument("--env", help="gridworld (default), craftax-classic, craftax or brax-reacher")
    p.add_argument("--student", help="student name(s), comma-separated, or module:factory path")
    p.add_argument("--mode", help=f"one of {', '.join(MODES)}")
    p.add_argument("--total-steps", type=float, help="environment steps to train for")
    p.add_argument("--seed", type=int)
    p.add_argument("--run-dir", help="output directory (default runs/<env>-<mode>-<student>-seed<N>-<time>)")
    p.add_argument("--config", help="a YAML config file instead of configs/<env>.yaml")
    p.add_argument("--preset", help="a named preset of the config file (e.g. cpu, paper)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --run-dir")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --run-dir from its latest checkpoint (same config)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override any config field; repeatable")
    p.add_argument("--num-seeds", type=int, help="train K seeds (seed, seed+1, ...) vmapped in one program")
    p.add_argument("--devices", type=int, help="shard the env batch over N devices (default: all)")
    p.add_argument("--distributed", action="store_true", help="multi-host: jax.distributed.initialize()")
    p.add_argument("--wandb", action="store_true", help="log to Weights & Biases (offline without a key)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _cli_overrides(args: argparse.Namespace) -> dict:
    overrides = parse_set(args.set)
    cli = {
        ("student", "name"): args.student,
        ("coordinator", "mode"): args.mode,
        ("run", "total_steps"): None if args.total_steps is None else int(args.total_steps),
        ("run", "seed"): args.seed,
        ("run", "run_dir"): args.run_dir,
        ("run", "wandb"): True if args.wandb else None,
        ("run", "num_seeds"): args.num_seeds,
        ("run", "devices"): args.devices,
        ("run", "distributed"): True if args.distributed else None,
    }
    for (section, key), value in cli.items():
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


def config_from_args(args: argparse.Namespace) -> Config:
    return build_config(env=args.env, preset=args.preset, config_file=args.config,
                        overrides=_cli_overrides(args))


def resume_config_from_args(args: argparse.Namespace) -> Config:
    """The config to continue the run in ``--run-dir`` with; ConfigError if it is not that run's.

    With ``--env``, ``--preset`` or ``--config`` the config is built from the arguments as for a
    new run; otherwise it is the checkpoint's own config plus any ``--set`` and flag overrides.
    Either way it must equal the checkpoint's config (see ``checkpoint.RESUMABLE_CHANGES``).
    """
    from leo_teacher import checkpoint
    from leo_teacher.config import apply_overrides, from_dict, validate

    if not args.run_dir:
        raise ConfigError("--resume needs the --run-dir of the run to continue")
    if args.overwrite:
        raise ConfigError("--resume continues a run and --overwrite replaces it; pass one of them")
    info = checkpoint.latest(Path(args.run_dir))
    if args.env or args.preset or args.config:
        cfg = config_from_args(args)
    else:
        cfg = from_dict(info.meta["config"])
        apply_overrides(cfg, _cli_overrides(args), "command line")
        validate(cfg)
    cfg.run.run_dir = args.run_dir
    checkpoint.check_resume_config(info, cfg)
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    from leo_teacher.faults import Interrupted, TrainingDiverged

    args = build_parser().parse_args(argv)
    try:
        cfg = resume_config_from_args(args) if args.resume else config_from_args(args)
        enable_compilation_cache()
        trainer = Trainer(cfg, overwrite=args.overwrite, progress=not args.no_progress,
                          resume=args.resume)
        summary = trainer.run()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except Interrupted as e:
        print(str(e), file=sys.stderr)
        return e.exit_status
    print(report(summary, trainer, trainer.run_dir / "per_goal_success.csv"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
