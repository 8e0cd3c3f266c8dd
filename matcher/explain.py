"""Sentences a coordinator reads: why a placement scores what it does, term by term.

Each soft term of `constraints/scores.py` gets one sentence for a (referral, unit) pair,
built from the same columns the points come from ("in a preferred area (Oakley)",
"12 minutes from Fernby", "offers college, matching a strength", "waited 84 days"), so the
words never disagree with the numbers beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from constraints.scores import MAX_WAIT_DAYS, TERMS, Scores, travel_matrix
from constraints.tables import HIGH_NEED_HOURS, Tables


def _words(value: str) -> str:
    return value.replace("_", " ")


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class TermExplainer:
    """Writes the term sentences; built once per problem, read per (referral, unit)."""

    tables: Tables
    scores: Scores
    area_minutes: np.ndarray  # (A, A) shortest travel minutes between areas
    area_names: list[str]

    @classmethod
    def build(cls, tables: Tables, scores: Scores) -> TermExplainer:
        names = [area.name or area.id for area in tables.problem.areas]
        return cls(tables, scores, travel_matrix(tables), names)

    def sentences(self, referral: int, unit: int) -> dict[str, str]:
        """One sentence per soft term that applies to this person, in the order of `TERMS`:
        a term that cannot apply (a female worker for a man, travel from a preferred area
        nobody named) says nothing, so each reason a coordinator reads is about them."""
        writers = {
            "waiting": self._waiting,
            "preferred_area": self._preferred_area,
            "travel": self._travel,
            "strengths": self._strengths,
            "pathway_fit": self._pathway_fit,
            "female_worker": self._female_worker,
            "spread_high_need": self._spread_high_need,
        }
        written = {term: writers[term](referral, unit) for term in TERMS if term in writers}
        return {term: text for term, text in written.items() if text is not None}

    def _waiting(self, r: int, u: int) -> str | None:
        days = int(self.tables.referrals.waiting_days[r])
        if days <= 0:
            return "referred today"
        text = f"waited {days} day{'s' if days != 1 else ''}"
        return text + " (counted up to a year)" if days > MAX_WAIT_DAYS else text

    def _preferred_names(self, r: int) -> list[str]:
        return [self.area_names[a] for a in np.flatnonzero(self.tables.referrals.preferred_area[r])]

    def _preferred_area(self, r: int, u: int) -> str | None:
        area = int(self.tables.units.area[u])
        if self.tables.referrals.preferred_area[r, area]:
            return f"in a preferred area ({self.area_names[area]}), so no travel"
        preferred = self._preferred_names(r)
        if not preferred:
            return None
        return f"not in a preferred area ({_join(preferred)})"

    def _travel(self, r: int, u: int) -> str | None:
        preferred = np.flatnonzero(self.tables.referrals.preferred_area[r])
        area = int(self.tables.units.area[u])
        if preferred.size == 0 or self.tables.referrals.preferred_area[r, area]:
            return None  # nowhere to travel from, or said with the preferred area
        minutes = self.area_minutes[preferred, area]
        nearest = int(preferred[int(np.argmin(minutes))])
        value = float(minutes.min())
        if not np.isfinite(value):
            return "not reachable from a preferred area"
        if value == 0:
            return f"no travel from {self.area_names[nearest]}"
        return f"{value:g} minutes from {self.area_names[nearest]}"

    def _strengths(self, r: int, u: int) -> str | None:
        problem = self.tables.problem
        strengths = problem.referrals[r].strengths
        if not strengths:
            return None
        offers = set(problem.units[u].offers)
        matched = [_words(s) for s in strengths if s in offers]
        if not matched:
            return (
                f"offers nothing matching their strengths ({_join([_words(s) for s in strengths])})"
            )
        plural = "strengths" if len(matched) > 1 else "a strength"
        return f"offers {_join(matched)}, matching {plural}"

    def _pathway_fit(self, r: int, u: int) -> str | None:
        problem = self.tables.problem
        offered = _words(problem.units[u].pathway.value)
        wanted = _words(problem.referrals[r].pathway.value)
        if offered == wanted:
            return f"{offered} pathway, as referred"
        return f"{offered} pathway; referred for {wanted}"

    def _female_worker(self, r: int, u: int) -> str | None:
        if not self.tables.referrals.is_woman[r]:
            return None
        if self.tables.units.women_only[u]:
            return "women-only service with female staff"
        if self.tables.team_available[u, 1]:
            return "a support team with a female worker covers the area"
        return "no female worker assured"

    def _spread_high_need(self, r: int, u: int) -> str | None:
        refs = self.tables.referrals
        high_need = (
            refs.is_high_risk[r] or refs.needs_24_7[r] or refs.support_hours[r] >= HIGH_NEED_HOURS
        )
        if not high_need:
            return None
        share = float(self.tables.units.high_need_share[u])
        return f"{share:.0%} of present residents are high-need"
