"""Length-of-stay targets per pathway, and how many residents are past them.

Emergency / crisis accommodation: at most 3 months, an average stay of up to 6 weeks desired.
Recovery services: 3-9 months, 6 months on average. Housing First: no time limit (DESIGN.md
facts list, from the commissioning papers). Step-down (Oxfordshire, 003_a67c211e5b94c3ff.txt:
"stepdown houses ... to support discharge from hospitals", supported accommodation "time
limited with a focus on moving people into settled accommodation as quickly as possible")
names no length: we assume at most 8 weeks and 4 weeks on average, shorter than a crisis stay
(Derby's at most 3 months), for a commissioner to confirm. Reports give counts per unit and
in total, never who: a long stay is a fact about a person, so no id, date or exact length
leaves here.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from capacity.vacancies import CONFIDENTIAL_NAME
from matcher.model import Pathway, Problem


class StayTarget(BaseModel):
    model_config = ConfigDict(frozen=True)

    pathway: Pathway
    min_days: int | None
    max_days: int | None  # None: no time limit
    average_days: int | None  # the average stay desired


# 3 months = 13 weeks; 9 months = 39 weeks; 6 weeks and 6 months as averages.
STAY_TARGETS: dict[Pathway, StayTarget] = {
    Pathway.emergency: StayTarget(
        pathway=Pathway.emergency, min_days=None, max_days=91, average_days=42
    ),
    Pathway.recovery: StayTarget(
        pathway=Pathway.recovery, min_days=91, max_days=273, average_days=182
    ),
    Pathway.housing_first: StayTarget(
        pathway=Pathway.housing_first, min_days=None, max_days=None, average_days=None
    ),
    # An assumption, not a figure from the papers (see the module docstring).
    Pathway.step_down: StayTarget(
        pathway=Pathway.step_down, min_days=None, max_days=56, average_days=28
    ),
}


def past_target(pathway: Pathway, stay_days: float) -> bool:
    """Whether a stay of `stay_days` is longer than its pathway allows."""
    limit = STAY_TARGETS[pathway].max_days
    return limit is not None and stay_days > limit


class StayCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    residents: int = 0
    past_target: int = 0
    past_average: int = 0  # longer than the average stay the pathway desires
    arrival_unknown: int = 0


class UnitStays(StayCounts):
    unit: str
    name: str
    area: str | None
    pathway: Pathway
    target: StayTarget


class LengthOfStayReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: date
    targets: list[StayTarget]
    totals: StayCounts
    by_pathway: dict[str, StayCounts]
    units: list[UnitStays]


def length_of_stay(problem: Problem, *, show_confidential: bool = False) -> LengthOfStayReport:
    """Residents present on `as_of` past their unit's pathway target, per unit and in total."""
    unit_of_bed = {b.id: b.unit for b in problem.bedspaces}
    counts: dict[str, dict[str, int]] = {
        u.id: dict.fromkeys(StayCounts.model_fields, 0) for u in problem.units
    }
    units = {u.id: u for u in problem.units}
    for resident in problem.residents:
        if not problem.resident_is_present(resident):
            continue
        unit = units[unit_of_bed[resident.bedspace]]
        row = counts[unit.id]
        row["residents"] += 1
        if resident.arrived is None:
            row["arrival_unknown"] += 1
            continue
        stay = (problem.as_of - resident.arrived).days
        target = STAY_TARGETS[unit.pathway]
        row["past_target"] += past_target(unit.pathway, stay)
        row["past_average"] += target.average_days is not None and stay > target.average_days

    rows = []
    by_pathway = {p.value: dict.fromkeys(StayCounts.model_fields, 0) for p in Pathway}
    totals = dict.fromkeys(StayCounts.model_fields, 0)
    for unit in problem.units:
        hidden = unit.confidential_address and not show_confidential
        row = counts[unit.id]
        for name, value in row.items():
            by_pathway[unit.pathway.value][name] += value
            totals[name] += value
        rows.append(
            UnitStays(
                unit=unit.id,
                name=CONFIDENTIAL_NAME if hidden else unit.name,
                area=None if hidden else unit.area,
                pathway=unit.pathway,
                target=STAY_TARGETS[unit.pathway],
                **row,
            )
        )
    return LengthOfStayReport(
        as_of=problem.as_of,
        targets=list(STAY_TARGETS.values()),
        totals=StayCounts(**totals),
        by_pathway={name: StayCounts(**row) for name, row in by_pathway.items()},
        units=rows,
    )
