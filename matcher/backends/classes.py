"""The reduced allocation model every exact backend solves, built only from `constraints/`.

Pair eligibility comes from `eligibility()`, the multi-person rules from `coupling()`, the
points from `score()`: nothing here decides who may go where, it only counts. All
coefficients are integers, so CP-SAT and a MIP solver see the very same numbers.

- ``y[r, u]`` (binary): referral r goes to unit u (a pair passing every pair rule for some
  free bed-space of the unit; scores live on (referral, unit)).
- ``f[group, class]`` (integer): how many of a unit's group of alike referrals take each
  bed-space class (free bed-spaces of one unit and cluster that pass the same rules); units
  with one class need none.
- ``g[cluster]`` (binary): men (1) or women (0) for an open cluster both could enter.
- ``h[unit]`` (binary): a non-woman flagged ``risk_to_women`` is placed there, so no woman is.
- ``w[team group, team]`` (integer): how many of a team group's placements each team takes.

Counting classes, not bed-spaces, makes the model several times smaller; the figures are in
`benchmarks/NOTES.md` ("Batch solver").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from constraints import registry
from constraints.bedspace import bedspace_free_on_date
from constraints.coupled import support_team_required
from constraints.coupling import Coupling, coupling, team_may_serve_mask
from constraints.eligibility import Eligibility, eligibility
from constraints.scores import Scores, score
from constraints.staffing import HOURS_TOLERANCE
from constraints.tables import Tables, build_tables
from matcher.backends.group_fit import unfit_group_pairs
from matcher.backends.linear import LinearModel
from matcher.backends.submodel import SparseModel
from matcher.model import Problem
from matcher.objective import BANDS

GENDER_OTHER, GENDER_MAN, GENDER_WOMAN = 0, 1, 2


@dataclass(frozen=True)
class BedClass:
    unit: int
    cluster: int
    beds: tuple[int, ...]  # bed-space indices, in problem order

    @property
    def size(self) -> int:
        return len(self.beds)


@dataclass(frozen=True)
class UnitGroup:
    """Referrals that, in one unit, may take the same classes and share a gender code."""

    unit: int
    classes: tuple[int, ...]
    gender: int


@dataclass(frozen=True)
class PairIndex:
    """(referral, unit) → pair index, as one sorted key array: a dict of tuples took 300 MiB
    for the 1.66 million pairs of the large instances, this takes 13."""

    keys: np.ndarray  # (P,) sorted unit * stride + referral
    order: np.ndarray  # (P,) the pair of each key
    stride: int

    @classmethod
    def of(cls, pair_ref: np.ndarray, pair_unit: np.ndarray) -> PairIndex:
        stride = int(pair_ref.max()) + 1 if pair_ref.size else 1
        keys = pair_unit.astype(np.int64) * stride + pair_ref.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], order, stride)

    def get(self, key: tuple[int, int]) -> int | None:
        """The pair of (referral, unit), or None if the referral has no place there."""
        r, u = key
        if not 0 <= r < self.stride:
            return None
        wanted = u * self.stride + r
        i = int(np.searchsorted(self.keys, wanted))
        if i < self.keys.size and self.keys[i] == wanted:
            return int(self.order[i])
        return None


@dataclass
class Instance:
    """A problem read through `constraints/` and reduced to classes, pairs and groups."""

    problem: Problem
    tables: Tables
    elig: Eligibility
    coupling: Coupling
    scores: Scores
    points: np.ndarray  # (R, U) total soft points
    classes: list[BedClass]
    class_allowed: np.ndarray  # (R, C) the referral passes every pair rule for the class
    pair_ref: np.ndarray  # (P,)
    pair_unit: np.ndarray  # (P,)
    pair_points: np.ndarray  # (P,)
    pair_group: np.ndarray  # (P,) index into `groups`
    pair_team_group: np.ndarray  # (P,) index into `team_groups`, -1 where no team is needed
    groups: list[UnitGroup]
    team_groups: list[tuple[int, ...]]  # allowed teams (with room) per team group
    hours: np.ndarray  # (R,) support hours in integer steps of 1 / hours_scale
    hours_room: np.ndarray  # (U,) the same for each unit's room
    hours_scale: int
    gender: np.ndarray  # (R,) GENDER_* codes
    pair_index: PairIndex = field(default_factory=lambda: PairIndex.of(np.zeros(0), np.zeros(0)))
    _reasons: Eligibility | None = None

    def eligibility_with_reasons(self) -> Eligibility:
        """The masks with every failed rule per pair, computed on first use: only unplaced
        referrals need them, and on large instances they cost about 300 MiB while built."""
        if self.elig.unit_failures is not None:
            return self.elig
        if self._reasons is None:
            self._reasons = eligibility(self.tables, reasons=True)
        return self._reasons

    @property
    def n_pairs(self) -> int:
        return len(self.pair_ref)

    def pair_group_priority(self) -> np.ndarray:
        """(P,) the highest priority among each pair's referral and its keep-together group."""
        priority = self.tables.referrals.priority.copy()
        for members in self.coupling.keep_together_groups:
            priority[members] = priority[members].max()
        return priority[self.pair_ref]

    def pairs_of_referral(self) -> list[np.ndarray]:
        order = np.argsort(self.pair_ref, kind="stable")
        bounds = np.searchsorted(self.pair_ref[order], np.arange(len(self.tables.referrals) + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


def _hours_scale(values: np.ndarray) -> int:
    """The smallest of 1, 2, 4, 10, 100, 1000 that makes every value an integer."""
    for scale in (1, 2, 4, 10, 100, 1000):
        scaled = values * scale
        if np.all(np.abs(scaled - np.rint(scaled)) < 1e-9):
            return scale
    return 1000


def distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a (n, m) uint8 array in byte order (as `np.unique(axis=0)` sorts
    them): where each first appears, and each row's index among them. Rows are read as
    big-endian 64-bit words: `np.unique(axis=0)` compares rows as opaque records, and took
    2 s of the 4 s building the 5,000 x 10,000 instance."""
    n, m = keys.shape
    width = max(1, -(-m // 8))
    padded = np.zeros((n, 8 * width), dtype=np.uint8)
    padded[:, :m] = keys
    words = padded.view(">u8")
    order = np.lexsort(words.T[::-1])  # stable: a run of equal rows starts at its first
    sorted_words = words[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = np.any(sorted_words[1:] != sorted_words[:-1], axis=1)
    rank = np.cumsum(starts) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = rank
    return order[starts], inverse


def build_instance(problem: Problem) -> Instance:
    """Evaluate the rules once and reduce them to the class-count model's data."""
    tables = build_tables(problem)
    elig = eligibility(tables)
    coupled = coupling(tables)
    scores = score(tables)
    points = scores.total()
    refs, beds = tables.referrals, tables.beds
    n_refs = len(refs)

    # Interchangeable free bed-spaces: same unit, cluster and accessibility.
    by_key: dict[tuple[int, bool], list[int]] = {}
    open_beds = beds.free if registry.in_force(bedspace_free_on_date) else np.ones_like(beds.free)
    for b in np.flatnonzero(open_beds):
        by_key.setdefault((int(beds.cluster[b]), bool(beds.accessible[b])), []).append(int(b))
    classes = [
        BedClass(unit=int(beds.unit[members[0]]), cluster=cluster, beds=tuple(members))
        for (cluster, _), members in by_key.items()
    ]
    representatives = np.array([c.beds[0] for c in classes], dtype=np.int64)
    class_allowed = (
        elig.allowed[:, representatives] if len(classes) else np.zeros((n_refs, 0), dtype=bool)
    )

    gender = np.full(n_refs, GENDER_OTHER, dtype=np.int64)
    gender[coupled.is_man] = GENDER_MAN
    gender[coupled.is_woman] = GENDER_WOMAN

    # Couples: only units every member may enter are worth a variable.
    together_ok = np.ones((n_refs, len(tables.units)), dtype=bool)
    for members in coupled.keep_together_groups:
        common = np.asarray(elig.unit_allowed[members].all(axis=0), dtype=bool)
        together_ok[members] = common[None, :]

    classes_of_unit: dict[int, list[int]] = defaultdict(list)
    for k, cls in enumerate(classes):
        classes_of_unit[cls.unit].append(k)

    team_room_ok = coupled.team_room > 0
    teams_required = registry.in_force(support_team_required)
    pair_ref: list[np.ndarray] = []
    pair_unit: list[np.ndarray] = []
    pair_group: list[np.ndarray] = []
    pair_team_group: list[np.ndarray] = []
    groups: list[UnitGroup] = []
    team_groups: list[tuple[int, ...]] = []
    team_group_index: dict[tuple[int, ...], int] = {}
    for u in sorted(classes_of_unit):
        ks = np.array(classes_of_unit[u], dtype=np.int64)
        sub = class_allowed[:, ks] & together_ok[:, u : u + 1]
        rows = np.flatnonzero(sub.any(axis=1))
        if rows.size == 0:
            continue
        keys = np.concatenate([np.packbits(sub[rows], axis=1), gender[rows, None]], axis=1)
        first_at, inverse = distinct_rows(keys.astype(np.uint8))
        first_group = len(groups)
        for r in rows[first_at]:
            groups.append(
                UnitGroup(unit=u, classes=tuple(int(k) for k in ks[sub[r]]), gender=int(gender[r]))
            )
        pair_ref.append(rows)
        pair_unit.append(np.full(rows.size, u, dtype=np.int64))
        pair_group.append(first_group + inverse)

        team_of_pair = np.full(rows.size, -1, dtype=np.int64)
        if teams_required and tables.units.visiting[u]:
            may = team_may_serve_mask(tables, u)[rows] & team_room_ok[None, :]
            # Team groups are numbered in order of first appearance.
            first_at, which = distinct_rows(np.packbits(may, axis=1))
            number = np.empty(len(first_at), dtype=np.int64)
            for j in np.argsort(first_at, kind="stable"):
                key = tuple(int(t) for t in np.flatnonzero(may[first_at[j]]))
                if key not in team_group_index:
                    team_group_index[key] = len(team_groups)
                    team_groups.append(key)
                number[j] = team_group_index[key]
            team_of_pair = number[which]
        pair_team_group.append(team_of_pair)

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    p_ref, p_unit = cat(pair_ref), cat(pair_unit)
    scale = _hours_scale(np.concatenate([coupled.support_hours, coupled.support_hours_room]))
    hours = np.ceil(coupled.support_hours * scale - 1e-9).astype(np.int64)
    room = np.floor((coupled.support_hours_room + HOURS_TOLERANCE) * scale + 1e-9)
    hours_room = np.minimum(room, 2**40).astype(np.int64)
    instance = Instance(
        problem=problem,
        tables=tables,
        elig=elig,
        coupling=coupled,
        scores=scores,
        points=points,
        classes=classes,
        class_allowed=class_allowed,
        pair_ref=p_ref,
        pair_unit=p_unit,
        pair_points=points[p_ref, p_unit] if p_ref.size else np.zeros(0, dtype=np.int64),
        pair_group=cat(pair_group),
        pair_team_group=cat(pair_team_group),
        groups=groups,
        team_groups=team_groups,
        hours=hours,
        hours_room=hours_room,
        hours_scale=scale,
        gender=gender,
    )
    instance.pair_index = PairIndex.of(p_ref, p_unit)
    return instance


@dataclass
class ModelLayout:
    """Where each family of variables sits in the `LinearModel`."""

    model: LinearModel
    n_pairs: int
    f_index: dict[tuple[int, int], int]  # (group, class) -> var
    unit_single_class: dict[int, int]  # unit -> its only class (no f variables)
    g_index: dict[int, int]  # cluster -> var (1 = men)
    h_index: dict[int, int]  # unit -> var (a non-woman risk_to_women person is there)
    w_index: dict[tuple[int, int], int]  # (team group, team) -> var

    def size(self) -> dict[str, int]:
        """The model's size, as a run's log reports it."""
        return {
            "variables": self.model.n_vars,
            "pair_variables": self.n_pairs,
            "rows": len(self.model.rows),
        }


def build_model(inst: Instance) -> ModelLayout:
    """Every hard rule that couples newcomers, as linear rows over the reduced variables."""
    c = inst.coupling
    model = LinearModel()
    n_pairs = inst.n_pairs
    model.add_vars(n_pairs, 0, 1)
    p_ref, p_unit = inst.pair_ref, inst.pair_unit
    ones = np.ones(n_pairs, dtype=np.int64)

    # Each referral is placed at most once.
    order = np.argsort(p_ref, kind="stable")
    splits = np.flatnonzero(np.diff(p_ref[order])) + 1
    for chunk in np.split(order, splits) if n_pairs else []:
        if chunk.size > 1:
            model.add_row(chunk, ones[chunk], None, 1)

    pairs_by_unit: dict[int, np.ndarray] = {}
    order = np.argsort(p_unit, kind="stable")
    if n_pairs:
        for chunk in np.split(order, np.flatnonzero(np.diff(p_unit[order])) + 1):
            pairs_by_unit[int(p_unit[chunk[0]])] = chunk

    open_cluster = np.zeros(len(inst.tables.clusters), dtype=bool)
    open_cluster[c.open_gender_clusters] = True

    f_index: dict[tuple[int, int], int] = {}
    unit_single_class: dict[int, int] = {}
    g_index: dict[int, int] = {}
    h_index: dict[int, int] = {}
    for u, pairs in pairs_by_unit.items():
        refs = p_ref[pairs]
        unit_classes = sorted(
            {k for q in np.unique(inst.pair_group[pairs]) for k in inst.groups[q].classes}
        )
        if len(unit_classes) == 1:
            k = unit_classes[0]
            unit_single_class[u] = k
            # Each bed-space holds one person: the class's free bed-spaces bound the unit.
            if pairs.size > inst.classes[k].size:
                model.add_row(pairs, ones[pairs], None, inst.classes[k].size)
            cluster = inst.classes[k].cluster
            men = pairs[inst.gender[refs] == GENDER_MAN]
            women = pairs[inst.gender[refs] == GENDER_WOMAN]
            if open_cluster[cluster] and men.size and women.size:
                # An open cluster takes men or women, never both.
                g = model.add_vars(1, 0, 1)
                g_index[cluster] = g
                cap = inst.classes[k].size
                model.add_row([*men, g], [*ones[men], -cap], None, 0)
                model.add_row([*women, g], [*ones[women], cap], None, cap)
        else:
            _unit_class_flow(inst, model, pairs, open_cluster, f_index, g_index)

        # High and very-high risk newcomers within the unit's remaining room.
        high = pairs[c.is_high_risk[refs]]
        if high.size > c.high_risk_room[u]:
            model.add_row(high, ones[high], None, int(c.high_risk_room[u]))
        # Support hours within the unit's remaining capacity.
        needing = pairs[inst.hours[refs] > 0]
        if inst.hours[p_ref[needing]].sum() > inst.hours_room[u]:
            model.add_row(needing, inst.hours[p_ref[needing]], None, int(inst.hours_room[u]))
        # A person flagged risk_to_women never shares the unit with a woman.
        _risk_to_women_rows(inst, model, u, pairs, h_index)

    index = inst.pair_index
    # Kept-apart referrals never share a unit.
    for i, j in c.keep_apart_pairs:
        for shared in np.flatnonzero(inst.elig.unit_allowed[i] & inst.elig.unit_allowed[j]):
            a, b = index.get((i, int(shared))), index.get((j, int(shared)))
            if a is not None and b is not None:
                model.add_row([a, b], [1, 1], None, 1)
    # A DA victim and perpetrator kept apart never share an area.
    unit_area = inst.tables.units.area
    for i, j in c.da_apart_pairs:
        by_area: dict[int, list[int]] = defaultdict(list)
        for person in (i, j):
            for p in np.flatnonzero(p_ref == person):
                by_area[int(unit_area[p_unit[p]])].append(int(p))
        for area_pairs in by_area.values():
            people = {int(p_ref[p]) for p in area_pairs}
            if len(people) == 2:
                model.add_row(area_pairs, [1] * len(area_pairs), None, 1)
    # Couples: in the same unit, or nobody in the group is placed.
    together: list[list[int]] = []  # each group's pairs in each unit it may share
    for members in c.keep_together_groups:
        units = {int(p_unit[p]) for m in members for p in np.flatnonzero(p_ref == m)}
        for u in units:
            present = [index.get((m, u)) for m in members]
            if any(p is None for p in present):
                # Some member has no bed-space here: nobody in the group goes here.
                mine = [p for p in present if p is not None]
                model.add_row(mine, [1] * len(mine), None, 0)
                continue
            first, *others = [p for p in present if p is not None]
            for other in others:
                model.add_row([first, other], [1, -1], 0, 0)
            together.append([first, *others])
    # Women-only reserve: others take at most the free women-only bed-spaces less the reserve.
    women_only_unit = inst.tables.units.women_only[p_unit]
    takers = np.flatnonzero(women_only_unit & ~c.reserve_exempt[p_ref])
    room = max(0, c.reserve_room)
    if takers.size > room:
        model.add_row(takers, ones[takers], None, room)

    w_index = _team_rows(inst, model)
    _close_unfit_groups(model, together)
    return ModelLayout(model, n_pairs, f_index, unit_single_class, g_index, h_index, w_index)


def _close_unfit_groups(model: LinearModel, together: list[list[int]]) -> None:
    """Close a keep-together group's pairs in each unit whose rows it overfills on its own
    (`matcher.backends.group_fit`): the rows already forbid it, the LP relaxation does not."""
    if not together:
        return
    for p in unfit_group_pairs(SparseModel.of(model), together):
        model.upper[p] = 0


def _unit_class_flow(
    inst: Instance,
    model: LinearModel,
    pairs: np.ndarray,
    open_cluster: np.ndarray,
    f_index: dict[tuple[int, int], int],
    g_index: dict[int, int],
) -> None:
    """Referral groups of one unit spread over its bed-space classes; classes hold their size."""
    groups = inst.pair_group[pairs]
    by_class: dict[int, list[int]] = defaultdict(list)
    local: list[tuple[int, int, int]] = []  # (group, class, var)
    for q in np.unique(groups):
        members = pairs[groups == q]
        group = inst.groups[int(q)]
        caps = [min(inst.classes[k].size, members.size) for k in group.classes]
        first = model.add_vars(len(group.classes), 0, caps)
        for offset, k in enumerate(group.classes):
            f_index[(int(q), k)] = first + offset
            by_class[k].append(first + offset)
            local.append((int(q), k, first + offset))
        # The group's placements in this unit are spread over the classes it may take.
        model.add_row(
            [*members, *range(first, first + len(group.classes))],
            [1] * members.size + [-1] * len(group.classes),
            0,
            0,
        )
    by_cluster: dict[int, list[int]] = defaultdict(list)
    for k, fs in by_class.items():
        # Each bed-space holds one person.
        model.add_row(fs, [1] * len(fs), None, inst.classes[k].size)
        by_cluster[inst.classes[k].cluster].append(k)
    for cluster, ks in by_cluster.items():
        if not open_cluster[cluster]:
            continue
        men = [f for q, k, f in local if k in ks and inst.groups[q].gender == GENDER_MAN]
        women = [f for q, k, f in local if k in ks and inst.groups[q].gender == GENDER_WOMAN]
        if men and women:
            # An open cluster takes men or women, never both.
            cap = sum(inst.classes[k].size for k in ks)
            g = model.add_vars(1, 0, 1)
            g_index[cluster] = g
            model.add_row([*men, g], [1] * len(men) + [-cap], None, 0)
            model.add_row([*women, g], [1] * len(women) + [cap], None, cap)


def _risk_to_women_rows(
    inst: Instance, model: LinearModel, unit: int, pairs: np.ndarray, h_index: dict[int, int]
) -> None:
    refs = inst.pair_ref[pairs]
    flagged = inst.coupling.risk_to_women[refs]
    if not flagged.any():
        return
    women = pairs[inst.gender[refs] == GENDER_WOMAN]
    cap = int(min(women.size, sum(inst.classes[k].size for k in _unit_classes(inst, pairs))))
    flagged_others = pairs[flagged & (inst.gender[refs] != GENDER_WOMAN)]
    if flagged_others.size and women.size:
        h = model.add_vars(1, 0, 1)
        h_index[unit] = h
        for p in flagged_others:
            model.add_row([p, h], [1, -1], None, 0)
        model.add_row([*women, h], [1] * women.size + [cap], None, cap)
    for p in pairs[flagged & (inst.gender[refs] == GENDER_WOMAN)]:
        # A woman flagged risk_to_women shares the unit with no other woman.
        others = women[women != p]
        if others.size:
            bound = int(min(others.size, cap))
            model.add_row([*others, p], [1] * others.size + [bound], None, bound)


def _unit_classes(inst: Instance, pairs: np.ndarray) -> set[int]:
    return {k for q in np.unique(inst.pair_group[pairs]) for k in inst.groups[int(q)].classes}


def _team_rows(inst: Instance, model: LinearModel) -> dict[tuple[int, int], int]:
    """Placements in visiting units each get a team that may serve them; caseloads hold."""
    w_index: dict[tuple[int, int], int] = {}
    team_room = inst.coupling.team_room
    by_team: dict[int, list[int]] = defaultdict(list)
    tg = inst.pair_team_group
    visiting = np.flatnonzero(tg >= 0)
    order = visiting[np.argsort(tg[visiting], kind="stable")]
    if order.size == 0:
        return w_index
    for chunk in np.split(order, np.flatnonzero(np.diff(tg[order])) + 1):
        q = int(tg[chunk[0]])
        teams = inst.team_groups[q]
        caps = [int(min(team_room[t], chunk.size)) for t in teams]
        first = model.add_vars(len(teams), 0, caps)
        for offset, t in enumerate(teams):
            w_index[(q, t)] = first + offset
            by_team[t].append(first + offset)
        model.add_row(
            [*chunk, *range(first, first + len(teams))],
            [1] * chunk.size + [-1] * len(teams),
            0,
            0,
        )
    for t, ws in by_team.items():
        model.add_row(ws, [1] * len(ws), None, int(team_room[t]))
    return w_index


Assignment3 = tuple[int, int, int | None]  # (referral, bed-space, team or None)


def decode(inst: Instance, layout: ModelLayout, values: np.ndarray) -> list[Assignment3]:
    """Turn variable values into concrete (referral, bed-space, team) placements."""
    chosen = np.flatnonzero(values[: layout.n_pairs] > 0.5)
    beds_left = {k: list(cls.beds) for k, cls in enumerate(inst.classes)}
    bed_of: dict[int, int] = {}
    # Bed-spaces: single-class units directly, others by the class counts of each group.
    by_group: dict[int, list[int]] = defaultdict(list)
    for p in chosen:
        u = int(inst.pair_unit[p])
        r = int(inst.pair_ref[p])
        if u in layout.unit_single_class:
            bed_of[r] = beds_left[layout.unit_single_class[u]].pop()
        else:
            by_group[int(inst.pair_group[p])].append(r)
    for q, members in by_group.items():
        for k in inst.groups[q].classes:
            count = int(round(values[layout.f_index[(q, k)]]))
            for _ in range(count):
                if members:
                    bed_of[members.pop()] = beds_left[k].pop()
    # Teams: each team group's placements shared out by the team counts.
    team_of: dict[int, int] = {}
    by_team_group: dict[int, list[int]] = defaultdict(list)
    for p in chosen:
        if inst.pair_team_group[p] >= 0:
            by_team_group[int(inst.pair_team_group[p])].append(int(inst.pair_ref[p]))
    for q, members in by_team_group.items():
        for t in inst.team_groups[q]:
            for _ in range(int(round(values[layout.w_index[(q, t)]]))):
                if members:
                    team_of[members.pop()] = t
    return [(r, bed, team_of.get(r)) for r, bed in sorted(bed_of.items())]


def encode(inst: Instance, layout: ModelLayout, placed: list[Assignment3]) -> np.ndarray:
    """Variable values for concrete placements (a hint from another solution)."""
    values = np.zeros(layout.model.n_vars, dtype=np.int64)
    beds = inst.tables.beds
    class_of_bed = {b: k for k, cls in enumerate(inst.classes) for b in cls.beds}
    for r, bed, team in placed:
        u = int(beds.unit[bed])
        p = inst.pair_index.get((r, u))
        if p is None:
            continue
        values[p] = 1
        k = class_of_bed[bed]
        q = int(inst.pair_group[p])
        if (q, k) in layout.f_index:
            values[layout.f_index[(q, k)]] += 1
        cluster = inst.classes[k].cluster
        if cluster in layout.g_index and inst.gender[r] == GENDER_MAN:
            values[layout.g_index[cluster]] = 1
        if (
            u in layout.h_index
            and inst.coupling.risk_to_women[r]
            and inst.gender[r] != GENDER_WOMAN
        ):
            values[layout.h_index[u]] = 1
        tq = int(inst.pair_team_group[p])
        if tq >= 0 and team is not None and (tq, team) in layout.w_index:
            values[layout.w_index[(tq, team)]] += 1
    return values


def lexicographic_value(inst: Instance, placements: list[Assignment3]) -> tuple[int, ...]:
    """(placed in band 5, …, placed in band 1, soft points): compare allocations with `>`."""
    refs, bed_unit = inst.tables.referrals, inst.tables.beds.unit
    counts = dict.fromkeys(BANDS, 0)
    soft = 0
    for r, bed, _ in placements:
        counts[int(refs.priority[r])] += 1
        soft += int(inst.points[r, int(bed_unit[bed])])
    return (*(counts[b] for b in BANDS), soft)
