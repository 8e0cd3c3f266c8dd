"""Column arrays of a `Problem`, so rules are numpy expressions over whole populations.

A rule between a referral and a place is evaluated once per (referral, unit) on unit columns,
or per (referral, bed-space) on bed-space columns, and broadcast; never pair by pair in Python.
Residents enter as aggregates per unit and per cluster (how many women, how many high-risk
people, how many support hours), since those are what the rules compare against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from matcher.model import (
    Flag,
    Gender,
    GenderPolicy,
    Pathway,
    Problem,
    Staffing,
    TeamKind,
    UnitKind,
)

Bool = np.ndarray  # dtype bool
Ints = np.ndarray
Floats = np.ndarray


def _codes(values: list, enum_order: list) -> Ints:
    lookup = {value: code for code, value in enumerate(enum_order)}
    return np.fromiter((lookup[v] for v in values), dtype=np.int8, count=len(values))


@dataclass(frozen=True)
class ReferralColumns:
    ids: list[str]
    index: dict[str, int]
    age: Ints
    is_woman: Bool
    is_man: Bool
    is_non_binary: Bool
    needs_women_only: Bool
    wants_female_worker: Bool
    household_size: Ints
    risk: Ints  # 0 low .. 3 very high
    is_high_risk: Bool
    flags: dict[Flag, Bool]
    support_hours: Floats
    needs_24_7: Bool
    needs_accessible: Bool
    pathway: Ints  # codes in PATHWAYS order
    pathway_housing_first: Bool
    priority: Ints
    waiting_days: Ints
    excluded_area: Bool  # (R, A)
    preferred_area: Bool  # (R, A)
    may_take_bed: Bool  # did not ask for support only

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def mappa_2_or_3(self) -> Bool:
        return self.flags[Flag.mappa_2] | self.flags[Flag.mappa_3]


@dataclass(frozen=True)
class UnitColumns:
    ids: list[str]
    index: dict[str, int]
    area: Ints
    kind: Ints  # codes in UNIT_KINDS order
    women_only: Bool
    men_only: Bool
    self_contained: Bool
    min_age: Ints
    max_age: Ints
    under_18_approved: Bool
    staffed_24_7: Bool
    visiting: Bool
    mappa_approved: Bool
    max_risk: Ints
    pathway: Ints  # codes in PATHWAYS order
    pathway_housing_first: Bool
    # Residents present on `as_of`, aggregated per unit.
    women_residents: Ints
    risk_to_women_residents: Ints
    high_risk_room: Ints  # newcomers of high or very high risk the unit may still take
    support_hours_room: Floats  # support hours newcomers may still bring
    high_need_share: Floats  # share of the unit's present residents who are high-need
    free_beds: Ints
    free_women_only_beds: Ints
    support_only_for: Ints  # the referral a place standing for a home is for; -1 for a unit

    def __len__(self) -> int:
        return len(self.ids)

    def is_kind(self, kind: UnitKind) -> Bool:
        return self.kind == UNIT_KINDS.index(kind)


@dataclass(frozen=True)
class BedColumns:
    ids: list[str]
    index: dict[str, int]
    unit: Ints
    cluster: Ints
    accessible: Bool
    free: Bool  # nobody stays in it and it is available on `as_of`

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class ClusterColumns:
    keys: list[tuple[str, str]]  # (unit id, cluster name)
    unit: Ints
    women_residents: Ints
    men_residents: Ints

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True)
class TeamColumns:
    ids: list[str]
    index: dict[str, int]
    area: Ints
    intensive: Bool
    has_female_worker: Bool
    room: Ints  # caseload capacity minus current caseload

    def __len__(self) -> int:
        return len(self.ids)


UNIT_KINDS = list(UnitKind)
PATHWAYS = list(Pathway)
# Residents or referrals needing this many support hours a week or more count as high-need.
HIGH_NEED_HOURS = 6.0


def is_high_need(high_risk: bool, needs_24_7: bool, support_hours: float) -> bool:
    return high_risk or needs_24_7 or support_hours >= HIGH_NEED_HOURS


@dataclass(frozen=True)
class Tables:
    """Every column the rules and the backends read, built once per problem."""

    problem: Problem
    referrals: ReferralColumns
    units: UnitColumns
    beds: BedColumns
    clusters: ClusterColumns
    teams: TeamColumns
    area_index: dict[str, int]
    resident_unit: dict[str, int] = field(default_factory=dict)  # present residents only
    resident_area: dict[str, int] = field(default_factory=dict)

    @cached_property
    def team_available(self) -> Bool:
        """(U, 4) whether a team with room serves the unit: [any, female, intensive, both]."""
        return _team_availability(self)


def build_tables(problem: Problem) -> Tables:
    """Turn a validated problem into the column arrays the rules read."""
    area_index = {a.id: i for i, a in enumerate(problem.areas)}
    n_areas = len(area_index)

    unit_index = {u.id: i for i, u in enumerate(problem.units)}
    bed_index = {b.id: i for i, b in enumerate(problem.bedspaces)}
    bed_unit = np.fromiter(
        (unit_index[b.unit] for b in problem.bedspaces), dtype=np.int64, count=len(bed_index)
    )

    cluster_of: dict[tuple[str, str], int] = {}
    bed_cluster = np.empty(len(bed_index), dtype=np.int64)
    for i, bed in enumerate(problem.bedspaces):
        # A bed-space with no cluster shares facilities with nobody.
        key = (bed.unit, bed.cluster or f"#{bed.id}")
        bed_cluster[i] = cluster_of.setdefault(key, len(cluster_of))
    n_units, n_clusters = len(unit_index), len(cluster_of)

    occupied = np.zeros(len(bed_index), dtype=bool)
    women_residents = np.zeros(n_units, dtype=np.int64)
    rtw_residents = np.zeros(n_units, dtype=np.int64)
    high_risk_residents = np.zeros(n_units, dtype=np.int64)
    resident_hours = np.zeros(n_units, dtype=np.float64)
    present_residents = np.zeros(n_units, dtype=np.int64)
    high_need_residents = np.zeros(n_units, dtype=np.int64)
    cluster_women = np.zeros(n_clusters, dtype=np.int64)
    cluster_men = np.zeros(n_clusters, dtype=np.int64)
    resident_unit: dict[str, int] = {}
    resident_area: dict[str, int] = {}
    for resident in problem.residents:
        if not problem.resident_is_present(resident):
            continue
        b = bed_index[resident.bedspace]
        u = int(bed_unit[b])
        occupied[b] = True
        resident_unit[resident.id] = u
        resident_area[resident.id] = area_index[problem.units[u].area]
        women_residents[u] += resident.gender is Gender.woman
        rtw_residents[u] += Flag.risk_to_women in resident.flags
        high_risk_residents[u] += resident.risk.is_high
        resident_hours[u] += resident.support_hours
        present_residents[u] += 1
        high_need_residents[u] += is_high_need(resident.risk.is_high, False, resident.support_hours)
        cluster_women[bed_cluster[b]] += resident.gender is Gender.woman
        cluster_men[bed_cluster[b]] += resident.gender is Gender.man

    available = np.array(
        [b.available_from is None or b.available_from <= problem.as_of for b in problem.bedspaces],
        dtype=bool,
    )
    free = available & ~occupied

    units = problem.units
    referral_index = {r.id: i for i, r in enumerate(problem.referrals)}
    women_only = np.array([u.gender_policy is GenderPolicy.women_only for u in units], dtype=bool)
    free_beds = np.bincount(bed_unit[free], minlength=n_units)
    unit_columns = UnitColumns(
        ids=[u.id for u in units],
        index=unit_index,
        area=np.array([area_index[u.area] for u in units], dtype=np.int64),
        kind=_codes([u.kind for u in units], UNIT_KINDS),
        women_only=women_only,
        men_only=np.array([u.gender_policy is GenderPolicy.men_only for u in units], dtype=bool),
        self_contained=np.array([u.self_contained for u in units], dtype=bool),
        min_age=np.array([u.min_age for u in units], dtype=np.int64),
        max_age=np.array([u.max_age for u in units], dtype=np.int64),
        under_18_approved=np.array([u.under_18_approved for u in units], dtype=bool),
        staffed_24_7=np.array([u.staffing is Staffing.staffed_24_7 for u in units], dtype=bool),
        visiting=np.array([u.staffing is Staffing.visiting for u in units], dtype=bool),
        mappa_approved=np.array([u.mappa_approved for u in units], dtype=bool),
        max_risk=np.array([u.max_risk.level for u in units], dtype=np.int64),
        pathway=_codes([u.pathway for u in units], PATHWAYS),
        pathway_housing_first=np.array(
            [u.pathway is Pathway.housing_first for u in units], dtype=bool
        ),
        women_residents=women_residents,
        risk_to_women_residents=rtw_residents,
        high_risk_room=np.maximum(
            np.array([u.max_high_risk_residents for u in units], dtype=np.int64)
            - high_risk_residents,
            0,
        ),
        support_hours_room=np.maximum(
            np.array([u.support_hours_capacity for u in units], dtype=np.float64) - resident_hours,
            0.0,
        ),
        high_need_share=high_need_residents / np.maximum(present_residents, 1),
        free_beds=free_beds,
        free_women_only_beds=np.where(women_only, free_beds, 0),
        support_only_for=np.array(
            [referral_index.get(problem.home_places.get(u.id, ""), -1) for u in units],
            dtype=np.int64,
        ),
    )

    bed_columns = BedColumns(
        ids=[b.id for b in problem.bedspaces],
        index=bed_index,
        unit=bed_unit,
        cluster=bed_cluster,
        accessible=np.array([b.accessible for b in problem.bedspaces], dtype=bool),
        free=free,
    )
    cluster_unit = np.zeros(n_clusters, dtype=np.int64)
    for (unit_id, _), c in cluster_of.items():
        cluster_unit[c] = unit_index[unit_id]
    cluster_columns = ClusterColumns(
        keys=list(cluster_of),
        unit=cluster_unit,
        women_residents=cluster_women,
        men_residents=cluster_men,
    )

    teams = problem.support_teams
    team_columns = TeamColumns(
        ids=[t.id for t in teams],
        index={t.id: i for i, t in enumerate(teams)},
        area=np.array([area_index[t.area] for t in teams], dtype=np.int64),
        intensive=np.array([t.kind is TeamKind.intensive for t in teams], dtype=bool),
        has_female_worker=np.array([t.female_workers > 0 for t in teams], dtype=bool),
        room=np.array([t.caseload_capacity - t.current_caseload for t in teams], dtype=np.int64),
    )

    refs = problem.referrals
    n_refs = len(refs)
    excluded_area = np.zeros((n_refs, n_areas), dtype=bool)
    preferred_area = np.zeros((n_refs, n_areas), dtype=bool)
    for i, r in enumerate(refs):
        excluded_area[i, [area_index[a] for a in r.excluded_areas]] = True
        preferred_area[i, [area_index[a] for a in r.preferred_areas]] = True
    gender = [r.gender for r in refs]
    referral_columns = ReferralColumns(
        ids=[r.id for r in refs],
        index={r.id: i for i, r in enumerate(refs)},
        age=np.array([r.age for r in refs], dtype=np.int64),
        is_woman=np.array([g is Gender.woman for g in gender], dtype=bool),
        is_man=np.array([g is Gender.man for g in gender], dtype=bool),
        is_non_binary=np.array([g is Gender.non_binary for g in gender], dtype=bool),
        needs_women_only=np.array([r.needs_women_only for r in refs], dtype=bool),
        wants_female_worker=np.array([r.wants_female_worker for r in refs], dtype=bool),
        household_size=np.array([r.household_size for r in refs], dtype=np.int64),
        risk=np.array([r.risk.level for r in refs], dtype=np.int64),
        is_high_risk=np.array([r.risk.is_high for r in refs], dtype=bool),
        flags={flag: np.array([flag in r.flags for r in refs], dtype=bool) for flag in Flag},
        support_hours=np.array([r.support_hours for r in refs], dtype=np.float64),
        needs_24_7=np.array([r.needs_24_7 for r in refs], dtype=bool),
        needs_accessible=np.array([r.needs_accessible for r in refs], dtype=bool),
        pathway=_codes([r.pathway for r in refs], PATHWAYS),
        pathway_housing_first=np.array(
            [r.pathway is Pathway.housing_first for r in refs], dtype=bool
        ),
        priority=np.array([r.priority for r in refs], dtype=np.int64),
        waiting_days=np.array([(problem.as_of - r.referred).days for r in refs], dtype=np.int64),
        excluded_area=excluded_area,
        preferred_area=preferred_area,
        may_take_bed=np.array([r.may_take_bed for r in refs], dtype=bool),
    )
    return Tables(
        problem=problem,
        referrals=referral_columns,
        units=unit_columns,
        beds=bed_columns,
        clusters=cluster_columns,
        teams=team_columns,
        area_index=area_index,
        resident_unit=resident_unit,
        resident_area=resident_area,
    )


def _team_availability(tables: Tables) -> Bool:
    units, teams = tables.units, tables.teams
    out = np.zeros((len(units), 4), dtype=bool)
    if len(teams) == 0 or len(units) == 0:
        return out
    serves = (teams.area[None, :] == units.area[:, None]) & (teams.room > 0)[None, :]
    out[:, 0] = serves.any(axis=1)
    out[:, 1] = (serves & teams.has_female_worker[None, :]).any(axis=1)
    out[:, 2] = (serves & teams.intensive[None, :]).any(axis=1)
    out[:, 3] = (serves & teams.intensive[None, :] & teams.has_female_worker[None, :]).any(axis=1)
    return out
