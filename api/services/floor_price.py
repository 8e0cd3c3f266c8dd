"""The price of a cohort floor: the same data solved without the floor and with it, side by
side, in placements per priority band and soft points of fit, each solve with its own proof
(bound and gap), and one sentence a commissioner can repeat ("a floor for women costs 2
placements in band 3 and 14 points of fit").

Stored with the floored run (`AllocationRunRow.price`) as two solve summaries and the floor's
report, so the page reads the very figures the solves proved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constraints.cohorts import COHORT_NAMES
from constraints.floors import floor_outcome
from matcher.model import LIST_RATE, CohortFloor, Problem, Solution
from matcher.objective import BANDS


def with_floor(problem: Problem, floor: CohortFloor | None) -> Problem:
    """The problem with this floor as its only one (unchanged without a floor)."""
    if floor is None:
        return problem
    policy = problem.policy.model_copy(update={"floors": [floor]})
    return problem.model_copy(update={"policy": policy})


def summary(solution: Solution) -> dict[str, Any]:
    """What the page needs of one solve: counts per band, soft points, and their proof."""
    extra = solution.model_extra or {}
    return {
        "status": solution.status,
        "placed": len(solution.assignments),
        "placed_by_priority": dict(solution.placed_by_priority),
        "placed_bound_by_priority": dict(extra.get("placed_bound_by_priority") or {}),
        "soft_points": solution.objective,
        "soft_bound": solution.bound,
        "gap": solution.gap,
        "solve_seconds": solution.solve_seconds,
    }


def price(problem: Problem, free: Solution | None, floored: Solution) -> dict[str, Any] | None:
    """Both solves and the floor's report; None for a run without a floor. `problem` is the
    floored one: the free solve's count in the cohort is counted against its floor too."""
    reports = (floored.model_extra or {}).get("floors") or []
    if free is None or not reports or not problem.policy.floors:
        return None
    placed = {a.referral for a in free.assignments}
    without = floor_outcome(problem, problem.policy.floors[0], placed)
    return {
        "without": {**summary(free), "cohort_placed": without.placed, "floor_met": without.met},
        "with": {**summary(floored), "cohort_placed": reports[0]["placed"]},
        "floor": reports[0],
    }


@dataclass(frozen=True)
class BandPrice:
    band: int
    without: int
    with_floor: int
    bound_without: int | None
    bound_with: int | None

    @property
    def lost(self) -> int:
        return self.without - self.with_floor


@dataclass(frozen=True)
class PriceView:
    floor_words: str  # "at least the list's rate", "at least 40%"
    bands: list[BandPrice]
    soft_without: float
    soft_with: float
    sentence: str
    proofs: list[str]  # one sentence per solve: proven, or how far from proven
    floor_sentence: str  # the floor's own report: counts and rates, met or out of reach

    @property
    def soft_lost(self) -> float:
        return self.soft_without - self.soft_with


def floor_words(floor: dict[str, Any]) -> str:
    at_least = floor.get("at_least")
    if at_least == LIST_RATE:
        return "at least the whole list's placement rate"
    return f"at least {100 * float(at_least or 0):.0f}% placed"


def view(price: dict[str, Any] | None) -> PriceView | None:
    """The stored price as the run page shows it."""
    if not price:
        return None
    free, floored, floor = price["without"], price["with"], price["floor"]
    bands = [
        BandPrice(
            band=b,
            without=int(free["placed_by_priority"].get(str(b), 0)),
            with_floor=int(floored["placed_by_priority"].get(str(b), 0)),
            bound_without=free["placed_bound_by_priority"].get(str(b)),
            bound_with=floored["placed_bound_by_priority"].get(str(b)),
        )
        for b in BANDS
    ]
    soft_without = float(free["soft_points"] or 0)
    soft_with = float(floored["soft_points"] or 0)
    name = COHORT_NAMES.get(floor["cohort"], floor["cohort"])
    name = name[0].lower() + name[1:]  # "Women" reads "women"; "MAPPA" stays
    costs = [
        f"{b.lost} placement{'s' if b.lost != 1 else ''} in band {b.band}"
        for b in bands
        if b.lost > 0
    ]
    gains = [f"{-b.lost} more in band {b.band}" for b in bands if b.lost < 0]
    points = soft_without - soft_with
    if points > 0:
        costs.append(f"{points:,.0f} points of fit")
    elif points < 0:
        gains.append(f"{-points:,.0f} more points of fit")
    subject = f"A floor for {name} ({floor_words(floor)})"
    if not costs:
        sentence = f"{subject} costs nothing here."
        if free.get("floor_met"):
            sentence = f"{subject} costs nothing here: the allocation without it already meets it."
        if gains:
            sentence = f"{subject} costs nothing here, and gives {_and(gains)}."
    else:
        sentence = f"{subject} costs {_and(costs)}."
        if gains:
            sentence = sentence[:-1] + f", for {_and(gains)}."
    if "cohort_placed" in free:
        sentence += (
            f" It places {floored['cohort_placed']} of the {floor['waiting']} people in this "
            f"group, against {free['cohort_placed']} without it."
        )
    return PriceView(
        floor_words=floor_words(floor),
        bands=bands,
        soft_without=soft_without,
        soft_with=soft_with,
        sentence=sentence,
        proofs=[_proof("Without the floor", free), _proof("With the floor", floored)],
        floor_sentence=str(floor.get("sentence", "")),
    )


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _proof(label: str, solve: dict[str, Any]) -> str:
    if solve["status"] == "optimal":
        return (
            f"{label}: proven best, band by band and in points of fit "
            f"(bound {solve['soft_bound']:,.0f} = {solve['soft_points']:,.0f})."
        )
    gap = solve.get("gap")
    gap_words = f"gap {100 * gap:.2f}%" if gap is not None else "no bound"
    return (
        f"{label}: not proven best in the time ({gap_words}; soft points "
        f"{solve['soft_points']:,.0f}, bound {solve['soft_bound']:,.0f})."
    )
