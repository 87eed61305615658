"""Craftax goal sets and envs: names, masks vs a direct check on the craftax state, env smoke.

The direct check (``direct``) reads the craftax state and never the mask construction, so a
mask that tests the wrong feature, cell or bin disagrees with it somewhere in the sample.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from craftax.craftax import constants as full_c
from craftax.craftax_classic import constants as classic_c

from leo_teacher.envs.craftax import GEN_CHUNK, CraftaxEnv, make_craftax_env
from leo_teacher.envs.craftax_obs import GOAL_FILES, GOAL_SET_DIR, encoder, layout

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "goal_sets"
GAMES = [True, False]  # classic, craftax
IDS = ["classic", "craftax"]

# Craftax's movement deltas (Action.LEFT moves the player by (0, -1), UP by (-1, 0), ...).
DIRS = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}
CLASSIC_MOBS = {"zombie": "zombies", "cow": "cows", "skeleton": "skeletons", "arrow": "arrows"}
FULL_MOBS = {  # goal name -> (state field, type id)
    **{n: ("melee_mobs", i) for i, n in enumerate(
        "zombie gnome_warrior orc_soldier lizard knight troll pigman frost_troll".split())},
    **{n: ("passive_mobs", i) for i, n in enumerate("cow bat snail".split())},
    **{n: ("ranged_mobs", i) for i, n in enumerate(
        "skeleton gnome_archer orc_mage kobold knight_archer deep_thing fire_elemental ice_elemental".split())},
    **{n: ("mob_projectiles", i) for i, n in enumerate(
        "arrow dagger fireball iceball arrow2 slimeball fireball2 iceball2".split())},
    "player_fireball": ("player_projectiles", 2), "player_iceball": ("player_projectiles", 3),
    "player_arrow": ("player_projectiles", 4),
}
ARMOUR = ["helmet", "chestplate", "pants", "boots"]


def listed(path: Path) -> tuple[str, ...]:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    assert [int(i) for i, _ in rows] == list(range(len(rows)))
    return tuple(n for _, n in rows)


def direct(name: str, s, classic: bool) -> bool:
    """Whether goal ``name`` holds in one craftax state ``s`` (numpy leaves), read off the state."""
    kind, rest = name.split("/", 1)
    if kind in ("block_map", "item_map", "mob_map"):
        what, d = rest.rsplit("_", 1)
        level = 0 if classic else int(s.player_level)
        grid = s.map if classic else s.map[level]
        r, c = np.asarray(s.player_position) + DIRS[d]
        inside = 0 <= r < grid.shape[0] and 0 <= c < grid.shape[1]
        if not classic and not (inside and s.light_map[level][r, c] > 0.05):
            return False  # dark tiles (and beyond the edge) show nothing in Craftax
        if kind == "block_map":
            bt = classic_c.BlockType if classic else full_c.BlockType
            block = int(grid[r, c]) if inside else bt.OUT_OF_BOUNDS.value
            if not classic and block == bt.NECROMANCER.value:
                vulnerable = (not s.melee_mobs.mask[level].any() and not s.ranged_mobs.mask[level].any()
                              and s.boss_timesteps_to_spawn_this_round <= 0)
                block = bt.NECROMANCER_VULNERABLE.value if vulnerable else block
            return block == bt[what].value
        if kind == "item_map":
            return inside and int(s.item_map[level][r, c]) == full_c.ItemType[what].value
        if classic:
            m = getattr(s, CLASSIC_MOBS[what])
            return any(m.mask[i] and tuple(m.position[i]) == (r, c) for i in range(len(m.mask)))
        field, t = FULL_MOBS[what]
        m = getattr(s, field)
        return any(m.mask[level, i] and tuple(m.position[level, i]) == (r, c) and m.type_id[level, i] == t
                   for i in range(m.mask.shape[1]))
    if kind == "inventory":
        item, counts = rest.rsplit("_", 1)
        lo, hi = (int(x) for x in counts.split("-")) if "-" in counts else (int(counts),) * 2
        return lo <= int(getattr(s.inventory, item)) <= hi
    if kind == "tools":
        if classic:
            return int(getattr(s.inventory, rest)) >= 1
        if rest == "bow":
            return int(s.inventory.bow) >= 1
        material, piece = rest.split("_")
        if piece in ("pickaxe", "sword"):
            return int(getattr(s.inventory, piece)) == ["wood", "stone", "iron", "diamond"].index(material) + 1
        return int(s.inventory.armour[ARMOUR.index(piece)]) == ["iron", "diamond"].index(material) + 1
    if kind == "enchant":
        piece, element = rest.split("_")
        want = ["fire", "ice"].index(element) + 1
        if piece in ("sword", "bow"):
            return int(getattr(s, f"{piece}_enchantment")) == want
        return int(s.armour_enchantments[ARMOUR.index(piece)]) == want
    if kind == "dungeon_level":
        return int(s.player_level) == int(rest.removeprefix("dlvl_"))
    if kind == "intrinsics":
        attr, k = rest.rsplit("_", 1)
        return int(getattr(s, f"player_{attr}")) == int(k)
    raise AssertionError(f"no direct check for {name}")


def unbatch(state, n: int):
    """Per-env numpy copies of a batched craftax state."""
    def to_numpy(x):
        return np.array(jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x)

    arrays = jax.tree.map(to_numpy, state)
    return [jax.tree.map(lambda x, i=i: x[i].copy(), arrays) for i in range(n)]


def _make_game(classic: bool) -> dict:
    """A bank env, its jitted encoder and a reset state (compiled once per module and game)."""
    env = CraftaxEnv(classic=classic, reset_scheme="bank", bank_size=4, reset_fraction=0.5)
    state, obs = env.reset(jax.random.key(0), 2)
    return dict(classic=classic, env=env, state=state, obs=obs, encode=jax.jit(jax.vmap(encoder(classic))))


# One module-scoped fixture per game (not one parametrized fixture): a worker that interleaves
# the two games' tests keeps both alive instead of rebuilding one at every switch.
@pytest.fixture(scope="module")
def classic_game():
    return _make_game(True)


@pytest.fixture(scope="module")
def craftax_game():
    return _make_game(False)


# One xdist group per game: its (slow to compile) fixture is built on one worker only.
@pytest.fixture(params=[pytest.param(c, id=i, marks=pytest.mark.xdist_group(i)) for c, i in zip(GAMES, IDS)])
def game(request):
    """Per game: the module's env, encoder and reset state for that game."""
    return request.getfixturevalue("classic_game" if request.param else "craftax_game")


