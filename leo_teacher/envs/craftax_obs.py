"""One-hot symbolic observations and mask goal sets for Craftax-Classic and Craftax (DESIGN §2).

The flat observation is built from the craftax env *state* (not from craftax's own symbolic
vector, which stores counts as float16/10 and would need rounding). Layout, in order:

1. The local map, row-major ``(H, W, C)`` so :class:`ObsSpec.map_shape` describes it. Rows are
   the world's first axis: craftax's ``Action.UP`` moves the player by (-1, 0), ``LEFT`` by
   (0, -1). The player sits at the centre cell ``(H // 2, W // 2)``; so "up" is the cell one
   row above the centre, "down" one row below, "left"/"right" one column to either side.
   Channels, as craftax gives them:
   - Classic, 7 x 9 x 21: 17 block types (one-hot, OUT_OF_BOUNDS beyond the map edge), then
     4 mob channels (zombie, cow, skeleton, arrow).
   - Craftax, 9 x 11 x 83: 37 block types, 5 item types (NONE, TORCH, LADDER_DOWN, LADDER_UP,
     LADDER_DOWN_BLOCKED), 40 mob channels (class * 8 + type id for the classes melee,
     passive, ranged, mob projectile, player projectile), then 1 light channel (tile lit,
     light_map > 0.05). Block, item and mob channels are zero on dark tiles, as in craftax.
     Two deliberate differences from craftax's own symbolic obs: the boss block shows as
     NECROMANCER_VULNERABLE while the boss is vulnerable (as craftax's pixel renderer does;
     otherwise that goal could never be achieved), and the mob map is a scatter-max, so a dead
     or off-screen mob never erases a visible one (craftax's scan of ``.set`` can do that).
2. Flat features, each a group of rows one-hot over bins (every row sums to exactly 1; values
   beyond the last bin land in the last bin). See ``CLASSIC_GROUPS`` / ``CRAFTAX_GROUPS``.

Every goal of the listings in ``goal_sets/`` is a 0/1 mask over this vector:
``inventory/x_k`` the bin ``count == k``; ``inventory/x_a-b`` the bins ``a..b``;
``block_map/B_dir`` / ``item_map/I_dir`` / ``mob_map/m_dir`` the channel at the adjacent cell;
Classic ``tools/t`` the bins "count >= 1"; Craftax ``tools/<material>_pickaxe|sword`` the tool
level bin (wood 1, stone 2, iron 3, diamond 4: the *current* tool, as in the paper's reference),
``tools/bow`` bow >= 1, ``tools/<iron|diamond>_<piece>`` the armour level bin (1 iron,
2 diamond); ``enchant/<piece|sword|bow>_<fire|ice>`` the enchantment bin (1 fire, 2 ice);
``dungeon_level/dlvl_k`` the level bin; ``intrinsics/a_k`` the attribute bin ``k``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from craftax.craftax import constants as full_c
from craftax.craftax.util.game_logic_utils import is_boss_vulnerable
from craftax.craftax_classic import constants as classic_c

from leo_teacher.envs.goals import MaskGoalSet

GOAL_SET_DIR = Path(__file__).parent / "goal_sets"
GOAL_FILES = {True: "craftax_classic_136.txt", False: "craftax_512.txt"}

# (row, col) offsets in the local view; rows are the world's first axis (see module doc).
DIRECTIONS = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}

CLASSIC_MOBS = ("zombie", "cow", "skeleton", "arrow")
# Craftax mob channel = class * 8 + type id; names follow craftax's textures and the goal list.
CRAFTAX_MOB_CLASSES = (
    ("zombie", "gnome_warrior", "orc_soldier", "lizard", "knight", "troll", "pigman", "frost_troll"),
    ("cow", "bat", "snail"),
    ("skeleton", "gnome_archer", "orc_mage", "kobold", "knight_archer", "deep_thing",
     "fire_elemental", "ice_elemental"),
    ("arrow", "dagger", "fireball", "iceball", "arrow2", "slimeball", "fireball2", "iceball2"),
)
CRAFTAX_MOB_CHANNEL = {
    name: cls * 8 + t for cls, names in enumerate(CRAFTAX_MOB_CLASSES) for t, name in enumerate(names)
}
# Player projectiles (class 4) use ProjectileType ids: FIREBALL 2, ICEBALL 3, ARROW2 4 (the bow).
CRAFTAX_MOB_CHANNEL.update(player_fireball=34, player_iceball=35, player_arrow=36)
CRAFTAX_MOB_FIELDS = ("melee_mobs", "passive_mobs", "ranged_mobs", "mob_projectiles", "player_projectiles")

CLASSIC_ITEMS = ("wood", "stone", "coal", "iron", "diamond", "sapling")
CLASSIC_TOOLS = ("wood_pickaxe", "stone_pickaxe", "iron_pickaxe", "wood_sword", "stone_sword", "iron_sword")
CRAFTAX_ITEMS = ("wood", "stone", "coal", "iron", "diamond", "sapphire", "ruby", "sapling", "torches", "arrows")
CLASSIC_INTRINSICS = ("health", "food", "drink", "energy")
CRAFTAX_INTRINSICS = ("health", "food", "drink", "energy", "mana", "xp", "dexterity", "strength", "intelligence")
ARMOUR = ("helmet", "chestplate", "pants", "boots")
TOOL_LEVELS = {"wood": 1, "stone": 2, "iron": 3, "diamond": 4}
ENCHANTMENTS = {"fire": 1, "ice": 2}

# Flat groups after the map: (name, rows, bins). Row names are the tuples above.
CLASSIC_GROUPS = (
    ("inventory", 12, 10),  # CLASSIC_ITEMS + CLASSIC_TOOLS, counts 0..9 (craftax caps at 9)
    ("intrinsics", 4, 10),  # CLASSIC_INTRINSICS, 0..9
    ("direction", 1, 4),  # left, right, up, down
    ("light_level", 1, 10),  # floor(10 * light), 0..9
    ("sleeping", 1, 2),
)
CRAFTAX_GROUPS = (
    ("inventory", 10, 100),  # CRAFTAX_ITEMS, counts 0..99 (craftax caps at 99)
    ("potions", 6, 10),  # red, green, blue, pink, cyan, yellow; 9 = "9 or more"
    ("books", 1, 3),
    ("pickaxe", 1, 5),  # level 0 none .. 4 diamond
    ("sword", 1, 5),
    ("bow", 1, 2),
    ("sword_enchantment", 1, 3),  # 0 none, 1 fire, 2 ice
    ("bow_enchantment", 1, 3),
    ("armour", 4, 3),  # ARMOUR pieces; 0 none, 1 iron, 2 diamond
    ("armour_enchantments", 4, 3),
    ("intrinsics", 9, 22),  # CRAFTAX_INTRINSICS; maxima 13 health, 17 food, 21 mana
    ("direction", 1, 4),
    ("light_level", 1, 10),
    ("sleeping", 1, 2),
    ("resting", 1, 2),
    ("spells", 2, 2),  # fireball, iceball learned
    ("dungeon_level", 1, 9),
    ("level_cleared", 1, 2),
    ("boss_vulnerable", 1, 2),
)


@dataclass(frozen=True)
class ObsLayout:
    """Where each feature of the flat observation lives."""

    map_shape: tuple[int, int, int]
    channels: dict  # map channel block name -> first channel ("block", "item", "mob", "light")
    groups: tuple  # ((name, rows, bins), ...) after the map

    @property
    def map_size(self) -> int:
        h, w, c = self.map_shape
        return h * w * c

    @property
    def size(self) -> int:
        return self.map_size + sum(r * b for _, r, b in self.groups)

    def group_offset(self, name: str) -> int:
        """Index of the first feature of flat group ``name``."""
        offset = self.map_size
        for g, rows, bins in self.groups:
            if g == name:
                return offset
            offset += rows * bins
        raise KeyError(name)

    def flat_index(self, group: str, row: int, bin_: int) -> int:
        bins = {g: b for g, _, b in self.groups}[group]
        return self.group_offset(group) + row * bins + bin_

    def map_index(self, direction: str, channel: int) -> int:
        """Index of ``channel`` at the cell adjacent to the player in ``direction``."""
        h, w, c = self.map_shape
        dr, dc = DIRECTIONS[direction]
        return ((h // 2 + dr) * w + (w // 2 + dc)) * c + channel


CLASSIC_LAYOUT = ObsLayout(
    map_shape=(*classic_c.OBS_DIM, len(classic_c.BlockType) + 4),
    channels={"block": 0, "mob": len(classic_c.BlockType)},
    groups=CLASSIC_GROUPS,
)
_NB, _NI = len(full_c.BlockType), len(full_c.ItemType)
CRAFTAX_LAYOUT = ObsLayout(
    map_shape=(*full_c.OBS_DIM, _NB + _NI + 40 + 1),
    channels={"block": 0, "item": _NB, "mob": _NB + _NI, "light": _NB + _NI + 40},
    groups=CRAFTAX_GROUPS,
)


def layout(classic: bool) -> ObsLayout:
    """The observation layout of Craftax-Classic (``classic=True``) or Craftax."""
    return CLASSIC_LAYOUT if classic else CRAFTAX_LAYOUT


# ----------------------------------------------------------------------------- encoding


def _view(grid: jnp.ndarray, pos: jnp.ndarray, obs_dim, fill) -> jnp.ndarray:
    """The obs_dim window of ``grid`` centred on ``pos``, ``fill`` beyond the edges."""
    pad = max(obs_dim) + 2
    padded = jnp.pad(grid, pad, constant_values=fill)
    corner = pos - jnp.asarray(obs_dim, dtype=jnp.int32) // 2 + pad
    return jax.lax.dynamic_slice(padded, corner, obs_dim)


def _mob_map(player_pos, obs_dim, num_channels, mobs) -> jnp.ndarray:
    """[H, W, num_channels] 0/1 map of live on-screen mobs; ``mobs`` is [(pos [N,2], mask [N], channel [N])]."""
    h, w = obs_dim
    flat = jnp.zeros((h * w * num_channels,), jnp.float32)
    for pos, mask, channel in mobs:
        local = pos - player_pos + jnp.asarray([h // 2, w // 2], dtype=jnp.int32)
        on = mask & (local[:, 0] >= 0) & (local[:, 0] < h) & (local[:, 1] >= 0) & (local[:, 1] < w)
        idx = (local[:, 0] * w + local[:, 1]) * num_channels + channel
        # Off-screen or dead mobs scatter out of range and are dropped (never erase a live one).
        idx = jnp.where(on, idx, h * w * num_channels)
        flat = flat.at[idx].max(1.0, mode="drop")
    return flat.reshape(h, w, num_channels)


def _counts(x) -> jnp.ndarray:
    """Round counts to int32: values that come as floats are rounded, never truncated."""
    return jnp.round(jnp.asarray(x, jnp.float32)).astype(jnp.int32)


def _health_bin(health) -> jnp.ndarray:
    # Craftax health is a float after damage; round, but an alive player never shows 0.
    h = jnp.asarray(health, jnp.float32)
    return jnp.where(h > 0, jnp.maximum(_counts(h), 1), 0)


def _light_bin(light) -> jnp.ndarray:
    return jnp.clip(jnp.floor(jnp.asarray(light, jnp.float32) * 10), 0, 9).astype(jnp.int32)


def _flatten(map_part: jnp.ndarray, values: dict, groups) -> jnp.ndarray:
    parts = [map_part.reshape(-1).astype(jnp.float32)]
    for name, rows, bins in groups:
        v = jnp.clip(jnp.asarray(values[name], jnp.int32).reshape(rows), 0, bins - 1)
        parts.append(jax.nn.one_hot(v, bins, dtype=jnp.float32).reshape(-1))
    return jnp.concatenate(parts)


def encode_classic(state) -> jnp.ndarray:
    """Flat one-hot observation [CLASSIC_LAYOUT.size] of one Craftax-Classic state."""
    obs_dim = classic_c.OBS_DIM
    pos = state.player_position
    blocks = _view(state.map, pos, obs_dim, classic_c.BlockType.OUT_OF_BOUNDS.value)
    mob_fields = (state.zombies, state.cows, state.skeletons, state.arrows)
    mobs = _mob_map(
        pos, obs_dim, 4,
        [(m.position, m.mask, jnp.full(m.mask.shape, i, jnp.int32)) for i, m in enumerate(mob_fields)],
    )
    map_part = jnp.concatenate([jax.nn.one_hot(blocks, len(classic_c.BlockType)), mobs], axis=-1)
    inv = state.inventory
    values = {
        "inventory": jnp.stack([_counts(getattr(inv, n)) for n in CLASSIC_ITEMS + CLASSIC_TOOLS]),
        "intrinsics": jnp.stack([
            _health_bin(state.player_health), _counts(state.player_food),
            _counts(state.player_drink), _counts(state.player_energy),
        ]),
        "direction": state.player_direction - 1,
        "light_level": _light_bin(state.light_level),
        "sleeping": jnp.asarray(state.is_sleeping, jnp.int32),
    }
    return _flatten(map_part, values, CLASSIC_GROUPS)


def encode_craftax(state) -> jnp.ndarray:
    """Flat one-hot observation [CRAFTAX_LAYOUT.size] of one Craftax state."""
    obs_dim = full_c.OBS_DIM
    level = state.player_level
    pos = state.player_position
    bt = full_c.BlockType
    blocks = _view(state.map[level], pos, obs_dim, bt.OUT_OF_BOUNDS.value)
    vulnerable = is_boss_vulnerable(state)
    blocks = jnp.where((blocks == bt.NECROMANCER.value) & vulnerable, bt.NECROMANCER_VULNERABLE.value, blocks)
    items = _view(state.item_map[level], pos, obs_dim, full_c.ItemType.NONE.value)
    mobs = []
    for cls, field in enumerate(CRAFTAX_MOB_FIELDS):
        m = getattr(state, field)
        mobs.append((m.position[level], m.mask[level], cls * 8 + m.type_id[level]))
    mob_map = _mob_map(pos, obs_dim, 40, mobs)
    lit = _view(state.light_map[level], pos, obs_dim, 0.0) > 0.05
    map_part = jnp.concatenate(
        [jax.nn.one_hot(blocks, _NB), jax.nn.one_hot(items, _NI), mob_map], axis=-1
    ) * lit[:, :, None]
    map_part = jnp.concatenate([map_part, lit[:, :, None].astype(jnp.float32)], axis=-1)
    inv = state.inventory
    values = {
        "inventory": jnp.stack([_counts(getattr(inv, n)) for n in CRAFTAX_ITEMS]),
        "potions": _counts(inv.potions),
        "books": _counts(inv.books),
        "pickaxe": _counts(inv.pickaxe),
        "sword": _counts(inv.sword),
        "bow": _counts(inv.bow),
        "sword_enchantment": _counts(state.sword_enchantment),
        "bow_enchantment": _counts(state.bow_enchantment),
        "armour": _counts(inv.armour),
        "armour_enchantments": _counts(state.armour_enchantments),
        "intrinsics": jnp.stack(
            [_health_bin(state.player_health)]
            + [_counts(getattr(state, f"player_{n}")) for n in CRAFTAX_INTRINSICS[1:]]
        ),
        "direction": state.player_direction - 1,
        "light_level": _light_bin(state.light_level),
        "sleeping": jnp.asarray(state.is_sleeping, jnp.int32),
        "resting": jnp.asarray(state.is_resting, jnp.int32),
        "spells": jnp.asarray(state.learned_spells, jnp.int32),
        "dungeon_level": level,
        "level_cleared": (state.monsters_killed[level] >= full_c.MONSTERS_KILLED_TO_CLEAR_LEVEL).astype(jnp.int32),
        "boss_vulnerable": vulnerable.astype(jnp.int32),
    }
    return _flatten(map_part, values, CRAFTAX_GROUPS)


def encoder(classic: bool):
    """The single-state encoder of either game (vmap it for a batch)."""
    return encode_classic if classic else encode_craftax


# ----------------------------------------------------------------------------- goals


def load_goal_names(classic: bool) -> tuple[str, ...]:
    """Goal names in the listed order, from the package's copy of the goal listing."""
    names = []
    for i, line in enumerate((GOAL_SET_DIR / GOAL_FILES[classic]).read_text().splitlines()):
        if not line.strip():
            continue
        index, name = line.split()
        if int(index) != len(names):
            raise ValueError(f"{GOAL_FILES[classic]} line {i + 1}: index {index}, expected {len(names)}")
        names.append(name)
    return tuple(names)


