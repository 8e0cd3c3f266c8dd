"""The reduced allocation model every exact backend solves, as linear rows over the data of
`matcher.backends.classes`; and the placements it stands for (`decode`, `encode`). All
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
from dataclasses import dataclass

import numpy as np

from matcher.backends.classes import GENDER_MAN, GENDER_WOMAN, Assignment3, Instance
from matcher.backends.group_fit import unfit_group_pairs
from matcher.backends.linear import LinearModel
from matcher.backends.submodel import SparseModel


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
            "rows": self.model.n_rows,
        }

    def sparse(self) -> SparseModel:
        """The model as CSR arrays (`SparseModel`), its rows let go (`release_rows`)."""
        full = SparseModel.of(self.model)
        self.model.release_rows()
        return full


def build_model(inst: Instance) -> ModelLayout:
    """Every hard rule that couples newcomers, as linear rows over the reduced variables."""
    model = LinearModel()
    n_pairs = inst.n_pairs
    model.add_vars(n_pairs, 0, 1)
    layout = ModelLayout(model, n_pairs, {}, {}, {}, {}, {})
    _placed_once_rows(inst, model)
    open_cluster = np.zeros(len(inst.tables.clusters), dtype=bool)
    open_cluster[inst.coupling.open_gender_clusters] = True
    p_unit = inst.pair_unit
    order = np.argsort(p_unit, kind="stable")
    if n_pairs:
        for pairs in np.split(order, np.flatnonzero(np.diff(p_unit[order])) + 1):
            _unit_rows(inst, layout, open_cluster, int(p_unit[pairs[0]]), pairs)
    _keep_apart_rows(inst, model)
    together = _keep_together_rows(inst, model)
    _reserve_row(inst, model)
    layout.w_index.update(_team_rows(inst, model))
    _close_unfit_groups(model, together)
    return layout


def _placed_once_rows(inst: Instance, model: LinearModel) -> None:
    """Each referral is placed at most once."""
    p_ref = inst.pair_ref
    order = np.argsort(p_ref, kind="stable")
    splits = np.flatnonzero(np.diff(p_ref[order])) + 1
    for chunk in np.split(order, splits) if inst.n_pairs else []:
        if chunk.size > 1:
            model.add_row(chunk, _ones(chunk.size), None, 1)


def _unit_rows(
    inst: Instance, layout: ModelLayout, open_cluster: np.ndarray, u: int, pairs: np.ndarray
) -> None:
    """The rows of one unit (its `pairs`): its bed-spaces and clusters, high-risk room,
    support hours and the risk to women."""
    c, model = inst.coupling, layout.model
    refs = inst.pair_ref[pairs]
    unit_classes = sorted(
        {k for q in np.unique(inst.pair_group[pairs]) for k in inst.groups[q].classes}
    )
    if len(unit_classes) == 1:
        k = unit_classes[0]
        layout.unit_single_class[u] = k
        # Each bed-space holds one person: the class's free bed-spaces bound the unit.
        if pairs.size > inst.classes[k].size:
            model.add_row(pairs, _ones(pairs.size), None, inst.classes[k].size)
        cluster = inst.classes[k].cluster
        men = pairs[inst.gender[refs] == GENDER_MAN]
        women = pairs[inst.gender[refs] == GENDER_WOMAN]
        if open_cluster[cluster] and men.size and women.size:
            # An open cluster takes men or women, never both.
            g = model.add_vars(1, 0, 1)
            layout.g_index[cluster] = g
            cap = inst.classes[k].size
            model.add_row([*men, g], [*_ones(men.size), -cap], None, 0)
            model.add_row([*women, g], [*_ones(women.size), cap], None, cap)
    else:
        _unit_class_flow(inst, model, pairs, open_cluster, layout.f_index, layout.g_index)

    # High and very-high risk newcomers within the unit's remaining room.
    high = pairs[c.is_high_risk[refs]]
    if high.size > c.high_risk_room[u]:
        model.add_row(high, _ones(high.size), None, int(c.high_risk_room[u]))
    # Support hours within the unit's remaining capacity.
    needing = pairs[inst.hours[refs] > 0]
    if inst.hours[inst.pair_ref[needing]].sum() > inst.hours_room[u]:
        model.add_row(needing, inst.hours[inst.pair_ref[needing]], None, int(inst.hours_room[u]))
    # A person flagged risk_to_women never shares the unit with a woman.
    _risk_to_women_rows(inst, model, u, pairs, layout.h_index)


def _keep_apart_rows(inst: Instance, model: LinearModel) -> None:
    """Kept-apart referrals never share a unit; a DA victim and perpetrator kept apart never
    share an area."""
    c, index = inst.coupling, inst.pair_index
    p_ref, p_unit = inst.pair_ref, inst.pair_unit
    for i, j in c.keep_apart_pairs:
        for shared in np.flatnonzero(inst.elig.unit_allowed[i] & inst.elig.unit_allowed[j]):
            a, b = index.get((i, int(shared))), index.get((j, int(shared)))
            if a is not None and b is not None:
                model.add_row([a, b], [1, 1], None, 1)
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


def _keep_together_rows(inst: Instance, model: LinearModel) -> list[list[int]]:
    """Couples: in the same unit, or nobody in the group is placed. Returns each group's
    pairs in each unit it may share."""
    index, p_ref, p_unit = inst.pair_index, inst.pair_ref, inst.pair_unit
    together: list[list[int]] = []
    for members in inst.coupling.keep_together_groups:
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
    return together


def _reserve_row(inst: Instance, model: LinearModel) -> None:
    """Women-only reserve: others take at most the free women-only bed-spaces less the reserve."""
    c = inst.coupling
    women_only_unit = inst.tables.units.women_only[inst.pair_unit]
    takers = np.flatnonzero(women_only_unit & ~c.reserve_exempt[inst.pair_ref])
    room = max(0, c.reserve_room)
    if takers.size > room:
        model.add_row(takers, _ones(takers.size), None, room)


def _ones(n: int) -> np.ndarray:
    return np.ones(n, dtype=np.int64)


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
