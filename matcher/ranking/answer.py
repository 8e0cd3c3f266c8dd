"""Ranking one referral: every safe placement, scored and explained, in milliseconds.

A coordinator on the phone asks "where can this person go?". `rank(context, referral_id)`
answers from the context's arrays (`matcher.ranking.context`):

- `ranked`: exactly the bed-spaces the checker accepts for this referral placed alone, best
  first, each with the batch model's points per soft term, a sentence per term, the support
  team it would get in a `visiting` unit, and what taking it would cost people still waiting
  (`matcher.ranking.cost`);
- `excluded`: every unit with no such bed-space and every hard rule that shuts it, in
  coordinator words (`matcher.ranking.exclusions`).

A referral who moves in with partners is placed with them (`matcher.ranking.groups`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np

from constraints.coupled import keep_together_same_unit_or_neither as keep_together
from constraints.coupled import (
    women_only_reserve_held,
)
from constraints.coupled_rule import join
from matcher.errors import Issue, ProblemInvalid
from matcher.ranking.context import RankingContext
from matcher.ranking.cost import UnitEffects, cost_once
from matcher.ranking.exclusions import (
    bed_rule_counts,
    excluded_units,
    exclusion_cases,
    exclusion_counts,
    most_first,
)
from matcher.ranking.groups import Placement, group_placements
from matcher.ranking.results import (
    CostToOthers,
    ExcludedUnit,
    PartnerPlacement,
    RankedPlacement,
    RankResult,
    UnitSummary,
)
from matcher.ranking.support_only import support_only_options
from matcher.ranking.teams import choose_team

# How many of the top placements get a "cost to others" when the caller does not say.
DEFAULT_COST_TOP = 10


def _behind_top(unit_terms: list[dict[str, int]]) -> list[str]:
    """Why each unit ranks below the first: its points behind, and the terms that differ.
    `unit_terms` holds each unit's points per term (`Scores.pair_terms`), the top unit's
    first. A few units at most (those of the placements shown): plain Python is quickest."""
    if not unit_terms:
        return []
    top = unit_terms[0]
    labels = {name: name.replace("_", " ") for name in top}
    out = [""]
    for terms in unit_terms[1:]:
        gaps = [(name, top[name] - terms[name]) for name in top]
        behind = sum(gap for _, gap in gaps)
        if behind == 0:
            out.append("scores the same as the top unit")
            continue
        # The three widest gaps, ties in term order (a stable sort).
        widest = sorted(gaps, key=lambda item: -item[1])[:3]
        words = ", ".join(f"{labels[name]} (-{gap})" for name, gap in widest if gap > 0)
        text = f"{behind} points below the top unit"
        out.append(f"{text}, mostly on {words}" if words else text)
    return out


@dataclass(frozen=True)
class _Order:
    """A referral's placements best first: by score, then unit, then bed-space."""

    beds: np.ndarray
    units: np.ndarray
    scores: np.ndarray
    descending: np.ndarray  # -scores, ascending
    shown: int  # how many placements the answer lists

    @classmethod
    def of(cls, ctx: RankingContext, r: int, placed_beds: np.ndarray, top: int | None) -> _Order:
        placed_units = ctx.tables.beds.unit[placed_beds]
        unit_scores = ctx.total[r, placed_units]
        # `placed_beds` ascend and lexsort is stable.
        order = np.lexsort((placed_units, -unit_scores))
        scores = unit_scores[order]
        return cls(
            beds=placed_beds[order],
            units=placed_units[order],
            scores=scores,
            descending=-scores,
            shown=len(order) if top is None else min(top, len(order)),
        )

    def __len__(self) -> int:
        return len(self.beds)

    def ranks(self, descending: np.ndarray) -> list[int]:
        """A placement's rank is 1 + the number of placements scoring strictly more."""
        return (np.searchsorted(self.descending, descending, side="left") + 1).tolist()


