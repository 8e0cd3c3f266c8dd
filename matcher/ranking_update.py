"""A ranking context carried from one problem to the next when only stays changed.

A placement, an arrival or a move-out changes a few columns of the problem: the bed-spaces
and units whose occupants changed, and the support teams whose caseloads moved; the people
placed stop waiting. The context of the problem after it is the context before it with those
columns worked out again and the rows of the people placed marked absent (kept, unread,
until the next context built from scratch); everything else (the inventory, every other
referral's rows, the soft terms of units nobody moved in or out of) is the same.
`updated_context(context, problem)` computes just that, in milliseconds on a city's portfolio
where `build_context` takes seconds, and ranks exactly as `build_context(problem)` does (a
property test holds them equal).

Copy on write: the changed columns go into patched arrays (`matcher.patched`) that share every
other column with the old ones, so a request still ranking on the old context reads what it
read before, and a placement costs its few columns, not a copy of every array. When the
problems differ in anything else (the inventory, a referral's details, a new referral, the
date), it returns `build_context(problem)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from constraints.tables import BedColumns, Tables, UnitColumns, is_high_need
from matcher.explain import TermExplainer
from matcher.model import Flag, Gender, Problem, Referral, Resident
from matcher.patched import PatchedColumns, PatchedRows
from matcher.ranking import RankingContext, best_in_unit_index, build_context

# Fields of a referral that no context array reads from the row itself: the names in them are
# read through the whole problem (pairs, groups, the keep-apart rule), which is worked out again.
_NAMES_ONLY = frozenset({"keep_apart", "keep_together"})


@dataclass(frozen=True)
class StayChanges:
    """What differs between two problems of one inventory: the rows of the referrals still
    waiting (ascending), and the bed-spaces and teams whose occupants changed."""

    kept_rows: np.ndarray | None  # None: the same referrals wait as before
    beds: np.ndarray  # bed-space indices whose occupants changed, ascending
    teams_changed: bool
    residents: frozenset[str] = frozenset()  # ids of the residents who came, went or changed


def stay_changes(
    old: Problem, new: Problem, tables: Tables, absent: np.ndarray | None = None
) -> StayChanges | None:
    """The changes from `old` to `new`, or None if they differ in more than stays (then the
    context is built afresh). `tables` are the context's, with a row for every referral it
    has held; `absent` marks the rows of those no longer waiting."""
    same = ("as_of", "areas", "links", "units", "bedspaces", "policy")
    for name in same:
        a, b = getattr(old, name), getattr(new, name)
        if a is not b and a != b:
            return None
    if type(old) is not type(new):
        return None

    if old.referrals is new.referrals:
        kept: list[int] | None | bool = None
    else:
        kept = _kept_rows(tables.problem.referrals, absent, new.referrals, tables.referrals.index)
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
    rows: Sequence[Referral],
    absent: np.ndarray | None,
    new: Sequence[Referral],
    index: dict[str, int],
) -> list[int] | bool:
    """The row of each referral of `new`, ascending; False if `new` is not the referrals
    still waiting less some, each otherwise the same. A referral whose row is absent (placed
    before) waiting again is new: its row was not kept up to date."""
    gone = absent.tolist() if absent is not None else None
    kept: list[int] = []
    last = -1
    for referral in new:
        i = index.get(referral.id)
        if i is None or i <= last or (gone is not None and gone[i]):
            return False
        before = rows[i]
        if before is not referral and _differs(before, referral):
            return False
        kept.append(i)
        last = i
    return kept


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
    changes = stay_changes(context.problem, problem, context.tables, context.absent)
    if changes is None:
        return build_context(problem)
    return _carried(context, problem, changes)


_NO_SCORE = np.iinfo(np.int64).min


def _carried(ctx: RankingContext, problem: Problem, changes: StayChanges) -> RankingContext:
    old_tables = ctx.tables
    n_rows = len(old_tables.referrals)
    old_absent = ctx.absent if ctx.absent is not None else np.zeros(n_rows, dtype=bool)
    if changes.kept_rows is None:
        absent = old_absent
        waiting = np.flatnonzero(~absent)
    else:
        waiting = changes.kept_rows
        absent = np.ones(n_rows, dtype=bool)
        absent[waiting] = False
    newly_gone = np.flatnonzero(absent & ~old_absent)
    tables = _tables(old_tables, problem, changes, waiting)
    rules = _rule_columns(ctx, old_tables, tables, changes)
    score_units, scores, total = _soft_columns(ctx, old_tables, tables)
    counted = _count_columns(ctx, tables, rules, absent, bool(newly_gone.size))
    best_unit = _best_units(
        ctx.best_unit,
        counted.counts,
        total,
        np.union1d(counted.units, score_units),
        absent,
        counted.eligible_total,
    )
    best_in_units, best_in_unit_start, best_in_unit_end = best_in_unit_index(
        best_unit, tables.referrals.priority, len(tables.units)
    )
    groups, keep_apart, da_apart = _links(ctx, tables, newly_gone, absent)
    return dataclasses.replace(
        ctx,
        problem=problem,
        tables=tables,
        # Typed for dense arrays; a ranking context's readers read it by row and cell, which
        # patched arrays answer alike (the property tests rank and explain on both).
        eligibility=Eligibility(
            tables,
            rules.unit_allowed,  # type: ignore[arg-type]
            rules.allowed,  # type: ignore[arg-type]
            rules.unit_failures,  # type: ignore[arg-type]
            rules.bed_failures,  # type: ignore[arg-type]
        ),
        scores=scores,
        # Travel between areas and their names are the inventory's: kept.
        explainer=TermExplainer(
            tables, scores, ctx.explainer.area_minutes, ctx.explainer.area_names
        ),
        total=total,
        unit_failures=rules.unit_failures,
        bed_failures=rules.bed_failures,
        counts=counted.counts,
        eligible_total=counted.eligible_total,
        best_unit=best_unit,
        eligible_women_only=counted.eligible_women_only,
        reserve_room=int(tables.units.free_women_only_beds.sum())
        - problem.policy.women_only_reserve,
        groups=groups,
        keep_apart=keep_apart,
        da_apart=da_apart,
        allowed_by_bed=rules.allowed_by_bed,
        counts_by_unit=counted.counts_by_unit,
        bed_cost_case=_bed_cost_case(ctx, tables, changes),
        best_in_units=best_in_units,
        best_in_unit_start=best_in_unit_start,
        best_in_unit_end=best_in_unit_end,
        absent=absent if absent.any() else None,
        _waiting_memo={},
        # The wording memos are keyed by rule bits and counts alone: shared, still right.
    )


@dataclass(frozen=True)
class _RuleColumns:
    bed_cols: np.ndarray  # bed-spaces whose bed-space rule bits were worked out again
    changed_units: np.ndarray  # units whose unit rule bits changed
    bed_failures: PatchedColumns
    unit_failures: PatchedColumns
    unit_allowed: PatchedColumns
    allowed: PatchedColumns
    allowed_by_bed: PatchedRows


def _rule_columns(
    ctx: RankingContext, old_tables: Tables, tables: Tables, changes: StayChanges
) -> _RuleColumns:
    """The hard rules' columns that the change can move, worked out again."""
    bed_unit = tables.beds.unit
    # Bed-space rules: the changed bed-spaces and everything sharing their clusters.
    clusters = np.unique(tables.beds.cluster[changes.beds])
    bed_cols = (
        np.flatnonzero(np.isin(tables.beds.cluster, clusters))
        if clusters.size
        else np.empty(0, dtype=np.int64)
    )
    bed_failures = PatchedColumns.of(ctx.bed_failures)
    if bed_cols.size:
        bed_failures = bed_failures.with_columns(bed_cols, _bed_failures(tables, bed_cols))

    # Unit rules: the units that share an area with a changed bed-space (its residents' unit
    # and area rules) or with a team whose room changed, and the women-only units when the
    # reserve opens or closes; every other unit's column stays as it was.
    unit_failures = PatchedColumns.of(ctx.unit_failures)
    unit_allowed = PatchedColumns.of(ctx.eligibility.unit_allowed)
    rule_units = _units_to_check(old_tables, tables, changes)
    changed_units = np.empty(0, dtype=np.int64)
    if rule_units.size:
        before = unit_failures.columns(rule_units)
        reserve_flipped = _reserve_open(old_tables) != _reserve_open(tables)
        fresh_failures = _unit_failures(tables, rule_units, before, reserve_flipped)
        differs = (fresh_failures != before).any(axis=0)
        changed_units = rule_units[differs]
        if changed_units.size:
            fresh_failures = fresh_failures[:, differs]
            unit_failures = unit_failures.with_columns(changed_units, fresh_failures)
            unit_allowed = unit_allowed.with_columns(changed_units, fresh_failures == 0)

    cols = np.union1d(bed_cols, np.flatnonzero(np.isin(bed_unit, changed_units)))
    allowed = PatchedColumns.of(ctx.eligibility.allowed)
    allowed_by_bed = PatchedRows.of(ctx.allowed_by_bed)
    if cols.size:
        fresh_allowed = unit_allowed.columns(bed_unit[cols]) & (bed_failures.columns(cols) == 0)
        allowed = allowed.with_columns(cols, fresh_allowed)
        allowed_by_bed = allowed_by_bed.with_rows(cols, fresh_allowed.T)
    return _RuleColumns(
        bed_cols, changed_units, bed_failures, unit_failures, unit_allowed, allowed, allowed_by_bed
    )


