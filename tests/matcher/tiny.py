"""Tiny instances where most referrals can be placed, so the coupled rules decide the optimum.

`tests.strategies.problems()` varies every field, which leaves most tiny referrals with no
bed-space at all; these keep the pair rules permissive and vary what couples people: shared
clusters, mixed genders, high-risk and support-hour room, small team caseloads, keep-apart
and keep-together links, risk-to-women flags and the women-only reserve.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from matcher.model import Problem, parse_problem
from tests.strategies import AS_OF, problems


@st.composite
def kind_and_policy(draw: st.DrawFn) -> dict[str, str]:
    """A unit's kind and a gender policy it allows (a women-only project is women-only)."""
    kind = draw(st.sampled_from(["adult_mixed", "women_only", "housing_first"]))
    policy = draw(st.sampled_from(["mixed", "mixed", "women_only"]))
    return {"kind": kind, "gender_policy": "women_only" if kind == "women_only" else policy}


@st.composite
def placeable_problems(draw: st.DrawFn, max_referrals: int = 7, max_beds: int = 8) -> Problem:
    n_areas = draw(st.integers(1, 2))
    areas = [{"id": f"A{i}"} for i in range(n_areas)]
    n_units = draw(st.integers(1, 3))
    units: list[dict[str, Any]] = [
        {
            "id": f"U{u}",
            "area": f"A{draw(st.integers(0, n_areas - 1))}",
            **draw(kind_and_policy()),
            "staffing": draw(st.sampled_from(["24_7", "visiting", "visiting"])),
            "pathway": draw(st.sampled_from(["recovery", "emergency", "housing_first"])),
            "max_high_risk_residents": draw(st.integers(0, 2)),
            "support_hours_capacity": draw(st.sampled_from([4, 8, 100])),
            "offers": draw(st.lists(st.sampled_from(["art", "sport"]), unique=True, max_size=1)),
        }
        for u in range(n_units)
    ]
    bedspaces = [
        {
            "id": f"B{b}",
            "unit": f"U{draw(st.integers(0, n_units - 1))}",
            "cluster": draw(st.sampled_from(["", "c1"])),
            "accessible": draw(st.booleans()),
        }
        for b in range(draw(st.integers(1, max_beds)))
    ]
    teams = [
        {
            "id": f"T{t}",
            "kind": draw(st.sampled_from(["intensive", "navigator"])),
            "area": f"A{draw(st.integers(0, n_areas - 1))}",
            "caseload_capacity": draw(st.integers(1, 3)),
            "female_workers": draw(st.integers(0, 1)),
        }
        for t in range(draw(st.integers(1, 3)))
    ]
    n_refs = draw(st.integers(1, max_referrals))
    ids = [f"R{i}" for i in range(n_refs)]
    referrals = []
    for rid in ids:
        others = [p for p in ids if p != rid]
        apart = draw(st.lists(st.sampled_from(others), max_size=1)) if others else []
        together = (
            draw(st.lists(st.sampled_from([p for p in others if p not in apart]), max_size=1))
            if len(others) > len(apart) and draw(st.integers(0, 3)) == 0
            else []
        )
        referrals.append(
            {
                "id": rid,
                "referred": str(AS_OF - timedelta(days=draw(st.integers(0, 300)))),
                "age": 30,
                "gender": draw(st.sampled_from(["woman", "man", "man", "non_binary"])),
                "wants_female_worker": draw(st.booleans()),
                "risk": draw(st.sampled_from(["low", "high"])),
                "flags": draw(
                    st.lists(
                        st.sampled_from(["risk_to_women", "da_victim", "da_perpetrator"]),
                        unique=True,
                        max_size=1,
                    )
                ),
                "support_hours": draw(st.sampled_from([0, 2, 3])),
                "pathway": draw(st.sampled_from(["recovery", "housing_first"])),
                "needs_accessible": draw(st.integers(0, 5)) == 0,
                "preferred_areas": draw(st.lists(st.sampled_from(["A0"]), max_size=1)),
                "strengths": draw(st.lists(st.sampled_from(["art", "sport"]), unique=True)),
                "keep_apart": apart,
                "keep_together": together,
                "priority": draw(st.integers(1, 5)),
            }
        )
    return parse_problem(
        {
            "as_of": str(AS_OF),
            "areas": areas,
            "units": units,
            "bedspaces": bedspaces,
            "support_teams": teams,
            "referrals": referrals,
            "policy": {"women_only_reserve": draw(st.integers(0, 1))},
        }
    )


def small_problems() -> st.SearchStrategy[Problem]:
    """Problems of up to 10 referrals and 12 bed-spaces, drawn freely or so that some can be
    placed: the shape the solver's hypothesis properties draw."""
    return st.one_of(problems(max_referrals=10, max_beds=12), placeable_problems())
