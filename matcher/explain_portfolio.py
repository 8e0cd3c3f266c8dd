"""For the whole list: who nobody can place and why, and the single portfolio changes that would
place the most people, band by band.

People with no safe placement are grouped by the rule families of their nearest place (the
places blocked by the fewest rules, `matcher.explain_referral`). Every candidate change
(`matcher.portfolio_changes`) is screened with greedy on the change's area
(`matcher.change_screening.screen`); the best are re-solved with greedy on the whole problem,
and a shortlist of those with the exact backend under a time limit: a change is `proven`
when that backend proved every band's count.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from pydantic import BaseModel, Field

from matcher.change_screening import BANDS, Baseline, by_band, placed_with_change, screen
from matcher.explain_referral import nearest_places
from matcher.model import Problem
from matcher.portfolio_changes import PortfolioChange, apply_change, candidate_changes
from matcher.ranking import RankingContext, rank
from matcher.solve import solve

DEFAULT_CHANGES = 10
DEFAULT_SHORTLIST = 3
DEFAULT_TIME_LIMIT_S = 5.0


class UnplaceableGroup(BaseModel):
    families: list[int]  # DESIGN.md hard-rule families of their nearest place
    rules: list[str]
    by_priority: dict[str, int]
    referrals: list[str]


class ChangeEffect(BaseModel):
    change: PortfolioChange
    placed_by_priority: dict[str, int]  # everyone placed with the change, per band
    gain_by_priority: dict[str, int]  # beyond the baseline solved by the same backend
    proven: bool  # the exact backend proved every band's count
    backend: str


class BaselineCounts(BaseModel):
    backend: str
    placed_by_priority: dict[str, int]
    waiting_by_priority: dict[str, int]
    proven: bool


class PortfolioExplanation(BaseModel):
    baseline: BaselineCounts  # greedy
    exact_baseline: BaselineCounts | None = None  # the exact backend's, where it was run
    unplaceable: list[UnplaceableGroup]
    changes: list[ChangeEffect]
    screened: int  # candidate changes re-solved on their area
    notes: list[str] = Field(default_factory=list)


def _lexicographic(counts: dict[str, int]) -> tuple[int, ...]:
    return tuple(counts[str(band)] for band in BANDS)


def unplaceable_groups(rc: RankingContext) -> list[UnplaceableGroup]:
    """People the ranking has no safe placement for, grouped by what blocks their nearest
    place; the largest groups first."""
    refs = rc.tables.referrals
    groups: dict[tuple[int, ...], tuple[list[str], Counter[int], set[str]]] = defaultdict(
        lambda: ([], Counter(), set())
    )
    for r in range(len(refs)):
        grouped = r in rc.groups
        if rc.eligible_total[r] > 0 and not grouped:
            continue
        if grouped and rank(rc, refs.ids[r], top=1, cost_top=0, detail="summary").ranked:
            continue
        nearest = nearest_places(rc, r, limit=1, grouped=grouped)
        blocking = nearest[0].blocking if nearest else []
        families = tuple(sorted({b.family for b in blocking}))
        people, bands, rules = groups[families]
        people.append(refs.ids[r])
        bands[int(refs.priority[r])] += 1
        rules.update(b.rule for b in blocking)
    found = [
        UnplaceableGroup(
            families=list(families),
            rules=sorted(rules),
            by_priority={str(band): bands.get(band, 0) for band in BANDS},
            referrals=people,
        )
        for families, (people, bands, rules) in groups.items()
    ]
    return sorted(found, key=lambda g: (-len(g.referrals), g.families))


def best_screened(baseline: Baseline, limit: int) -> tuple[list[PortfolioChange], int]:
    """The `limit` candidate changes that place the most on screening (bands in order), the
    smaller of two alike first; and how many were screened."""
    candidates = candidate_changes(baseline.inst, baseline.placements)
    scored = []
    for change in candidates:
        gained = baseline.gain(screen(baseline, change))
        if any(gained.values()):
            scored.append((_lexicographic(gained), change))
    scored.sort(key=lambda item: (tuple(-x for x in item[0]), item[1].amount, item[1].label()))
    kept: list[PortfolioChange] = []
    seen: set[tuple[tuple[int, ...], str, str | None, str | None]] = set()
    for gain, change in scored:
        # The same change at a larger amount that places no more says nothing new.
        key = (gain, change.kind.value, change.unit, change.team)
        if key not in seen:
            seen.add(key)
            kept.append(change)
    return kept[:limit], len(candidates)


def explain_all(
    problem: Problem,
    changes: int = DEFAULT_CHANGES,
    shortlist: int = DEFAULT_SHORTLIST,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    exact_backend: str = "cpsat",
) -> PortfolioExplanation:
    """The whole list's answer (see the module docstring)."""
    baseline = Baseline.build(problem)
    waiting = Counter(ref.priority for ref in baseline.waiting)
    chosen, screened = best_screened(baseline, changes)
    effects = []
    for change in chosen:
        changed, placements = placed_with_change(baseline, change)
        counts = by_band(changed, placements)
        effects.append(
            ChangeEffect(
                change=change,
                placed_by_priority=counts,
                gain_by_priority=baseline.gain(counts),
                proven=False,
                backend="greedy",
            )
        )
    effects.sort(key=_most_placed_first)
    exact_baseline = None
    if shortlist and effects:
        exact_baseline = _solved(problem, exact_backend, time_limit_s)
        for k in range(min(shortlist, len(effects))):
            effects[k] = _exact(baseline, effects[k], exact_baseline, time_limit_s)
        effects.sort(key=_most_placed_first)
    return PortfolioExplanation(
        baseline=BaselineCounts(
            backend="greedy",
            placed_by_priority=baseline.placed_by_priority,
            waiting_by_priority={str(band): waiting.get(band, 0) for band in BANDS},
            proven=False,
        ),
        exact_baseline=exact_baseline,
        unplaceable=unplaceable_groups(RankingContext.build(problem)),
        changes=effects,
        screened=screened,
        notes=[
            "Facts about the portfolio, not advice to place anyone against a rule: every count "
            "comes from an allocation the checker accepts on the changed portfolio. A change's "
            "gain is counted against the baseline solved by the same backend.",
        ],
    )