def rank(
    ctx: RankingContext,
    referral_id: str,
    top: int | None = None,
    cost_top: int = DEFAULT_COST_TOP,
    detail: Literal["full", "summary"] = "full",
) -> RankResult:
    """Every safe placement of one referral, best first, and every excluded unit with all
    its reasons. `top` keeps the first `top` placements (all when None); the first
    `min(top, cost_top)` get what they would cost the others waiting.

    `detail="summary"` is the answer for a screen: the unit list keeps the units of the
    placements shown, and the excluded units are counted, in all and per rule, instead of
    listed one by one with their bed-spaces (hundreds of entries on a city's portfolio)."""
    if top is not None and top < 1:
        raise ProblemInvalid([Issue(("top",), f"must be 1 or more, got {top}")])
    r = ctx.referral_index(referral_id)
    refs, units = ctx.tables.referrals, ctx.tables.units
    placed_beds, completions, group_failures = group_placements(ctx, r)
    order = _Order.of(ctx, r, placed_beds, top)
    batch = ctx.batch_bed.get(referral_id) if ctx.batch_bed is not None else None

    per_unit: dict[int, _UnitTerms] = {}
    ranked = _ranked(ctx, r, order, completions, cost_top, batch, per_unit)
    bed_counts = bed_rule_counts(ctx, r)
    summaries, unit_order = _unit_summaries(ctx, order, per_unit, bed_counts, detail)

    emergency = bool(ctx.reserve_exempt[r])
    partners = [refs.ids[m] for m in ctx.groups.get(r, [r]) if m != r]
    open_units = np.zeros(len(units), dtype=bool)
    open_units[order.units] = True
    shut = np.flatnonzero(~open_units)
    excluded: list[ExcludedUnit] = []
    if detail == "full":
        excluded = excluded_units(ctx, r, shut, group_failures, bed_counts)
        by_rule = most_first(Counter(rule for unit in excluded for rule in unit["rules"]))
    else:
        by_rule = exclusion_counts(ctx, r, shut, group_failures, bed_counts)
    support, support_excluded = support_only_options(ctx.problem, referral_id)
    # Built here from checked parts, so the whole is not validated a second time.
    return RankResult.model_construct(
        referral=referral_id,
        priority=int(refs.priority[r]),
        emergency_da=emergency,
        partners=partners,
        eligible_bedspaces=len(order),
        eligible_units=len(unit_order),
        ranked=ranked,
        units=summaries,
        excluded=excluded,
        batch_placement=batch,
        notes=_notes(ctx, emergency, partners, batch),
        detail=detail,
        excluded_units=len(shut),
        excluded_by_rule=by_rule,
        support_only=support,
        support_only_excluded=support_excluded,
    )


# A unit's points per term, their sentences highest first, and the team it would give.
_UnitTerms = tuple[dict[str, int], list[str], int | None]


def _ranked(
    ctx: RankingContext,
    r: int,
    order: _Order,
    completions: dict[int, Placement] | None,
    cost_top: int,
    batch: str | None,
    per_unit: dict[int, _UnitTerms],
) -> list[RankedPlacement]:
    """The placements shown, each with its terms, team, partners and (for the first
    `cost_top`) cost to others; fills `per_unit` with the terms of their units."""
    t = ctx.tables
    refs, units = t.referrals, t.units
    batch_unit = int(t.beds.unit[t.beds.index[batch]]) if batch is not None else None
    shown = order.shown
    shown_ranks = order.ranks(order.descending[:shown])
    # A bed-space's column of `allowed` depends only on its unit, cluster and accessibility,
    # so bed-spaces alike in those cost the others alike: work each case out once.
    costs: dict[tuple[int, ...], CostToOthers] = {}
    effects: dict[tuple[int, ...], UnitEffects] = {}
    ranked = []
    bed_ids, team_ids = t.beds.ids, t.teams.ids
    for position, (bed, u, points) in enumerate(
        zip(
            order.beds[:shown].tolist(),
            order.units[:shown].tolist(),
            order.scores[:shown].tolist(),
            strict=True,
        )
    ):
        if u not in per_unit:
            terms = ctx.scores.pair_terms(r, u)
            sentences = ctx.explainer.sentences(r, u)
            by_points = sorted(terms, key=lambda name: -terms[name])
            team = choose_team(ctx, r, u, {}) if units.visiting[u] else None
            reasons = [sentences[name] for name in by_points if name in sentences]
            per_unit[u] = (terms, reasons, team)
        terms, reasons, team = per_unit[u]
        placement = completions[bed] if completions is not None else [(r, bed, team)]
        team = placement[0][2]
        # Validating costs less than `model_construct` here, and copies `terms` and `reasons`.
        ranked.append(
            RankedPlacement(
                rank=shown_ranks[position],
                bedspace=bed_ids[bed],
                unit=units.ids[u],
                unit_name=ctx.problem.units[u].name,
                support_team=team_ids[team] if team is not None else None,
                score=points,
                terms=terms,
                reasons=reasons,
                partners=[
                    PartnerPlacement(
                        referral=refs.ids[m],
                        bedspace=bed_ids[b],
                        support_team=team_ids[tm] if tm is not None else None,
                    )
                    for m, b, tm in placement[1:]
                ],
                cost_to_others=(
                    cost_once(ctx, placement, costs, effects) if position < cost_top else None
                ),
                batch_places_elsewhere=(
                    None if ctx.batch_bed is None else batch_unit is not None and batch_unit != u
                ),
            )
        )
    return ranked


