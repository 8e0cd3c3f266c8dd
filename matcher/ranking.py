"""Ranking one referral: every safe placement, scored and explained, in milliseconds.

A coordinator on the phone asks "where can this person go?". `RankingContext.build(problem)`
does the heavy work once per problem (column tables, the eligibility masks with reasons, the
soft-term points, and per-referral summaries: eligible bed-spaces per unit and each person's
best unit); `rank(context, referral_id)` then answers from those arrays:

- `ranked`: exactly the bed-spaces the checker accepts for this referral placed alone, best
  first, each with the batch model's points per soft term, a sentence per term, the support
  team it would get in a `visiting` unit, and what taking it would cost people still waiting;
- `excluded`: every unit with no such bed-space and every hard rule that shuts it, in
  coordinator words (bed-space rules summarised per unit: "No bed-space here is free").

Couples (`keep_together`) move into one unit or not at all, so for a referral with partners a
bed-space is listed only where the whole group fits in that unit at once: every partner is
eligible there, on a bed-space of their own, with the shared limits (high-risk places,
support hours, team caseloads, the women-only reserve, cluster gender) holding for the group
together. Each such placement names the partners' bed-spaces; the checker accepts the group's
assignments together. Units the referral could take alone but the group cannot are excluded
with the reason.

`override(context, referral_id, bedspace_id, reason)` records a coordinator's choice of any
eligible placement with their reason, and refuses an excluded one with the rules' reasons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from constraints import BEDSPACE_RULES, UNIT_RULES
from constraints.coupling import coupling
from constraints.eligibility import Eligibility, eligibility
from constraints.scores import Scores, score
from constraints.staffing import HOURS_TOLERANCE
from constraints.tables import Tables, build_tables
from matcher.errors import Issue, PlacementRefused, ProblemInvalid, ReferralNotFound
from matcher.explain import TermExplainer
from matcher.model import Assignment, Flag, Problem, Solution
from matcher.patched import Matrix, RowsMatrix

MAX_PRIORITY = 5  # `Referral.priority` is 1 to 5
# How many of the top placements get a "cost to others" when the caller does not say.
DEFAULT_COST_TOP = 10
KEEP_TOGETHER_RULE = "keep_together_same_unit_or_neither"

# Bed-space rules summarised over a unit's bed-spaces: (all of them fail, some of them fail).
BED_RULE_SUMMARIES: dict[str, tuple[str, str]] = {
    "bedspace_free_on_date": (
        "No bed-space here is free on the placement date.",
        "{k} of {n} bed-spaces: not free on the placement date.",
    ),
    "accessible_where_needed": (
        "Person needs an accessible bed-space; none here is accessible.",
        "{k} of {n} bed-spaces: not accessible.",
    ),
    "cluster_gender_consistent_with_residents": (
        "Every bed-space here shares facilities with people of another gender.",
        "{k} of {n} bed-spaces: facilities shared with people of another gender.",
    ),
}
NO_BEDSPACES = "Unit has no bed-spaces."


# --- results -------------------------------------------------------------------------


class AffectedReferral(BaseModel):
    """A waiting referral of equal or higher priority who would lose out."""

    model_config = ConfigDict(frozen=True)

    referral: str
    priority: int
    eligible_bedspaces: int
    loses: Literal["only", "best"]  # their only eligible option, or their best-scoring unit


class CostToOthers(BaseModel):
    """Frozen, so placements alike can share one."""

    model_config = ConfigDict(frozen=True)

    affected: tuple[AffectedReferral, ...] = ()  # a tuple: one answer may be shared
    summary: str = ""


class PartnerPlacement(BaseModel):
    referral: str
    bedspace: str
    support_team: str | None = None


class RankedPlacement(BaseModel):
    rank: int  # 1 + the number of placements scoring strictly more
    bedspace: str
    unit: str
    unit_name: str = ""
    support_team: str | None = None
    score: int
    terms: dict[str, int]
    reasons: list[str]  # one sentence per term, highest points first
    partners: list[PartnerPlacement] = Field(default_factory=list)
    cost_to_others: CostToOthers | None = None  # only for the top placements
    batch_places_elsewhere: bool | None = None  # None when no batch solution was given


# The two long lists of a ranking (every eligible unit, every excluded unit: hundreds on a
# city's portfolio) are typed dicts, not models: building them costs a tenth as much.


class UnitSummary(TypedDict):
    """The ranking grouped by unit: bed-spaces of one unit score alike."""

    rank: int
    unit: str
    unit_name: str
    score: int
    bedspaces: list[str]
    points_behind: int  # points below the top unit
    # Why it ranks below the top unit, by the terms that differ; written for the units of the
    # placements shown (`top`), empty for the rest, whose `points_behind` still says how far.
    behind_top: str
    # Why the unit's other bed-spaces are not offered ("2 of 6 bed-spaces are not free..."),
    # and the rules behind it.
    other_bedspaces: tuple[str, ...]
    other_bedspace_rules: tuple[str, ...]


class ExcludedUnit(TypedDict):
    unit: str
    bedspaces: tuple[str, ...]
    reasons: tuple[str, ...]
    rules: tuple[str, ...]  # the names of the rules behind `reasons`


class RankResult(BaseModel):
    referral: str
    priority: int
    emergency_da: bool  # priority-5 DA victim: may take women-only bed-spaces held in reserve
    partners: list[str] = Field(default_factory=list)  # keep_together: moves in with these
    eligible_bedspaces: int
    eligible_units: int
    ranked: list[RankedPlacement]
    units: list[UnitSummary]
    excluded: list[ExcludedUnit]
    batch_placement: str | None = None  # the batch solution's bed-space for this referral
    notes: list[str] = Field(default_factory=list)
    detail: Literal["full", "summary"] = "full"
    # Every excluded unit counted, and the units each rule shuts (a unit shut by two rules
    # counts under both): in a summary these stand for the `excluded` list left out.
    excluded_units: int = 0
    excluded_by_rule: dict[str, int] = Field(default_factory=dict)

    def people_named(self) -> list[str]:
        """Every person the answer names: the referral, their partners, partners placed with
        each option, and the waiting people each option would cost (for the audit trail)."""
        named = dict.fromkeys([self.referral, *self.partners])
        for placement in self.ranked:
            named.update(dict.fromkeys(p.referral for p in placement.partners))
            if placement.cost_to_others is not None:
                named.update(dict.fromkeys(a.referral for a in placement.cost_to_others.affected))
        return list(named)


class OverrideDecision(BaseModel):
    """A coordinator's chosen placement, kept with their reason."""

    referral: str
    bedspace: str
    unit: str
    support_team: str | None
    score: int
    terms: dict[str, int]
    rank: int
    top_score: int
    top_bedspace: str
    reason: str
    partners: list[PartnerPlacement] = Field(default_factory=list)
    cost_to_others: CostToOthers
    assignments: list[Assignment]  # ready to add to a Solution: this referral and partners


# --- the context built once per problem ------------------------------------------------


