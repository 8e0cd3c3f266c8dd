"""The ranking context: everything a ranking reads, computed once per problem.

`RankingContext.build(problem)` does the heavy work once (column tables, the eligibility
masks with reasons, the soft-term points, and per-referral summaries: eligible bed-spaces per
unit and each person's best unit), so that `rank` answers from arrays in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from constraints import BEDSPACE_RULES
from constraints.coupling import coupling
from constraints.eligibility import Eligibility, eligibility
from constraints.scores import Scores, score
from constraints.tables import Tables, build_tables
from matcher.errors import ReferralNotFound
from matcher.explain import TermExplainer
from matcher.model import Problem, Solution
from matcher.patched import Matrix, RowsMatrix

MAX_PRIORITY = 5  # `Referral.priority` is 1 to 5


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
    # Each bed-space's unit times the combinations of bed-space rule failures (`bed_rule_counts`).
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
    # as a tuple or packed in one integer (see `exclusion_cases`).
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
