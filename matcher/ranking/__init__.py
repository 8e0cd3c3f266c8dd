"""Ranking one referral, in parts: the context built once per problem (`context`), the
answer (`answer`), why units are shut (`exclusions`), people who move in together
(`groups`), what a placement costs the others waiting (`cost`), the support team it gets
(`teams`) and a coordinator's override (`override`). The results are in `results`.

Callers import from here: `build_context(problem)` once, then `rank(context, referral_id)`
for any referral in milliseconds, and `override(...)` to choose another safe placement.
"""

from matcher.ranking.answer import DEFAULT_COST_TOP, rank
from matcher.ranking.context import RankingContext, best_in_unit_index, build_context
from matcher.ranking.cost import cost_to_others
from matcher.ranking.override import override
from matcher.ranking.results import (
    AffectedReferral,
    CostToOthers,
    ExcludedUnit,
    OverrideDecision,
    PartnerPlacement,
    RankedPlacement,
    RankResult,
    UnitSummary,
)

__all__ = [
    "DEFAULT_COST_TOP",
    "AffectedReferral",
    "CostToOthers",
    "ExcludedUnit",
    "OverrideDecision",
    "PartnerPlacement",
    "RankResult",
    "RankedPlacement",
    "RankingContext",
    "UnitSummary",
    "best_in_unit_index",
    "build_context",
    "cost_to_others",
    "override",
    "rank",
]