def _most_placed_first(effect: ChangeEffect) -> tuple[int, ...]:
    return tuple(-x for x in _lexicographic(effect.placed_by_priority))


def _solved(problem: Problem, backend: str, time_limit_s: float) -> BaselineCounts:
    solution = solve(problem, backend, time_limit_s)
    counts = {str(band): solution.placed_by_priority.get(str(band), 0) for band in BANDS}
    bounds = (solution.model_extra or {}).get("placed_bound_by_priority") or {}
    waiting = Counter(ref.priority for ref in problem.referrals)
    return BaselineCounts(
        backend=backend,
        placed_by_priority=counts,
        waiting_by_priority={
            band: waiting.get(int(band), 0) - placed for band, placed in counts.items()
        },
        proven=bool(bounds) and all(bounds.get(band) == counts[band] for band in counts),
    )


def _exact(
    baseline: Baseline, effect: ChangeEffect, exact_baseline: BaselineCounts, time_limit_s: float
) -> ChangeEffect:
    """Re-solve a shortlisted change with the exact backend; its counts replace greedy's only
    where it proved every band (two time-limited solves compare no better than greedy's)."""
    solved = _solved(
        apply_change(baseline.problem, effect.change), exact_baseline.backend, time_limit_s
    )
    if not solved.proven:
        return effect
    counts = solved.placed_by_priority
    return ChangeEffect(
        change=effect.change,
        placed_by_priority=counts,
        gain_by_priority={
            band: counts[band] - exact_baseline.placed_by_priority[band] for band in counts
        },
        proven=True,
        backend=exact_baseline.backend,
    )
