"""Hypothesis strategies: small random problems that reach every rule and corner."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from matcher.model import Flag, Problem, parse_problem

AS_OF = date(2026, 11, 23)
# Repeats weight the draws towards placeable instances while still reaching every value.
KINDS = ["adult_mixed"] * 3 + ["young_persons", "women_only", "family", "refuge", "housing_first"]
POLICIES = ["mixed"] * 3 + ["women_only", "men_only"]
# The policies a unit's kind allows (`Unit._kind_keeps_its_safety`); other kinds take any.
KIND_POLICIES = {"women_only": ["women_only"], "refuge": ["women_only", "men_only"]}
STAFFING = ["24_7"] * 2 + ["daytime", "visiting"]
PATHWAYS = ["emergency", "recovery", "housing_first", "step_down"]
RISKS = ["low", "medium", "high", "very_high"]
UNIT_RISKS = ["very_high"] * 3 + ["medium", "high"]
REFERRAL_RISKS = ["low"] * 3 + ["medium"] * 2 + ["high", "very_high"]
GENDERS = ["woman", "man", "non_binary"]
OFFERS = ["college", "employment", "art", "sport"]
FLAGS = [f.value for f in Flag]
REFERRAL_FLAGS = [*FLAGS, *["substance_use", "mental_health", "care_leaver", "arson"] * 3]


@st.composite
def problems(
    draw: st.DrawFn,
    max_referrals: int = 8,
    max_beds: int = 10,
    max_units: int = 5,
    min_referrals: int = 1,
    support_only: bool = False,
) -> Problem:
    """A valid random problem: every field varied, every cross-reference consistent. With
    `support_only`, some referrals ask for support at home (alone or as well as a bed-space),
    teams have hours for it, and some people are already supported in the community."""
    n_areas = draw(st.integers(1, 3))
    areas = [{"id": f"A{i}", "name": f"Area {i}"} for i in range(n_areas)]
    links = [
        {"a": f"A{i}", "b": f"A{i + 1}", "minutes": draw(st.integers(5, 40))}
        for i in range(n_areas - 1)
    ]
    n_units = draw(st.integers(1, max_units))
    units: list[dict[str, Any]] = []
    for u in range(n_units):
        min_age = draw(st.sampled_from([16, 16, 16, 18, 25]))
        kind = draw(st.sampled_from(KINDS))
        units.append(
            {
                "id": f"U{u}",
                "area": f"A{draw(st.integers(0, n_areas - 1))}",
                "kind": kind,
                "gender_policy": draw(st.sampled_from(KIND_POLICIES.get(kind, POLICIES))),
                "confidential_address": kind == "refuge" or draw(st.booleans()),
                "self_contained": draw(st.booleans()),
                "min_age": min_age,
                "max_age": draw(st.sampled_from([25, 65, 120])) if min_age < 25 else 120,
                "under_18_approved": draw(st.booleans()),
                "staffing": draw(st.sampled_from(STAFFING)),
                "mappa_approved": draw(st.booleans()),
                "max_risk": draw(st.sampled_from(UNIT_RISKS)),
                "max_high_risk_residents": draw(st.integers(0, 4)),
                "support_hours_capacity": draw(st.sampled_from([0, 8, 20, 100, 100])),
                "offers": draw(st.lists(st.sampled_from(OFFERS), unique=True, max_size=2)),
                "pathway": draw(st.sampled_from(PATHWAYS)),
            }
        )
    n_beds = draw(st.integers(1, max_beds))
    bedspaces = []
    for b in range(n_beds):
        bedspaces.append(
            {
                "id": f"B{b}",
                "unit": f"U{draw(st.integers(0, n_units - 1))}",
                "cluster": draw(st.sampled_from(["", "c1", "c2"])),
                "accessible": draw(st.booleans()),
                "available_from": draw(
                    st.sampled_from([None, None, None, str(AS_OF + timedelta(days=5))])
                ),
            }
        )
    teams = []
    for t in range(draw(st.integers(0, 4))):
        capacity = draw(st.integers(0, 4))
        teams.append(
            {
                "id": f"T{t}",
                "kind": draw(st.sampled_from(["intensive", "intensive", "navigator", "floating"])),
                "area": f"A{draw(st.integers(0, n_areas - 1))}",
                "caseload_capacity": capacity,
                "current_caseload": draw(st.integers(0, capacity)),
                "female_workers": draw(st.integers(0, 1)),
            }
        )
    community: list[dict[str, Any]] = []
    if support_only:
        for team in teams:
            team["support_hours_capacity"] = draw(st.sampled_from([None, 0, 4, 10]))
            for k in range(draw(st.integers(0, team["current_caseload"]))):
                community.append(
                    {
                        "id": f"C{team['id']}{k}",
                        "support_team": team["id"],
                        "area": team["area"],
                        "support_hours": draw(st.sampled_from([0, 2, 3])),
                    }
                )
    residents = []
    beds_taken = draw(st.lists(st.integers(0, n_beds - 1), unique=True, max_size=n_beds // 2 + 1))
    for k, b in enumerate(beds_taken):
        leave = draw(st.sampled_from([None, -3, 0, 10]))
        residents.append(
            {
                "id": f"P{k}",
                "bedspace": f"B{b}",
                "gender": draw(st.sampled_from(GENDERS)),
                "age": draw(st.integers(16, 70)),
                "risk": draw(st.sampled_from(RISKS)),
                "flags": draw(st.lists(st.sampled_from(FLAGS), unique=True, max_size=2)),
                "support_hours": draw(st.sampled_from([0, 2, 5])),
                "arrived": str(AS_OF - timedelta(days=30)),
                "expected_leave": None if leave is None else str(AS_OF + timedelta(days=leave)),
            }
        )
    n_refs = draw(st.integers(min_referrals, max_referrals))
    ref_ids = [f"R{i}" for i in range(n_refs)]
    person_ids = ref_ids + [r["id"] for r in residents]
    referrals = []
    for rid in ref_ids:
        others = [p for p in person_ids if p != rid]
        apart = draw(st.lists(st.sampled_from(others), unique=True, max_size=1)) if others else []
        partners = [p for p in ref_ids if p != rid and p not in apart]
        together = (
            draw(st.lists(st.sampled_from(partners), unique=True, max_size=1))
            if partners and draw(st.integers(0, 4)) == 0
            else []
        )
        gender = draw(st.sampled_from(GENDERS))
        referrals.append(
            {
                "id": rid,
                "referred": str(AS_OF - timedelta(days=draw(st.integers(0, 200)))),
                "age": draw(st.sampled_from([16, 17, 19, 22, 25, 30, 40, 55, 70])),
                "gender": gender,
                "needs_women_only": gender == "woman" and draw(st.booleans()),
                "wants_female_worker": draw(st.integers(0, 3)) == 0,
                "household_size": 2 if draw(st.integers(0, 7)) == 0 else 1,
                "risk": draw(st.sampled_from(REFERRAL_RISKS)),
                "flags": draw(st.lists(st.sampled_from(REFERRAL_FLAGS), unique=True, max_size=2)),
                "support_hours": draw(st.sampled_from([0, 1, 3, 6])),
                "needs_24_7": draw(st.integers(0, 3)) == 0,
                "needs_accessible": draw(st.integers(0, 7)) == 0,
                "pathway": draw(st.sampled_from(PATHWAYS)),
                "preferred_areas": draw(
                    st.lists(st.sampled_from([a["id"] for a in areas]), unique=True, max_size=1)
                ),
                "excluded_areas": draw(
                    st.lists(st.sampled_from([a["id"] for a in areas]), unique=True, max_size=1)
                )
                if draw(st.integers(0, 3)) == 0
                else [],
                "strengths": draw(st.lists(st.sampled_from(OFFERS), unique=True, max_size=2)),
                "keep_apart": apart,
                "keep_together": together,
                "priority": draw(st.integers(1, 5)),
            }
        )
        if support_only:
            referrals[-1]["wants"] = draw(st.sampled_from(["bed", "support_only", "either"]))
            referrals[-1]["home_area"] = draw(st.sampled_from([a["id"] for a in areas]))
    return parse_problem(
        {
            "as_of": str(AS_OF),
            "areas": areas,
            "links": links,
            "units": units,
            "bedspaces": bedspaces,
            "support_teams": teams,
            "residents": residents,
            "referrals": referrals,
            "policy": {"women_only_reserve": draw(st.integers(0, 2))},
            "community_support": community,
        }
    )
