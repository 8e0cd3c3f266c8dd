"""The vacancy board: bed-spaces free now and freeing soon, with no personal data.

A Housing Options officer asks what is free and what will be. A bed-space is free on `as_of`
when nobody present stays in it and its `available_from` is on or before that date (the
rule of DESIGN.md); it frees later on the latest of its `available_from` and its occupant's
`expected_leave`. An occupant with no expected leaving date (Housing First) never frees it.

The service counts a further state (`due_to_leave`, given by the caller): a bed-space whose
resident is past their expected leaving date with no move-out recorded. It is not free, and
the service's problem gives that resident no date, so it is counted apart rather than as
freeing on a date.

Only counts leave this module: never a resident's id, age, gender, risk or flags. A refuge
(`confidential_address`) keeps its name, area and address hidden unless the caller's role may
see them (`show_confidential=True`), and an area filter never matches a hidden unit, so the
filter cannot be used to find out where a refuge is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from matcher.model import (
    BedSpace,
    GenderPolicy,
    Problem,
    Risk,
    Staffing,
    Unit,
    UnitKind,
)

SOON_DAYS = (7, 28)

CONFIDENTIAL_NAME = "Confidential address"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class VacancyFilters(_Out):
    """Which units to show; every field left empty matches every unit."""

    gender_policy: GenderPolicy | None = None
    age: int | None = Field(default=None, ge=16, description="units that accept this age")
    age_band: str | None = Field(default=None, description="exact band label, e.g. '16-25'")
    risk: Risk | None = Field(default=None, description="units whose max_risk is at least this")
    staffing: Staffing | None = None
    area: str | None = Field(default=None, description="an area's id or its name")
    kind: UnitKind | None = None


class VacancyCounts(_Out):
    """Bed-space counts; `freeing_*` count only those not free now (7 days within 28)."""

    bedspaces: int = 0
    free_now: int = 0
    accessible_free_now: int = 0
    freeing_7_days: int = 0
    freeing_28_days: int = 0
    freeing_within_days: int = 0
    due_to_leave: int = Field(
        default=0, description="resident past the expected leaving date, no move-out recorded"
    )
    held: int = Field(default=0, description="held by an open offer, waiting for its answer")


class VacancyGroup(VacancyCounts):
    """Units alike in what an officer filters on; `area` is None for hidden addresses."""

    gender_policy: GenderPolicy
    age_band: str
    max_risk: Risk
    staffing: Staffing
    area: str | None
    kind: UnitKind


class UnitVacancies(VacancyCounts):
    unit: str
    name: str
    area: str | None
    address: str | None
    kind: UnitKind
    gender_policy: GenderPolicy
    age_band: str
    under_18_approved: bool
    max_risk: Risk
    staffing: Staffing
    pathway: str
    confidential: bool
    next_free: date | None = Field(description="first date a bed-space frees, if none is free")


class VacancyBoard(_Out):
    as_of: date
    within_days: int
    filters: VacancyFilters
    totals: VacancyCounts
    groups: list[VacancyGroup]
    units: list[UnitVacancies]


def age_band(unit: Unit) -> str:
    """A unit's age band as an officer says it: '16-25', '18+', '25+'."""
    if unit.max_age >= 100:
        return f"{unit.min_age}+"
    return f"{unit.min_age}-{unit.max_age}"


def bedspace_free_from(problem: Problem) -> dict[str, date | None]:
    """The date each bed-space is (or becomes) free; None where it never frees in view."""
    present = {
        r.bedspace: r.expected_leave for r in problem.residents if problem.resident_is_present(r)
    }
    free_from: dict[str, date | None] = {}
    for bed in problem.bedspaces:
        available = max(problem.as_of, bed.available_from or problem.as_of)
        if bed.id not in present:
            free_from[bed.id] = available
        else:
            leaving = present[bed.id]
            free_from[bed.id] = None if leaving is None else max(available, leaving)
    return free_from


def area_id(problem: Problem, area: str | None) -> str | None:
    """The id of the area an officer named, by its id or its name (any case); a name that
    matches no area stays as given, so it matches no unit."""
    if area is None:
        return None
    wanted = area.strip().casefold()
    for known in problem.areas:
        if known.id == area or (known.name and known.name.strip().casefold() == wanted):
            return known.id
    return area


def _matches(unit: Unit, filters: VacancyFilters, show_confidential: bool) -> bool:
    hidden = unit.confidential_address and not show_confidential
    age_ok = filters.age is None or (
        unit.min_age <= filters.age <= unit.max_age
        and (filters.age >= 18 or unit.under_18_approved)
    )
    return (
        (filters.gender_policy is None or unit.gender_policy is filters.gender_policy)
        and age_ok
        and (filters.age_band is None or age_band(unit) == filters.age_band)
        and (filters.risk is None or unit.max_risk.level >= filters.risk.level)
        and (filters.staffing is None or unit.staffing is filters.staffing)
        and (filters.area is None or (not hidden and unit.area == filters.area))
        and (filters.kind is None or unit.kind is filters.kind)
    )