@dataclass
class RankingContext:
    """Everything a ranking reads, computed once per problem."""

    problem: Problem
    tables: Tables
    eligibility: Eligibility
    scores: Scores
    explainer: TermExplainer
    total: Matrix  # (R, U) total points
    unit_failures: Matrix  # (R, U) bits of the unit rules that fail (see `eligibility`)
    bed_failures: Matrix  # (R, B) bits of the bed-space rules that fail
    counts: Matrix  # (R, U) eligible bed-spaces per unit
    eligible_total: np.ndarray  # (R,) eligible bed-spaces in all
    best_unit: np.ndarray  # (R,) highest-scoring unit with an eligible bed-space, -1 if none
    eligible_women_only: np.ndarray  # (R,) eligible bed-spaces in women-only units
    unit_beds: list[np.ndarray]  # bed-space indices per unit
    unit_bed_ids: list[tuple[str, ...]]
    teams_in_area: dict[int, np.ndarray]
    reserve_room: int  # women-only bed-spaces open to people the reserve does not exempt
    reserve_exempt: np.ndarray  # (R,)
    groups: dict[int, list[int]]  # keep_together: referral -> its whole group, sorted
    keep_apart: dict[int, set[int]]  # referral -> referrals kept apart from it
    da_apart: dict[int, set[int]]  # referral -> DA victims/perpetrators kept apart from it
    units_in_area: dict[int, np.ndarray]
    # Transposed copies: "who else could take this bed-space / unit" reads one row.
    allowed_by_bed: RowsMatrix  # (B, R)
    counts_by_unit: RowsMatrix  # (U, R)
    bed_count: np.ndarray  # (U,) bed-spaces per unit
    cluster_size: np.ndarray  # (C,) bed-spaces per cluster
    cluster_beds: list[np.ndarray]  # bed-space indices per cluster
    # Each bed-space's unit times the combinations of bed-space rule failures (`_bed_rule_counts`).
    bed_unit_code: np.ndarray
    bed_id_array: np.ndarray  # (B,) bed-space ids, to pick many at once
    bed_unit_list: list[int]
    bed_cluster_list: list[int]
    # What makes bed-spaces of one unit cost others alike: (cluster, accessible, free).
    bed_cost_case: list[tuple[int, int, int]]
    unit_names: list[str]
    # The referrals whose best unit each unit is, unit by unit and highest priority first:
    # unit u's of priority p or higher are `best_in_units[best_in_unit_start[u]:
    # best_in_unit_end[u, p]]` (see `best_in_unit_at_or_above`).
    best_in_units: np.ndarray
    best_in_unit_start: np.ndarray  # (U,)
    best_in_unit_end: np.ndarray  # (U, MAX_PRIORITY + 1): by priority
    batch_bed: dict[str, str] | None = None
    # (R,) rows of referrals no longer waiting, when the context was carried over a placement
    # (`matcher.ranking_update`): their rows stay, unread, so that no array is copied whole.
    absent: np.ndarray | None = None
    _waiting_memo: dict[int, np.ndarray] = field(default_factory=dict)
    # Wording of exclusions, keyed by failed-rule bits or (bed rule, count, bed-spaces):
    # bounded by the rule combinations and unit sizes, not by the number of calls.
    _excluded_memo: dict[tuple[int, ...], tuple[list[str], list[str]]] = field(default_factory=dict)
    # The same for a whole unit: (failed-rule bits, bed-spaces, failures per bed-space rule),
    # as a tuple or packed in one integer (see `_exclusion_cases`).
    _excluded_memo_whole: dict[tuple[int, ...], tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict
    )
    _excluded_memo_code: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict
    )

    @classmethod
    def build(cls, problem: Problem, batch: Solution | None = None) -> RankingContext:
        tables = build_tables(problem)
        elig = eligibility(tables, reasons=True)
        scores = score(tables)
        total = scores.total()
        n_refs, n_units = len(tables.referrals), len(tables.units)
        total = np.broadcast_to(total, (n_refs, n_units)).copy()

        bed_unit = tables.beds.unit
        order = np.argsort(bed_unit, kind="stable")
        per_unit = np.bincount(bed_unit, minlength=n_units)
        starts = np.concatenate(([0], np.cumsum(per_unit)[:-1])).astype(np.int64)
        unit_beds = [order[s : s + n] for s, n in zip(starts, per_unit, strict=True)]
        counts = np.zeros((n_refs, n_units), dtype=np.int32)
        has_beds = np.flatnonzero(per_unit)
        if n_refs and has_beds.size:
            counts[:, has_beds] = np.add.reduceat(
                # Bed-spaces usually come unit by unit already; `take` keeps row-major order.
                _by_unit_order(elig.allowed, order),
                starts[has_beds],
                axis=1,
                dtype=np.int32,
            )
        eligible_total = counts.sum(axis=1)
        masked = np.where(counts > 0, total, np.iinfo(np.int64).min)
        best_unit = (
            np.where(eligible_total > 0, masked.argmax(axis=1), -1)
            if n_units
            else np.full(n_refs, -1)
        )
        women_only = tables.units.women_only

        links = coupling(tables)
        groups = {i: sorted(g) for g in links.keep_together_groups for i in g}
        keep_apart: dict[int, set[int]] = {}
        for i, j in links.keep_apart_pairs:
            keep_apart.setdefault(i, set()).add(j)
            keep_apart.setdefault(j, set()).add(i)
        da_apart: dict[int, set[int]] = {}
        for i, j in links.da_apart_pairs:
            da_apart.setdefault(i, set()).add(j)
            da_apart.setdefault(j, set()).add(i)

        counts_by_unit = np.ascontiguousarray(counts.T)
        cluster_size = np.bincount(tables.beds.cluster, minlength=len(tables.clusters))
        best_in_units, best_in_unit_start, best_in_unit_end = best_in_unit_index(
            best_unit, tables.referrals.priority, n_units
        )

        bed_ids = tables.beds.ids
        batch_bed = (
            {a.referral: a.bedspace for a in batch.assignments} if batch is not None else None
        )
        return cls(
            problem=problem,
            tables=tables,
            eligibility=elig,
            scores=scores,
            explainer=TermExplainer.build(tables, scores),
            total=total,
            unit_failures=elig._need(elig.unit_failures),
            bed_failures=elig._need(elig.bed_failures),
            counts=counts,
            eligible_total=eligible_total,
            best_unit=best_unit,
            eligible_women_only=counts[:, women_only].sum(axis=1),
            unit_beds=unit_beds,
            unit_bed_ids=[tuple(bed_ids[b] for b in beds) for beds in unit_beds],
            teams_in_area={
                int(a): np.flatnonzero(tables.teams.area == a) for a in np.unique(tables.teams.area)
            },
            reserve_room=links.reserve_room,
            reserve_exempt=links.reserve_exempt,
            groups=groups,
            keep_apart=keep_apart,
            da_apart=da_apart,
            units_in_area={
                int(a): np.flatnonzero(tables.units.area == a) for a in np.unique(tables.units.area)
            },
            allowed_by_bed=np.ascontiguousarray(elig.allowed.T),
            counts_by_unit=counts_by_unit,
            bed_count=per_unit,
            cluster_size=cluster_size,
            cluster_beds=_split_by(tables.beds.cluster, cluster_size),
            bed_unit_code=bed_unit.astype(np.int64) << len(BEDSPACE_RULES),
            bed_id_array=np.array(bed_ids, dtype=object),
            bed_unit_list=bed_unit.tolist(),
            bed_cluster_list=tables.beds.cluster.tolist(),
            bed_cost_case=list(
                zip(
                    tables.beds.cluster.tolist(),
                    tables.beds.accessible.astype(np.int64).tolist(),
                    tables.beds.free.astype(np.int64).tolist(),
                    strict=True,
                )
            ),
            unit_names=[unit.name for unit in problem.units],
            best_in_units=best_in_units,
            best_in_unit_start=best_in_unit_start,
            best_in_unit_end=best_in_unit_end,
            batch_bed=batch_bed,
        )

    def waiting_at_or_above(self, priority: int) -> np.ndarray:
        """Referrals of this priority or higher with at least one eligible bed-space."""
        memo = self._waiting_memo.get(priority)
        if memo is None:
            refs = self.tables.referrals
            memo = np.flatnonzero((refs.priority >= priority) & (self.eligible_total > 0))
            self._waiting_memo[priority] = memo
        return memo

    def best_in_unit_at_or_above(self, unit: int, priority: int) -> np.ndarray:
        """Referrals of this priority or higher whose best unit this is, highest priority
        first."""
        start = self.best_in_unit_start[unit]
        return self.best_in_units[start : self.best_in_unit_end[unit, priority]]

    def referral_index(self, referral_id: str) -> int:
        index = self.tables.referrals.index.get(referral_id)
        if index is None or (self.absent is not None and self.absent[index]):
            raise ReferralNotFound(referral_id)
        return index

    def is_waiting(self, referral_id: str) -> bool:
        """Whether this referral waits in the context's problem."""
        index = self.tables.referrals.index.get(referral_id)
        return index is not None and (self.absent is None or not bool(self.absent[index]))


