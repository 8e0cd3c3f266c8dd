"""The problem and solution documents: the one contract shared by fixtures, solvers, CLI and API.

Field names follow DESIGN.md and are never renamed. `Problem` validates types and ranges per
field and then every cross-reference (unknown ids, duplicate ids, two residents in one bed-space)
in one pass, raising `ProblemInvalid` with every issue, so a bad document is rejected whole.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from matcher.errors import Issue, ProblemInvalid
from matcher.limits import (
    AGE_MAX,
    AREAS_MAX,
    COUNT_MAX,
    HOURS_CAPACITY_MAX,
    HOUSEHOLD_MAX,
    MINUTES_MAX,
    PEOPLE_MAX,
    TAGS_MAX,
    WEEKLY_HOURS_MAX,
    WEIGHT_MAX,
    WEIGHTS_MAX,
    Address,
    Id,
    Label,
    Name,
)


class UnitKind(StrEnum):
    young_persons = "young_persons"
    women_only = "women_only"
    adult_mixed = "adult_mixed"
    family = "family"
    refuge = "refuge"
    housing_first = "housing_first"


class GenderPolicy(StrEnum):
    women_only = "women_only"
    men_only = "men_only"
    mixed = "mixed"


class Staffing(StrEnum):
    staffed_24_7 = "24_7"
    daytime = "daytime"
    visiting = "visiting"


class Pathway(StrEnum):
    emergency = "emergency"
    recovery = "recovery"
    housing_first = "housing_first"
    step_down = "step_down"  # short stays after hospital or a crisis (Oxfordshire)


class TeamKind(StrEnum):
    intensive = "intensive"
    navigator = "navigator"
    floating = "floating"


class Gender(StrEnum):
    woman = "woman"
    man = "man"
    non_binary = "non_binary"


class Risk(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    very_high = "very_high"

    @property
    def level(self) -> int:
        """0 (low) to 3 (very high), so risks compare in order."""
        return RISK_ORDER.index(self)

    @property
    def is_high(self) -> bool:
        return self in (Risk.high, Risk.very_high)


RISK_ORDER = (Risk.low, Risk.medium, Risk.high, Risk.very_high)


class Flag(StrEnum):
    mappa_1 = "mappa_1"
    mappa_2 = "mappa_2"
    mappa_3 = "mappa_3"
    risk_to_women = "risk_to_women"
    risk_to_children = "risk_to_children"
    da_victim = "da_victim"
    da_perpetrator = "da_perpetrator"
    arson = "arson"
    substance_use = "substance_use"
    mental_health = "mental_health"
    care_leaver = "care_leaver"


def _absent(value: Any) -> bool:
    return value is None


Wants = Literal["bed", "support_only", "either"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False, frozen=True)


NonNegative = Field(ge=0)


class Area(_Doc):
    id: Id
    name: Name = ""


class Link(_Doc):
    a: Id
    b: Id
    minutes: float = Field(ge=0, le=MINUTES_MAX)


class Unit(_Doc):
    id: Id
    name: Name = ""
    area: Id
    kind: UnitKind
    gender_policy: GenderPolicy = GenderPolicy.mixed
    self_contained: bool = False
    min_age: int = Field(default=16, ge=16, le=AGE_MAX)
    max_age: int = Field(default=120, ge=16, le=AGE_MAX)
    under_18_approved: bool = False
    staffing: Staffing = Staffing.daytime
    mappa_approved: bool = False
    max_risk: Risk = Risk.very_high
    max_high_risk_residents: int = Field(default=1_000_000, ge=0, le=COUNT_MAX)
    support_hours_capacity: float = Field(default=1e9, ge=0, le=HOURS_CAPACITY_MAX)
    offers: list[Label] = Field(default_factory=list, max_length=TAGS_MAX)
    pathway: Pathway = Pathway.recovery
    confidential_address: bool = False
    address: Address | None = None

    @model_validator(mode="after")
    def _age_band(self) -> Self:
        if self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}")
        return self

    @model_validator(mode="after")
    def _kind_keeps_its_safety(self) -> Self:
        """A unit's kind promises who is safe there: a women-only project is women-only, a
        refuge single-gender at a confidential address (Women's Aid's refuge standards), so
        the policy that the rules read can never contradict the kind a coordinator reads."""
        policy = self.gender_policy
        if self.kind is UnitKind.women_only and policy is not GenderPolicy.women_only:
            raise ValueError(
                f"gender_policy must be women_only for a unit of kind women_only, not {policy}"
            )
        if self.kind is UnitKind.refuge and policy is GenderPolicy.mixed:
            raise ValueError("gender_policy must be women_only or men_only for a refuge, not mixed")
        if self.kind is UnitKind.refuge and not self.confidential_address:
            raise ValueError("confidential_address must be true for a refuge")
        return self


class BedSpace(_Doc):
    id: Id
    unit: Id
    cluster: Label = ""
    accessible: bool = False
    available_from: date | None = None


class SupportTeam(_Doc):
    id: Id
    kind: TeamKind
    area: Id
    caseload_capacity: int = Field(ge=0, le=COUNT_MAX)
    current_caseload: int = Field(default=0, ge=0, le=COUNT_MAX)
    female_workers: int = Field(default=0, ge=0, le=COUNT_MAX)
    # Weekly hours the team gives people it supports in their own homes (community support
    # and support-only placements); None: not limited. A bed-space's hours are its unit's.
    support_hours_capacity: float | None = Field(
        default=None, ge=0, le=HOURS_CAPACITY_MAX, exclude_if=_absent
    )
    added_later: ClassVar[frozenset[str]] = frozenset({"support_hours_capacity"})

    @model_validator(mode="after")
    def _caseload(self) -> Self:
        if self.current_caseload > self.caseload_capacity:
            raise ValueError(
                f"current_caseload {self.current_caseload} is above "
                f"caseload_capacity {self.caseload_capacity}"
            )
        return self


class Resident(_Doc):
    id: Id
    bedspace: Id
    gender: Gender
    age: int = Field(ge=16, le=AGE_MAX)
    risk: Risk = Risk.low
    flags: list[Flag] = Field(default_factory=list, max_length=len(Flag))
    support_hours: float = Field(default=0, ge=0, le=WEEKLY_HOURS_MAX)
    arrived: date | None = None
    expected_leave: date | None = None


def split_referred(cls: Any, data: Any) -> Any:
    """`referred` may be given as a timestamp: its date stays in `referred` (what the solver
    and every document read) and the moment goes to `referred_at`, in UTC. A date alone reads
    as midnight: it drops a `referred_at` of another day."""
    if not isinstance(data, dict) or data.get("referred") is None:
        return data
    moment = _timestamp(data["referred"])
    if moment is not None:
        return {**data, "referred": moment.date(), "referred_at": moment}
    at = _timestamp(data.get("referred_at"))
    day = data["referred"]
    if at is not None and isinstance(day, date | str) and str(day)[:10] != at.date().isoformat():
        return {**data, "referred_at": None}
    return data


def _timestamp(value: Any) -> datetime | None:
    """A date and time (naive UTC), or None for a date alone or anything unreadable (which the
    field's own validation then names)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and len(value.strip()) > 10:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


class Referral(_Doc):
    id: Id
    referred: date
    age: int = Field(ge=16, le=AGE_MAX)
    gender: Gender
    needs_women_only: bool = False
    wants_female_worker: bool = False
    household_size: int = Field(default=1, ge=1, le=HOUSEHOLD_MAX)
    risk: Risk = Risk.low
    flags: list[Flag] = Field(default_factory=list, max_length=len(Flag))
    support_hours: float = Field(default=0, ge=0, le=WEEKLY_HOURS_MAX)
    needs_24_7: bool = False
    needs_accessible: bool = False
    pathway: Pathway = Pathway.recovery
    preferred_areas: list[Id] = Field(default_factory=list, max_length=AREAS_MAX)
    excluded_areas: list[Id] = Field(default_factory=list, max_length=AREAS_MAX)
    strengths: list[Label] = Field(default_factory=list, max_length=TAGS_MAX)
    keep_apart: list[Id] = Field(default_factory=list, max_length=PEOPLE_MAX)
    keep_together: list[Id] = Field(default_factory=list, max_length=PEOPLE_MAX)
    priority: int = Field(default=1, ge=1, le=5)
    # Personal data, read only by roles that may see people (coordinators and admins); the
    # solver never reads them. Optional: documents from before them still load.
    name: Name | None = Field(default=None, exclude_if=_absent)  # the name they want used
    case_reference: Label | None = Field(default=None, exclude_if=_absent)
    # The moment of referral where it is known (UTC); `referred` alone reads as midnight.
    referred_at: datetime | None = Field(default=None, exclude_if=_absent)
    # What the person asks for: a bed-space (with a team where the unit needs one), a support
    # team alone in their own home (`support_only`), or either. Support follows the person,
    # not the building (002_dcd69be417dc9cc0.txt), so support needs `home_area`.
    wants: Wants = Field(default="bed", exclude_if=lambda value: value == "bed")
    home_area: Id | None = Field(default=None, exclude_if=_absent)  # where they live now

    reads_referred_timestamp = model_validator(mode="before")(split_referred)
    patch_before: ClassVar[Any] = staticmethod(split_referred)  # for PATCH bodies and imports
    added_later: ClassVar[frozenset[str]] = frozenset(
        {"name", "case_reference", "referred_at", "wants", "home_area"}
    )

    @property
    def may_take_support_only(self) -> bool:
        return self.wants != "bed"

    @property
    def may_take_bed(self) -> bool:
        return self.wants != "support_only"


class CommunitySupport(_Doc):
    """Someone a team already supports in their own, a family member's or a non-commissioned
    tenancy: counted in the team's caseload (its `current_caseload` includes them) and in the
    hours it gives in people's homes."""

    id: Id
    support_team: Id
    area: Id
    support_hours: float = Field(default=0, ge=0, le=WEEKLY_HOURS_MAX)


# The cohorts a floor may name: `constraints.cohorts.Cohort`'s values (that module reads this one).
FLOOR_COHORTS = (
    "young_people",
    "under_18s",
    "women",
    "da_victims",
    "high_risk",
    "care_leavers",
    "households",
    "housing_first",
)
LIST_RATE = "list_rate"


class CohortFloor(_Doc):
    """A cohort's placement rate at least the whole list's (`list_rate`) or a given share
    (0 to 1): the fairness floor a commissioner may set on a batch run (issue 28)."""

    cohort: str
    at_least: Literal["list_rate"] | float

    @field_validator("cohort")
    @classmethod
    def _known_cohort(cls, value: str) -> str:
        if value not in FLOOR_COHORTS:
            raise ValueError(f"unknown cohort {value!r}; choose one of {', '.join(FLOOR_COHORTS)}")
        return value

    @field_validator("at_least", mode="before")
    @classmethod
    def _share_or_list_rate(cls, value: Any) -> Any:
        if value == LIST_RATE:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be {LIST_RATE!r} or a share from 0 to 1, not {value!r}")
        if not 0 <= value <= 1:
            raise ValueError(f"a share must be from 0 to 1 (0.3 is 30%), not {value!r}")
        return float(value)


def _no_floors(value: list[CohortFloor]) -> bool:
    return not value


class Policy(_Doc):
    weights: dict[Label, Annotated[float, Field(ge=-WEIGHT_MAX, le=WEIGHT_MAX)]] = Field(
        default_factory=dict, max_length=WEIGHTS_MAX
    )
    women_only_reserve: int = Field(default=0, ge=0, le=COUNT_MAX)
    # Left out of a document without floors, so documents written before them read the same.
    floors: list[CohortFloor] = Field(
        default_factory=list, max_length=len(FLOOR_COHORTS), exclude_if=_no_floors
    )

    @model_validator(mode="after")
    def _one_floor_per_cohort(self) -> Self:
        named = [floor.cohort for floor in self.floors]
        for cohort in sorted({c for c in named if named.count(c) > 1}):
            raise ValueError(f"floors: cohort {cohort!r} has more than one floor")
        return self


class Problem(_Doc):
    as_of: date
    areas: list[Area] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    units: list[Unit] = Field(default_factory=list)
    bedspaces: list[BedSpace] = Field(default_factory=list)
    support_teams: list[SupportTeam] = Field(default_factory=list)
    residents: list[Resident] = Field(default_factory=list)
    referrals: list[Referral] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    community_support: list[CommunitySupport] = Field(
        default_factory=list, exclude_if=lambda value: not value
    )
    # Units that stand for one referral's own home, unit id -> referral id: made by the
    # matcher for a batch run (`matcher.support_places`), so a support-only placement is
    # placed as any visiting unit is; nobody else may take one.
    home_places: dict[Id, Id] = Field(default_factory=dict, exclude_if=lambda value: not value)
    # Documents written before these fields may leave them out (empty).
    added_later: ClassVar[frozenset[str]] = frozenset({"community_support", "home_places"})

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        issues = list(_reference_issues(self))
        if issues:
            # Not a ValueError on purpose: pydantic lets it through with every issue intact.
            raise ProblemInvalid(issues)
        return self

    def resident_is_present(self, resident: Resident) -> bool:
        """A resident whose expected leaving date is on or before `as_of` has gone."""
        return resident.expected_leave is None or resident.expected_leave > self.as_of


def _duplicates(collection: str, ids: Iterable[str]) -> Iterable[Issue]:
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen:
            yield Issue((collection, index, "id"), f"duplicate id {item_id!r}")
        seen.add(item_id)


def _reference_issues(problem: Problem) -> Iterable[Issue]:
    for name in (
        "areas",
        "units",
        "bedspaces",
        "support_teams",
        "residents",
        "referrals",
        "community_support",
    ):
        yield from _duplicates(name, (item.id for item in getattr(problem, name)))

    area_ids = {a.id for a in problem.areas}
    unit_ids = {u.id for u in problem.units}
    bed_ids = {b.id for b in problem.bedspaces}
    referral_ids = {r.id for r in problem.referrals}
    person_ids = referral_ids | {r.id for r in problem.residents}
    for index, resident in enumerate(problem.residents):
        if resident.id in referral_ids:
            yield Issue(("residents", index, "id"), f"id {resident.id!r} is also a referral's id")

    def unknown(loc: tuple[str | int, ...], value: str, known: set[str], what: str) -> list[Issue]:
        return [] if value in known else [Issue(loc, f"unknown {what} id {value!r}")]

    for i, link in enumerate(problem.links):
        yield from unknown(("links", i, "a"), link.a, area_ids, "area")
        yield from unknown(("links", i, "b"), link.b, area_ids, "area")
    for i, unit in enumerate(problem.units):
        yield from unknown(("units", i, "area"), unit.area, area_ids, "area")
    for i, bed in enumerate(problem.bedspaces):
        yield from unknown(("bedspaces", i, "unit"), bed.unit, unit_ids, "unit")
    for i, team in enumerate(problem.support_teams):
        yield from unknown(("support_teams", i, "area"), team.area, area_ids, "area")
    yield from _community_support_issues(problem, area_ids, person_ids)

    occupant: dict[str, str] = {}
    for i, resident in enumerate(problem.residents):
        yield from unknown(("residents", i, "bedspace"), resident.bedspace, bed_ids, "bed-space")
        if not problem.resident_is_present(resident):
            continue
        if resident.bedspace in occupant:
            yield Issue(
                ("residents", i, "bedspace"),
                f"bed-space {resident.bedspace!r} already holds resident "
                f"{occupant[resident.bedspace]!r}",
            )
        occupant.setdefault(resident.bedspace, resident.id)

    for i, referral in enumerate(problem.referrals):
        for field, known, what in (
            ("preferred_areas", area_ids, "area"),
            ("excluded_areas", area_ids, "area"),
            ("keep_apart", person_ids, "referral or resident"),
            ("keep_together", referral_ids, "referral"),
        ):
            for j, value in enumerate(getattr(referral, field)):
                yield from unknown(("referrals", i, field, j), value, known, what)
        for field in ("keep_apart", "keep_together"):
            for j, value in enumerate(getattr(referral, field)):
                if value == referral.id:
                    yield Issue(("referrals", i, field, j), "a referral cannot name itself")
        for field in ("preferred_areas", "excluded_areas", "keep_apart", "keep_together"):
            values = getattr(referral, field)
            if len(set(values)) == len(values):
                continue  # the usual case, without counting
            for value, count in Counter(values).items():
                if count > 1:
                    yield Issue(("referrals", i, field), f"{value!r} is listed {count} times")
        if referral.may_take_support_only and referral.home_area is None:
            yield Issue(
                ("referrals", i, "home_area"),
                f"needed when wants is {referral.wants!r}: support is given where the person lives",
            )
        if referral.home_area is not None:
            yield from unknown(("referrals", i, "home_area"), referral.home_area, area_ids, "area")
        both = set(referral.keep_apart) & set(referral.keep_together)
        for value in sorted(both):
            yield Issue(("referrals", i, "keep_apart"), f"{value!r} is also in keep_together")


def _community_support_issues(
    problem: Problem, area_ids: set[str], person_ids: set[str]
) -> Iterable[Issue]:
    teams = {t.id: t for t in problem.support_teams}
    supported: Counter[str] = Counter()
    for i, person in enumerate(problem.community_support):
        if person.id in person_ids:
            yield Issue(
                ("community_support", i, "id"), f"id {person.id!r} is also a referral or resident"
            )
        if person.area not in area_ids:
            yield Issue(("community_support", i, "area"), f"unknown area id {person.area!r}")
        if person.support_team not in teams:
            yield Issue(
                ("community_support", i, "support_team"),
                f"unknown support team id {person.support_team!r}",
            )
        else:
            supported[person.support_team] += 1
    for team_id, count in supported.items():
        if count > teams[team_id].current_caseload:
            index = next(i for i, t in enumerate(problem.support_teams) if t.id == team_id)
            yield Issue(
                ("support_teams", index, "current_caseload"),
                f"{teams[team_id].current_caseload} is below the {count} people the team "
                "supports in the community, whom it counts",
            )
    units = {u.id: u for u in problem.units}
    referrals = {r.id: r for r in problem.referrals}
    for unit_id, referral_id in problem.home_places.items():
        referral = referrals.get(referral_id)
        if unit_id not in units:
            yield Issue(("home_places", unit_id), f"unknown unit id {unit_id!r}")
        elif referral is None or not referral.may_take_support_only:
            yield Issue(
                ("home_places", unit_id),
                f"{referral_id!r} is not a referral that may take support only",
            )
        elif units[unit_id].area != referral.home_area:
            yield Issue(("home_places", unit_id), "the unit must be in the person's home area")


class SupportPlacement(_Doc):
    """A support team alone for a referral, in the person's own home (no bed-space)."""

    referral: str
    support_team: str
    score: float = 0.0
    terms: dict[str, float] = Field(default_factory=dict)


class Assignment(_Doc):
    referral: str
    bedspace: str
    support_team: str | None = None
    score: float = 0.0
    terms: dict[str, float] = Field(default_factory=dict)


class Unplaced(_Doc):
    referral: str
    reasons: list[str] = Field(default_factory=list)


SolveStatus = Literal["optimal", "feasible", "fallback", "infeasible_input"]


class Solution(_Doc):
    model_config = ConfigDict(extra="allow", frozen=True)

    status: SolveStatus = "feasible"
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    solve_seconds: float = 0.0
    backend: str = ""
    placed_by_priority: dict[str, int] = Field(default_factory=dict)
    assignments: list[Assignment] = Field(default_factory=list)
    unplaced: list[Unplaced] = Field(default_factory=list)
    support_placements: list[SupportPlacement] = Field(
        default_factory=list, exclude_if=lambda value: not value
    )


def _parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ProblemInvalid.from_validation_error(error) from None


def parse_problem(data: Any) -> Problem:
    """Validate a decoded JSON document as a `Problem`, or raise `ProblemInvalid`."""
    problem: Problem = _parse(Problem, data)
    return problem


def parse_solution(data: Any) -> Solution:
    solution: Solution = _parse(Solution, data)
    return solution


def read_json(path: str | Path) -> Any:
    """Read a JSON file, turning a missing file or bad JSON into `ProblemInvalid`."""
    name = str(path)
    try:
        text = Path(path).read_text() if name != "-" else _stdin()
    except OSError as error:
        raise ProblemInvalid([Issue((), f"{name}: cannot read file ({error.strerror})")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ProblemInvalid(
            [
                Issue(
                    (),
                    f"{name}: not valid JSON (line {error.lineno}, column {error.colno}: "
                    f"{error.msg})",
                )
            ]
        ) from None


def _stdin() -> str:
    import sys

    return sys.stdin.read()


def load_problem(path: str | Path) -> Problem:
    return parse_problem(read_json(path))


def load_solution(path: str | Path) -> Solution:
    return parse_solution(read_json(path))
