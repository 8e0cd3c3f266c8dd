"""What an officer reads on the vacancy board: its filters as a form, and units, areas,
kinds, policies and staffing in words rather than the model's codes.

The board itself (capacity/vacancies.py) decides what is shown and hides refuges; this
module only names what it shows, so it never reveals more than the board does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from pydantic import ValidationError

from capacity.vacancies import CONFIDENTIAL_NAME, VacancyFilters, area_id
from matcher.model import GenderPolicy, Problem, Risk, Staffing, UnitKind

KIND_WORDS = {
    UnitKind.young_persons: "Young people (16-25)",
    UnitKind.women_only: "Women only",
    UnitKind.adult_mixed: "Adults",
    UnitKind.family: "Families",
    UnitKind.refuge: "Refuge",
    UnitKind.housing_first: "Housing First",
}
POLICY_WORDS = {
    GenderPolicy.women_only: "Women only",
    GenderPolicy.men_only: "Men only",
    GenderPolicy.mixed: "Men and women",
}
STAFFING_WORDS = {
    Staffing.staffed_24_7: "Staffed day and night",
    Staffing.daytime: "Staffed in the daytime",
    Staffing.visiting: "Visiting support",
}
RISK_WORDS = {
    Risk.low: "Low",
    Risk.medium: "Medium",
    Risk.high: "High",
    Risk.very_high: "Very high",
}

# The board's filters, in the order the form shows them, with the words beside each.
FILTER_LABELS = {
    "gender_policy": "Gender policy",
    "age": "Takes someone aged",
    "risk": "Takes risk up to at least",
    "staffing": "Staffing",
    "area": "Area",
    "kind": "Kind of unit",
}


@dataclass(frozen=True)
class Choice:
    value: str
    words: str


@dataclass(frozen=True)
class FilterForm:
    """The filters as given (for the form to show them again), the board's filters, and
    what was wrong with any of them, per field."""

    given: dict[str, str]
    filters: VacancyFilters
    errors: dict[str, str]

    @property
    def query(self) -> str:
        """The filters as a query string, for the downloads to carry the same ones."""
        return urlencode({name: value for name, value in self.given.items() if value})


def choices(problem: Problem) -> dict[str, list[Choice]]:
    """The options of each choice filter; areas by name, the name being what is sent."""
    areas = sorted({a.name or a.id for a in problem.areas}, key=str.casefold)
    return {
        "gender_policy": [Choice(p.value, w) for p, w in POLICY_WORDS.items()],
        "risk": [Choice(r.value, w) for r, w in RISK_WORDS.items()],
        "staffing": [Choice(s.value, w) for s, w in STAFFING_WORDS.items()],
        "area": [Choice(name, name) for name in areas],
        "kind": [Choice(k.value, w) for k, w in KIND_WORDS.items()],
    }


def read_filters(query: Mapping[str, str], problem: Problem) -> FilterForm:
    """The form's filters; a blank one means any, a bad one is named and left out."""
    given = {name: query.get(name, "").strip() for name in FILTER_LABELS}
    errors: dict[str, str] = {}
    kept: dict[str, str] = {}
    for name, value in given.items():
        if not value:
            continue
        try:
            VacancyFilters.model_validate({name: value})
        except ValidationError as invalid:
            errors[name] = invalid.errors()[0]["msg"]
        else:
            if name == "area" and area_id(problem, value) not in area_names(problem):
                errors[name] = f"no area is called {value!r}"
                continue
            kept[name] = value
    return FilterForm(given, VacancyFilters.model_validate(kept), errors)


def area_names(problem: Problem) -> dict[str, str]:
    """Each area's name by its id (the id where an area has no name)."""
    return {a.id: a.name or a.id for a in problem.areas}


def unit_names(problem: Problem, show_confidential: bool) -> dict[str, str]:
    """Each unit's name by its id, a refuge's hidden unless the role may see where it is."""
    return {
        u.id: CONFIDENTIAL_NAME if u.confidential_address and not show_confidential else u.name
        for u in problem.units
    }
