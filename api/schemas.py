"""Request and response bodies. Inventory and people use the problem model itself
(`matcher.model`); these add what the service stores around them (status, dates, who)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.security import Role
from api.services.changes import complete, partial
from api.services.departure_reasons import DepartureReason, Destination
from api.services.offers import DeclineReason
from matcher.equity import CohortEquity
from matcher.limits import (
    ID_MAX_LENGTH,
    ID_PATTERN,
    REFERRALS_PER_REQUEST_MAX,
    TEXT_PATTERN,
    Id,
)
from matcher.model import BedSpace, CohortFloor, Pathway, Referral, Resident, SupportTeam, Unit

RunBackend = Literal["cpsat", "pulp", "greedy"]
# An id in a URL is held to the model's id rules, so an odd one is a 422 and never reaches
# the database (PostgreSQL refuses NUL in text with an error of its own).
PathId = Annotated[str, Path(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
REASON_MAX_LENGTH = 2000
USERNAME_MAX_LENGTH = 64  # users.username
USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]+$"
PathUsername = Annotated[
    str, Path(min_length=1, max_length=USERNAME_MAX_LENGTH, pattern=USERNAME_PATTERN)
]


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# The database keeps UTC without a zone; answers say it is UTC (RFC 3339 `date-time`), so a
# client in another zone does not read them as local time.
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


# PATCH bodies name some fields; PUT bodies must name every one.
if TYPE_CHECKING:
    UnitPatch = BaseModel
    BedSpacePatch = BaseModel
    SupportTeamPatch = BaseModel
    ReferralPatch = BaseModel
    UnitReplacement = Unit
    BedSpaceReplacement = BedSpace
    SupportTeamReplacement = SupportTeam
    ReferralReplacement = Referral
else:
    UnitPatch = partial(Unit)
    BedSpacePatch = partial(BedSpace)
    SupportTeamPatch = partial(SupportTeam)
    ReferralPatch = partial(Referral)
    UnitReplacement = complete(Unit)
    BedSpaceReplacement = complete(BedSpace)
    SupportTeamReplacement = complete(SupportTeam)
    ReferralReplacement = complete(Referral)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: Role
    expires_in: int


class Me(BaseModel):
    username: str
    role: Role


class UnitView(Unit):
    """A unit as a role sees it: a refuge's area and address are None unless allowed."""

    area: str | None  # type: ignore[assignment]


class ReferralView(Referral):
    status: str


class ResidentView(Resident):
    support_team: str | None = None
    left_on: date | None = None
    left_reason: DepartureReason | None = None
    destination: Destination | None = None


class TransferView(ResidentView):
    """The resident after a move: the pathway they are on now, and, where their support team
    could not follow them, why and who supports them now."""

    pathway: Pathway
    pathway_before: Pathway
    team_note: str | None = None


class PlacementRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referral: Id
    bedspace: Id
    support_team: Id | None = None
    reason: str | None = Field(
        default=None,
        max_length=REASON_MAX_LENGTH,
        pattern=TEXT_PATTERN,
        description="required unless the bed-space is the top-ranked placement (an override)",
    )


class PlacementView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    referral: str
    bedspace: str
    support_team: str | None
    placed_on: date
    placed_at: UtcDateTime
    placed_by: str
    run_id: int | None


class PlacementResult(BaseModel):
    placements: list[PlacementView]
    override_id: int | None = None


class OverrideView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    placement_id: int
    referral: str
    bedspace: str
    recommended: str | None
    chosen_rank: int | None
    reason: str
    by: str
    at: UtcDateTime


class DateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: date


class MoveOutBody(DateBody):
    """A move-out: its date, and (for the returns) why the stay ends and where the person
    goes; a client that sends only the date still may."""

    reason: DepartureReason | None = None
    destination: Destination | None = None
    note: str | None = Field(default=None, max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN)


class TransferRequest(BaseModel):
    """Move a resident to another bed-space; their team goes with them unless another is
    named."""

    model_config = ConfigDict(extra="forbid")

    bedspace: Id
    support_team: Id | None = None
    reason: str = Field(min_length=1, max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN)


class UndoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN)


class UndoneView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    referral: str
    bedspace: str
    undone_at: UtcDateTime
    undone_by: str
    undo_reason: str


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: RunBackend = "cpsat"
    time_limit_s: float = Field(default=10.0, gt=0, le=300)


class FloorRunRequest(CohortFloor):
    """Re-solve a run with this cohort floor (`at_least`: "list_rate" or a share 0 to 1)."""

    time_limit_s: float | None = Field(default=None, gt=0, le=300)

    def floor(self) -> CohortFloor:
        return CohortFloor(cohort=self.cohort, at_least=self.at_least)


class RunResultView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    referral: str
    bedspace: str | None
    support_team: str | None
    score: float
    terms: dict[str, float]
    reasons: list[str]
    accepted: bool


