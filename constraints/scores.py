"""Soft terms: how good an allowed placement is, as integer points per (referral, unit).

Every term is a value in [0, 1] times its weight (`policy.weights`, defaults below) times
`POINTS`, rounded once here, so every backend optimises the very same integers and the
ranking shows the very same breakdown. All terms depend on the unit, not the bed-space, so
bed-spaces of one unit are interchangeable for scoring.

Terms, in the order DESIGN.md gives them:
- waiting: days waited, capped at a year, so nobody waits forever;
- preferred_area: the unit is in one of the person's preferred areas;
- travel: how near the unit is to the nearest preferred area on the travel graph (0 at 2 h);
- strengths: the share of the person's strengths the unit offers something for;
- pathway_fit: the unit's pathway is the one the person is referred for;
- female_worker: a woman placed where women-only staff or a team with a female worker is;
- spread_high_need: high-need people go where fewer high-need residents already live.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from constraints.tables import HIGH_NEED_HOURS, Tables
from matcher.model import Policy

DEFAULT_WEIGHTS: dict[str, float] = {
    "waiting": 4.0,
    "preferred_area": 3.0,
    "travel": 2.0,
    "strengths": 2.0,
    "pathway_fit": 3.0,
    "female_worker": 1.0,
    "spread_high_need": 1.0,
}
TERMS = tuple(DEFAULT_WEIGHTS)
POINTS = 100  # points per unit of weight: a term worth 1.0 at weight 1 scores 100
MAX_WAIT_DAYS = 365
MAX_TRAVEL_MINUTES = 120.0


def weights_for(policy: Policy) -> dict[str, float]:
    """The policy's weights over the defaults; unknown term names are refused."""
    unknown = set(policy.weights) - set(DEFAULT_WEIGHTS)
    if unknown:
        from matcher.errors import Issue, ProblemInvalid

        raise ProblemInvalid(
            [
                Issue(("policy", "weights", name), f"unknown soft term; known: {', '.join(TERMS)}")
                for name in sorted(unknown)
            ]
        )
    return {**DEFAULT_WEIGHTS, **policy.weights}


@dataclass(frozen=True)
class Scores:
    """Integer points per term, each broadcastable to (referrals, units)."""

    terms: dict[str, np.ndarray]
    travel_minutes: np.ndarray  # (R, U) minutes from the nearest preferred area, inf if none

    def total(self) -> np.ndarray:
        """(R, U) total points of placing each referral in each unit."""
        shapes = [np.shape(v) for v in self.terms.values()]
        out = np.zeros(np.broadcast_shapes(*shapes), dtype=np.int64)
        for values in self.terms.values():
            out = out + values
        return out

    def pair_terms(self, referral: int, unit: int) -> dict[str, int]:
        return {
            name: int(
                values[referral if values.shape[0] > 1 else 0, unit if values.shape[1] > 1 else 0]
            )
            for name, values in self.terms.items()
        }


def travel_matrix(tables: Tables) -> np.ndarray:
    """(A, A) shortest travel minutes between areas on the link graph (inf if unconnected)."""
    problem = tables.problem
    graph = nx.Graph()
    graph.add_nodes_from(range(len(tables.area_index)))
    for link in problem.links:
        a, b = tables.area_index[link.a], tables.area_index[link.b]
        if not graph.has_edge(a, b) or graph[a][b]["minutes"] > link.minutes:
            graph.add_edge(a, b, minutes=link.minutes)
    minutes = np.full((len(tables.area_index),) * 2, np.inf)
    for source, lengths in nx.all_pairs_dijkstra_path_length(graph, weight="minutes"):
        for target, value in lengths.items():
            minutes[source, target] = value
    return minutes


def _points(value: np.ndarray, weight: float) -> np.ndarray:
    """rint(value × weight × POINTS) as integers, computed in that order (so the points are
    the same to the last bit), with one (R, U) temporary rather than four. The points are
    int32 where every one fits: a city's terms are six (R, U) grids, 340 MiB as int64 at
    5,000 referrals and 1,400 units. Sums (`Scores.total`) are int64."""
    array = np.asarray(value)
    if array.dtype == bool:  # 0 or the full points: a lookup, no float grid
        full = int(np.rint(np.float64(1.0) * weight * POINTS))
        points: np.ndarray = array.astype(np.int32 if _fits_int32(full, full) else np.int64)
        return np.multiply(points, full, out=points)
    scaled = array.astype(np.float64) * weight
    scaled *= POINTS
    np.rint(scaled, out=scaled)
    fits = scaled.size == 0 or _fits_int32(float(scaled.min()), float(scaled.max()))
    return scaled.astype(np.int32 if fits else np.int64)


