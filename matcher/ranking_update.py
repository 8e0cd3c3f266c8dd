"""A ranking context carried from one problem to the next when only stays changed.

A placement, an arrival or a move-out changes a few rows of the problem: waiting referrals
leave (they are placed), residents come, go or change, and support teams' caseloads move. The
context of the problem after it is the context before it with those referrals' rows taken
out and the columns of the few bed-spaces and units whose occupants changed worked out
again; everything else (the inventory, every other referral's rows, the soft terms of units
nobody moved in or out of) is the same. `updated_context(context, problem)` computes just
that, in a few milliseconds on a city's portfolio where `build_context` takes a couple of
hundred, and gives exactly what `build_context(problem)` gives (a property test holds them
equal).

Copy on write: every array that changes is a new array, so a request still ranking on the
old context reads what it read before. Arrays nothing changed are shared between the two.
When the problems differ in anything else (the inventory, a referral's details, a new
referral, the date), it returns `build_context(problem)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from constraints import (
    BEDSPACE_RULES,
    UNIT_RULES,
    gender,
    location,
    relationships,
    reserve,
    risk,
    staffing,
)
from constraints.coupling import coupling
from constraints.eligibility import Eligibility, _fold
from constraints.scores import OCCUPANCY_TERMS, Scores, occupancy_terms, occupancy_unit_values
from constraints.tables import BedColumns, ReferralColumns, Tables, UnitColumns, is_high_need
from matcher.explain import TermExplainer
from matcher.model import Flag, Gender, Problem, Referral, Resident
from matcher.ranking import RankingContext, best_in_unit_index, build_context

# Fields of a referral that no context array reads from the row itself: the names in them are
# read through the whole problem (pairs, groups, the keep-apart rule), which is worked out again.
_NAMES_ONLY = frozenset({"keep_apart", "keep_together"})


@dataclass(frozen=True)
class StayChanges:
    """What differs between two problems of one inventory: the rows of the referrals still
    waiting (old indices, ascending), and the bed-spaces and teams whose occupants changed."""

    kept_rows: np.ndarray | None  # None: every referral is still waiting
    beds: np.ndarray  # bed-space indices whose occupants changed, ascending
    teams_changed: bool
    residents: frozenset[str] = frozenset()  # ids of the residents who came, went or changed


def stay_changes(old: Problem, new: Problem, tables: Tables) -> StayChanges | None:
    """The changes from `old` to `new`, or None if they differ in more than stays (then the
    context is built afresh)."""
    same = ("as_of", "areas", "links", "units", "bedspaces", "policy")
    for name in same:
        a, b = getattr(old, name), getattr(new, name)
        if a is not b and a != b:
            return None
    if type(old) is not type(new):
        return None

    kept = _kept_rows(old.referrals, new.referrals, tables.referrals.index)
    if kept is False:
        return None

    old_teams, new_teams = old.support_teams, new.support_teams
    if len(old_teams) != len(new_teams):
        return None
    teams_changed = False
    for a, b in zip(old_teams, new_teams, strict=True):
        if a is b:
            continue
        if a.model_copy(update={"current_caseload": b.current_caseload}) != b:
            return None
        teams_changed = teams_changed or a.current_caseload != b.current_caseload

    before = {r.id: r for r in old.residents}
    after = {r.id: r for r in new.residents}
    beds: set[int] = set()
    moved: set[str] = set()
    index = tables.beds.index
    for rid in before.keys() | after.keys():
        a, b = before.get(rid), after.get(rid)
        if a is b:
            continue
        if (
            a is not None
            and b is not None
            and a.bedspace == b.bedspace
            and old.resident_is_present(a) == new.resident_is_present(b)
            and not _reads(a, b)
        ):
            continue  # only dates that move nobody in or out, which no array reads
        beds.update(index[r.bedspace] for r in (a, b) if r is not None)
        moved.add(rid)
    return StayChanges(
        kept_rows=None if kept is None else np.asarray(kept, dtype=np.int64),
        beds=np.array(sorted(beds), dtype=np.int64),
        teams_changed=teams_changed,
        residents=frozenset(moved),
    )


def _reads(a: Resident, b: Resident) -> bool:
    """Whether the context reads anything that differs between two versions of a resident
    (presence aside): it reads neither arrival nor expected leaving dates."""
    return a.model_copy(update={"arrived": b.arrived, "expected_leave": b.expected_leave}) != b


def _kept_rows(
    old: Sequence[Referral], new: Sequence[Referral], index: dict[str, int]
) -> list[int] | None | bool:
    """Old row of each referral still waiting, ascending; None if all are; False if `new` is
    not `old` less some referrals, each otherwise the same."""
    if len(new) == len(old) and all(a is b for a, b in zip(old, new, strict=True)):
        return None
    kept: list[int] = []
    last = -1
    for referral in new:
        i = index.get(referral.id)
        if i is None or i <= last:
            return False
        before = old[i]
        if before is not referral and _differs(before, referral):
            return False
        kept.append(i)
        last = i
    return None if len(kept) == len(old) else kept


def _differs(a: Referral, b: Referral) -> bool:
    return any(
        getattr(a, name) != getattr(b, name)
        for name in type(a).model_fields
        if name not in _NAMES_ONLY
    )


def updated_context(context: RankingContext, problem: Problem) -> RankingContext:
    """The ranking context of `problem`, from the context of the problem before a change of
    stays (see the module docstring); `build_context(problem)` when more than stays changed."""
    if context.batch_bed is not None:
        return build_context(problem)
    changes = stay_changes(context.problem, problem, context.tables)
    if changes is None:
        return build_context(problem)
    return _carried(context, problem, changes)


def _rows(array: np.ndarray, kept: np.ndarray | None, n_refs: int, axis: int = 0) -> np.ndarray:
    """`array` without the rows (or columns, `axis=1`) of referrals no longer waiting;
    itself if every referral still waits or the array is one row broadcast to every one."""
    if kept is None or array.shape[axis] != n_refs:
        return array
    # `delete` copies the stretches between the rows taken out; picking the kept rows by
    # index is slower (on the transposed arrays, four times slower).
    gone = np.setdiff1d(np.arange(n_refs), kept, assume_unique=True)
    if gone.size == 1:  # one placed: two slices copied, not a mask applied
        return np.delete(array, int(gone[0]), axis=axis)
    return np.delete(array, gone, axis=axis)


def _carried(ctx: RankingContext, problem: Problem, changes: StayChanges) -> RankingContext:
    kept = changes.kept_rows
    old_tables = ctx.tables
    n_old = len(old_tables.referrals)
    tables = _tables(old_tables, problem, changes)
    bed_unit = tables.beds.unit

    # Bed-space rules: the changed bed-spaces and everything sharing their clusters.
    clusters = np.unique(tables.beds.cluster[changes.beds])
    bed_cols = (
        np.flatnonzero(np.isin(tables.beds.cluster, clusters))
        if clusters.size
        else np.empty(0, dtype=np.int64)
    )
    bed_failures = _rows(ctx.bed_failures, kept, n_old)
    if bed_cols.size:
        bed_failures = bed_failures.copy() if bed_failures is ctx.bed_failures else bed_failures
        bed_failures[:, bed_cols] = _bed_failures(tables, bed_cols)

    # Unit rules: the units that share an area with a changed bed-space (its residents' unit
    # and area rules) or with a team whose room changed, and the women-only units when the
    # reserve opens or closes; every other unit's column stays as it was.
    before = _rows(ctx.unit_failures, kept, n_old)
    rule_units = _units_to_check(old_tables, tables, changes)
    unit_failures = before
    changed_units = np.empty(0, dtype=np.int64)
    if rule_units.size:
        fresh_failures = _unit_failures(tables, rule_units, before[:, rule_units])
        differs = (fresh_failures != before[:, rule_units]).any(axis=0)
        changed_units = rule_units[differs]
        if changed_units.size:
            unit_failures = before.copy() if before is ctx.unit_failures else before
            unit_failures[:, changed_units] = fresh_failures[:, differs]
    unit_allowed = (
        ctx.eligibility.unit_allowed
        if unit_failures is ctx.unit_failures
        else _rows(ctx.eligibility.unit_allowed, kept, n_old)
    )
    if changed_units.size:
        unit_allowed = unit_allowed.copy()
        unit_allowed[:, changed_units] = unit_failures[:, changed_units] == 0

    cols = np.union1d(bed_cols, np.flatnonzero(np.isin(bed_unit, changed_units)))
    allowed = _rows(ctx.eligibility.allowed, kept, n_old)
    allowed_by_bed = _rows(ctx.allowed_by_bed, kept, n_old, axis=1)
    if cols.size:
        allowed = allowed.copy() if allowed is ctx.eligibility.allowed else allowed
        allowed[:, cols] = unit_allowed[:, bed_unit[cols]] & (bed_failures[:, cols] == 0)
        if allowed_by_bed is ctx.allowed_by_bed:
            allowed_by_bed = allowed_by_bed.copy()
        allowed_by_bed[cols, :] = allowed[:, cols].T

    # Soft terms: rows of those placed go; the occupancy terms of units whose residents or
    # teams changed are worked out again.
    old_staff, old_calm = occupancy_unit_values(old_tables)
    new_staff, new_calm = occupancy_unit_values(tables)
    score_units = np.flatnonzero((old_staff != new_staff) | (old_calm != new_calm))
    terms = {name: _rows(values, kept, n_old) for name, values in ctx.scores.terms.items()}
    total = _rows(ctx.total, kept, n_old)
    if score_units.size:
        fresh = occupancy_terms(tables, score_units)
        for name in OCCUPANCY_TERMS:
            values = terms[name]
            if values is ctx.scores.terms[name]:
                values = values.copy()
            values[:, score_units] = fresh[name]
            terms[name] = values
        total = total.copy() if total is ctx.total else total
        n_refs = total.shape[0]
        column_total = np.zeros((n_refs, score_units.size), dtype=np.int64)
        for values in terms.values():
            block = values[:, score_units] if values.shape[1] > 1 else values
            column_total = column_total + np.broadcast_to(block, column_total.shape)
        total[:, score_units] = column_total
    scores = Scores(terms=terms, travel_minutes=_rows(ctx.scores.travel_minutes, kept, n_old))

    count_units = np.union1d(changed_units, np.unique(bed_unit[bed_cols]))
    counts = _rows(ctx.counts, kept, n_old)
    if count_units.size:
        counts = counts.copy() if counts is ctx.counts else counts
        for u in count_units.tolist():
            beds = ctx.unit_beds[u]
            counts[:, u] = allowed[:, beds].sum(axis=1, dtype=np.int32) if beds.size else 0
    eligible_total = counts.sum(axis=1)
    n_units = len(tables.units)
    masked = np.where(counts > 0, total, np.iinfo(np.int64).min)
    best_unit = (
        np.where(eligible_total > 0, masked.argmax(axis=1), -1)
        if n_units
        else np.full(len(tables.referrals), -1)
    )
    best_in_units, best_in_unit_start, best_in_unit_end = best_in_unit_index(
        best_unit, tables.referrals.priority, n_units
    )

    groups, keep_apart, da_apart = _links(ctx, tables, kept)

    bed_cost_case = ctx.bed_cost_case
    if changes.beds.size:
        bed_cost_case = list(bed_cost_case)
        free = tables.beds.free
        for b in changes.beds.tolist():
            cluster, accessible, _ = bed_cost_case[b]
            bed_cost_case[b] = (cluster, accessible, int(free[b]))

    return dataclasses.replace(
        ctx,
        problem=problem,
        tables=tables,
        eligibility=Eligibility(tables, unit_allowed, allowed, unit_failures, bed_failures),
        scores=scores,
        # Travel between areas and their names are the inventory's: kept.
        explainer=TermExplainer(
            tables, scores, ctx.explainer.area_minutes, ctx.explainer.area_names
        ),
        total=total,
        unit_failures=unit_failures,
        bed_failures=bed_failures,
        counts=counts,
        eligible_total=eligible_total,
        best_unit=best_unit,
        eligible_women_only=counts[:, tables.units.women_only].sum(axis=1),
        reserve_room=int(tables.units.free_women_only_beds.sum())
        - problem.policy.women_only_reserve,
        reserve_exempt=_rows(ctx.reserve_exempt, kept, n_old),
        groups=groups,
        keep_apart=keep_apart,
        da_apart=da_apart,
        allowed_by_bed=allowed_by_bed,
        counts_by_unit=np.ascontiguousarray(counts.T),
        bed_cost_case=bed_cost_case,
        best_in_units=best_in_units,
        best_in_unit_start=best_in_unit_start,
        best_in_unit_end=best_in_unit_end,
        _waiting_memo={},
        # The wording memos are keyed by rule bits and counts alone: shared, still right.
    )


Links = tuple[dict[int, list[int]], dict[int, set[int]], dict[int, set[int]]]


def _links(ctx: RankingContext, tables: Tables, kept: np.ndarray | None) -> Links:
    """Couples, keep-apart and DA pairs among referrals still waiting, renumbered.

    A pair between two people still waiting stays a pair: names are only ever dropped for
    people who are no longer here. A couple one of whose members left is found again from
    the problem, since the group may have hung together through them."""
    if kept is None:
        return ctx.groups, ctx.keep_apart, ctx.da_apart
    new_row = {old: new for new, old in enumerate(kept.tolist())}
    if any(i not in new_row for i in ctx.groups):
        links = coupling(tables)
        groups = {i: sorted(g) for g in links.keep_together_groups for i in g}
    else:
        groups = {new_row[i]: [new_row[j] for j in g] for i, g in ctx.groups.items()}

    def renumbered(pairs: dict[int, set[int]]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for i, others in pairs.items():
            if i in new_row:
                still = {new_row[j] for j in others if j in new_row}
                if still:
                    out[new_row[i]] = still
        return out

    return groups, renumbered(ctx.keep_apart), renumbered(ctx.da_apart)


def _reserve_open(tables: Tables) -> bool:
    room = int(tables.units.free_women_only_beds.sum()) - tables.problem.policy.women_only_reserve
    return room > 0


def _units_to_check(old: Tables, new: Tables, changes: StayChanges) -> np.ndarray:
    """Units whose unit-rule column may have changed (see `_carried`), ascending."""
    areas = set(new.units.area[new.beds.unit[changes.beds]].tolist())
    if changes.teams_changed:
        moved = np.flatnonzero(old.teams.room != new.teams.room)
        areas |= set(new.teams.area[moved].tolist())
    units = np.isin(new.units.area, np.array(sorted(areas), dtype=np.int64))
    if _reserve_open(old) != _reserve_open(new):
        units |= new.units.women_only
    return np.flatnonzero(units)


# Unit rules that read who lives where or which teams have room. Every other unit rule
# reads only the referral and the unit's own fixed columns, so a change of stays leaves its
# bits as they were (the property test holds the result equal to a build from scratch).
OCCUPANCY_RULES = frozenset(
    rule.name
    for rule in (
        gender.no_risk_to_women_beside_women_residents,
        gender.women_kept_from_residents_posing_risk,
        risk.high_risk_room_left,
        staffing.support_hours_room_left,
        staffing.support_team_available,
        location.da_kept_apart_from_resident_area,
        relationships.kept_apart_from_residents,
        reserve.women_only_reserve_held,
    )
)
# Of those, the ones that read the whole portfolio (the women-only reserve counts free
# women-only bed-spaces everywhere): evaluated over every unit, then the columns taken.
_PORTFOLIO_RULES = frozenset({reserve.women_only_reserve_held.name})


def _unit_failures(tables: Tables, units: np.ndarray, before: np.ndarray) -> np.ndarray:
    """The unit rules' failure bits for the units `units` only: (R, len(units)), from
    `before` (the bits before the change, for those units) with the occupancy rules' bits
    worked out again.

    Evaluated on the tables cut down to those units: unit indices (residents' units) are
    renumbered; areas, teams and bed-spaces are unchanged."""
    position = {u: k for k, u in enumerate(units.tolist())}
    cut = dataclasses.replace(
        tables,
        units=_unit_rows(tables.units, units),
        resident_unit={r: position[u] for r, u in tables.resident_unit.items() if u in position},
    )
    occupancy = [(i, rule) for i, rule in enumerate(UNIT_RULES) if rule.name in OCCUPANCY_RULES]
    cleared = np.uint32(~sum(1 << i for i, _ in occupancy) & 0xFFFFFFFF)
    failures = before & cleared
    for i, rule in occupancy:
        if rule.name in _PORTFOLIO_RULES:
            mask = rule.small_mask(tables)
            mask = mask[:, units] if mask.shape[1] > 1 else mask
        else:
            mask = rule.small_mask(cut)
        _fold(failures, mask, 1 << i)
    return failures


def _unit_rows(units: UnitColumns, rows: np.ndarray) -> UnitColumns:
    values: dict[str, object] = {}
    for item in dataclasses.fields(UnitColumns):
        value = getattr(units, item.name)
        values[item.name] = value[rows] if isinstance(value, np.ndarray) else value
    values["ids"] = [units.ids[u] for u in rows.tolist()]
    values["index"] = {}
    return UnitColumns(**values)  # type: ignore[arg-type]


def _bed_failures(tables: Tables, cols: np.ndarray) -> np.ndarray:
    """The bed-space rules' failure bits for the bed-spaces `cols` only: (R, len(cols))."""
    beds = tables.beds
    some = dataclasses.replace(
        tables,
        beds=BedColumns(
            ids=[beds.ids[b] for b in cols.tolist()],
            index={},
            unit=beds.unit[cols],
            cluster=beds.cluster[cols],
            accessible=beds.accessible[cols],
            free=beds.free[cols],
        ),
    )
    failures = np.zeros((len(tables.referrals), cols.size), dtype=np.uint8)
    for j, rule in enumerate(BEDSPACE_RULES):
        _fold(failures, rule.small_mask(some), 1 << j)
    return failures


def _tables(old: Tables, problem: Problem, changes: StayChanges) -> Tables:
    """`build_tables(problem)`, from the tables of the problem before the change."""
    kept = changes.kept_rows
    referrals = old.referrals if kept is None else _referral_rows(old.referrals, kept)

    bed_index = old.beds.index
    bed_unit, bed_cluster = old.beds.unit.tolist(), old.beds.cluster.tolist()
    changed_beds = set(changes.beds.tolist())
    units = sorted({bed_unit[b] for b in changed_beds})
    clusters = sorted({bed_cluster[b] for b in changed_beds})
    unit_set, cluster_set = set(units), set(clusters)

    occupied: set[int] = set()
    by_unit: dict[int, list[Resident]] = {u: [] for u in units}
    by_cluster: dict[int, list[Resident]] = {c: [] for c in clusters}
    for resident in problem.residents:
        b = bed_index[resident.bedspace]
        u = bed_unit[b]
        if u not in unit_set or not problem.resident_is_present(resident):
            continue
        by_unit[u].append(resident)
        if b in changed_beds:
            occupied.add(b)
        c = bed_cluster[b]
        if c in cluster_set:
            by_cluster[c].append(resident)

    # Only the residents who came, went or changed move in these maps.
    resident_unit, resident_area = dict(old.resident_unit), dict(old.resident_area)
    present = {r.id: r for r in problem.residents if r.id in changes.residents}
    unit_area = old.units.area.tolist()
    for rid in changes.residents:
        resident_unit.pop(rid, None)
        resident_area.pop(rid, None)
        now = present.get(rid)
        if now is not None and problem.resident_is_present(now):
            u = bed_unit[bed_index[now.bedspace]]
            resident_unit[rid], resident_area[rid] = u, unit_area[u]

    beds = old.beds
    if changed_beds:
        free = beds.free.copy()
        for b in changed_beds:
            bed = problem.bedspaces[b]
            available = bed.available_from is None or bed.available_from <= problem.as_of
            free[b] = available and b not in occupied
        beds = dataclasses.replace(beds, free=free)

    unit_columns = old.units
    if units:
        unit_columns = _unit_aggregates(old.units, problem, units, by_unit, beds)
    cluster_columns = old.clusters
    if clusters:
        women = old.clusters.women_residents.copy()
        men = old.clusters.men_residents.copy()
        for c in clusters:
            women[c] = sum(r.gender is Gender.woman for r in by_cluster[c])
            men[c] = sum(r.gender is Gender.man for r in by_cluster[c])
        cluster_columns = dataclasses.replace(
            old.clusters, women_residents=women, men_residents=men
        )
    teams = old.teams
    if changes.teams_changed:
        teams = dataclasses.replace(
            old.teams,
            room=np.array(
                [t.caseload_capacity - t.current_caseload for t in problem.support_teams],
                dtype=np.int64,
            ),
        )
    return Tables(
        problem=problem,
        referrals=referrals,
        units=unit_columns,
        beds=beds,
        clusters=cluster_columns,
        teams=teams,
        area_index=old.area_index,
        resident_unit=resident_unit,
        resident_area=resident_area,
    )


def _referral_rows(old: ReferralColumns, kept: np.ndarray) -> ReferralColumns:
    values: dict[str, object] = {}
    for item in dataclasses.fields(ReferralColumns):
        value = getattr(old, item.name)
        if isinstance(value, np.ndarray):
            values[item.name] = value[kept]
        elif item.name == "flags":
            values[item.name] = {flag: column[kept] for flag, column in value.items()}
    ids = [old.ids[i] for i in kept.tolist()]
    return ReferralColumns(ids=ids, index={r: i for i, r in enumerate(ids)}, **values)  # type: ignore[arg-type]


def _unit_aggregates(
    old: UnitColumns,
    problem: Problem,
    units: list[int],
    by_unit: dict[int, list[Resident]],
    beds: BedColumns,
) -> UnitColumns:
    """The unit columns with the resident aggregates of `units` counted again, in the order
    and arithmetic of `build_tables`."""
    women = old.women_residents.copy()
    rtw = old.risk_to_women_residents.copy()
    high_risk_room = old.high_risk_room.copy()
    hours_room = old.support_hours_room.copy()
    share = old.high_need_share.copy()
    free_beds = old.free_beds.copy()
    for u in units:
        residents = by_unit[u]
        unit = problem.units[u]
        hours = np.zeros(1, dtype=np.float64)
        for r in residents:
            hours[0] += r.support_hours
        high_risk = sum(r.risk.is_high for r in residents)
        high_need = sum(is_high_need(r.risk.is_high, False, r.support_hours) for r in residents)
        women[u] = sum(r.gender is Gender.woman for r in residents)
        rtw[u] = sum(Flag.risk_to_women in r.flags for r in residents)
        high_risk_room[u] = max(unit.max_high_risk_residents - high_risk, 0)
        capacity = np.array([unit.support_hours_capacity], dtype=np.float64)
        hours_room[u] = np.maximum(capacity - hours, 0.0)[0]
        share[u] = (np.array([high_need]) / np.maximum(np.array([len(residents)]), 1))[0]
        free_beds[u] = int(np.count_nonzero(beds.free[beds.unit == u]))
    return dataclasses.replace(
        old,
        women_residents=women,
        risk_to_women_residents=rtw,
        high_risk_room=high_risk_room,
        support_hours_room=hours_room,
        high_need_share=share,
        free_beds=free_beds,
        free_women_only_beds=np.where(old.women_only, free_beds, 0),
    )


__all__ = ["StayChanges", "stay_changes", "updated_context"]
