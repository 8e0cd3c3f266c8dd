"""What a ranking answers with: ranked placements, units, exclusions, costs to others, and
an override's decision."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from matcher.model import Assignment
from matcher.ranking.support_only import ExcludedTeam, SupportOption


class AffectedReferral(BaseModel):
    """A waiting referral of equal or higher priority who would lose out."""

    model_config = ConfigDict(frozen=True)

    referral: str
    priority: int
    eligible_bedspaces: int
    loses: Literal["only", "best"]  # their only eligible option, or their best-scoring unit


class CostToOthers(BaseModel):
    """Frozen, so placements alike can share one."""

    model_config = ConfigDict(frozen=True)

    affected: tuple[AffectedReferral, ...] = ()  # a tuple: one answer may be shared
    summary: str = ""


class PartnerPlacement(BaseModel):
    referral: str
    bedspace: str
    support_team: str | None = None


class RankedPlacement(BaseModel):
    rank: int  # 1 + the number of placements scoring strictly more
    bedspace: str
    unit: str
    unit_name: str = ""
    support_team: str | None = None
    score: int
    terms: dict[str, int]
    reasons: list[str]  # one sentence per term, highest points first
    partners: list[PartnerPlacement] = Field(default_factory=list)
    cost_to_others: CostToOthers | None = None  # only for the top placements
    batch_places_elsewhere: bool | None = None  # None when no batch solution was given


# The two long lists of a ranking (every eligible unit, every excluded unit: hundreds on a
# city's portfolio) are typed dicts, not models: building them costs a tenth as much.


class UnitSummary(TypedDict):
    """The ranking grouped by unit: bed-spaces of one unit score alike."""

    rank: int
    unit: str
    unit_name: str
    score: int
    bedspaces: list[str]
    points_behind: int  # points below the top unit
    # Why it ranks below the top unit, by the terms that differ; written for the units of the
    # placements shown (`top`), empty for the rest, whose `points_behind` still says how far.
    behind_top: str
    # Why the unit's other bed-spaces are not offered ("2 of 6 bed-spaces are not free..."),
    # and the rules behind it.
    other_bedspaces: tuple[str, ...]
    other_bedspace_rules: tuple[str, ...]


class ExcludedUnit(TypedDict):
    unit: str
    bedspaces: tuple[str, ...]
    reasons: tuple[str, ...]
    rules: tuple[str, ...]  # the names of the rules behind `reasons`


class RankResult(BaseModel):
    referral: str
    priority: int
    emergency_da: bool  # priority-5 DA victim: may take women-only bed-spaces held in reserve
    partners: list[str] = Field(default_factory=list)  # keep_together: moves in with these
    eligible_bedspaces: int
    eligible_units: int
    ranked: list[RankedPlacement]
    units: list[UnitSummary]
    excluded: list[ExcludedUnit]
    batch_placement: str | None = None  # the batch solution's bed-space for this referral
    notes: list[str] = Field(default_factory=list)
    detail: Literal["full", "summary"] = "full"
    # Every excluded unit counted, and the units each rule shuts (a unit shut by two rules
    # counts under both): in a summary these stand for the `excluded` list left out.
    excluded_units: int = 0
    excluded_by_rule: dict[str, int] = Field(default_factory=dict)
    # A support team alone at home, for a person who may take it (`Referral.wants`): the
    # teams that may give it, and those that may not with why.
    support_only: list[SupportOption] = Field(default_factory=list)
    support_only_excluded: list[ExcludedTeam] = Field(default_factory=list)

    def people_named(self) -> list[str]:
        """Every person the answer names: the referral, their partners, partners placed with
        each option, and the waiting people each option would cost (for the audit trail)."""
        named = dict.fromkeys([self.referral, *self.partners])
        for placement in self.ranked:
            named.update(dict.fromkeys(p.referral for p in placement.partners))
            if placement.cost_to_others is not None:
                named.update(dict.fromkeys(a.referral for a in placement.cost_to_others.affected))
        return list(named)


class OverrideDecision(BaseModel):
    """A coordinator's chosen placement, kept with their reason."""

    referral: str
    bedspace: str
    unit: str
    support_team: str | None
    score: int
    terms: dict[str, int]
    rank: int
    top_score: int
    top_bedspace: str
    reason: str
    partners: list[PartnerPlacement] = Field(default_factory=list)
    cost_to_others: CostToOthers
    assignments: list[Assignment]  # ready to add to a Solution: this referral and partners