def _fits_int32(low: float, high: float) -> bool:
    small = np.iinfo(np.int32)
    return bool(small.min <= low and high <= small.max)


def score(tables: Tables) -> Scores:
    """Every soft term's points for every (referral, unit)."""
    weights = weights_for(tables.problem.policy)
    r, u = tables.referrals, tables.units
    n_refs, n_units = len(r), len(u)

    waiting = np.minimum(r.waiting_days, MAX_WAIT_DAYS).clip(min=0) / MAX_WAIT_DAYS
    preferred = r.preferred_area[:, u.area] if n_units else np.zeros((n_refs, 0), dtype=bool)

    # Travel from the nearest preferred area; people with no preference score nothing here.
    area_minutes = travel_matrix(tables)
    nearest = _nearest_from_preferred(r.preferred_area, area_minutes)
    travel_minutes = nearest[:, u.area] if n_units else np.zeros((n_refs, 0))
    travel = np.clip(1.0 - travel_minutes / MAX_TRAVEL_MINUTES, 0.0, 1.0)

    strengths = _strength_share(tables)
    pathway_fit = r.pathway[:, None] == u.pathway[None, :]

    terms = {
        "waiting": _points(waiting[:, None], weights["waiting"]),
        "preferred_area": _points(preferred, weights["preferred_area"]),
        "travel": _points(travel, weights["travel"]),
        "strengths": _points(strengths, weights["strengths"]),
        "pathway_fit": _points(pathway_fit, weights["pathway_fit"]),
        **occupancy_terms(tables),
    }
    return Scores(terms=terms, travel_minutes=travel_minutes)


def _nearest_from_preferred(preferred: np.ndarray, area_minutes: np.ndarray) -> np.ndarray:
    """(R, A) minutes from each referral's nearest preferred area to each area (inf with no
    preference), one preferred area at a time: a person prefers one or two, and the whole
    (R, A, A) grid at once took 180 MiB on a city of 5,000 referrals and 67 areas."""
    nearest = np.full(preferred.shape, np.inf)
    for area in np.flatnonzero(preferred.any(axis=0)):
        who = preferred[:, area]
        nearest[who] = np.minimum(nearest[who], area_minutes[area][None, :])
    return nearest


# The terms that move when people arrive or leave (see `occupancy_terms`).
OCCUPANCY_TERMS = ("female_worker", "spread_high_need")


def occupancy_unit_values(tables: Tables) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, what the occupancy terms read: (women-only staff or a team with a female
    worker and room, share of residents who are not high-need)."""
    u = tables.units
    return u.women_only | tables.team_available[:, 1], 1.0 - u.high_need_share


def occupancy_terms(tables: Tables, units: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The terms that depend on who lives in a unit and which teams have room, as (R, U)
    points; with `units`, (R, len(units)) for just those units."""
    weights = weights_for(tables.problem.policy)
    r = tables.referrals
    female_staff, calm = occupancy_unit_values(tables)
    if units is not None:
        female_staff, calm = female_staff[units], calm[units]
    female_worker = r.is_woman[:, None] & female_staff[None, :]
    high_need = r.is_high_risk | r.needs_24_7 | (r.support_hours >= HIGH_NEED_HOURS)
    spread = np.where(high_need[:, None], calm[None, :], 0.0)
    return {
        "female_worker": _points(female_worker, weights["female_worker"]),
        "spread_high_need": _points(spread, weights["spread_high_need"]),
    }


def _strength_share(tables: Tables) -> np.ndarray:
    problem = tables.problem
    vocabulary = sorted(
        {s for ref in problem.referrals for s in ref.strengths}
        | {o for unit in problem.units for o in unit.offers}
    )
    column = {word: k for k, word in enumerate(vocabulary)}
    has = np.zeros((len(problem.referrals), len(vocabulary)), dtype=np.float64)
    offers = np.zeros((len(problem.units), len(vocabulary)), dtype=np.float64)
    for i, ref in enumerate(problem.referrals):
        has[i, [column[s] for s in ref.strengths]] = 1.0
    for j, unit in enumerate(problem.units):
        offers[j, [column[o] for o in unit.offers]] = 1.0
    matched = has @ offers.T
    counts = has.sum(axis=1, keepdims=True)
    return np.divide(matched, counts, out=np.zeros_like(matched), where=counts > 0)