def _soft_columns(
    ctx: RankingContext, old_tables: Tables, tables: Tables
) -> tuple[np.ndarray, Scores, PatchedColumns]:
    """(units whose points changed, the soft terms, the total points): the occupancy terms
    of units whose residents or teams changed are worked out again."""
    old_staff, old_calm = occupancy_unit_values(old_tables)
    new_staff, new_calm = occupancy_unit_values(tables)
    score_units = np.flatnonzero((old_staff != new_staff) | (old_calm != new_calm))
    terms: dict[str, Any] = dict(ctx.scores.terms)
    total = PatchedColumns.of(ctx.total)
    if score_units.size:
        fresh = occupancy_terms(tables, score_units)
        for name in OCCUPANCY_TERMS:
            terms[name] = PatchedColumns.of(terms[name]).with_columns(score_units, fresh[name])
        column_total = np.zeros((len(tables.referrals), score_units.size), dtype=np.int64)
        for values in terms.values():
            if values.shape[1] == 1:  # one column broadcast to every unit
                block = values
            elif isinstance(values, PatchedColumns):
                block = values.columns(score_units)
            else:
                block = values[:, score_units]
            column_total = column_total + np.broadcast_to(block, column_total.shape)
        total = total.with_columns(score_units, column_total)
    return score_units, Scores(terms=terms, travel_minutes=ctx.scores.travel_minutes), total


