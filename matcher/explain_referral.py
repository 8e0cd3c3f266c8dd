"""What stands between one referral and a place: facts for a panel, never a way round a rule.

- `nearest`: the bed-spaces blocked by the fewest hard rules, grouped by unit and by the exact
  set of rules that fail (from the eligibility bits, which property tests hold equal to the
  plain predicates), with each rule's family in DESIGN.md and, for a capacity, how much is
  missing ("needs 6 support hours, 4 left");
- `earliest`: the first date a bed-space passing every rule frees up (`matcher.free_dates`);
- `competition`: where the person is eligible, who of equal or higher priority would take
  those places: the batch's occupants, and the waiting people whose best unit it is (the
  ranking's cost-to-others index).

A referral the ranking can place gets the ranking's top placements as a pointer instead of
nearest places.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from constraints import BEDSPACE_RULES, UNIT_RULES, PairRule, reserve, risk, staffing
from constraints.coupled import keep_together_same_unit_or_neither as keep_together
from constraints.staffing import team_may_serve
from matcher.free_dates import FreeDates
from matcher.model import Problem, Solution
from matcher.ranking import RankingContext, RankResult, rank

# `keep_together` ties several referrals, so it is no pair rule.
KEEP_TOGETHER_RULE = keep_together.name
KEEP_TOGETHER_FAMILY = keep_together.family_number
DEFAULT_NEAREST = 5
DEFAULT_COMPETITION_UNITS = 5
CONTENDERS_LISTED = 20


class Missing(BaseModel):
    """How far a capacity falls short for this person."""

    quantity: str  # support_hours | high_risk_places | caseload | women_only_bedspaces
    needed: float
    available: float


class Blocking(BaseModel):
    rule: str
    family: int
    reason: str
    missing: Missing | None = None  # left out of the document where nothing is counted

    @model_serializer(mode="wrap")
    def _missing_only_when_counted(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("missing") is None:
            data.pop("missing", None)
        return data


class NearestPlace(BaseModel):
    unit: str
    unit_name: str = ""
    bedspaces: list[str]
    blocking: list[Blocking]


class EarliestDate(BaseModel):
    date: date
    unit: str
    bedspace: str


class TopPlacement(BaseModel):
    rank: int
    bedspace: str
    unit: str
    score: int


class RankingPointer(BaseModel):
    eligible_bedspaces: int
    top: list[TopPlacement]


class Contender(BaseModel):
    referral: str
    priority: int
    holds: str | None = None  # the bed-space the batch solution gives them here, if any


class Competition(BaseModel):
    unit: str
    bedspaces: list[str]  # the unit's bed-spaces this referral may take
    contenders: list[Contender]  # highest priority first, at most CONTENDERS_LISTED
    contenders_total: int
    outnumbered: bool  # as many contenders as bed-spaces, or more


class ReferralExplanation(BaseModel):
    referral: str
    priority: int
    placeable: bool  # the ranking has a safe placement for them
    ranking: RankingPointer | None = None
    nearest: list[NearestPlace] = Field(default_factory=list)
    earliest: EarliestDate | None = None
    competition: list[Competition] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def people_named(self) -> list[str]:
        """The referral and every other person the answer names."""
        named = dict.fromkeys([self.referral])
        for unit in self.competition:
            named.update(dict.fromkeys(c.referral for c in unit.contenders))
        return list(named)


@dataclass
class ExplainContext:
    """What explaining any referral of one problem reads, built once."""

    ranking: RankingContext
    free_dates: FreeDates

    @classmethod
    def build(cls, problem: Problem, batch: Solution | None = None) -> ExplainContext:
        return cls(RankingContext.build(problem, batch), FreeDates.build(problem))


def explain_referral(
    ctx: ExplainContext,
    referral_id: str,
    nearest: int = DEFAULT_NEAREST,
    competition_units: int = DEFAULT_COMPETITION_UNITS,
) -> ReferralExplanation:
    """The facts about one referral's place (see the module docstring). Raises
    `ReferralNotFound` for an id the problem does not hold."""
    rc = ctx.ranking
    r = rc.referral_index(referral_id)
    ranked = rank(rc, referral_id, top=3, cost_top=0, detail="summary")
    placeable = ranked.eligible_bedspaces > 0
    answer = ReferralExplanation(
        referral=referral_id,
        priority=int(rc.tables.referrals.priority[r]),
        placeable=placeable,
        notes=list(ranked.notes),
    )
    if placeable:
        answer.ranking = _pointer(ranked)
    else:
        answer.nearest = nearest_places(rc, r, nearest, grouped=bool(ranked.partners))
    found = ctx.free_dates.earliest(referral_id)
    if found is not None:
        day, bed = found
        answer.earliest = EarliestDate(
            date=day, unit=rc.problem.bedspaces[bed].unit, bedspace=rc.tables.beds.ids[bed]
        )
    answer.competition = competition(rc, r, competition_units)
    return answer


def _pointer(ranked: RankResult) -> RankingPointer:
    return RankingPointer(
        eligible_bedspaces=ranked.eligible_bedspaces,
        top=[
            TopPlacement(rank=p.rank, bedspace=p.bedspace, unit=p.unit, score=p.score)
            for p in ranked.ranked
        ],
    )


def _popcount(bits: np.ndarray) -> np.ndarray:
    as_bytes = np.ascontiguousarray(bits).view(np.uint8).reshape(bits.size, -1)
    return np.unpackbits(as_bytes, axis=1).sum(axis=1)


def nearest_places(
    rc: RankingContext, r: int, limit: int = DEFAULT_NEAREST, grouped: bool = False
) -> list[NearestPlace]:
    """The `limit` groups of bed-spaces blocked by the fewest rules, each group one unit and
    one exact set of failing rules; within a count, the person's better-scoring units first.
    `grouped`: the person moves in with partners, so a bed-space no pair rule blocks is
    blocked by the group not fitting (the ranking found no place)."""
    t = rc.tables
    unit_bits = rc.unit_failures[r]
    bed_bits = rc.bed_failures[r]
    bed_unit = t.beds.unit
    failing = _popcount(unit_bits)[bed_unit] + _popcount(bed_bits)
    if not grouped:
        failing = np.where(failing == 0, np.iinfo(np.int64).max, failing)
    else:
        failing = np.where(failing == 0, 1, failing)
    code = (unit_bits[bed_unit].astype(np.int64) << 8) | bed_bits
    score = rc.total[r, bed_unit]
    order = np.lexsort((np.arange(len(bed_unit)), code, bed_unit, -score, failing))
    order = order[failing[order] != np.iinfo(np.int64).max]
    places: list[NearestPlace] = []
    start = 0
    while start < order.size and len(places) < limit:
        first = int(order[start])
        same = (bed_unit[order] == bed_unit[first]) & (code[order] == code[first])
        stop = start
        while stop < order.size and same[stop]:
            stop += 1
        beds = order[start:stop].tolist()
        u = int(bed_unit[first])
        places.append(
            NearestPlace(
                unit=t.units.ids[u],
                unit_name=rc.unit_names[u],
                bedspaces=[t.beds.ids[b] for b in beds],
                blocking=_blocking(rc, r, u, int(unit_bits[u]), int(bed_bits[first])),
            )
        )
        start = stop
    return places


def _blocking(rc: RankingContext, r: int, u: int, unit_bits: int, bed_bits: int) -> list[Blocking]:
    rules = [rule for i, rule in enumerate(UNIT_RULES) if unit_bits >> i & 1]
    rules += [rule for j, rule in enumerate(BEDSPACE_RULES) if bed_bits >> j & 1]
    if not rules:
        return [
            Blocking(
                rule=KEEP_TOGETHER_RULE,
                family=KEEP_TOGETHER_FAMILY,
                reason=keep_together.say("explain_blocking"),
            )
        ]
    return [
        Blocking(
            rule=rule.name,
            family=rule.family_number,
            reason=rule.reason,
            missing=_missing(rc, r, u, rule),
        )
        for rule in rules
    ]


def _missing(rc: RankingContext, r: int, u: int, rule: PairRule) -> Missing | None:
    """For a capacity rule, what the person needs and what is left."""
    t = rc.tables
    if rule is staffing.support_hours_room_left:
        return Missing(
            quantity="support_hours",
            needed=float(t.referrals.support_hours[r]),
            available=float(t.units.support_hours_room[u]),
        )
    if rule is risk.high_risk_room_left:
        return Missing(
            quantity="high_risk_places", needed=1, available=float(t.units.high_risk_room[u])
        )
    if rule is reserve.women_only_reserve_held:
        return Missing(
            quantity="women_only_bedspaces", needed=1, available=float(max(0, rc.reserve_room))
        )
    if rule is staffing.support_team_available:
        # A caseload falls short only where a team that may serve them works in the area.
        referral, unit = rc.tables.problem.referrals[r], rc.problem.units[u]
        if any(team_may_serve(referral, unit, team) for team in rc.problem.support_teams):
            return Missing(quantity="caseload", needed=1, available=0)
    return None


def competition(rc: RankingContext, r: int, limit: int) -> list[Competition]:
    """For the person's `limit` best units with a bed-space they may take: who of equal or
    higher priority would take it (batch occupants, then those whose best unit it is)."""
    t = rc.tables
    refs = t.referrals
    priority = int(refs.priority[r])
    mine = set(rc.groups.get(r, [r]))
    units = np.flatnonzero(rc.counts[r] > 0)
    if units.size == 0:
        return []
    units = units[np.lexsort((units, -rc.total[r, units]))][:limit]
    holder = _batch_holders(rc)
    out: list[Competition] = []
    for u in units.tolist():
        beds = rc.unit_beds[u]
        beds = beds[rc.allowed_by_bed[beds, r]]
        seen: dict[int, str | None] = {}
        for b in beds.tolist():
            o = holder.get(b)
            if o is not None and o not in mine and refs.priority[o] >= priority:
                seen[o] = t.beds.ids[b]
        for o in rc.best_in_unit_at_or_above(u, priority).tolist():
            if o not in mine:
                seen.setdefault(o, None)
        ordered = sorted(seen, key=lambda o: (-int(refs.priority[o]), refs.ids[o]))
        out.append(
            Competition(
                unit=t.units.ids[u],
                bedspaces=[t.beds.ids[b] for b in beds.tolist()],
                contenders=[
                    Contender(referral=refs.ids[o], priority=int(refs.priority[o]), holds=seen[o])
                    for o in ordered[:CONTENDERS_LISTED]
                ],
                contenders_total=len(ordered),
                outnumbered=len(ordered) >= beds.size,
            )
        )
    return out


def _batch_holders(rc: RankingContext) -> dict[int, int]:
    """Bed-space index -> referral index, from the batch solution given with the context."""
    if rc.batch_bed is None:
        return {}
    beds, refs = rc.tables.beds.index, rc.tables.referrals.index
    return {
        beds[bed]: refs[referral]
        for referral, bed in rc.batch_bed.items()
        if bed in beds and referral in refs
    }
