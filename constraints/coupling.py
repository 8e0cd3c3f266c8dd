"""The hard rules that tie several newcomers together, as data every solver backend reads.

Built from the coupled rules in force (`constraints.coupled`, `constraints.registry`): each
rule gives its own fields.

Pair rules already settle each newcomer against the residents; what is left couples newcomers
with each other: shared capacities (high-risk places, support hours, team caseloads, the
women-only reserve), who may share a cluster or unit (gender, risk to women, keep-apart),
who may share an area (DA victims and perpetrators kept apart) and who moves in together.
Backends turn these into constraints; none restates a rule from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from constraints import registry
from constraints.coupled import support_team_fits
from constraints.reserve import reserve_exempt
from constraints.tables import Tables


@dataclass(frozen=True)
class Coupling:
    # Per unit: newcomers of high or very high risk placed there ≤ high_risk_room[u].
    high_risk_room: np.ndarray
    is_high_risk: np.ndarray
    # Per unit: newcomers' support hours placed there ≤ support_hours_room[u].
    support_hours_room: np.ndarray
    support_hours: np.ndarray
    # Per team: placements assigned to it ≤ team_room[t]; see `team_may_serve_mask`.
    team_room: np.ndarray
    # Per cluster listed here (no resident settles its gender): never both a man and a woman.
    open_gender_clusters: np.ndarray
    is_man: np.ndarray
    is_woman: np.ndarray
    # Per unit: a person flagged risk_to_women never with another woman.
    risk_to_women: np.ndarray
    # Referral index pairs (i < j) never in the same unit.
    keep_apart_pairs: list[tuple[int, int]]
    # Referral index pairs (i < j), a DA victim and perpetrator, never in the same area.
    da_apart_pairs: list[tuple[int, int]]
    # Groups that are placed in one unit together or not at all.
    keep_together_groups: list[list[int]]
    # Non-exempt newcomers in women-only bed-spaces ≤ reserve_room.
    women_only_bed: np.ndarray
    reserve_exempt: np.ndarray
    reserve_room: int


def coupling(tables: Tables) -> Coupling:
    """What the backends read of the coupled rules in force (`constraints.registry`); a rule
    out of force leaves its fields at values that bind nobody."""
    refs = tables.referrals
    rows = _binding_nobody(tables)
    for rule in registry.coupled_rules():
        if rule.rows is not None:
            rows.update(rule.rows(tables))
    return Coupling(
        is_high_risk=refs.is_high_risk,
        support_hours=refs.support_hours,
        is_man=refs.is_man,
        is_woman=refs.is_woman,
        women_only_bed=tables.units.women_only[tables.beds.unit] & tables.beds.free,
        reserve_exempt=np.array([reserve_exempt(r) for r in tables.problem.referrals], dtype=bool),
        **rows,
    )


def _binding_nobody(tables: Tables) -> dict[str, Any]:
    refs, units = tables.referrals, tables.units
    everyone = len(refs) + 1
    # Whole hours, so the backends' scale for fractional hours stays what the people need.
    all_hours = float(np.ceil(refs.support_hours.sum())) + 1.0
    return {
        "high_risk_room": np.full(len(units), everyone, dtype=np.int64),
        "support_hours_room": np.full(len(units), all_hours, dtype=np.float64),
        "team_room": np.full(len(tables.teams), everyone, dtype=np.int64),
        "open_gender_clusters": np.zeros(0, dtype=np.int64),
        "risk_to_women": np.zeros(len(refs), dtype=bool),
        "keep_apart_pairs": [],
        "da_apart_pairs": [],
        "keep_together_groups": [],
        "reserve_room": everyone,
    }


def team_may_serve_mask(tables: Tables, unit: int) -> np.ndarray:
    """(R, T): which teams may serve each referral placed in this unit (capacity aside);
    every team while the rule on a team's fit is out of force."""
    refs, units, teams = tables.referrals, tables.units, tables.teams
    if not registry.in_force(support_team_fits):
        return np.ones((len(refs), len(teams)), dtype=bool)
    in_area = teams.area == units.area[unit]
    needs_intensive = refs.pathway_housing_first | units.pathway_housing_first[unit]
    return (
        in_area[None, :]
        & (teams.intensive[None, :] | ~needs_intensive[:, None])
        & (teams.has_female_worker[None, :] | ~refs.wants_female_worker[:, None])
    )
