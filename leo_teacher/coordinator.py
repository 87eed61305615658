"""The coordinator: one jitted iteration = rollout + student updates + teacher update.

It owns the schedule (who acts, who learns, distillation), the teacher and any number of
students. Students share the environment batch: student k acts in the k-th contiguous slice
of envs, is trained by PPO on its own slice, and is distilled from the one teacher, which
learns all goals off-policy from everybody's data.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from leo_teacher import distributions, losses
from leo_teacher.config import Config, ConfigError
from leo_teacher.envs.base import Env
from leo_teacher.networks import GoalQNetwork, LeoNetwork
from leo_teacher.schedule import Schedule
from leo_teacher.state import ActorState, Learner, TrainState, Transition
from leo_teacher.updates import (
    linear_lr,
    make_student_tx,
    make_teacher_tx,
    student_q_update,
    student_update,
    teacher_update,
)
from students import StudentSpec, make_student

LIVE_DECAY = 0.9  # per-iteration decay of the live success counts


def resolve_conv(conv_features: int, obs_spec, auto: int) -> int:
    """The conv width to use: ``auto`` for map observations when set to -1 (the paper's choice)."""
    if conv_features >= 0:
        return conv_features
    return auto if obs_spec.map_shape is not None else 0


def epsilon_greedy(k_act: jax.Array, k_eps: jax.Array, values: jnp.ndarray, eps) -> jnp.ndarray:
    """argmax of ``values`` [B, A], replaced by a uniform action with probability ``eps``."""
    B, A = values.shape
    explore = jax.random.uniform(k_eps, (B,)) < eps
    return jnp.where(explore, jax.random.randint(k_act, (B,), 0, A), jnp.argmax(values, axis=-1))


def sample_goals(rng: jax.Array, seen: jnp.ndarray, num: int) -> jnp.ndarray:
    """Goals drawn uniformly from those seen so far (from all goals if none seen yet)."""
    any_seen = seen.any()
    logits = jnp.where(jnp.logical_or(seen, ~any_seen), 0.0, -jnp.inf)
    return jax.random.categorical(rng, logits, shape=(num,)).astype(jnp.int32)


class Coordinator:
    """Builds networks and optimisers from a Config and runs jitted training chunks.

    ``Coordinator(config, env)`` for an env with continuous actions (``env.continuous``) builds
    a :class:`leo_teacher.continuous.ContinuousCoordinator`, which overrides only the
    action-space-specific steps (the teacher, acting, greedy policies); everything else here
    (sizes, schedule, goal commanding, student PPO, chunks) serves both.
    """

    def __new__(cls, config: Config, env: Env, student_names: Sequence[str] | None = None):
        if cls is Coordinator and getattr(env, "continuous", False):
            from leo_teacher.continuous import ContinuousCoordinator

            cls = ContinuousCoordinator
        return super().__new__(cls)

    def __init__(self, config: Config, env: Env, student_names: Sequence[str] | None = None):
        self.config = config
        self.env = env
        self.goal_set = env.goal_set
        self.schedule = Schedule.from_config(config)
        self.num_goals = self.goal_set.num_goals
        if config.student.goal_input == "index":
            # A one-hot index through the student's first dense layer is a learned embedding.
            self.goal_reps = jnp.eye(self.num_goals, dtype=jnp.float32)
        else:
            self.goal_reps = jnp.asarray(self.goal_set.reps)
        names = list(student_names or config.student.name.split(","))
        self.student_names = [n.strip() for n in names if n.strip()]
        if not self.student_names:
            raise ConfigError("student.name is empty; name at least one student, e.g. --student mlp")
        self._check_sizes()
        # Each student's distillation options (config.per_student); the teacher runs while acting
        # if any student distils from it.
        self.student_schedules = [self.schedule.for_student(config, n) for n in self.student_names]
        self.needs_teacher_values = self.schedule.needs_teacher_values or any(
            s.distils for s in self.student_schedules
        )

        self.teacher_goal_reps = jnp.asarray(self.goal_set.reps)
        self.teacher_net = self._build_teacher(resolve_conv(config.teacher.conv_features, env.obs_spec, auto=16))
        # The students' action distribution: categorical or diagonal Gaussian (distributions.py).
        self.dist = distributions.for_env(env)
        spec = StudentSpec(env.obs_spec, env.num_actions, self.num_goals, int(self.goal_reps.shape[-1]),
                           continuous=self.dist.continuous)
        try:
            self.students = [make_student(n, config.student, spec) for n in self.student_names]
        except ValueError as e:
            raise ConfigError(str(e)) from None

        n_iter = max(1, config.num_iterations)
        t_mb = self.rollout_size // config.teacher.minibatch_size
        s_mb = self.slice_size * config.env.rollout_steps // config.student.minibatch_size
        self.teacher_tx = make_teacher_tx(
            linear_lr(config.teacher.lr, config.teacher.anneal_lr, n_iter * t_mb * config.teacher.epochs),
            config.teacher.max_grad_norm,
        )
        self.student_tx = make_student_tx(
            linear_lr(config.student.lr, config.student.anneal_lr, n_iter * s_mb * config.student.epochs),
            config.student.max_grad_norm,
            config.student.adam_eps,
        )
        self._chunks: dict[int, callable] = {}
        # Binary observations are stored as uint8 in rollouts and cast back where a network reads them.
        self.obs_store_dtype = jnp.uint8 if env.obs_spec.binary else jnp.float32

    def _build_teacher(self, conv: int):
        """The network in the teacher's slot: LEO, or a goal-conditioned Q net for the baselines."""
        t, env = self.config.teacher, self.env
        if self.schedule.goal_conditioned_teacher:
            return GoalQNetwork(env.obs_spec, env.num_actions, t.width, t.depth, conv)
        return LeoNetwork(env.obs_spec, self.num_goals, env.num_actions, t.width, t.depth, conv)

    def _init_teacher(self, key: jax.Array, obs: jnp.ndarray) -> Learner:
        if self.schedule.goal_conditioned_teacher:
            params = self.teacher_net.init(key, obs[:1], self.teacher_goal_reps[:1])
        else:
            params = self.teacher_net.init(key, obs[:1])
        return Learner(params=params, opt_state=self.teacher_tx.init(params))

    # ------------------------------------------------------------------ sizes and init

    @property
    def num_envs(self) -> int:
        return self.config.env.num_envs

    @property
    def rollout_size(self) -> int:
        return self.config.rollout_size

    @property
    def slice_size(self) -> int:
        """Envs per student."""
        return self.num_envs // len(self.student_names)

    def _check_sizes(self) -> None:
        k = len(self.student_names)
        if self.num_envs % k:
            raise ConfigError(
                f"env.num_envs={self.num_envs} cannot be shared equally by {k} students; "
                f"use a multiple of {k}"
            )
        per_student = self.num_envs // k * self.config.env.rollout_steps
        mb = self.config.student.minibatch_size
        if self.schedule.train_student and per_student % mb:
            raise ConfigError(
                f"student.minibatch_size={mb} does not divide each student's rollout share "
                f"({per_student} = env.num_envs/{k} * env.rollout_steps); use a divisor of {per_student}"
            )

    def init(self, seed: int) -> TrainState:
        """A fresh training state from ``seed`` (same seed, same state)."""
        rng = jax.random.PRNGKey(seed)
        rng, k_env, k_goal, k_teacher, *k_students = jax.random.split(rng, 4 + len(self.students))
        env_state, obs = self.env.reset(k_env, self.num_envs)
        seen = self.goal_set.achieved(obs).any(axis=0)
        dummy_goal = self.goal_reps[:1]
        teacher = self._init_teacher(k_teacher, obs)
        students = []
        for student, key in zip(self.students, k_students):
            params = student.init(key, obs[:1], dummy_goal)
            students.append(Learner(params=params, opt_state=self.student_tx.init(params)))
        actors = ActorState(
            env_state=env_state,
            obs=obs,
            goal=sample_goals(k_goal, seen, self.num_envs),
            first_goal=jnp.ones((self.num_envs,), dtype=bool),
            seen=seen,
            live_successes=jnp.zeros((), jnp.float32),
            live_attempts=jnp.zeros((), jnp.float32),
        )
        return TrainState(actors, teacher, tuple(students), rng, jnp.zeros((), jnp.int32))

    # ------------------------------------------------------------------ acting

    def teacher_q(self, params, obs: jnp.ndarray) -> jnp.ndarray:
        """LEO teacher values for every goal and action, [B, G, A]."""
        return self.teacher_net.apply(params, obs)

    def teacher_q_for(self, params, obs: jnp.ndarray, goal: jnp.ndarray) -> jnp.ndarray:
        """Teacher values for one goal per observation, [B, A] (either kind of teacher)."""
        if self.schedule.goal_conditioned_teacher:
            return self.teacher_net.apply(params, obs, self.teacher_goal_reps[goal])
        return self.teacher_q(params, obs)[jnp.arange(obs.shape[0]), goal]

    def _student_outputs(self, students: tuple, obs: jnp.ndarray, goal: jnp.ndarray):
        """Each student on its slice of envs; concatenated (logits [B, A], value [B])."""
        n = self.slice_size
        outs = [
            s.apply(learner.params, obs[i * n : (i + 1) * n], self.goal_reps[goal[i * n : (i + 1) * n]])
            for i, (s, learner) in enumerate(zip(self.students, students))
        ]
        return jnp.concatenate([o[0] for o in outs]), jnp.concatenate([o[1] for o in outs])

    def _act(self, state: TrainState, actors: ActorState, k_act, k_eps, eps):
        """Who acts, and what the rollout records about it, for one step of the batch.

        Returns (action [B], behaviour log-prob [B], student value [B], the teacher's values for
        the commanded goal [B, A], max over actions of its values for every goal [B, G]).
        """
        sched, B, A = self.schedule, self.num_envs, self.env.num_actions
        batch = jnp.arange(B)
        if self.needs_teacher_values and sched.goal_conditioned_teacher:
            # Baselines compute their targets after the rollout, for the goals they train.
            q_goal = self.teacher_q_for(state.teacher.params, actors.obs, actors.goal)
            q_max = jnp.zeros((B, 0))
        elif self.needs_teacher_values:
            q = self.teacher_q(state.teacher.params, actors.obs)
            q_goal, q_max = q[batch, actors.goal], q.max(axis=-1)
        else:
            q_goal, q_max = jnp.zeros((B, A)), jnp.zeros((B, self.num_goals))
        if sched.needs_student:
            logits, value = self._student_outputs(state.students, actors.obs, actors.goal)
        else:
            logits, value = jnp.zeros((B, A)), jnp.zeros((B,))
        if sched.actor == "student" and sched.student_is_q_learner:
            w = sched.teacher_value_weight
            q_s = jax.nn.sigmoid(logits)
            value = q_s.max(axis=-1)  # bootstraps the student's own TD targets
            action = epsilon_greedy(k_act, k_eps, (1.0 - w) * q_s + w * q_goal, eps)
        elif sched.actor == "student":
            action = jax.random.categorical(k_act, logits)
        elif sched.actor == "teacher":
            action = epsilon_greedy(k_act, k_eps, q_goal, eps)
        else:
            action = jax.random.randint(k_act, (B,), 0, A)
        action = action.astype(jnp.int32)
        logp = self.dist.log_prob(logits, action)
        return action, logp, value, q_goal, q_max

    def _rollout(self, state: TrainState, rng: jax.Array):
        sched, B = self.schedule, self.num_envs
        eps = sched.epsilon(state.iteration)

        def step(actors: ActorState, key):
            prev = actors
            k_act, k_eps, k_env, k_goal = jax.random.split(key, 4)
            batch = jnp.arange(B)
            action, logp, value, q_goal, q_max = self._act(state, actors, k_act, k_eps, eps)
            env_state, res = self.env.step(k_env, actors.env_state, action)
            achieved = self.goal_set.achieved(res.next_obs)
            hit = achieved[batch, actors.goal]
            goal_done = jnp.logical_or(hit, res.episode_end)
            seen = jnp.logical_or(actors.seen, achieved.any(axis=0))
            # Live success: the first commanded goal of each episode, once it is decided.
            decided = jnp.logical_and(actors.first_goal, goal_done)
            new_goal = sample_goals(k_goal, seen, B)
            actors = ActorState(
                env_state=env_state,
                obs=res.obs,
                goal=jnp.where(goal_done, new_goal, actors.goal),
                first_goal=jnp.where(res.episode_end, True, jnp.where(hit, False, actors.first_goal)),
                seen=seen,
                live_successes=actors.live_successes + jnp.sum(decided & hit),
                live_attempts=actors.live_attempts + jnp.sum(decided),
            )
            tr = Transition(
                obs=prev.obs.astype(self.obs_store_dtype),
                action=action,
                goal=prev.goal,
                reward=hit.astype(jnp.float32),
                goal_done=goal_done,
                episode_end=res.episode_end,
                achieved=achieved,
                logp=logp,
                value=value,
                teacher_q_goal=q_goal,
                teacher_q_max=q_max,
            )
            return actors, tr

        actors = state.actors.replace(
            live_successes=state.actors.live_successes * LIVE_DECAY,
            live_attempts=state.actors.live_attempts * LIVE_DECAY,
        )
        keys = jax.random.split(rng, self.config.env.rollout_steps)
        return jax.lax.scan(step, actors, keys)

    # ------------------------------------------------------------------ one iteration

    def iteration(self, state: TrainState) -> tuple[TrainState, dict]:
        """Rollout, then student updates, then the teacher update; returns metrics."""
        sched, cfg = self.schedule, self.config
        rng, k_roll, k_teacher, *k_students = jax.random.split(state.rng, 3 + len(self.students))
        actors, traj = self._rollout(state, k_roll)
        metrics = {
            "reward_rate": traj.reward.mean(),
            "goals_seen": actors.seen.sum().astype(jnp.float32),
            "live_success": actors.live_successes / jnp.maximum(actors.live_attempts, 1e-6),
            "epsilon": sched.epsilon(state.iteration)
            if sched.actor == "teacher" or sched.student_is_q_learner
            else jnp.float32(0),
        }

        students = state.students
        if sched.train_student:
            students = self._update_students(state, actors, traj, k_students, metrics)

        teacher = state.teacher
        if sched.train_teacher:
            teacher, t_metrics = self._update_teacher(state, actors, traj, k_teacher)
            metrics.update(t_metrics)

        new_state = TrainState(actors, teacher, tuple(students), rng, state.iteration + 1)
        return new_state, metrics

    def _update_teacher(self, state: TrainState, actors: ActorState, traj: Transition, rng: jax.Array):
        """The teacher's TD update on this rollout; (new teacher Learner, metrics)."""
        k_teacher, k_goals = jax.random.split(rng)
        data, q_taken_fn = self._teacher_batch(state.teacher.params, actors, traj, k_goals)
        return teacher_update(
            k_teacher, state.teacher, self.teacher_tx, q_taken_fn, data,
            self.config.teacher.minibatch_size, self.schedule.teacher_epochs,
        )

    def _teacher_batch(self, params, actors: ActorState, traj: Transition, rng: jax.Array):
        """Flat training data with fixed targets, and the matching q_taken function.

        LEO trains every goal from one pass per transition, bootstrapping from the values
        computed while acting. The goal-conditioned baselines train the goal columns picked by
        :meth:`training_goals` and need one pass per (next state, goal) pair for their targets.
        """
        sched, cfg = self.schedule, self.config
        T, B = cfg.env.rollout_steps, self.num_envs
        flat = lambda x: x.reshape((T * B,) + x.shape[2:])  # noqa: E731
        data = {"obs": flat(traj.obs), "action": flat(traj.action)}
        if not sched.goal_conditioned_teacher:
            last_q_max = self.teacher_q(params, actors.obs).max(axis=-1)
            next_q_max = jnp.concatenate([traj.teacher_q_max[1:], last_q_max[None]], axis=0)
            achieved = traj.achieved

            def q_taken_fn(p, b):  # [mb, G], without computing the other actions' values
                return self.teacher_net.apply(p, b["obs"].astype(jnp.float32), b["action"], method="taken")

        else:
            goals = self.training_goals(rng, traj)  # [T, B, K]
            next_obs = jnp.concatenate([traj.obs[1:].astype(jnp.float32), actors.obs[None]], axis=0)

            def max_q(args):  # one time step at a time bounds the memory of the B*K passes
                obs_t, goals_t = args
                K = goals_t.shape[-1]
                q = self.teacher_net.apply(params, jnp.repeat(obs_t, K, axis=0),
                                           self.teacher_goal_reps[goals_t.reshape(-1)])
                return q.max(axis=-1).reshape(goals_t.shape)

            next_q_max = jax.lax.map(max_q, (next_obs, goals))
            achieved = jnp.take_along_axis(traj.achieved, goals, axis=-1)
            data["goal"] = flat(goals)

            def q_taken_fn(p, b):
                mb, K = b["goal"].shape
                q = self.teacher_net.apply(p, jnp.repeat(b["obs"].astype(jnp.float32), K, axis=0),
                                           self.teacher_goal_reps[b["goal"].reshape(-1)])
                a = jnp.repeat(b["action"], K)
                return jnp.take_along_axis(q, a[:, None], axis=-1)[:, 0].reshape(mb, K)

        targets = losses.leo_lambda_targets(
            achieved, traj.episode_end, next_q_max, sched.teacher_gamma, cfg.teacher.td_lambda
        )
        data["target"] = flat(targets)
        return data, q_taken_fn

    def training_goals(self, rng: jax.Array, traj: Transition) -> jnp.ndarray:
        """Goal columns [T, B, K] a goal-conditioned learner trains on each transition.

        Column 0 is the commanded goal (it changes only where an episode or goal ended, so
        lambda-returns along a column stay within one goal). ``pqn-her`` adds
        ``relabel_count`` hindsight goals per env, fixed over the rollout: "random" draws them
        uniformly, "positive" from the goals this env achieved during the rollout, "mixed"
        half and half. ``all-goals-relabel`` trains every goal.
        """
        sched, G = self.schedule, self.num_goals
        T, B = traj.goal.shape
        if sched.relabel == "all":
            return jnp.broadcast_to(jnp.arange(G, dtype=jnp.int32), (T, B, G))
        commanded = traj.goal[..., None]
        k = sched.relabel_count
        if sched.relabel == "commanded" or k == 0:
            return commanded
        k_rand, k_pos = jax.random.split(rng)
        n_pos = {"random": 0, "positive": k, "mixed": k // 2}[sched.her_strategy]
        random_goals = jax.random.randint(k_rand, (B, k - n_pos), 0, G, dtype=jnp.int32)
        hit = traj.achieved.any(axis=0)  # [B, G] goals achieved by each env in this rollout
        logits = jnp.where(hit | ~hit.any(axis=1, keepdims=True), 0.0, -jnp.inf)
        positive = jax.random.categorical(k_pos, logits[:, None, :], shape=(B, n_pos)).astype(jnp.int32)
        extra = jnp.concatenate([random_goals, positive], axis=1)
        return jnp.concatenate([commanded, jnp.broadcast_to(extra, (T, B, k))], axis=-1)

    def _update_students(self, state, actors, traj, keys, metrics):
        sched, cfg = self.schedule, self.config
        n, T = self.slice_size, cfg.env.rollout_steps
        new_students = []
        for i, (student, learner, key) in enumerate(zip(self.students, state.students, keys)):
            own = self.student_schedules[i]  # this student's distillation options
            scale = own.distill_scale(state.iteration)
            hp = {
                "clip_eps": cfg.student.clip_eps,
                "value_coef": cfg.student.value_coef,
                "entropy_coef": cfg.student.entropy_coef,
                "distill_target": own.distill_target,
                "tau": own.distill_tau,
                "distill_coef": own.distill_coef * scale,
                "value_distill_coef": own.value_distill_coef * scale,
            }
            part = jax.tree_util.tree_map(lambda x: x[:, i * n : (i + 1) * n], traj)
            obs_i, goal_i = actors.obs[i * n : (i + 1) * n], actors.goal[i * n : (i + 1) * n]
            last_logits, last_value = student.apply(learner.params, obs_i, self.goal_reps[goal_i])
            flat = lambda x: x.reshape((T * n,) + x.shape[2:])  # noqa: E731
            if sched.student_is_q_learner:
                learner, s_metrics = self._update_q_student(
                    key, student, learner, part, last_logits, hp["distill_coef"]
                )
                new_students.append(learner)
                metrics.update(self._name_metrics(i, s_metrics))
                continue
            adv, ret = losses.gae(
                part.reward, part.value, part.goal_done, last_value, cfg.student.gamma, cfg.student.gae_lambda
            )
            data = {
                "obs": flat(part.obs),
                "goal": flat(part.goal),
                "action": flat(part.action),
                "logp": flat(part.logp),
                "value": flat(part.value),
                "advantage": flat(adv),
                "return_": flat(ret),
                "teacher_q": flat(part.teacher_q_goal),
            }
            learner, s_metrics = student_update(
                key, learner, self.student_tx, student.apply, self.goal_reps, data, hp,
                cfg.student.minibatch_size, sched.student_epochs, self.dist,
            )
            new_students.append(learner)
            metrics.update(self._name_metrics(i, s_metrics))
        metrics["distill_scale"] = sched.distill_scale(state.iteration)  # the run-level default's
        return new_students

    def _name_metrics(self, i: int, metrics: dict) -> dict:
        suffix = "" if len(self.students) == 1 else f"/{self.student_names[i]}"
        return {k + suffix: v for k, v in metrics.items()}

    def _update_q_student(self, key, student, learner, part: Transition, last_logits, distill_coef):
        """dual-leo-pqn: TD(lambda) on the commanded goal + regression to the teacher's values."""
        cfg = self.config
        T, n = part.goal.shape
        last_value = jax.nn.sigmoid(last_logits).max(axis=-1)
        next_q = jnp.concatenate([part.value[1:], last_value[None]], axis=0)[..., None]
        targets = losses.leo_lambda_targets(
            part.reward[..., None] > 0, part.episode_end, next_q, cfg.student.gamma, cfg.teacher.td_lambda
        )[..., 0]
        flat = lambda x: x.reshape((T * n,) + x.shape[2:])  # noqa: E731
        data = {
            "obs": flat(part.obs),
            "goal": flat(part.goal),
            "action": flat(part.action),
            "target": flat(targets),
            "teacher_q": flat(part.teacher_q_goal),
        }
        return student_q_update(
            key, learner, self.student_tx, student.apply, self.goal_reps, data, distill_coef,
            cfg.student.minibatch_size, self.schedule.student_epochs,
        )

    def chunk_fn(self, length: int, num_seeds: int = 1):
        """A jitted function running ``length`` iterations under lax.scan (cached).

        With ``num_seeds > 1`` it takes a seed-stacked state and runs every seed's
        iterations side by side (vmapped), metrics gaining a leading seed axis.
        """
        key = (length, num_seeds > 1)
        if key not in self._chunks:

            def run(state: TrainState):
                return jax.lax.scan(lambda s, _: self.iteration(s), state, None, length=length)

            self._chunks[key] = jax.jit(run if num_seeds == 1 else jax.vmap(run), donate_argnums=0)
        return self._chunks[key]

    # ------------------------------------------------------------------ greedy policies

    def greedy_policies(self) -> dict:
        """name -> policy(params, obs [B, D], goal [B]) -> greedy action [B], plus its params getter."""
        out = {}
        for i, (name, student) in enumerate(zip(self.student_names, self.students)):

            def act(params, obs, goal, student=student):
                out, _ = student.apply(params, obs, self.goal_reps[goal])
                return self.dist.mode(out)

            out[name] = (act, lambda s, i=i: s.students[i].params)

        out["teacher"] = (self.teacher_act, lambda s: s.teacher.params)
        return out

    def teacher_act(self, params, obs: jnp.ndarray, goal: jnp.ndarray) -> jnp.ndarray:
        """The teacher's greedy action for each observation's goal, [B]."""
        return jnp.argmax(self.teacher_q_for(params, obs, goal), axis=-1)