class RunView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    backend: str
    time_limit_s: float
    progress: float
    message: str
    created_by: str
    created_at: UtcDateTime
    finished_at: UtcDateTime | None
    solve_status: str | None
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float | None
    # Set on a re-solve with a cohort floor: the run it re-solves and the floor.
    base_run_id: int | None = None
    floor: dict[str, Any] | None = None


class RunDetail(RunView):
    results: list[RunResultView] = Field(default_factory=list)
    # Per cohort: waiting, proposed for a place, waits and the gap to the whole list.
    equity: list[CohortEquity] = Field(default_factory=list)
    # A floored run's price: the same data solved without and with the floor, and the
    # floor's report (`api.services.floor_price`).
    price: dict[str, Any] | None = None


class AcceptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referrals: list[Id] | None = Field(
        default=None,
        max_length=REFERRALS_PER_REQUEST_MAX,
        description="the proposals to accept; all of them when omitted",
    )


class AcceptResult(BaseModel):
    accepted: list[str]


class MoveOut(BaseModel):
    """An upcoming or past move-out, with no personal details."""

    bedspace: str
    unit: str
    expected_leave: date
    due_to_leave: bool = Field(
        default=False,
        description="the expected date has passed and no move-out is recorded: not free",
    )


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=12, max_length=200)
    role: Role


class UserView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    role: Role
    active: bool


class AuditEventView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: UtcDateTime
    username: str
    role: str
    action: str
    subject_type: str
    subject_id: str
    detail: str


class Stats(BaseModel):
    """Aggregates only: counts, never a person."""

    as_of: date
    bedspaces: int
    occupied: int
    free_now: int
    waiting_referrals: int
    waiting_by_priority: dict[str, int]
    placed_referrals: int
    placements: int
    overrides: int
    runs: int
    occupancy: float


class ImportedRecord(BaseModel):
    """One row's effect: a record created, or the fields of a stored one that changed, each
    as [old, new]; `weakens` names the safety fields the change weakens."""

    id: str
    action: Literal["create", "update"]
    fields: dict[str, list[Any]]
    weakens: list[str] = Field(default_factory=list)


class ImportResult(BaseModel):
    kind: str
    created: int
    updated: int
    unchanged: int = 0
    # A preview stores nothing: it shows what committing the same file would do.
    preview: bool = False
    records: list[ImportedRecord] = Field(default_factory=list)


class OfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referral: Id
    bedspace: Id
    support_team: Id | None = None
    reason: str | None = Field(
        default=None,
        max_length=REASON_MAX_LENGTH,
        pattern=TEXT_PATTERN,
        description="required unless the bed-space is the top-ranked placement (an override)",
    )
    ask_again: bool = Field(
        default=False, description="offer a bed-space this person declined before"
    )


class OfferView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    referral: str
    bedspace: str
    support_team: str | None
    state: str
    made_by: str
    made_at: UtcDateTime
    expires_at: UtcDateTime
    reason: str | None
    run_id: int | None
    closed_by: str | None
    closed_at: UtcDateTime | None
    reason_code: str | None
    closing_note: str | None
    arrival_on: date | None


class AcceptOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arrival_on: date


class DeclineOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: DeclineReason
    text: str | None = Field(
        default=None, max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN, description="why"
    )


class WithdrawOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN)


class OfferDays(BaseModel):
    """How many days an offer holds its bed-space before it expires."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(ge=1, le=60)


class NightlyMoveOuts(BaseModel):
    """Whether the nightly rule records move-outs of residents past their expected date."""

    model_config = ConfigDict(extra="forbid")

    on: bool


class ScenarioCreate(BaseModel):
    """A scenario on the live portfolio as it is now; `plan` lists its changes and run
    settings (`api.services.scenario_plan.ScenarioPlan`), none when left out."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    plan: dict[str, Any] | None = None


class ScenarioChange(BaseModel):
    """A new name, or a plan that replaces the old one whole."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    plan: dict[str, Any] | None = None


class ScenarioView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_by: str
    created_at: UtcDateTime
    as_of: date
    status: str
    progress: float
    message: str
    plan: dict[str, Any]
    ran_by: str | None
    ran_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    seed: int | None
    run_seconds: float | None
    figures: dict[str, Any] | None


# --- support placements: a team alone, at home -------------------------------------------

LivesIn = Literal["own", "family", "non_commissioned"]
SupportEndReason = Literal[
    "support_completed", "moved_into_accommodation", "moved_away", "disengaged", "died", "other"
]


class SupportPlacementRequest(BaseModel):
    """Give a waiting referral a support team alone, where they live now."""

    model_config = ConfigDict(extra="forbid")

    referral: Id
    support_team: Id
    lives_in: LivesIn = Field(
        description="own tenancy, a family member's, or a non-commissioned tenancy"
    )


class SupportEndBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ended: date
    reason: SupportEndReason


class SupportPlacementView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    referral: str
    support_team: str
    area: str
    lives_in: str
    support_hours: float
    started: date
    started_at: UtcDateTime
    started_by: str
    ended: date | None
    end_reason: str | None
    ended_by: str | None