@dataclass(frozen=True)
class _CountColumns:
    units: np.ndarray  # units whose counts were worked out again
    counts: PatchedColumns
    counts_by_unit: PatchedRows
    eligible_total: np.ndarray
    eligible_women_only: np.ndarray


def _count_columns(
    ctx: RankingContext,
    tables: Tables,
    rules: _RuleColumns,
    absent: np.ndarray,
    someone_left: bool,
) -> _CountColumns:
    """Eligible bed-spaces per unit for the units whose bed-spaces' eligibility changed, and
    the totals they add up to, moved by the difference only."""
    units = np.union1d(rules.changed_units, np.unique(tables.beds.unit[rules.bed_cols]))
    counts = PatchedColumns.of(ctx.counts)
    counts_by_unit = PatchedRows.of(ctx.counts_by_unit)
    eligible_total = ctx.eligible_total
    eligible_women_only = ctx.eligible_women_only
    if units.size:
        before = counts.columns(units)
        fresh = np.zeros((len(tables.referrals), units.size), dtype=before.dtype)
        for k, u in enumerate(units.tolist()):
            beds = ctx.unit_beds[u]
            if beds.size:
                fresh[:, k] = rules.allowed.columns(beds).sum(axis=1, dtype=np.int32)
        counts = counts.with_columns(units, fresh)
        counts_by_unit = counts_by_unit.with_rows(units, fresh.T)
        delta = fresh.astype(np.int64) - before
        eligible_total = eligible_total + delta.sum(axis=1).astype(eligible_total.dtype)
        women = tables.units.women_only[units]
        eligible_women_only = eligible_women_only + delta[:, women].sum(axis=1).astype(
            eligible_women_only.dtype
        )
    if absent.any() and (someone_left or units.size):
        # Rows of those no longer waiting count no bed-space (they are nobody's competition).
        eligible_total = eligible_total.copy()
        eligible_total[absent] = 0
        eligible_women_only = eligible_women_only.copy()
        eligible_women_only[absent] = 0
    return _CountColumns(units, counts, counts_by_unit, eligible_total, eligible_women_only)


def _bed_cost_case(
    ctx: RankingContext, tables: Tables, changes: StayChanges
) -> list[tuple[int, int, int]]:
    """`RankingContext.bed_cost_case` with the changed bed-spaces' freedom read again."""
    if not changes.beds.size:
        return ctx.bed_cost_case
    cases = list(ctx.bed_cost_case)
    free = tables.beds.free
    for b in changes.beds.tolist():
        cluster, accessible, _ = cases[b]
        cases[b] = (cluster, accessible, int(free[b]))
    return cases