def _unit_summaries(
    ctx: RankingContext,
    order: _Order,
    per_unit: dict[int, _UnitTerms],
    bed_counts: np.ndarray,
    detail: Literal["full", "summary"],
) -> tuple[list[UnitSummary], list[int]]:
    """The ranking grouped by unit (for a summary, the units of the placements shown), and
    every unit with a placement, best first."""
    # Placements are sorted by score then unit, so a unit's run is contiguous.
    first_of_unit = np.flatnonzero(
        np.concatenate(([len(order) > 0], order.units[1:] != order.units[:-1]))
    )
    starts = first_of_unit.tolist()
    unit_order = order.units[first_of_unit].tolist()
    explained = len(set(order.units[: order.shown].tolist()))  # the units of those shown
    behind = _behind_top([per_unit[u][0] for u in unit_order[:explained]])
    behind += [""] * (len(unit_order) - explained)
    top_score = int(order.scores[0]) if len(order) else 0
    bounds = [*starts, len(order)]
    # A summary lists the units of the placements shown, which lead `unit_order`.
    listed = unit_order[:explained] if detail == "summary" else unit_order
    sorted_ids = ctx.bed_id_array[order.beds[: bounds[len(listed)]]].tolist()
    at = np.asarray(listed, dtype=np.int64)
    # Why a ranked unit's other bed-spaces are not offered: worded like an exclusion case
    # with no unit rule failing.
    others, which = exclusion_cases(
        ctx, np.zeros(at.size, dtype=np.int64), ctx.bed_count[at], [c[at] for c in bed_counts]
    )
    unit_scores_sorted = order.descending[first_of_unit]
    rank_at = order.ranks(unit_scores_sorted)
    score_at = (-unit_scores_sorted).tolist()
    ids, names = ctx.tables.units.ids, ctx.unit_names
    summaries: list[UnitSummary] = [
        {
            "rank": rank_at[k],
            "unit": ids[u],
            "unit_name": names[u],
            "score": score_at[k],
            "bedspaces": sorted_ids[start:stop],
            "points_behind": top_score - score_at[k],
            "behind_top": behind[k],
            "other_bedspaces": others[case][0],
            "other_bedspace_rules": others[case][1],
        }
        for k, (u, start, stop, case) in enumerate(
            zip(listed, bounds, bounds[1:], which.tolist(), strict=False)
        )
    ]
    return summaries, unit_order


def _notes(
    ctx: RankingContext, emergency: bool, partners: list[str], batch: str | None
) -> list[str]:
    notes = []
    if emergency:
        notes.append(women_only_reserve_held.say("ranking_note"))
    if partners:
        notes.append(keep_together.say("ranking_note", partners=join(partners)))
    if ctx.batch_bed is not None:
        notes.append(
            f"The batch solution places this referral in {batch}."
            if batch is not None
            else "The batch solution leaves this referral unplaced."
        )
    return notes
