"""One referral, one unit, one bed-space: the smallest problems that make each rule bite.

`case(...)` builds a problem from a plain unit and a plain referral, overridden per test, so
each rule test changes exactly the fields that make the rule bite, and its twin the fewest
fields that make it pass.
"""

from __future__ import annotations

from typing import Any

from matcher.model import Problem, parse_problem

AS_OF = "2026-11-23"


def case(
    unit: dict[str, Any] | None = None,
    referral: dict[str, Any] | None = None,
    bed: dict[str, Any] | None = None,
    residents: list[dict[str, Any]] | None = None,
    teams: list[dict[str, Any]] | None = None,
    extra_referrals: list[dict[str, Any]] | None = None,
    policy: dict[str, Any] | None = None,
) -> Problem:
    return parse_problem(
        {
            "as_of": AS_OF,
            "areas": [{"id": "north", "name": "North"}, {"id": "south", "name": "South"}],
            "links": [{"a": "north", "b": "south", "minutes": 25}],
            "units": [
                {
                    "id": "U1",
                    "area": "north",
                    "kind": "adult_mixed",
                    "gender_policy": "mixed",
                    "staffing": "24_7",
                    "min_age": 18,
                    "max_age": 65,
                    **(unit or {}),
                },
                # Spare units so residents of other places can exist.
                {"id": "U2", "area": "south", "kind": "adult_mixed", "min_age": 16},
            ],
            "bedspaces": [
                {"id": "B1", "unit": "U1", "cluster": "c1", **(bed or {})},
                {"id": "B2", "unit": "U1", "cluster": "c1"},
                {"id": "B3", "unit": "U1", "cluster": "c2"},
                {"id": "S1", "unit": "U2"},
            ],
            "support_teams": teams or [],
            "residents": residents or [],
            "referrals": [
                {
                    "id": "R1",
                    "referred": "2026-10-01",
                    "age": 30,
                    "gender": "man",
                    **(referral or {}),
                },
                *(extra_referrals or []),
            ],
            "policy": policy or {},
        }
    )


def resident(rid: str, bed: str, **fields: Any) -> dict[str, Any]:
    return {"id": rid, "bedspace": bed, "gender": "man", "age": 40, **fields}
