"""The reasons a team cannot follow a person are exactly the parts of `team_may_serve` it
fails: none where it may serve, one at least where it may not."""

from __future__ import annotations

from itertools import product

from constraints.staffing import team_may_serve, why_team_may_not_serve
from matcher.model import Pathway, Referral, SupportTeam, TeamKind, Unit

UNIT = {
    "id": "U1",
    "area": "A1",
    "kind": "adult_mixed",
    "gender_policy": "mixed",
    "staffing": "visiting",
    "max_risk": "high",
}


def test_the_reasons_are_the_parts_of_the_team_rule_that_fail() -> None:
    for area, kind, female, wants, person_on, unit_on in product(
        ("A1", "A2"), list(TeamKind), (0, 1), (False, True), list(Pathway), list(Pathway)
    ):
        referral = Referral.model_validate(
            {
                "id": "R1",
                "referred": "2026-01-01",
                "age": 30,
                "gender": "woman",
                "risk": "low",
                "wants_female_worker": wants,
                "pathway": person_on,
            }
        )
        unit = Unit.model_validate({**UNIT, "pathway": unit_on})
        team = SupportTeam(
            id="T1", kind=kind, area=area, caseload_capacity=5, female_workers=female
        )
        reasons = why_team_may_not_serve(referral, unit, team)
        assert (not reasons) == team_may_serve(referral, unit, team)
        assert (area != "A1") == any("area" in r for r in reasons)