def _count(
    beds: Iterable[BedSpace],
    free_from: dict[str, date | None],
    as_of: date,
    within_days: int,
    due_to_leave: Collection[str],
    held: Collection[str] = (),
) -> dict[str, int]:
    counts = dict.fromkeys(VacancyCounts.model_fields, 0)
    for bed in beds:
        day = free_from[bed.id]
        counts["bedspaces"] += 1
        counts["due_to_leave"] += int(bed.id in due_to_leave)
        counts["held"] += int(bed.id in held)
        if day is None:
            continue
        if day <= as_of:
            counts["free_now"] += 1
            counts["accessible_free_now"] += int(bed.accessible)
            continue
        for name, days in (
            ("freeing_7_days", SOON_DAYS[0]),
            ("freeing_28_days", SOON_DAYS[1]),
            ("freeing_within_days", within_days),
        ):
            counts[name] += int(day <= as_of + timedelta(days=days))
    return counts


def vacancies(
    problem: Problem,
    filters: VacancyFilters | None = None,
    *,
    within_days: int = 28,
    show_confidential: bool = False,
    due_to_leave: Collection[str] = (),
    held: Collection[str] = (),
) -> VacancyBoard:
    """The vacancy board of `problem`, per unit and grouped, filtered by `filters`.

    `show_confidential` is for roles allowed to know where refuges are; without it a unit
    with a confidential address shows neither its name, its area nor its address.
    `due_to_leave`: the bed-spaces whose resident is past their expected leaving date with
    no move-out recorded (the service's; none in a problem document). `held`: the bed-spaces
    an open offer holds (the service's; counted, never who they are held for).
    """
    if within_days < 0:
        raise ValueError("within_days must not be negative")
    filters = filters or VacancyFilters()
    by_id = filters.model_copy(update={"area": area_id(problem, filters.area)})
    free_from = bedspace_free_from(problem)
    beds_by_unit: dict[str, list[BedSpace]] = {}
    for bed in problem.bedspaces:
        beds_by_unit.setdefault(bed.unit, []).append(bed)

    rows: list[UnitVacancies] = []
    groups: dict[tuple[object, ...], dict[str, int]] = {}
    totals = dict.fromkeys(VacancyCounts.model_fields, 0)
    for unit in problem.units:
        if not _matches(unit, by_id, show_confidential):
            continue
        beds = beds_by_unit.get(unit.id, [])
        counts = _count(beds, free_from, problem.as_of, within_days, due_to_leave, held)
        hidden = unit.confidential_address and not show_confidential
        later = [d for b in beds if (d := free_from[b.id]) is not None and d > problem.as_of]
        rows.append(
            UnitVacancies(
                unit=unit.id,
                name=CONFIDENTIAL_NAME if hidden else unit.name,
                area=None if hidden else unit.area,
                address=None if hidden else unit.address,
                kind=unit.kind,
                gender_policy=unit.gender_policy,
                age_band=age_band(unit),
                under_18_approved=unit.under_18_approved,
                max_risk=unit.max_risk,
                staffing=unit.staffing,
                pathway=unit.pathway.value,
                confidential=unit.confidential_address,
                next_free=min(later) if counts["free_now"] == 0 and later else None,
                **counts,
            )
        )
        key = (
            unit.gender_policy,
            age_band(unit),
            unit.max_risk,
            unit.staffing,
            None if hidden else unit.area,
            unit.kind,
        )
        group = groups.setdefault(key, dict.fromkeys(VacancyCounts.model_fields, 0))
        for name, value in counts.items():
            group[name] += value
            totals[name] += value

    group_rows = [
        VacancyGroup(
            gender_policy=key[0],  # type: ignore[arg-type]
            age_band=key[1],  # type: ignore[arg-type]
            max_risk=key[2],  # type: ignore[arg-type]
            staffing=key[3],  # type: ignore[arg-type]
            area=key[4],  # type: ignore[arg-type]
            kind=key[5],  # type: ignore[arg-type]
            **counts,
        )
        for key, counts in groups.items()
    ]
    group_rows.sort(key=lambda g: (-g.free_now, -g.freeing_7_days, str(g.kind), g.area or ""))
    return VacancyBoard(
        as_of=problem.as_of,
        within_days=within_days,
        filters=filters,
        totals=VacancyCounts(**totals),
        groups=group_rows,
        units=rows,
    )
