"""Baselines as coordinator configurations: PQN, PQN + HER, all-goals relabelling."""

import jax
import jax.numpy as jnp
import numpy as np

from leo_teacher.config import build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.core.rollout import rollout
from leo_teacher.envs import make_env
from leo_teacher.teachers import GoalQTeacher, LeoTeacher
from leo_teacher.teachers.relabel import training_goals


def coordinator(mode, *extra):
    cfg = build_config(preset="tiny", overrides=parse_set([f"coordinator.mode={mode}", *extra]))
    return Coordinator(cfg, make_env(cfg.env))


class TableLeoNetwork:
    """LeoNetwork's interface over a fixed table of values (obs -> [B, G, A])."""

    def __init__(self, table):
        self.table = table

    def apply(self, params, obs):
        return self.table(obs)


class TableGoalQNetwork(TableLeoNetwork):
    """GoalQNetwork's interface over the same table, its goal input a one-hot index."""

    def apply(self, params, obs, goal):
        return self.table(obs)[jnp.arange(obs.shape[0]), goal.argmax(-1)]


def test_all_goals_relabelling_and_leo_compute_the_same_targets():
    leo_c, rel_c = coordinator("teacher-as-actor"), coordinator("all-goals-relabel")
    G, A, D = leo_c.num_goals, 4, leo_c.env.obs_spec.size
    W = jax.random.normal(jax.random.PRNGKey(1), (G, D, A))
    table = lambda obs: jax.nn.sigmoid(jnp.einsum("bd,gda->bga", obs, W))  # noqa: E731
    # The same values behind both teachers: LEO reads all goals at once, the goal-conditioned
    # network one goal per pass. The teachers take their network as an argument.
    t = leo_c.teacher
    leo = LeoTeacher(TableLeoNetwork(table), t.tx, t.hp, G, A)
    r = rel_c.teacher
    rel = GoalQTeacher(TableGoalQNetwork(table), r.tx, r.hp, G, A, jnp.eye(G), r.relabelling, "all-goals-relabel")

    state = leo_c.init(0)
    actors, traj = jax.jit(lambda s, k: rollout(leo_c, s, k))(state, jax.random.PRNGKey(2))
    traj = traj.replace(teacher_bootstrap=jax.vmap(lambda o: table(o).max(-1))(traj.obs))
    leo_batch = leo.targets(None, traj, actors.obs, jax.random.PRNGKey(3))
    rel_batch = rel.targets(None, traj, actors.obs, jax.random.PRNGKey(3))
    assert rel_batch.goal.shape == (traj.obs.shape[0] * traj.obs.shape[1], G)
    np.testing.assert_allclose(rel_batch.target, leo_batch.target, rtol=1e-6)
    assert float(jnp.abs(leo_batch.target).sum()) > 0


def test_her_with_zero_relabels_is_pqn():
    pqn = coordinator("pqn")
    her = coordinator("pqn-her", "teacher.relabel_count=0")
    a, _ = pqn.chunk_fn(2)(pqn.init(0))
    b, _ = her.chunk_fn(2)(her.init(0))
    for x, y in zip(jax.tree_util.tree_leaves(a.teacher.params), jax.tree_util.tree_leaves(b.teacher.params)):
        np.testing.assert_array_equal(x, y)


def test_her_goal_columns():
    her = coordinator("pqn-her", "teacher.relabel_count=4", "teacher.her_strategy=positive")
    state = her.init(0)
    _, traj = jax.jit(lambda s, k: rollout(her, s, k))(state, jax.random.PRNGKey(0))
    goals = training_goals(jax.random.PRNGKey(1), traj, her.num_goals, her.teacher.relabelling)
    T, B = traj.goal.shape
    assert goals.shape == (T, B, 5)
    np.testing.assert_array_equal(goals[..., 0], traj.goal)
    # positive goals were achieved by that env during the rollout
    hit = np.asarray(traj.achieved.any(axis=0))
    for b in range(B):
        if hit[b].any():
            assert hit[b, np.asarray(goals[0, b, 1:])].all()


def test_speedup_benchmark_chunked_relabelling_matches_one_batch():
    """The speed-up benchmark's goal-chunked relabelling gives the one-big-batch gradient, and its
    FLOP-count LEO program the gradient of the LEO update it times."""
    import importlib.util

    from leo_teacher.envs.base import ObsSpec
    from leo_teacher.core.networks import GoalQNetwork, LeoNetwork

    path = __import__("pathlib").Path(__file__).resolve().parent.parent / "benchmarks" / "speedup.py"
    spec = importlib.util.spec_from_file_location("speedup_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    obs, action, targets, reps = bench.make_batch(goals=6, obs_dim=20, actions=3, batch=5)
    net = GoalQNetwork(ObsSpec(size=20), 3, width=8, depth=1)
    params = net.init(jax.random.PRNGKey(0), obs[:1], reps[:1])
    loss1, g1 = bench.relabel_grad_fn(net, obs, action, targets, reps, goal_chunk=6)(params)
    loss2, g2 = bench.relabel_grad_fn(net, obs, action, targets, reps, goal_chunk=2)(params)
    np.testing.assert_allclose(loss1, loss2, rtol=1e-5)
    for x, y in zip(jax.tree_util.tree_leaves(g1), jax.tree_util.tree_leaves(g2)):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-7)
    # LEO's FLOP-count program (a gathered head, no tile loop) computes the update training runs.
    leo = LeoNetwork(ObsSpec(size=20), 6, 3, width=8, depth=1)
    leo_params = leo.init(jax.random.PRNGKey(0), obs[:1])
    (l_run, g_run), (l_count, g_count) = (f(leo, obs, action, targets)(leo_params)
                                          for f in (bench.leo_grad_fn, bench.leo_useful_grad_fn))
    np.testing.assert_allclose(l_run, l_count, rtol=1e-6)
    for x, y in zip(jax.tree_util.tree_leaves(g_run), jax.tree_util.tree_leaves(g_count)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)


def test_her_seen_strategy_draws_hindsight_goals_from_the_goals_seen():
    her = coordinator("pqn-her", "teacher.relabel_count=3", "teacher.her_strategy=seen")
    state = her.init(0)
    _, traj = jax.jit(lambda s, k: rollout(her, s, k))(state, jax.random.PRNGKey(0))
    seen = jnp.zeros(her.num_goals, bool).at[jnp.array([2, 5])].set(True)
    goals = training_goals(jax.random.PRNGKey(1), traj, her.num_goals, her.teacher.relabelling, seen)
    assert set(np.unique(np.asarray(goals[..., 1:])).tolist()) <= {2, 5}
    np.testing.assert_array_equal(goals[..., 0], traj.goal)