def _best_units(
    before: np.ndarray,
    counts: PatchedColumns,
    total: PatchedColumns,
    changed: np.ndarray,
    absent: np.ndarray,
    eligible_total: np.ndarray,
) -> np.ndarray:
    """Each referral's highest-scoring unit with an eligible bed-space (the lowest index on a
    tie, as `argmax` gives it), -1 if none or no longer waiting, when only the units
    `changed` have new counts or points: a referral whose best unit is among them is worked
    out over every unit again, any other compares its best unit with those."""
    best = before.copy()
    if changed.size:
        scored = np.where(counts.columns(changed) > 0, total.columns(changed), _NO_SCORE)
        pos = scored.argmax(axis=1)
        top = scored[np.arange(scored.shape[0]), pos]
        top_unit = changed[pos]
        again = np.isin(before, changed)
        keeps = np.flatnonzero(~again & (before >= 0))
        current = np.full(before.shape, _NO_SCORE, dtype=np.int64)
        current[keeps] = total.pick(keeps, before[keeps])
        better = ~again & (top > current)
        tie = ~again & (before >= 0) & (top == current) & (top_unit < before)
        best = np.where(better | tie, top_unit, best)
        redo = np.flatnonzero(again)
        if redo.size:
            rows = np.where(counts.rows(redo) > 0, total.rows(redo), _NO_SCORE)
            best[redo] = rows.argmax(axis=1)
    best[eligible_total <= 0] = -1
    best[absent] = -1
    return best


Links = tuple[dict[int, list[int]], dict[int, set[int]], dict[int, set[int]]]


def _links(
    ctx: RankingContext, tables: Tables, newly_gone: np.ndarray, absent: np.ndarray
) -> Links:
    """Couples, keep-apart and DA pairs among referrals still waiting (rows stay as they are).

    A pair between two people still waiting stays a pair: names are only ever dropped for
    people who are no longer here. A couple one of whose members left is found again from
    the problem, since the group may have hung together through them."""
    if not newly_gone.size:
        return ctx.groups, ctx.keep_apart, ctx.da_apart
    gone = set(newly_gone.tolist())
    groups = ctx.groups
    if gone & groups.keys():
        # Those no longer waiting hold nobody together: their rows' links are left out.
        waiting_only = tables.problem.model_copy(
            update={
                "referrals": [
                    r.model_copy(update={"keep_together": []}) if absent[i] else r
                    for i, r in enumerate(tables.problem.referrals)
                ]
            }
        )
        links = coupling(dataclasses.replace(tables, problem=waiting_only))
        groups = {
            i: sorted(g) for g in links.keep_together_groups if not absent[g].any() for i in g
        }

    def without_gone(pairs: dict[int, set[int]]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for i, others in pairs.items():
            if i not in gone:
                still = others - gone
                if still:
                    out[i] = still
        return out

    return groups, without_gone(ctx.keep_apart), without_gone(ctx.da_apart)


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
# women-only bed-spaces everywhere): evaluated over every unit, then the columns taken, and
# only when the reserve opened or closed, since whether it is open is all they read of it.
_PORTFOLIO_RULES = frozenset({reserve.women_only_reserve_held.name})


def _unit_failures(
    tables: Tables, units: np.ndarray, before: np.ndarray, reserve_flipped: bool
) -> np.ndarray:
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
    occupancy = [
        (i, rule)
        for i, rule in enumerate(UNIT_RULES)
        if rule.name in OCCUPANCY_RULES and (reserve_flipped or rule.name not in _PORTFOLIO_RULES)
    ]
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


def _tables(old: Tables, problem: Problem, changes: StayChanges, waiting: np.ndarray) -> Tables:
    """`build_tables(problem)`, from the tables of the problem before the change, but with
    the rows of every referral the old tables held: the row of one placed stays, absent.

    Its problem is `problem` with those rows' referrals, so that rules reading a referral by
    its row read the right one."""
    rows = list(old.problem.referrals)
    for i, referral in zip(waiting.tolist(), problem.referrals, strict=True):
        rows[i] = referral
    row_problem = problem.model_copy(update={"referrals": rows})

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
        problem=row_problem,
        referrals=old.referrals,
        units=unit_columns,
        beds=beds,
        clusters=cluster_columns,
        teams=teams,
        area_index=old.area_index,
        resident_unit=resident_unit,
        resident_area=resident_area,
    )


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