def encode_states(game, states) -> np.ndarray:
    """Encode states in batches of the fixture's size and dtypes: the encoder compiles once per
    game (Craftax's takes tens of seconds), shared with :func:`check_reset_step`."""
    ref = game["state"].env
    b = ref.player_position.shape[0]
    padded = states + states[: (-len(states)) % b]

    def leaf(r, *xs):
        if jnp.issubdtype(r.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(jnp.asarray(np.stack(xs)))
        return jnp.asarray(np.stack(xs), dtype=r.dtype)

    out = [np.asarray(game["encode"](jax.tree.map(leaf, ref, *padded[i : i + b])))
           for i in range(0, len(padded), b)]
    return np.concatenate(out)[: len(states)]


def check_states(game, states) -> np.ndarray:
    """Assert encoded-mask achievement == direct check on every goal; returns achieved [N, G]."""
    gs = game["env"].goal_set
    obs = encode_states(game, states)
    got = np.asarray(gs.achieved(obs))
    want = np.array([[direct(n, s, game["classic"]) for n in gs.names] for s in states])
    bad = np.argwhere(got != want)
    assert bad.size == 0, [(int(i), gs.names[g], bool(got[i, g])) for i, g in bad[:10]]
    # Every one-hot group row sums to exactly 1.
    lay = layout(game["classic"])
    flat = np.asarray(obs)[:, lay.map_size:]
    off = 0
    for name, rows, bins in lay.groups:
        block = flat[:, off:off + rows * bins].reshape(len(states), rows, bins)
        assert np.all(block.sum(-1) == 1), name
        off += rows * bins
    return got


# ----------------------------------------------------------------------------- (a), (b)


@pytest.mark.parametrize("classic", GAMES, ids=IDS)
def test_goal_names_match_listings(classic):
    from leo_teacher.envs.craftax_obs import load_goal_names

    names = load_goal_names(classic)
    assert names == listed(GOAL_SET_DIR / GOAL_FILES[classic])
    assert len(names) == (136 if classic else 512) == len(set(names))
    shared = SHARED / GOAL_FILES[classic]
    if shared.exists():
        assert names == listed(shared)


@pytest.mark.parametrize("classic", GAMES, ids=IDS)
def test_masks_nonempty_and_inside_obs(classic):
    env = make_craftax_env("craftax-classic" if classic else "craftax")
    gs = env.goal_set
    assert gs.masks.shape == (gs.num_goals, env.obs_spec.size) == gs.reps.shape
    assert set(np.unique(gs.masks)) <= {0.0, 1.0}
    assert np.all(gs.masks.sum(1) >= 1)
    h, w, c = env.obs_spec.map_shape
    assert env.obs_spec.map_size == h * w * c < env.obs_spec.size
    gs.check_compatible(gs.names)


# ----------------------------------------------------------------------------- (c)


def edited_states(game, n: int):
    """Reset states edited to cover every count bin, tool, level, intrinsic, block, item and mob."""
    classic = game["classic"]
    base = unbatch(game["state"].env, 1)[0]
    rng = np.random.default_rng(0)
    bt = classic_c.BlockType if classic else full_c.BlockType
    out = []
    for i in range(n):
        s = copy.deepcopy(base)
        inv = s.inventory
        level = 0 if classic else i % 9
        grid = s.map if classic else s.map[level]
        size = grid.shape[0]
        edge = [(0, 5 + i % 30), (size - 1, 7), (9, 0), (11, size - 1)]
        pos = np.array(edge[i % 4] if i % 3 == 0 else (10 + i % 20, 12 + i % 17), dtype=np.int32)
        s = s.replace(player_position=pos, player_direction=np.int32(1 + i % 4))
        if classic:
            items = ["wood", "stone", "coal", "iron", "diamond", "sapling"]
            tools = ["wood_pickaxe", "stone_pickaxe", "iron_pickaxe", "wood_sword", "stone_sword", "iron_sword"]
            inv = inv.replace(**{k: np.int32((i + 3 * j) % 10) for j, k in enumerate(items)},
                              **{k: np.int32((i + j) % 3) for j, k in enumerate(tools)})
            s = s.replace(player_health=np.int32(i % 10), player_food=np.int32((i * 3) % 10),
                          is_sleeping=np.bool_(i % 2), light_level=np.float32(rng.random()))
        else:
            items = ["wood", "stone", "coal", "iron", "diamond", "sapphire", "ruby", "sapling", "torches", "arrows"]
            inv = inv.replace(
                **{k: np.int32((i + 11 * j) % 100) for j, k in enumerate(items)},
                pickaxe=np.int32(i % 5), sword=np.int32((i // 5) % 5), bow=np.int32(i % 2),
                armour=np.array([(i + j) % 3 for j in range(4)], np.int32),
                potions=np.array([(i + j) % 12 for j in range(6)], np.int32), books=np.int32(i % 3),
            )
            s = s.replace(
                player_level=np.int32(level), player_health=np.float32(i % 13 + 0.4 * (i % 2)),
                player_dexterity=np.int32(1 + i % 5), player_strength=np.int32(1 + (i // 5) % 5),
                player_intelligence=np.int32(1 + (i // 2) % 5), player_mana=np.int32(i % 23),
                sword_enchantment=np.int32(i % 3), bow_enchantment=np.int32((i // 3) % 3),
                armour_enchantments=np.array([(i // 3 + j) % 3 for j in range(4)], np.int32),
                boss_timesteps_to_spawn_this_round=np.int32(0 if i % 2 else 5),
                learned_spells=np.array([i % 2, (i // 2) % 2], bool), light_level=np.float32(rng.random()),
            )
        s = s.replace(inventory=inv)
        # Adjacent blocks (and items), cycling through every block type.
        grid = grid.copy()
        light = None if classic else s.light_map[level].copy()
        items_map = None if classic else s.item_map[level].copy()
        for d, (dr, dc) in enumerate(DIRS.values()):
            r, c = pos + (dr, dc)
            if 0 <= r < size and 0 <= c < size:
                grid[r, c] = (4 * i + d) % len(bt)
                if grid[r, c] == bt.OUT_OF_BOUNDS.value:  # never inside a real map
                    grid[r, c] = bt.GRASS.value
                if not classic:
                    if boss_round(i) and d == 0:
                        grid[r, c] = bt.NECROMANCER.value
                    items_map[r, c] = (i + d) % len(full_c.ItemType)
                    light[r, c] = 0.0 if i >= 96 and (i + d) % 3 == 0 else 1.0  # some dark tiles
        if classic:
            s = s.replace(map=grid)
        else:
            s = s.replace(map=s.map.copy(), item_map=s.item_map.copy(), light_map=s.light_map.copy())
            s.map[level], s.item_map[level], s.light_map[level] = grid, items_map, light
        s = place_mobs(s, i, pos, level, classic)
        out.append(s)
    return out


def boss_round(i: int) -> bool:
    """States with the boss block to the left and (i odd: boss timer 0) no melee/ranged mobs."""
    return i >= 96 and i % 4 == 1


def place_mobs(s, i, pos, level, classic):
    """Mob 0 of each class next to the player (alive or dead), mob 1 far away; Craftax: also on another level."""
    dirs = list(DIRS.values())
    fields = list(CLASSIC_MOBS.values()) if classic else [
        "melee_mobs", "passive_mobs", "ranged_mobs", "mob_projectiles", "player_projectiles"]
    updates = {}
    for j, f in enumerate(fields):
        m = getattr(s, f)
        position, mask = m.position.copy(), m.mask.copy()
        # Rounds of 32 states show every (type, direction) pair; mobs alive in 2-3 rounds of 4.
        near = pos + dirs[(i // 8) % 4]
        alive = (i // 32 + j) % 3 != 0
        if classic:
            position[0], mask[0] = near, alive
            position[1], mask[1] = pos + (20, 20), True
            updates[f] = m.replace(position=position, mask=mask)
        else:
            type_id = m.type_id.copy()
            kill_all = boss_round(i) and f in ("melee_mobs", "ranged_mobs")  # makes the boss vulnerable
            position[level, 0], mask[level, 0], type_id[level, 0] = near, alive and not kill_all, i % 8
            position[level, 1], mask[level, 1] = pos + (20, 20), not kill_all
            if kill_all:
                mask[level] = False
            other = (level + 1) % 9
            position[other, 0], mask[other, 0], type_id[other, 0] = pos + dirs[(i + j + 1) % 4], True, i % 8
            updates[f] = m.replace(position=position, mask=mask, type_id=type_id)
    return s.replace(**updates)


def scripted_states(game):
    """States from real env steps: chop a tree (re-planted by editing), place a table, craft, move."""
    classic, env = game["classic"], game["env"]
    a = (classic_c if classic else full_c).Action
    state = game["state"]
    b = state.env.player_position.shape[0]
    rows, cols = state.env.player_position[:, 0], state.env.player_position[:, 1]
    envs = jnp.arange(b)

    def set_cell(env_state, dc, block):
        if classic:
            return env_state.replace(map=env_state.map.at[envs, rows, cols + dc].set(block))
        return env_state.replace(map=env_state.map.at[envs, 0, rows, cols + dc].set(block))

    bt = (classic_c if classic else full_c).BlockType
    es = state.env.replace(player_direction=jnp.full((b,), a.RIGHT.value, jnp.int32))
    es = set_cell(set_cell(es, -1, bt.GRASS.value), -2, bt.GRASS.value)
    state = state.replace(env=es)
    script = [a.NOOP] + [a.DO] * 4 + [a.LEFT, a.PLACE_TABLE, a.MAKE_WOOD_PICKAXE, a.MAKE_WOOD_SWORD,
                                     a.UP, a.DOWN, a.RIGHT, a.NOOP]
    out, wood = [], []
    for t, action in enumerate(script):
        if action == a.DO:  # re-plant the tree that the last DO turned into grass
            state = state.replace(env=set_cell(state.env, 1, bt.TREE.value))
        state, res = env.step(jax.random.key(100 + t), state, jnp.full((b,), action.value, jnp.int32))
        assert not np.asarray(res.episode_end).any()
        out += unbatch(state.env, b)
        wood.append(int(state.env.inventory.wood[0]))
    assert max(wood) >= 4, wood
    last = out[-b]
    assert (last.inventory.wood_pickaxe if classic else last.inventory.pickaxe) >= 1
    assert (last.inventory.wood_sword if classic else last.inventory.sword) >= 1
    for t in range(12):  # random play, resets included: check the post-reset state
        k1, k2 = jax.random.split(jax.random.key(200 + t))
        state, res = env.step(k1, state, jax.random.randint(k2, (b,), 0, env.num_actions))
        out += unbatch(state.env, b)
    return out


def test_masks_agree_with_direct_check(game):
    states = scripted_states(game) + edited_states(game, 128)
    got = check_states(game, states)
    gs = game["env"].goal_set
    never = [n for n, hit, ok in zip(gs.names, got.any(0), gs.reachable_mask()) if not hit and ok]
    assert not never, f"reachable goals never achieved in the sample: {never[:10]}"
    assert not got[:, ~gs.reachable_mask()].any()


def test_map_matches_craftax_symbolic_obs(game):
    """Block channels equal craftax's own symbolic obs on real states (mobs: ours covers craftax's)."""
    classic = game["classic"]
    if classic:
        from craftax.craftax_classic.renderer import render_craftax_symbolic
    else:
        from craftax.craftax.renderer import render_craftax_symbolic
    lay = layout(classic)
    h, w, c = lay.map_shape
    theirs = jax.jit(jax.vmap(render_craftax_symbolic))(game["state"].env)[:, : h * w * c].reshape(-1, h, w, c)
    ours = np.asarray(game["obs"])[:, : h * w * c].reshape(-1, h, w, c)
    nb = len(classic_c.BlockType if classic else full_c.BlockType)
    np.testing.assert_array_equal(ours[..., :nb], np.asarray(theirs)[..., :nb])
    assert np.all(ours[..., nb:] >= np.asarray(theirs)[..., nb:])


# ----------------------------------------------------------------------------- (d)


def spec(tree):
    return jax.tree.map(lambda x: (x.shape, x.dtype, x.weak_type), jax.eval_shape(lambda: tree))


def check_reset_step(env, encode, state, obs, b):
    assert obs.shape == (b, env.obs_spec.size) and obs.dtype == jnp.float32
    # Env 0 reaches the time limit on this step; env 1 goes on.
    state = state.replace(env=state.env.replace(
        timestep=state.env.timestep.at[0].set(env.max_episode_steps - 1)))
    new, res = env.step(jax.random.key(7), state, jnp.zeros((b,), jnp.int32))
    assert res.obs.shape == res.next_obs.shape == (b, env.obs_spec.size)
    assert res.episode_end.dtype == jnp.bool_ and res.episode_end.tolist() == [True] + [False] * (b - 1)
    assert int(new.env.timestep[0]) == 0 and int(new.env.timestep[1]) == int(state.env.timestep[1]) + 1
    encoded = np.asarray(encode(new.env))
    np.testing.assert_array_equal(np.asarray(res.obs), encoded)
    np.testing.assert_array_equal(np.asarray(res.obs)[1:], np.asarray(res.next_obs)[1:])
    # Reset and step states have identical dtypes and weak types: no recompilation.
    assert spec(new) == spec(state)
    new2, _ = env.step(jax.random.key(8), new, jnp.ones((b,), jnp.int32))
    assert env.step._cache_size() == 1
    return state, new


def test_env_bank_reset_and_step(game):
    env, b = game["env"], 2
    state, new = check_reset_step(env, game["encode"], game["state"], game["obs"], b)
    # One bank slot was refreshed, then the ended env took a world from the bank.
    assert int(new.bank_next) == env.bank_refresh
    assert not np.array_equal(np.asarray(new.bank.map[0]), np.asarray(state.bank.map[0]))
    np.testing.assert_array_equal(np.asarray(new.bank.map[1:]), np.asarray(state.bank.map[1:]))
    assert any(np.array_equal(np.asarray(new.env.map[0]), m) for m in np.asarray(new.bank.map))


def test_env_optimistic_reset_and_step():
    env = make_craftax_env("craftax-classic", reset_scheme="optimistic", reset_fraction=0.5)
    assert env.num_actions == 17 and env.goal_set.num_goals == 136 and env.obs_spec.map_shape == (7, 9, 21)
    state, obs = env.reset(jax.random.key(3), 2, evaluation=True)
    assert state.bank is None
    _, new = check_reset_step(env, jax.jit(jax.vmap(encoder(True))), state, obs, 2)
    assert not np.array_equal(np.asarray(new.env.map[0]), np.asarray(state.env.map[0]))


# One game suffices (the chunking is game-agnostic); Craftax world generation is slow to compile.
@pytest.mark.parametrize("game", [pytest.param(True, id="classic", marks=pytest.mark.xdist_group("classic"))],
                         indirect=True)
def test_chunked_world_generation_matches_vmap(game):
    """Large resets generate worlds in chunks (lax.map); the worlds are the same as vmapped."""
    env = game["env"]
    keys = jax.random.split(jax.random.key(5), GEN_CHUNK + 3)
    chunked = jax.jit(env._generate)(keys)
    tail = jax.jit(env._generate)(keys[GEN_CHUNK:])
    np.testing.assert_array_equal(np.asarray(chunked.map[GEN_CHUNK:]), np.asarray(tail.map))
    assert spec(jax.tree.map(lambda x: x[0], chunked)) == spec(jax.tree.map(lambda x: x[0], tail))


def test_factory_rejects_unknown_names():
    with pytest.raises(ValueError):
        make_craftax_env("craftax-pixels")
    with pytest.raises(ValueError):
        make_craftax_env("craftax-classic", reset_scheme="auto")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-q", f"--rootdir={os.path.dirname(__file__)}"]))
