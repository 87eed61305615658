"""The training loop: jitted chunks of iterations with a thin Python loop between them.

Between chunks: one metrics line, progress, periodic evaluation, divergence checks and
checkpoints (``resume`` continues from the latest). What the run directory holds at the end
is written by :mod:`leo_teacher.run.outputs`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from leo_teacher.config import Config, ConfigError, to_yaml
from leo_teacher.run import outputs, provenance, rundir


def default_run_dir(cfg: Config) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    student = cfg.student.name.replace(",", "+").replace(":", ".").replace("/", ".")
    return Path("runs") / f"{cfg.env.name}-{cfg.coordinator.mode}-{student}-seed{cfg.run.seed}-{stamp}"


class Trainer:
    """Runs one configured training job into a run directory and returns its summary."""

    def __init__(self, cfg: Config, run_dir: str | os.PathLike | None = None, overwrite: bool = False,
                 progress: bool = True, resume: bool = False):
        from leo_teacher.core.coordinator import Coordinator
        from leo_teacher.envs import make_env
        from leo_teacher.run import parallel

        self.cfg = cfg
        parallel.maybe_initialize_distributed(cfg.run.distributed)  # before anything starts JAX
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
        self.mesh = parallel.make_mesh(cfg.run.devices, cfg.env.num_envs)
        self.writes = parallel.is_writer()  # in a multi-process job only process 0 writes files
        # The code this process runs, taken now: a commit made while a long run trains is not its code.
        self.code = provenance.code_record()
        self.code_history = [{"from_env_steps": 0, **self.code}]

    # ------------------------------------------------------------------ seeds and evaluation

    @property
    def seeds(self) -> list[int]:
        return [self.cfg.run.seed + k for k in range(self.cfg.run.num_seeds)]

    def fresh_state(self):
        """A new state: one seed's, or K seeds' stacked on a leading axis (the teacher untrained)."""
        from leo_teacher.run import parallel

        if len(self.seeds) == 1:
            return self.coord.init(self.seeds[0])
        return parallel.seed_stack_init(self.coord, self.seeds)

    def init_state(self):
        """The initial state: :meth:`fresh_state`, with the distill modes' trained teacher loaded."""
        state = self.fresh_state()
        if not self.coord.mode.frozen_teacher:
            return state
        import jax
        import jax.numpy as jnp

        from leo_teacher.run.loading import load_frozen_teacher

        teacher = load_frozen_teacher(self.cfg)  # every seed distils the same teacher
        if len(self.seeds) > 1:
            teacher = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (len(self.seeds),) + x.shape), teacher)
        return state.replace(teacher=teacher)

    def seed_state(self, state, k: int = 0):
        """Seed k's state out of the (possibly seed-stacked) training state."""
        from leo_teacher.run import parallel

        return state if len(self.seeds) == 1 else parallel.take_seed(state, k)

    def _evaluators(self) -> dict:
        """name -> (jitted evaluate(params, rng), params getter) for the policies the run scores."""
        from leo_teacher.core.evaluation import make_evaluator

        run = self.cfg.run
        out = {}
        for name, policy in self.coord.scored_policies().items():
            build = make_evaluator(self.env, run.eval_repeats, run.eval_max_steps, stochastic=policy.stochastic)
            out[name] = (build(policy.act), policy.params_of)
        return out

    def evaluate(self, state, evaluators) -> dict[str, np.ndarray]:
        import jax

        rng = jax.random.PRNGKey(self.cfg.run.eval_seed)
        return {name: np.asarray(fn(get(state), rng)) for name, (fn, get) in evaluators.items()}

    def _start_values(self):
        """The teacher's jitted V(s0, g) = max_a Q(s0, g, a) on the evaluation's first
        observations (its calibration against measured success), or None without a learned
        discrete teacher."""
        from leo_teacher.core.evaluation import make_start_values

        teacher = self.coord.teacher
        if "teacher" not in self.coord.scored_policies() or self.env.continuous or not hasattr(teacher, "goal_values"):
            return None
        fn = make_start_values(self.env, self.cfg.run.eval_repeats,
                               lambda p, obs, goal: teacher.goal_values(p, obs, goal).max(axis=-1))
        return lambda state, rng: fn(state.teacher.params, rng)

    def evaluation_point(self, state, evaluators, iteration: int) -> tuple[dict, list]:
        """Evaluate every scored policy (all seeds) and append the point to eval_history.jsonl."""
        import jax

        success, per_seed = self.evaluate_seeds(state, evaluators)
        if self.writes:
            values = None
            if self._values_fn is not None:
                rng = jax.random.PRNGKey(self.cfg.run.eval_seed)
                values = np.mean([np.asarray(self._values_fn(self.seed_state(state, k), rng))
                                  for k in range(len(self.seeds))], axis=0)
            rundir.append_eval_history(self.run_dir, iteration, iteration * self.cfg.rollout_size, success, values)
        return success, per_seed

    def evaluate_seeds(self, state, evaluators):
        """(per-goal success averaged over seeds, [per-seed success dicts])."""
        per_seed = [self.evaluate(self.seed_state(state, k), evaluators) for k in range(len(self.seeds))]
        mean = {name: np.mean([s[name] for s in per_seed], axis=0) for name in per_seed[0]}
        return mean, per_seed

    # ------------------------------------------------------------------ the loop

    def run(self) -> dict:
        """Train (or continue, with ``resume``) and return the summary.

        Holds the run directory's lock throughout, and turns SIGINT/SIGTERM into a checkpoint
        and :class:`leo_teacher.run.faults.Interrupted`; NaN/inf raises ``TrainingDiverged``.
        """
        from leo_teacher.run.faults import RunLock, SignalCatcher

        lock = self._lock = RunLock(self.run_dir) if self.writes else None
        if lock:
            lock.acquire()
        signals = SignalCatcher().install()
        try:
            return self._run(signals)
        finally:
            signals.restore()
            if lock:
                lock.release()

    def _start(self):
        """(state, metrics rows, chunks done, iterations done, train seconds so far).

        Fresh, or with ``resume`` from the latest checkpoint (metrics.jsonl cut back to it).
        """
        from leo_teacher.run import checkpoint, rundir

        cfg = self.cfg
        if not self.resume:
            if self.writes:
                rundir.prepare(self.run_dir, self.overwrite)  # deletes only what the manifest lists
                (self.run_dir / "config.yaml").write_text(to_yaml(cfg))
            return self.init_state(), [], 0, 0, 0.0
        import jax

        info = checkpoint.latest(self.run_dir)
        checkpoint.check_resume_config(info, cfg)
        state = checkpoint.restore(info, jax.eval_shape(self.fresh_state))
        rows = checkpoint.reconcile_metrics(self.run_dir, info, cut=self.writes)
        if self.writes:
            rundir.cut_eval_history(self.run_dir, info.iteration)
        # Checkpoints from before the history was kept know only the version they were written by.
        before = info.meta.get("code_history") or [
            {"from_env_steps": 0, **provenance.unknown_code_record(info.meta.get("toolkit_version"))}]
        self.code_history = [*before, {"from_env_steps": info.iteration * cfg.rollout_size, **self.code}]
        self.last_checkpoint = info.path
        return state, rows, info.chunks_done, info.iteration, float(info.meta.get("train_seconds", 0.0))

    def _checkpoint(self, state, chunks_done: int, done_iters: int, rows: list, start: float) -> Path:
        from leo_teacher.run import checkpoint, parallel

        host = parallel.to_host(state)  # a collective where other processes hold shards
        if not self.writes:
            return self.last_checkpoint
        self.last_checkpoint = checkpoint.save(
            self.run_dir, host, chunks_done=chunks_done, iteration=done_iters,
            env_steps=done_iters * self.cfg.rollout_size, metrics_rows=len(rows),
            train_seconds=time.perf_counter() - start, config=self.cfg,
            code_history=self.code_history,
        )
        return self.last_checkpoint

    def _run(self, signals) -> dict:
        import jax
        from tqdm import tqdm

        from leo_teacher.run import faults, parallel, rundir

        cfg, coord = self.cfg, self.coord
        self.last_checkpoint = None
        state, rows, done_chunks, done_iters, prior_seconds = self._start()
        logger = outputs.make_wandb(cfg, self.run_dir) if self.writes else None

        start = time.perf_counter() - prior_seconds
        K = len(self.seeds)
        state = parallel.shard_state(state, self.mesh, cfg.env.num_envs, batch_axis=0 if K == 1 else 1)
        evaluators = self._evaluators()
        self._values_fn = self._start_values()
        total_iters = cfg.num_iterations
        chunk = cfg.run.log_every
        num_chunks = math.ceil(total_iters / chunk) if total_iters else 0
        bar = tqdm(total=total_iters * cfg.rollout_size, initial=done_iters * cfg.rollout_size,
                   unit="step", unit_scale=True, disable=not self.progress, mininterval=2.0,
                   file=sys.stderr)
        every = cfg.run.checkpoint_every
        for c in range(done_chunks, num_chunks):
            length = min(chunk, total_iters - done_iters)
            state, metrics = coord.chunk_fn(length, K)(state)
            # Seed-stacked metrics are [K, length]: iterations first, like a single seed's.
            metrics = {k: np.moveaxis(np.asarray(v), 0, -1) if K > 1 else np.asarray(v)
                       for k, v in jax.device_get(metrics).items()}
            done_iters += length
            row = outputs.metrics_row(metrics, coord.reduction, done_iters, cfg.rollout_size, K)
            if cfg.run.eval_every and (c + 1) % cfg.run.eval_every == 0 and c + 1 < num_chunks:
                success = self.evaluation_point(state, evaluators, done_iters)[0]
                row.update({f"eval/{k}": float(v.mean()) for k, v in success.items()})
            outputs.add_timing(row, time.perf_counter() - start)
            rows.append(row)
            if self.writes:
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

        success, per_seed = self.evaluation_point(state, evaluators, done_iters)
        if rows and self.writes:
            rows[-1].update({f"eval/{k}": float(v.mean()) for k, v in success.items()})
            rundir.rewrite_last_metrics(self.run_dir, rows[-1])  # the final evaluation sits there too
        self.state = state
        summary = outputs.summarize_run(self, state, success, per_seed, rows, train_seconds, start)
        if self.writes:
            outputs.write_final(self, success, summary, rows)
        if logger:
            logger.log({"final/success_rate": summary["success_rate"]})
            logger.finish()
        return summary