def _goal_indices(name: str, classic: bool, lay: ObsLayout) -> list[int]:
    """Feature indices that goal ``name`` masks."""
    kind, rest = name.split("/", 1)
    blocks = classic_c.BlockType if classic else full_c.BlockType
    if kind in ("block_map", "item_map", "mob_map"):
        what, direction = rest.rsplit("_", 1)
        if kind == "block_map":
            channel = lay.channels["block"] + blocks[what].value
        elif kind == "item_map":
            channel = lay.channels["item"] + full_c.ItemType[what].value
        else:
            table = {m: i for i, m in enumerate(CLASSIC_MOBS)} if classic else CRAFTAX_MOB_CHANNEL
            channel = lay.channels["mob"] + table[what]
        return [lay.map_index(direction, channel)]
    if kind == "inventory":
        m = re.fullmatch(r"(\w+?)_(\d+)(?:-(\d+))?", rest)
        item, lo = m.group(1), int(m.group(2))
        hi = int(m.group(3)) if m.group(3) else lo
        row = (CLASSIC_ITEMS if classic else CRAFTAX_ITEMS).index(item)
        return [lay.flat_index("inventory", row, b) for b in range(lo, hi + 1)]
    if kind == "tools" and classic:
        row = len(CLASSIC_ITEMS) + CLASSIC_TOOLS.index(rest)
        return [lay.flat_index("inventory", row, b) for b in range(1, 10)]  # has >= 1
    if kind == "tools":
        if rest == "bow":
            return [lay.flat_index("bow", 0, 1)]
        material, piece = rest.split("_")
        if piece in ("pickaxe", "sword"):
            return [lay.flat_index(piece, 0, TOOL_LEVELS[material])]
        return [lay.flat_index("armour", ARMOUR.index(piece), {"iron": 1, "diamond": 2}[material])]
    if kind == "enchant":
        piece, element = rest.split("_")
        if piece in ("sword", "bow"):
            return [lay.flat_index(f"{piece}_enchantment", 0, ENCHANTMENTS[element])]
        return [lay.flat_index("armour_enchantments", ARMOUR.index(piece), ENCHANTMENTS[element])]
    if kind == "dungeon_level":
        return [lay.flat_index("dungeon_level", 0, int(rest.removeprefix("dlvl_")))]
    if kind == "intrinsics":
        attr, k = rest.rsplit("_", 1)
        intrinsics = CLASSIC_INTRINSICS if classic else CRAFTAX_INTRINSICS
        return [lay.flat_index("intrinsics", intrinsics.index(attr), int(k))]
    raise ValueError(f"unknown craftax goal {name!r}")


def goal_masks(names, classic: bool) -> np.ndarray:
    """[G, obs_size] float32 0/1 masks, one row per goal name."""
    lay = layout(classic)
    masks = np.zeros((len(names), lay.size), dtype=np.float32)
    for g, name in enumerate(names):
        masks[g, _goal_indices(name, classic, lay)] = 1.0
    return masks


def make_goal_set(classic: bool) -> MaskGoalSet:
    """The 136 (Classic) or 512 (Craftax) goals as masks; students read the masks as reps.

    Masks as reps: a goal's rep is aligned with the observation features it tests, so a
    student can match it against what it sees (e.g. elementwise with the obs), which a one-hot
    goal index would not allow.
    """
    names = load_goal_names(classic)
    masks = goal_masks(names, classic)
    # Craftax (not Classic) shows tiles beyond the map edge as dark, and dark tiles carry no
    # block channel (craftax's symbolic and pixel renderers alike): OUT_OF_BOUNDS never shows.
    reachable = np.array([classic or not n.startswith("block_map/OUT_OF_BOUNDS") for n in names])
    return MaskGoalSet(names=names, reps=masks, reachable=reachable, masks=masks)