def best_in_unit_index(
    best_unit: np.ndarray, priorities: np.ndarray, n_units: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`RankingContext.best_in_units`, `best_in_unit_start` and `best_in_unit_end`."""
    placeable = np.flatnonzero(best_unit >= 0)
    priority = priorities[placeable]
    best_in_units = placeable[np.lexsort((-priority, best_unit[placeable]))]
    # How many of each unit's have each priority, then how many have it or a higher one.
    per_priority = np.zeros((n_units, MAX_PRIORITY + 1), dtype=np.int64)
    np.add.at(per_priority, (best_unit[placeable], priority), 1)
    at_or_above = np.cumsum(per_priority[:, ::-1], axis=1)[:, ::-1]
    best_in_unit_start = np.cumsum(at_or_above[:, 0]) - at_or_above[:, 0]
    return best_in_units, best_in_unit_start, best_in_unit_start[:, None] + at_or_above


def _split_by(group_of: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """The indices of each group, ascending, given each item's group and the group sizes."""
    order = np.argsort(group_of, kind="stable")
    return np.split(order, np.cumsum(sizes)[:-1]) if sizes.size else []


def _by_unit_order(allowed: np.ndarray, order: np.ndarray) -> np.ndarray:
    """`allowed` with its columns in `order`; itself when that order changes nothing."""
    if np.array_equal(order, np.arange(len(order))):
        return allowed
    return np.take(allowed, order, axis=1)


def build_context(problem: Problem, batch: Solution | None = None) -> RankingContext:
    """Build the per-problem context once; then `rank` any referral in milliseconds."""
    return RankingContext.build(problem, batch)


# --- support teams ---------------------------------------------------------------------


def _teams_that_may_serve(ctx: RankingContext, r: int, u: int) -> np.ndarray:
    """Indices of teams that may serve referral r in unit u (capacity aside), as
    `constraints.staffing.team_may_serve` says."""
    t, refs, units = ctx.tables.teams, ctx.tables.referrals, ctx.tables.units
    candidates = ctx.teams_in_area.get(int(units.area[u]), np.empty(0, dtype=np.int64))
    if candidates.size == 0:
        return candidates
    ok = np.ones(candidates.size, dtype=bool)
    if refs.pathway_housing_first[r] or units.pathway_housing_first[u]:
        ok &= t.intensive[candidates]
    if refs.wants_female_worker[r]:
        ok &= t.has_female_worker[candidates]
    return candidates[ok]


def _choose_team(ctx: RankingContext, r: int, u: int, used: dict[int, int]) -> int | None:
    """The team with most room left that may serve r in u; None if none has room."""
    best, best_room = None, 0
    for team in _teams_that_may_serve(ctx, r, u):
        room = int(ctx.tables.teams.room[team]) - used.get(int(team), 0)
        if room > best_room:
            best, best_room = int(team), room
    return best


# --- couples ---------------------------------------------------------------------------

Placement = list[tuple[int, int, int | None]]  # (referral, bed-space, team) per group member


def _group_problems(
    ctx: RankingContext, group: list[int], units: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """Why the whole group cannot live together in each of these units, beyond each member's
    own rules: (rule, reason) pairs for the units that fail, none where only the bed-space
    search can tell. The group's totals are fixed, so the units are compared all at once."""
    t = ctx.tables
    refs, cols = t.referrals, t.units
    ids = refs.ids
    at = np.asarray(units, dtype=np.int64)
    everywhere: list[tuple[str, str]] = []  # what fails in every unit alike
    for a in group:
        if refs.flags[Flag.risk_to_women][a]:
            women = [ids[b] for b in group if b != a and refs.is_woman[b]]
            if women:
                everywhere.append(
                    (
                        "risk_to_women_never_with_women",
                        f"{ids[a]} poses a risk to women and would live with {_join(women)}.",
                    )
                )
        for b in sorted(ctx.keep_apart.get(a, ())):
            if a < b and b in group:
                everywhere.append(
                    ("keep_apart_never_in_same_unit", f"{ids[a]} and {ids[b]} must be kept apart.")
                )

    high = int(refs.is_high_risk[group].sum())
    hours = float(refs.support_hours[group].sum())
    takers = sum(1 for m in group if not ctx.reserve_exempt[m])
    open_women_only = max(0, ctx.reserve_room)
    too_high = (cols.high_risk_room[at] < high) if high else np.zeros(at.size, dtype=bool)
    too_many_hours = hours > cols.support_hours_room[at] + HOURS_TOLERANCE
    reserve = cols.women_only[at] & (takers > open_women_only)
    too_few_beds = cols.free_beds[at] < len(group)
    failing = too_high | too_many_hours | reserve | too_few_beds
    if everywhere:
        failing[:] = True

    problems: dict[int, list[tuple[str, str]]] = {}
    for k in np.flatnonzero(failing).tolist():
        u = int(at[k])
        found = list(everywhere)
        if too_high[k]:
            room = int(cols.high_risk_room[u])
            found.append(
                (
                    "high_risk_within_unit_limit",
                    f"Together they are {high} high-risk people; the unit can take {room} more.",
                )
            )
        if too_many_hours[k]:
            room_hours = float(cols.support_hours_room[u])
            found.append(
                (
                    "support_hours_within_capacity",
                    f"Together they need {hours:g} support hours; the unit has "
                    f"{room_hours:g} left.",
                )
            )
        if reserve[k]:
            found.append(
                (
                    "women_only_reserve_held",
                    f"Together they would take {takers} women-only bed-spaces; "
                    f"{open_women_only} are open outside the reserve.",
                )
            )
        if too_few_beds[k]:
            found.append(
                (
                    KEEP_TOGETHER_RULE,
                    f"Too few free bed-spaces here for the {len(group)} people moving in together.",
                )
            )
        problems[u] = found
    return problems


def _partner_problems(
    ctx: RankingContext, r: int, group: list[int], units: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """For each of these units a partner of r cannot take, why, in the partner's rules."""
    problems: dict[int, list[tuple[str, str]]] = {}
    at = np.asarray(units, dtype=np.int64)
    for m in group:
        if m == r:
            continue
        shut = at[ctx.counts[m, at] == 0]
        if shut.size == 0:
            continue
        bed_counts = _bed_rule_counts(ctx, m)
        # Units alike in the partner's failed rules read alike: word each case once.
        worded, which = _exclusion_cases(
            ctx, ctx.unit_failures[m][shut], ctx.bed_count[shut], [c[shut] for c in bed_counts]
        )
        partner = ctx.tables.referrals.ids[m]
        sentences = [
            f"Moves in with {partner}, who cannot live here: " + " ".join(reasons)
            for reasons, _ in worded
        ]
        for u, case in zip(shut.tolist(), which.tolist(), strict=True):
            problems.setdefault(u, []).append((KEEP_TOGETHER_RULE, sentences[case]))
    return problems


def _complete_group(
    ctx: RankingContext, r: int, bed: int, group: list[int], team_r: bool = True
) -> Placement | None:
    """Bed-spaces (and teams) for every member of r's group in r's unit, r taking `bed`;
    None if no arrangement keeps every rule. A small backtracking search: groups are 2-3."""
    t = ctx.tables
    allowed = ctx.eligibility.allowed
    u = int(t.beds.unit[bed])
    unit_beds = ctx.unit_beds[u]
    visiting = bool(t.units.visiting[u])
    members = [r] + [m for m in group if m != r]
    # Python lists and numbers: the search below reads them one at a time.
    options = {m: unit_beds[allowed[m, unit_beds]].tolist() for m in members}
    options[r] = [bed]
    cluster_of = ctx.bed_cluster_list
    gender = _genders(ctx, members)
    team_options = (
        {m: _teams_that_may_serve(ctx, m, u).tolist() for m in members} if visiting else {}
    )

    chosen: Placement = []
    beds_used: set[int] = set()
    cluster_genders: dict[int, set[str]] = {}
    team_used: dict[int, int] = {}

    def place(k: int) -> bool:
        if k == len(members):
            return True
        m = members[k]
        for b in options[m]:
            if b in beds_used:
                continue
            c = cluster_of[b]
            here = cluster_genders.get(c, set())
            if gender[m] and ({"w", "m"} - {gender[m]}) & here:
                continue
            teams: list[int | None] = [None]
            if visiting:
                with_room = [
                    x for x in team_options[m] if int(t.teams.room[x]) - team_used.get(x, 0) > 0
                ]
                with_room.sort(key=lambda x: -(int(t.teams.room[x]) - team_used.get(x, 0)))
                teams = list(with_room)
            for team in teams:
                beds_used.add(b)
                cluster_genders.setdefault(c, set()).add(gender[m])
                if team is not None:
                    team_used[team] = team_used.get(team, 0) + 1
                chosen.append((m, b, team))
                if place(k + 1):
                    return True
                chosen.pop()
                if team is not None:
                    team_used[team] -= 1
                beds_used.discard(b)
                cluster_genders[c] = {gender[x] for x, y, _ in chosen if cluster_of[y] == c}
        return False

    return list(chosen) if place(0) else None


def _genders(ctx: RankingContext, people: list[int]) -> dict[int, str]:
    """ "w", "m" or "" (non-binary: no cluster rule) for each person."""
    refs = ctx.tables.referrals
    return {m: "w" if refs.is_woman[m] else "m" if refs.is_man[m] else "" for m in people}


def _moved(
    ctx: RankingContext, placement: Placement, bed: int, gender: dict[int, str]
) -> Placement | None:
    """The same arrangement with the first person on `bed` instead (a partner already there
    swapping to the first person's old bed-space), if every rule still holds: the unit-wide
    limits are unchanged, so only each person's own bed-space rules and the clusters'
    gender can differ."""
    cluster_of = ctx.bed_cluster_list
    allowed = ctx.eligibility.allowed
    first, old, team = placement[0]
    moved = [(first, bed, team)]
    for m, b, partner_team in placement[1:]:
        if b == bed:
            if not allowed[m, old]:
                return None
            b = old
        moved.append((m, b, partner_team))
    for i, (m, b, _) in enumerate(moved):
        for n, c, _ in moved[i + 1 :]:
            mixed = gender[m] and gender[n] and gender[m] != gender[n]
            if mixed and cluster_of[b] == cluster_of[c]:
                return None
    return moved


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- exclusions ------------------------------------------------------------------------


# Which bed-space rules each combination of failure bits holds: (combinations, rules).
_BED_RULES_IN = np.array(
    [
        [combination >> j & 1 for j in range(len(BEDSPACE_RULES))]
        for combination in range(1 << len(BEDSPACE_RULES))
    ],
    dtype=np.int64,
)


def _bed_rule_counts(ctx: RankingContext, r: int) -> np.ndarray:
    """Per bed-space rule, how many of each unit's bed-spaces it shuts to referral r:
    (rules, units)."""
    # Count each unit's bed-spaces per combination of failing rules in one pass, then add up
    # the combinations that hold each rule.
    combinations = len(_BED_RULES_IN)
    per_combination = np.bincount(
        ctx.bed_unit_code + ctx.bed_failures[r], minlength=len(ctx.tables.units) * combinations
    ).reshape(-1, combinations)
    return np.ascontiguousarray((per_combination @ _BED_RULES_IN).T)


def _unit_exclusion(
    ctx: RankingContext, unit_bits: int, bed_counts: Sequence[int], n_beds: int
) -> tuple[list[str], list[str]]:
    """(reasons, rule names) for one unit, from its failed-rule bits and bed-rule counts."""
    memo = ctx._excluded_memo
    unit_part = memo.get((unit_bits,))
    if unit_part is None:
        failed = [rule for i, rule in enumerate(UNIT_RULES) if unit_bits >> i & 1]
        unit_part = ([rule.reason for rule in failed], [rule.name for rule in failed])
        memo[(unit_bits,)] = unit_part
    reasons, rules = list(unit_part[0]), list(unit_part[1])
    if n_beds == 0:
        reasons.append(NO_BEDSPACES)
    for j, k in enumerate(bed_counts):
        if k == 0:
            continue
        key = (-1, j, k, n_beds)  # -1 keeps these keys apart from the unit-bit keys
        worded = memo.get(key)
        if worded is None:
            rule = BEDSPACE_RULES[j]
            every, some = BED_RULE_SUMMARIES.get(
                rule.name, (rule.reason, "{k} of {n} bed-spaces: " + rule.reason)
            )
            worded = ([every if k == n_beds else some.format(k=k, n=n_beds)], [rule.name])
            memo[key] = worded
        reasons += worded[0]
        rules += worded[1]
    return reasons, rules


# An exclusion case packed in one integer: failed unit-rule bits in the low 22 bits, then the
# unit's bed-spaces and each bed-space rule's failures in 10 bits each (62 bits in all).
_RULE_BITS, _COUNT_BITS = 22, 10
_FEW_UNITS = 32


def _exclusion_cases(
    ctx: RankingContext, unit_bits: np.ndarray, n_beds: np.ndarray, counts: list[np.ndarray]
) -> tuple[list[tuple[tuple[str, ...], tuple[str, ...]]], np.ndarray]:
    """The distinct exclusion cases among these units, worded once each, and which case each
    unit is. A case is (failed unit-rule bits, bed-spaces, failures per bed-space rule)."""
    if unit_bits.size <= _FEW_UNITS:
        # A few units (the ranked units of a summary): looking each up costs less than
        # finding the distinct ones. One case per unit, repeats and all.
        memo = ctx._excluded_memo_whole
        worded = []
        columns = [unit_bits.tolist(), n_beds.tolist(), *(c.tolist() for c in counts)]
        for key in zip(*columns, strict=True):
            case = memo.get(key)
            if case is None:
                case = memo[key] = _worded(ctx, key[0], key[1], key[2:])
            worded.append(case)
        return worded, np.arange(len(worded))

    packable = (
        len(BEDSPACE_RULES) == 3
        and (unit_bits < 1 << _RULE_BITS).all()
        and (n_beds < 1 << _COUNT_BITS).all()
    )
    if not packable:  # more rules or a unit of 1,024 bed-spaces or more: compare rows
        rows = np.stack([unit_bits.astype(np.int64), n_beds, *counts], axis=1)
        found, which = np.unique(rows, axis=0, return_inverse=True)
        keys = [tuple(int(v) for v in row) for row in found.tolist()]
        memo = ctx._excluded_memo_whole
        worded = []
        for key in keys:
            case = memo.get(key)
            if case is None:
                case = memo[key] = _worded(ctx, key[0], key[1], key[2:])
            worded.append(case)
        return worded, which.reshape(-1)

    code = unit_bits.astype(np.int64) | n_beds.astype(np.int64) << _RULE_BITS
    for j, c in enumerate(counts):
        code |= c.astype(np.int64) << (_RULE_BITS + _COUNT_BITS * (j + 1))
    cases, which = np.unique(code, return_inverse=True)
    by_code = ctx._excluded_memo_code
    worded = []
    mask = (1 << _COUNT_BITS) - 1
    for x in cases.tolist():
        case = by_code.get(x)
        if case is None:
            bed_counts = [x >> (_RULE_BITS + _COUNT_BITS * (j + 1)) & mask for j in range(3)]
            bits, beds = x & (1 << _RULE_BITS) - 1, x >> _RULE_BITS & mask
            case = by_code[x] = _worded(ctx, bits, beds, bed_counts)
        worded.append(case)
    return worded, which.reshape(-1)


def _worded(
    ctx: RankingContext, bits: int, n_beds: int, bed_counts: Sequence[int]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    reasons, rules = _unit_exclusion(ctx, bits, bed_counts, n_beds)
    return tuple(reasons), tuple(rules)


def _excluded_units(
    ctx: RankingContext,
    r: int,
    shut: np.ndarray,
    group_failures: dict[int, list[tuple[str, str]]],
    bed_counts: np.ndarray,
) -> list[ExcludedUnit]:
    worded, which = _exclusion_cases(
        ctx, ctx.unit_failures[r][shut], ctx.bed_count[shut], [c[shut] for c in bed_counts]
    )
    unit_ids, bed_ids = ctx.tables.units.ids, ctx.unit_bed_ids
    # Tuples, shared between results: nothing can change one result through another.
    excluded: list[ExcludedUnit] = [
        {
            "unit": unit_ids[u],
            "bedspaces": bed_ids[u],
            "reasons": worded[k][0],
            "rules": worded[k][1],
        }
        for u, k in zip(shut.tolist(), which.tolist(), strict=True)
    ]
    for entry, u in zip(excluded, shut.tolist(), strict=True) if group_failures else ():
        more = group_failures.get(u)
        if more:
            entry["reasons"] = entry["reasons"] + tuple(reason for _, reason in more)
            entry["rules"] = entry["rules"] + tuple(
                dict.fromkeys(rule for rule, _ in more if rule not in entry["rules"])
            )
    return excluded


def _most_first(counted: Counter[str]) -> dict[str, int]:
    """How many units each rule shuts, most first."""
    return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


_UNIT_RULE_NAMES = tuple(rule.name for rule in UNIT_RULES)
# Which bits each byte value has set: (256, 8).
_BYTE_BITS = np.array([[value >> j & 1 for j in range(8)] for value in range(256)], dtype=np.int64)


def _bit_counts(bits: np.ndarray, n_bits: int) -> np.ndarray:
    """How many of these unsigned words have each of their lowest `n_bits` bits set."""
    # A histogram of each byte's values, then the bits of each value: a few hundred words
    # hold only a dozen distinct values, so this beats shifting every word per bit.
    little_endian = bits.astype(bits.dtype.newbyteorder("<"), copy=False)
    as_bytes = little_endian.view(np.uint8).reshape(-1, bits.dtype.itemsize)
    per_byte = [
        np.bincount(as_bytes[:, k], minlength=256) @ _BYTE_BITS for k in range((n_bits + 7) // 8)
    ]
    return np.concatenate(per_byte)[:n_bits]


def _exclusion_counts(
    ctx: RankingContext,
    r: int,
    shut: np.ndarray,
    group_failures: dict[int, list[tuple[str, str]]],
    bed_counts: np.ndarray,
) -> dict[str, int]:
    """The rules of `_excluded_units(...)` counted (`_most_first`): each shut unit once under
    each rule that shuts it, counted over the failure bits without wording any unit."""
    bits = ctx.unit_failures[r][shut]
    counted = dict(zip(_UNIT_RULE_NAMES, _bit_counts(bits, len(UNIT_RULES)).tolist(), strict=True))
    failing_beds = [int(np.count_nonzero(c[shut])) for c in bed_counts]
    for rule, failing_here in zip(BEDSPACE_RULES, failing_beds, strict=True):
        counted[rule.name] = counted.get(rule.name, 0) + failing_here
    if group_failures:
        is_shut = np.zeros(len(ctx.tables.units), dtype=bool)
        is_shut[shut] = True
        failing = np.fromiter(group_failures, dtype=np.int64, count=len(group_failures))
        failing = failing[is_shut[failing]]
        # The units' own rules, as `_excluded_units` words them.
        worded, which = _exclusion_cases(
            ctx,
            ctx.unit_failures[r][failing],
            ctx.bed_count[failing],
            [c[failing] for c in bed_counts],
        )
        for u, case in zip(failing.tolist(), which.tolist(), strict=True):
            own = worded[case][1]
            for name in dict.fromkeys(name for name, _ in group_failures[u]):
                if name not in own:
                    counted[name] = counted.get(name, 0) + 1
    # Only the rules that shut some unit.
    return _most_first(Counter({name: n for name, n in counted.items() if n > 0}))


# --- cost to others --------------------------------------------------------------------


NOBODY_LOSES = CostToOthers(
    summary="Nobody of equal or higher priority loses their only or best option."
)


@dataclass(frozen=True)
class _UnitEffects:
    """What a placement in a unit costs others, apart from the bed-spaces themselves, for the
    few people it could matter to: the same for every bed-space of the unit."""

    cand: np.ndarray  # referral indices that might lose their only or best option
    unit_shut: np.ndarray  # loses every bed-space of the unit
    reserve_shut: np.ndarray  # loses every women-only bed-space (the reserve is reached)
    lost_elsewhere: np.ndarray  # eligible bed-spaces lost in other units (area, team)
    best_lost: np.ndarray  # loses the best unit whichever bed-space is taken
    counts_here: np.ndarray  # eligible bed-spaces in the unit
    best_here: np.ndarray  # the unit is their best


_NOBODY = np.empty(0, dtype=np.int64)
_NO_EFFECTS = _UnitEffects(
    cand=_NOBODY,
    unit_shut=_NOBODY.astype(bool),
    reserve_shut=_NOBODY.astype(bool),
    lost_elsewhere=_NOBODY,
    best_lost=_NOBODY.astype(bool),
    counts_here=_NOBODY,
    best_here=_NOBODY.astype(bool),
)


def _unit_effects(ctx: RankingContext, placement: Placement) -> _UnitEffects:
    t = ctx.tables
    refs, units, beds = t.referrals, t.units, t.beds
    newcomers = [m for m, _, _ in placement]
    u = int(beds.unit[placement[0][1]])
    priority = int(refs.priority[placement[0][0]])
    # Unless the placement reaches further (the reserve, a team's last case, or a DA victim's
    # or perpetrator's area), it takes from others only bed-spaces of this unit, and those
    # count only for people whose best unit it is: they alone can lose their best unit, and
    # losing only this unit's bed-spaces leaves anyone else their best unit's. (Someone whose
    # every option is here has it as their best unit.)
    takers = sum(1 for m in newcomers if not ctx.reserve_exempt[m])
    reaches_reserve = bool(units.women_only[u]) and takers > 0 and ctx.reserve_room - takers <= 0
    team_load: dict[int, int] = {}
    for _, _, team in placement:
        if team is not None:
            team_load[team] = team_load.get(team, 0) + 1
    last_cases = [team for team, load in team_load.items() if t.teams.room[team] - load <= 0]
    if reaches_reserve or last_cases or any(ctx.da_apart.get(m) for m in newcomers):
        cand = ctx.waiting_at_or_above(priority)
    else:
        cand = ctx.best_in_unit_at_or_above(u, priority)
    for m in newcomers:
        cand = cand[cand != m]
    if cand.size == 0:  # nobody else could lose anything
        return _NO_EFFECTS

    # The whole unit shut to some. (The newcomers are one to three: plain Python is quicker
    # than arrays for them.)
    risk_to_women = refs.flags[Flag.risk_to_women]
    hours = (
        float(refs.support_hours[newcomers[0]])
        if len(newcomers) == 1
        else float(refs.support_hours[newcomers].sum())
    )
    if hours > 0:
        left = float(units.support_hours_room[u]) - hours
        unit_shut = refs.support_hours[cand] > left + HOURS_TOLERANCE
    else:
        unit_shut = np.zeros(cand.size, dtype=bool)
    high = sum(1 for m in newcomers if refs.is_high_risk[m])
    if high and units.high_risk_room[u] - high <= 0:
        unit_shut |= refs.is_high_risk[cand]
    if any(risk_to_women[m] for m in newcomers):
        unit_shut |= refs.is_woman[cand]
    if any(refs.is_woman[m] for m in newcomers):
        unit_shut |= risk_to_women[cand]

    def position(o: int) -> int | None:
        found = np.flatnonzero(cand == o)  # `cand` is in priority order, not sorted
        return int(found[0]) if found.size else None

    for m in newcomers:
        for o in ctx.keep_apart.get(m, ()):
            k = position(o)
            if k is not None:
                unit_shut[k] = True

    # The last women-only bed-spaces outside the reserve.
    reserve_shut = ~ctx.reserve_exempt[cand] if reaches_reserve else np.zeros(cand.size, dtype=bool)

    # Other units shut: the area (DA kept apart) and a team's last free case.
    extra: dict[int, np.ndarray] = {}  # unit -> which candidates lose it
    area = int(units.area[u])
    for m in newcomers:
        for o in ctx.da_apart.get(m, ()):
            k = position(o)
            if k is not None:
                for v in ctx.units_in_area[area].tolist():
                    if v != u:
                        extra.setdefault(v, np.zeros(cand.size, dtype=bool))[k] = True
    for team in last_cases:
        team_area = int(t.teams.area[team])
        visiting_units = [
            int(v) for v in ctx.units_in_area.get(team_area, ()) if units.visiting[v] and v != u
        ]
        if not visiting_units:
            continue
        room_after = t.teams.room.copy()
        for other, used in team_load.items():
            room_after[other] -= used
        in_area = ctx.teams_in_area[team_area]
        serving = in_area[room_after[in_area] > 0]
        after = np.array(
            [
                serving.size > 0,
                t.teams.has_female_worker[serving].any(),
                t.teams.intensive[serving].any(),
                (t.teams.intensive[serving] & t.teams.has_female_worker[serving]).any(),
            ]
        )
        for v in visiting_units:
            flipped = t.team_available[v] & ~after
            if not flipped.any():
                continue
            column = 2 * (refs.pathway_housing_first[cand] | units.pathway_housing_first[v])
            column = column + refs.wants_female_worker[cand]
            loses = flipped[column]
            if loses.any():
                mask = extra.setdefault(v, np.zeros(cand.size, dtype=bool))
                mask |= loses

    counts_here = ctx.counts_by_unit[u][cand]
    best = ctx.best_unit[cand]
    best_here = best == u
    best_lost = (best_here & unit_shut) | (reserve_shut & units.women_only[best])
    lost_elsewhere = np.zeros(cand.size, dtype=np.int64)
    for v, mask in extra.items():
        counted = mask & ~(reserve_shut & units.women_only[v])
        lost_elsewhere += np.where(counted, ctx.counts_by_unit[v][cand], 0)
        best_lost |= mask & (best == v)

    # Keep only those a bed-space could matter to: the bed-spaces taken and the rest of their
    # clusters are at most `reach` of their options.
    reach = counts_here
    if len(placement) == 1:  # one bed-space and the rest of its cluster
        reach = np.minimum(counts_here, int(ctx.cluster_size[beds.cluster[placement[0][1]]]))
    keep = (
        unit_shut
        | reserve_shut
        | best_lost
        | (ctx.eligible_total[cand] <= lost_elsewhere + reach)
        | (best_here & (counts_here <= reach))
    )
    return _UnitEffects(
        cand=cand[keep],
        unit_shut=unit_shut[keep],
        reserve_shut=reserve_shut[keep],
        lost_elsewhere=lost_elsewhere[keep],
        best_lost=best_lost[keep],
        counts_here=counts_here[keep],
        best_here=best_here[keep],
    )


def cost_to_others(
    ctx: RankingContext, placement: Placement, effects: _UnitEffects | None = None
) -> CostToOthers:
    """Who of equal or higher priority, still waiting, would lose their only eligible
    bed-space or every bed-space in their best-scoring unit if this placement were made.

    Counts what the placement uses up for others: the bed-spaces themselves, a cluster's
    gender once a man or woman moves in, the unit's last high-risk place or support hours,
    the unit for people kept apart from the newcomers or posing/at risk to women, the area for
    DA victims and perpetrators kept apart, the last women-only bed-spaces outside the
    reserve, and a support team's last free case.
    """
    refs = ctx.tables.referrals
    e = effects if effects is not None else _unit_effects(ctx, placement)
    cand = e.cand
    if cand.size == 0:
        return NOBODY_LOSES
    taken = [b for _, b, _ in placement]
    by_bed, cluster_of = ctx.allowed_by_bed, ctx.bed_cluster_list

    # Bed-spaces taken, and the rest of a cluster shut to the other gender.
    if len(taken) == 1:
        partial = by_bed[taken[0], cand].astype(np.int64)
    else:
        partial = by_bed[np.array(taken)[:, None], cand].sum(axis=0, dtype=np.int64)
    for cluster in {cluster_of[b] for b in taken}:
        in_cluster = [m for m, b, _ in placement if cluster_of[b] == cluster]
        man_moves_in = any(refs.is_man[m] for m in in_cluster)
        woman_moves_in = any(refs.is_woman[m] for m in in_cluster)
        if not (man_moves_in or woman_moves_in):
            continue
        rest = ctx.cluster_beds[cluster]
        for b in taken:
            rest = rest[rest != b]
        if rest.size == 0:
            continue
        if man_moves_in and woman_moves_in:
            shut = refs.is_woman[cand] | refs.is_man[cand]
        else:
            shut = refs.is_woman[cand] if man_moves_in else refs.is_man[cand]
        if shut.any():
            partial += np.where(shut, by_bed[rest[:, None], cand].sum(axis=0), 0)

    lost = np.where(e.unit_shut, e.counts_here, partial)
    lost = np.where(e.reserve_shut, ctx.eligible_women_only[cand], lost) + e.lost_elsewhere
    only = lost >= ctx.eligible_total[cand]
    best_only = (e.best_lost | (e.best_here & (partial >= e.counts_here))) & ~only
    losing_only, losing_best = cand[only], cand[best_only]
    n_only, n_best = losing_only.size, losing_best.size
    if not (n_only or n_best):
        return NOBODY_LOSES

    losers = np.concatenate((losing_only, losing_best))
    rows = sorted(
        zip(
            [False] * n_only + [True] * n_best,  # "only" first
            (-refs.priority[losers]).tolist(),
            [refs.ids[o] for o in losers.tolist()],
            ctx.eligible_total[losers].tolist(),
            strict=True,
        )
    )
    affected = tuple(
        AffectedReferral(
            referral=referral,
            priority=-negative_priority,
            eligible_bedspaces=eligible,
            loses="best" if best else "only",
        )
        for best, negative_priority, referral, eligible in rows
    )
    parts = []
    if n_only:
        parts.append(f"{n_only} would lose their only eligible option")
    if n_best:
        parts.append(f"{n_best} would lose their best unit")
    summary = "Of those waiting at equal or higher priority, " + " and ".join(parts) + "."
    return CostToOthers(affected=affected, summary=summary)


# --- ranking ---------------------------------------------------------------------------


def _cost_once(
    ctx: RankingContext,
    placement: Placement,
    costs: dict[tuple[int, ...], CostToOthers],
    effects: dict[tuple[int, ...], _UnitEffects],
) -> CostToOthers:
    """The cost of a placement, worked out once per rank call for placements alike."""
    unit_of, case_of = ctx.bed_unit_list, ctx.bed_cost_case
    unit_key = tuple(
        x for m, b, team in placement for x in (m, unit_of[b], -1 if team is None else team)
    )
    key = unit_key + tuple(x for _, b, _ in placement for x in case_of[b])
    if key not in costs:
        if unit_key not in effects:
            effects[unit_key] = _unit_effects(ctx, placement)
        costs[key] = cost_to_others(ctx, placement, effects[unit_key])
    return costs[key]


def _behind_top(unit_terms: list[dict[str, int]]) -> list[str]:
    """Why each unit ranks below the first: its points behind, and the terms that differ.
    `unit_terms` holds each unit's points per term (`Scores.pair_terms`), the top unit's
    first. A few units at most (those of the placements shown): plain Python is quickest."""
    if not unit_terms:
        return []
    top = unit_terms[0]
    labels = {name: name.replace("_", " ") for name in top}
    out = [""]
    for terms in unit_terms[1:]:
        gaps = [(name, top[name] - terms[name]) for name in top]
        behind = sum(gap for _, gap in gaps)
        if behind == 0:
            out.append("scores the same as the top unit")
            continue
        # The three widest gaps, ties in term order (a stable sort).
        widest = sorted(gaps, key=lambda item: -item[1])[:3]
        words = ", ".join(f"{labels[name]} (-{gap})" for name, gap in widest if gap > 0)
        text = f"{behind} points below the top unit"
        out.append(f"{text}, mostly on {words}" if words else text)
    return out


def _placements(
    ctx: RankingContext, r: int
) -> tuple[np.ndarray, dict[int, Placement] | None, dict[int, list[tuple[str, str]]]]:
    """The bed-spaces r may take as the checker would accept; for a group, each with the
    whole group's arrangement, and why units r alone could take cannot take the group."""
    t = ctx.tables
    beds = np.flatnonzero(ctx.eligibility.allowed[r])
    group = ctx.groups.get(r)
    if group is None:
        return beds, None, {}

    completions: dict[int, Placement] = {}
    # r's bed-spaces unit by unit, each unit's in ascending order.
    by_unit = beds[np.argsort(t.beds.unit[beds], kind="stable")]
    unit_of = t.beds.unit[by_unit]
    firsts = np.flatnonzero(np.concatenate(([beds.size > 0], unit_of[1:] != unit_of[:-1])))
    units_open = unit_of[firsts].tolist()
    bounds = [*firsts.tolist(), beds.size]
    failures = _partner_problems(ctx, r, group, units_open)
    for u, more in _group_problems(ctx, group, units_open).items():
        failures.setdefault(u, []).extend(more)
    gender = _genders(ctx, group)
    for u, start, stop in zip(units_open, bounds, bounds[1:], strict=False):
        if u in failures:
            continue
        found: Placement | None = None
        for b in by_unit[start:stop].tolist():
            # The partners' arrangement found for another of r's bed-spaces here usually
            # holds for this one too; search afresh only when it does not.
            completion = _moved(ctx, found, b, gender) if found is not None else None
            if completion is None:
                completion = _complete_group(ctx, r, b, group)
            if completion is not None:
                completions[b] = found = completion
        if found is None:
            failures[u] = [
                (
                    KEEP_TOGETHER_RULE,
                    "No arrangement of bed-spaces and support teams here fits everyone moving "
                    "in together (a shared kitchen would hold men and women, or team "
                    "caseloads are full).",
                )
            ]
    return np.array(sorted(completions), dtype=np.int64), completions, failures


def rank(
    ctx: RankingContext,
    referral_id: str,
    top: int | None = None,
    cost_top: int = DEFAULT_COST_TOP,
    detail: Literal["full", "summary"] = "full",
) -> RankResult:
    """Every safe placement of one referral, best first, and every excluded unit with all
    its reasons. `top` keeps the first `top` placements (all when None); the first
    `min(top, cost_top)` get what they would cost the others waiting.

    `detail="summary"` is the answer for a screen: the unit list keeps the units of the
    placements shown, and the excluded units are counted, in all and per rule, instead of
    listed one by one with their bed-spaces (hundreds of entries on a city's portfolio)."""
    if top is not None and top < 1:
        raise ProblemInvalid([Issue(("top",), f"must be 1 or more, got {top}")])
    r = ctx.referral_index(referral_id)
    t = ctx.tables
    refs, units = t.referrals, t.units
    placed_beds, completions, group_failures = _placements(ctx, r)

    placed_units = t.beds.unit[placed_beds]
    unit_scores = ctx.total[r, placed_units]
    # By score, then unit, then bed-space: `placed_beds` ascend and lexsort is stable.
    order = np.lexsort((placed_units, -unit_scores))
    sorted_beds, sorted_units = placed_beds[order], placed_units[order]
    sorted_scores = unit_scores[order]
    descending = -sorted_scores
    shown = len(order) if top is None else min(top, len(order))
    # A placement's rank is 1 + the number of placements scoring strictly more.
    shown_ranks = (np.searchsorted(descending, descending[:shown], side="left") + 1).tolist()

    batch = ctx.batch_bed.get(referral_id) if ctx.batch_bed is not None else None
    batch_unit = int(t.beds.unit[t.beds.index[batch]]) if batch is not None else None

    per_unit: dict[int, tuple[dict[str, int], list[str], int | None]] = {}
    # A bed-space's column of `allowed` depends only on its unit, cluster and accessibility,
    # so bed-spaces alike in those cost the others alike: work each case out once.
    costs: dict[tuple[int, ...], CostToOthers] = {}
    effects: dict[tuple[int, ...], _UnitEffects] = {}
    ranked = []
    bed_ids, team_ids = t.beds.ids, t.teams.ids
    for position, (bed, u, points) in enumerate(
        zip(
            sorted_beds[:shown].tolist(),
            sorted_units[:shown].tolist(),
            sorted_scores[:shown].tolist(),
            strict=True,
        )
    ):
        if u not in per_unit:
            terms = ctx.scores.pair_terms(r, u)
            sentences = ctx.explainer.sentences(r, u)
            by_points = sorted(terms, key=lambda name: -terms[name])
            team = _choose_team(ctx, r, u, {}) if units.visiting[u] else None
            reasons = [sentences[name] for name in by_points if name in sentences]
            per_unit[u] = (terms, reasons, team)
        terms, reasons, team = per_unit[u]
        placement = completions[bed] if completions is not None else [(r, bed, team)]
        team = placement[0][2]
        # Validating costs less than `model_construct` here, and copies `terms` and `reasons`.
        ranked.append(
            RankedPlacement(
                rank=shown_ranks[position],
                bedspace=bed_ids[bed],
                unit=units.ids[u],
                unit_name=ctx.problem.units[u].name,
                support_team=team_ids[team] if team is not None else None,
                score=points,
                terms=terms,
                reasons=reasons,
                partners=[
                    PartnerPlacement(
                        referral=refs.ids[m],
                        bedspace=bed_ids[b],
                        support_team=team_ids[tm] if tm is not None else None,
                    )
                    for m, b, tm in placement[1:]
                ],
                cost_to_others=(
                    _cost_once(ctx, placement, costs, effects) if position < cost_top else None
                ),
                batch_places_elsewhere=(
                    None if ctx.batch_bed is None else batch_unit is not None and batch_unit != u
                ),
            )
        )

    # Group by unit: placements are sorted by score then unit, so a unit's run is contiguous.
    first_of_unit = np.flatnonzero(
        np.concatenate(([len(order) > 0], sorted_units[1:] != sorted_units[:-1]))
    )
    starts = first_of_unit.tolist()
    unit_order = sorted_units[first_of_unit].tolist()
    explained = len(set(sorted_units[:shown].tolist()))  # the units of the shown placements
    behind = _behind_top([per_unit[u][0] for u in unit_order[:explained]])
    behind += [""] * (len(unit_order) - explained)
    top_score = int(sorted_scores[0]) if len(order) else 0
    bounds = [*starts, len(order)]
    bed_counts = _bed_rule_counts(ctx, r)
    # A summary lists the units of the placements shown, which lead `unit_order`.
    listed = unit_order[:explained] if detail == "summary" else unit_order
    sorted_ids = ctx.bed_id_array[sorted_beds[: bounds[len(listed)]]].tolist()
    at = np.asarray(listed, dtype=np.int64)
    # Why a ranked unit's other bed-spaces are not offered: worded like an exclusion case
    # with no unit rule failing.
    others, which = _exclusion_cases(
        ctx, np.zeros(at.size, dtype=np.int64), ctx.bed_count[at], [c[at] for c in bed_counts]
    )
    unit_scores_sorted = descending[first_of_unit]
    rank_at = (np.searchsorted(descending, unit_scores_sorted, side="left") + 1).tolist()
    score_at = (-unit_scores_sorted).tolist()
    summaries: list[UnitSummary] = [
        {
            "rank": rank_at[k],
            "unit": units.ids[u],
            "unit_name": ctx.unit_names[u],
            "score": score_at[k],
            "bedspaces": sorted_ids[start:stop],
            "points_behind": top_score - score_at[k],
            "behind_top": behind[k],
            "other_bedspaces": others[case][0],
            "other_bedspace_rules": others[case][1],
        }
        for k, (u, start, stop, case) in enumerate(
            zip(listed, bounds, bounds[1:], which.tolist(), strict=False)
        )
    ]

    notes = []
    emergency = bool(ctx.reserve_exempt[r])
    if emergency:
        notes.append(
            "Priority-5 domestic abuse referral: answered at once, without a batch run; "
            "women-only bed-spaces held in reserve are open to this person."
        )
    group = ctx.groups.get(r, [r])
    partners = [refs.ids[m] for m in group if m != r]
    if partners:
        notes.append(
            f"Moves in with {_join(partners)}: only units where everyone fits together are "
            "listed, each with the partners' bed-spaces."
        )
    if ctx.batch_bed is not None:
        notes.append(
            f"The batch solution places this referral in {batch}."
            if batch is not None
            else "The batch solution leaves this referral unplaced."
        )

    open_units = np.zeros(len(units), dtype=bool)
    open_units[placed_units] = True
    shut = np.flatnonzero(~open_units)
    excluded: list[ExcludedUnit] = []
    if detail == "full":
        excluded = _excluded_units(ctx, r, shut, group_failures, bed_counts)
        by_rule = _most_first(Counter(rule for unit in excluded for rule in unit["rules"]))
    else:
        by_rule = _exclusion_counts(ctx, r, shut, group_failures, bed_counts)
    # Built here from checked parts, so the whole is not validated a second time.
    return RankResult.model_construct(
        referral=referral_id,
        priority=int(refs.priority[r]),
        emergency_da=emergency,
        partners=partners,
        eligible_bedspaces=len(order),
        eligible_units=len(unit_order),
        ranked=ranked,
        units=summaries,
        excluded=excluded,
        batch_placement=batch,
        notes=notes,
        detail=detail,
        excluded_units=len(shut),
        excluded_by_rule=by_rule,
    )


# --- override --------------------------------------------------------------------------


def override(
    ctx: RankingContext,
    referral_id: str,
    bedspace_id: str,
    reason: str,
    support_team: str | None = None,
) -> OverrideDecision:
    """Choose any eligible placement, not only the top one, keeping the coordinator's reason.

    Raises `PlacementRefused` with every broken rule's reason for a placement a hard rule
    forbids, whatever the reason given; `ProblemInvalid` for an empty reason or unknown ids.
    """
    r = ctx.referral_index(referral_id)
    t = ctx.tables
    issues = []
    if not reason.strip():
        issues.append(Issue(("reason",), "a reason is required to override the ranking"))
    b = t.beds.index.get(bedspace_id)
    if b is None:
        issues.append(Issue(("bedspace",), f"unknown bed-space id {bedspace_id!r}"))
    team = t.teams.index.get(support_team) if support_team is not None else None
    if support_team is not None and team is None:
        issues.append(Issue(("support_team",), f"unknown support team id {support_team!r}"))
    if issues or b is None:
        raise ProblemInvalid(issues)

    if not ctx.eligibility.allowed[r, b]:
        failed = ctx.eligibility.rules_failed(r, b)
        raise PlacementRefused(
            referral_id, bedspace_id, [rule.name for rule in failed], [x.reason for x in failed]
        )
    u = int(t.beds.unit[b])
    group = ctx.groups.get(r)
    placement: Placement | None
    if group is not None:
        problems = _partner_problems(ctx, r, group, [u]).get(u, [])
        problems += _group_problems(ctx, group, [u]).get(u, [])
        placement = None if problems else _complete_group(ctx, r, b, group)
        if placement is None:
            problems = problems or [
                (KEEP_TOGETHER_RULE, "No arrangement here fits everyone moving in together.")
            ]
            raise PlacementRefused(
                referral_id, bedspace_id, [p[0] for p in problems], [p[1] for p in problems]
            )
    else:
        placement = [(r, b, _choose_team(ctx, r, u, {}) if t.units.visiting[u] else None)]

    if team is not None:
        if team not in _teams_that_may_serve(ctx, r, u).tolist():
            raise PlacementRefused(
                referral_id,
                bedspace_id,
                ["support_team_fits"],
                [
                    f"Team {support_team} cannot serve this person here: it must work in the "
                    "unit's area, be intensive for Housing First, and have a female worker "
                    "where one is wanted."
                ],
            )
        load = 1 + sum(1 for m, _, tm in placement[1:] if tm == team)
        if t.teams.room[team] < load:
            raise PlacementRefused(
                referral_id,
                bedspace_id,
                ["team_caseload_within_capacity"],
                [f"Team {support_team} has no room left in its caseload."],
            )
        placement[0] = (r, b, team)

    scores = ctx.total[r]
    ranking = rank(ctx, referral_id, cost_top=0)
    top = ranking.ranked[0]
    my_score = int(scores[u])
    chosen_team = placement[0][2]
    partners = [
        PartnerPlacement(
            referral=t.referrals.ids[m],
            bedspace=t.beds.ids[pb],
            support_team=t.teams.ids[tm] if tm is not None else None,
        )
        for m, pb, tm in placement[1:]
    ]
    return OverrideDecision(
        referral=referral_id,
        bedspace=bedspace_id,
        unit=t.units.ids[u],
        support_team=t.teams.ids[chosen_team] if chosen_team is not None else None,
        score=my_score,
        terms=ctx.scores.pair_terms(r, u),
        rank=1 + sum(1 for p in ranking.ranked if p.score > my_score),
        top_score=top.score,
        top_bedspace=top.bedspace,
        reason=reason.strip(),
        partners=partners,
        cost_to_others=cost_to_others(ctx, placement),
        assignments=[
            Assignment(
                referral=t.referrals.ids[m],
                bedspace=t.beds.ids[pb],
                support_team=t.teams.ids[tm] if tm is not None else None,
                score=float(ctx.total[m, u]),
                terms={k: float(v) for k, v in ctx.scores.pair_terms(m, u).items()},
            )
            for m, pb, tm in placement
        ],
    )
