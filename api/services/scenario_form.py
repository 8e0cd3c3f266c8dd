"""The scenario page's forms: what each offers to choose from, and how a submitted form
changes the plan.

Each form names one part of the plan (`section`); a field left blank leaves that part as it
was. Values go into the plan as typed and the plan's model checks them, so a bad one is a 422
naming the plan's field, the same as through the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from constraints.cohorts import COHORT_NAMES, Cohort
from matcher.errors import Issue
from matcher.model import GenderPolicy, Pathway, Problem, Staffing, TeamKind, UnitKind

SECTIONS = ("run", "unit", "beds", "team", "demand", "reset")
RUN_FIELDS = ("horizon_days", "warmup_days", "replications", "seed", "backend")
UNIT_FIELDS = ("kind", "gender_policy", "min_age", "max_age", "pathway", "staffing")
UNIT_FLAGS = ("self_contained", "under_18_approved")
TEAM_FIELDS = ("kind", "caseload_capacity", "female_workers")


@dataclass(frozen=True)
class Choices:
    units: list[tuple[str, str]]  # (id, what the page shows)
    teams: list[tuple[str, str]]
    areas: list[tuple[str, str]]
    kinds: list[str]
    policies: list[str]
    pathways: list[str]
    staffing: list[str]
    team_kinds: list[str]
    cohorts: list[tuple[str, str]]


def choices(problem: Problem, sees_personal_data: bool) -> Choices:
    """What the forms offer. A refuge's name is shown only to roles that may see it."""
    areas = {a.id: a.name or a.id for a in problem.areas}
    units = []
    for unit in problem.units:
        kind = unit.kind.value.replace("_", " ")
        if unit.confidential_address and not sees_personal_data:
            shown = f"{unit.id} · confidential address ({kind})"
        else:
            policy = unit.gender_policy.value.replace("_", " ")
            shown = f"{unit.id} · {unit.name or kind} ({policy})"
        units.append((unit.id, shown))
    teams = [
        (t.id, f"{t.id} · {t.kind.value}, {areas.get(t.area, t.area)}, {t.caseload_capacity}")
        for t in problem.support_teams
    ]
    return Choices(
        units=units,
        teams=teams,
        areas=sorted(areas.items()),
        kinds=[k.value for k in UnitKind],
        policies=[p.value for p in GenderPolicy],
        pathways=[p.value for p in Pathway],
        staffing=[s.value for s in Staffing],
        team_kinds=[k.value for k in TeamKind],
        cohorts=[(c.value, COHORT_NAMES[c.value]) for c in Cohort],
    )


def _given(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def updated_plan(plan: dict[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """The stored plan (as JSON) with the submitted section's fields changed."""
    section = _given(form, "section")
    if section == "reset":
        keep = {k: v for k, v in plan.items() if k in RUN_FIELDS}
        return keep
    if section == "run":
        for name in RUN_FIELDS:
            value = _given(form, name)
            if value is not None:
                plan[name] = value
    elif section == "unit":
        unit = _given(form, "unit")
        if unit is not None:
            change = dict(plan.get("units", {}).get(unit, {}))
            for name in UNIT_FIELDS:
                value = _given(form, name)
                if value is not None:
                    change[name] = value
            for name in UNIT_FLAGS:
                value = _given(form, name)
                if value in ("yes", "no"):
                    change[name] = value == "yes"
            plan["units"] = {**plan.get("units", {}), unit: change}
    elif section == "beds":
        unit, count = _given(form, "add_unit"), _given(form, "add_count")
        if unit is not None and count is not None:
            plan["add_bedspaces"] = {**plan.get("add_bedspaces", {}), unit: count}
        removed = _given(form, "remove_bedspaces")
        if removed is not None:
            ids = [part.strip() for part in removed.replace(",", " ").split() if part.strip()]
            removing = [*plan.get("remove_bedspaces", []), *ids]
            plan["remove_bedspaces"] = list(dict.fromkeys(removing))
        for name in ("housing_first_places", "step_down_places"):
            value = _given(form, name)
            if value is not None:
                plan[name] = value
        percent = _given(form, "women_only_percent")
        if percent is not None:
            plan["women_only_share"] = _share_of(percent)
    elif section == "team":
        team = _given(form, "team")
        if team is not None and _given(form, "remove_team") == "yes":
            plan["remove_teams"] = list(dict.fromkeys([*plan.get("remove_teams", []), team]))
        elif team is not None:
            change = dict(plan.get("teams", {}).get(team, {}))
            for name in TEAM_FIELDS:
                value = _given(form, name)
                if value is not None:
                    change[name] = value
            plan["teams"] = {**plan.get("teams", {}), team: change}
        area, capacity = _given(form, "new_area"), _given(form, "new_capacity")
        if area is not None and capacity is not None:
            new = {
                "kind": _given(form, "new_kind") or TeamKind.navigator.value,
                "area": area,
                "caseload_capacity": capacity,
                "female_workers": _given(form, "new_female_workers") or 0,
            }
            plan["new_teams"] = [*plan.get("new_teams", []), new]
    elif section == "demand":
        scales = dict(plan.get("demand_scale", {}))
        for cohort in Cohort:
            value = _given(form, f"scale_{cohort.value}")
            if value is not None:
                scales[cohort.value] = value
        plan["demand_scale"] = {c: s for c, s in scales.items() if s not in ("1", 1, 1.0)}
        for name in ("referrals_per_day", "women_only_reserve"):
            value = _given(form, name)
            if value is not None:
                plan[name] = value
    return plan


def _share_of(percent: str) -> float | str:
    """A percentage typed on the page as the plan's share; anything else is passed on as
    typed, for the plan's model to name the field and say why."""
    try:
        return float(percent) / 100
    except ValueError:
        return percent


def readable(issue: Issue) -> str:
    """An issue as the page says it: the plan's field, then why."""
    loc = [str(part).replace("_", " ") for part in issue.loc if part not in ("body", "plan")]
    return f"{' › '.join(loc)}: {issue.msg}" if loc else issue.msg
