"""ORM rows. Column names follow the problem model (DESIGN.md), so a row validates straight
into its pydantic model with `model_validate(row, from_attributes=True)`.

Enumerations are stored as their string values and lists as JSON; the pydantic model is what
checks them, on the way in and on the way out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Id = String(64)


class Base(DeclarativeBase):
    pass


class ServiceState(Base):
    """One row: the data version, bumped (and so row-locked) by every placement write."""

    __tablename__ = "service_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ServiceSettingRow(Base):
    """A named value the service keeps about itself: how the database was created (as a
    demo, or with a real admin), switches an admin turns on. Read and written through
    `api.services.service_settings`."""

    __tablename__ = "service_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime)
    changed_by: Mapped[str] = mapped_column(String(64))


class AreaRow(Base):
    __tablename__ = "areas"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class LinkRow(Base):
    __tablename__ = "links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    a: Mapped[str] = mapped_column(Id, ForeignKey("areas.id"))
    b: Mapped[str] = mapped_column(Id, ForeignKey("areas.id"))
    minutes: Mapped[float] = mapped_column(Float)


class UnitRow(Base):
    __tablename__ = "units"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    area: Mapped[str] = mapped_column(Id, ForeignKey("areas.id"))
    kind: Mapped[str] = mapped_column(String(32))
    gender_policy: Mapped[str] = mapped_column(String(32))
    self_contained: Mapped[bool] = mapped_column(Boolean)
    min_age: Mapped[int] = mapped_column(Integer)
    max_age: Mapped[int] = mapped_column(Integer)
    under_18_approved: Mapped[bool] = mapped_column(Boolean)
    staffing: Mapped[str] = mapped_column(String(32))
    mappa_approved: Mapped[bool] = mapped_column(Boolean)
    max_risk: Mapped[str] = mapped_column(String(32))
    max_high_risk_residents: Mapped[int] = mapped_column(Integer)
    support_hours_capacity: Mapped[float] = mapped_column(Float)
    offers: Mapped[list[str]] = mapped_column(JSON, default=list)
    pathway: Mapped[str] = mapped_column(String(32))
    confidential_address: Mapped[bool] = mapped_column(Boolean)
    address: Mapped[str | None] = mapped_column(String(400), nullable=True)


class BedSpaceRow(Base):
    __tablename__ = "bedspaces"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    unit: Mapped[str] = mapped_column(Id, ForeignKey("units.id"), index=True)
    cluster: Mapped[str] = mapped_column(String(64), default="")
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    available_from: Mapped[date | None] = mapped_column(Date, nullable=True)


class SupportTeamRow(Base):
    __tablename__ = "support_teams"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    area: Mapped[str] = mapped_column(Id, ForeignKey("areas.id"))
    caseload_capacity: Mapped[int] = mapped_column(Integer)
    current_caseload: Mapped[int] = mapped_column(Integer, default=0)
    female_workers: Mapped[int] = mapped_column(Integer, default=0)
    support_hours_capacity: Mapped[float | None] = mapped_column(Float, nullable=True)


class ResidentRow(Base):
    """A person in a bed-space. `left_on` is set at move-out; the row stays for the record."""

    __tablename__ = "residents"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    bedspace: Mapped[str] = mapped_column(Id, ForeignKey("bedspaces.id"))
    gender: Mapped[str] = mapped_column(String(32))
    age: Mapped[int] = mapped_column(Integer)
    risk: Mapped[str] = mapped_column(String(32))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    support_hours: Mapped[float] = mapped_column(Float, default=0)
    arrived: Mapped[date | None] = mapped_column(Date, nullable=True)
    expected_leave: Mapped[date | None] = mapped_column(Date, nullable=True)
    support_team: Mapped[str | None] = mapped_column(
        Id, ForeignKey("support_teams.id"), nullable=True
    )
    left_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Why the stay ended and where the person went (`api.services.stays`); None on stays
    # ended before these were recorded.
    left_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    destination: Mapped[str | None] = mapped_column(String(32), nullable=True)
    left_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    # One person per bed-space: the database refuses a second present resident, whatever
    # the application layer believed.
    __table_args__ = (
        Index(
            "one_present_resident_per_bedspace",
            "bedspace",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
    )


class ReferralRow(Base):
    __tablename__ = "referrals"
    id: Mapped[str] = mapped_column(Id, primary_key=True)
    referred: Mapped[date] = mapped_column(Date)
    age: Mapped[int] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(32))
    needs_women_only: Mapped[bool] = mapped_column(Boolean, default=False)
    wants_female_worker: Mapped[bool] = mapped_column(Boolean, default=False)
    household_size: Mapped[int] = mapped_column(Integer, default=1)
    risk: Mapped[str] = mapped_column(String(32))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    support_hours: Mapped[float] = mapped_column(Float, default=0)
    needs_24_7: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    pathway: Mapped[str] = mapped_column(String(32))
    preferred_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    excluded_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    strengths: Mapped[list[str]] = mapped_column(JSON, default=list)
    keep_apart: Mapped[list[str]] = mapped_column(JSON, default=list)
    keep_together: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="waiting", index=True)
    referred_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    case_reference: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    wants: Mapped[str] = mapped_column(String(16), default="bed", server_default="bed")
    home_area: Mapped[str | None] = mapped_column(Id, nullable=True)


class AllocationRunRow(Base):
    __tablename__ = "allocation_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    backend: Mapped[str] = mapped_column(String(16))
    time_limit_s: Mapped[float] = mapped_column(Float)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    solve_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    objective: Mapped[float | None] = mapped_column(Float, nullable=True)
    bound: Mapped[float | None] = mapped_column(Float, nullable=True)
    gap: Mapped[float | None] = mapped_column(Float, nullable=True)
    solve_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    # A re-solve of `base_run_id` with a cohort floor (`matcher.model.CohortFloor`), and its
    # price: the same data solved without and with the floor (`api.services.floor_price`).
    base_run_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_runs.id"), nullable=True)
    floor: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    price: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class AllocationResultRow(Base):
    """One referral's outcome in a run: a proposed placement, or unplaced with reasons."""

    __tablename__ = "allocation_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"), index=True)
    referral: Mapped[str] = mapped_column(Id, ForeignKey("referrals.id"))
    bedspace: Mapped[str | None] = mapped_column(Id, ForeignKey("bedspaces.id"), nullable=True)
    support_team: Mapped[str | None] = mapped_column(
        Id, ForeignKey("support_teams.id"), nullable=True
    )
    score: Mapped[float] = mapped_column(Float, default=0.0)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)


class PlacementRow(Base):
    __tablename__ = "placements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral: Mapped[str] = mapped_column(Id, ForeignKey("referrals.id"), index=True)
    bedspace: Mapped[str] = mapped_column(Id, ForeignKey("bedspaces.id"))
    support_team: Mapped[str | None] = mapped_column(
        Id, ForeignKey("support_teams.id"), nullable=True
    )
    placed_on: Mapped[date] = mapped_column(Date)
    placed_at: Mapped[datetime] = mapped_column(DateTime)
    placed_by: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_runs.id"), nullable=True)
    # A transfer: the person moved here from this bed-space (their stay there ended).
    transfer_from: Mapped[str | None] = mapped_column(Id, nullable=True)
    # A placement made in error and undone within a day: who, when and why.
    undone_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    undo_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SupportPlacementRow(Base):
    """A support team alone for a person in their own, a family member's or a
    non-commissioned tenancy. `ended` is set when the support ends; the row stays."""

    __tablename__ = "support_placements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral: Mapped[str] = mapped_column(Id, ForeignKey("referrals.id"), index=True)
    support_team: Mapped[str] = mapped_column(Id, ForeignKey("support_teams.id"), index=True)
    area: Mapped[str] = mapped_column(Id)  # where the person lives
    lives_in: Mapped[str] = mapped_column(String(32))
    support_hours: Mapped[float] = mapped_column(Float, default=0)
    started: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    ended: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OfferRow(Base):
    """A bed-space held for one waiting person until they accept, decline, the coordinator
    withdraws it, or it expires (`api.services.offers`). Open offers are in the problem the
    service builds as people in the bed-space, so nobody else is offered or placed there."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral: Mapped[str] = mapped_column(Id, ForeignKey("referrals.id"), index=True)
    bedspace: Mapped[str] = mapped_column(Id, ForeignKey("bedspaces.id"), index=True)
    support_team: Mapped[str | None] = mapped_column(
        Id, ForeignKey("support_teams.id"), nullable=True
    )
    state: Mapped[str] = mapped_column(String(16), default="open")
    made_by: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why, if not ranked first
    run_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_runs.id"), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    closing_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    arrival_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    # One open offer per bed-space and per person: the database refuses a second hold,
    # whatever the application layer believed.
    __table_args__ = (
        Index(
            "one_open_offer_per_bedspace",
            "bedspace",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index(
            "one_open_offer_per_referral",
            "referral",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )


class OverrideRow(Base):
    """A coordinator's choice against the ranking (never against a hard rule), and why."""

    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id"))
    referral: Mapped[str] = mapped_column(Id, ForeignKey("referrals.id"))
    bedspace: Mapped[str] = mapped_column(Id, ForeignKey("bedspaces.id"))
    recommended: Mapped[str | None] = mapped_column(Id, nullable=True)
    chosen_rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# One account per name whatever its case: `Kim` and `kim` cannot hold two roles.
Index("users_username_folded", func.lower(UserRow.username), unique=True)


class RevokedSessionRow(Base):
    """A signed-out token, refused until it would have expired anyway (then deleted)."""

    __tablename__ = "revoked_sessions"
    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEventRow(Base):
    """Who read or changed what, when. Subjects are ids only: never the data itself."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")

    # Has this account signed in from this address before? Asked when a sign-in limit is
    # reached (`api.sign_in`); sign-ins are a sliver of the trail, so the index is too.
    __table_args__ = (
        Index(
            "audit_sign_ins",
            "username",
            "subject_id",
            "at",
            sqlite_where=text("action = 'sign_in'"),
            postgresql_where=text("action = 'sign_in'"),
        ),
    )


class ScenarioRow(Base):
    """A commissioner's scenario: the live portfolio as it stood when it was made (`live`),
    the changes to it (`plan`), and the figures of its last run, with who ran it, when, and
    the seed, so the figures can be reproduced."""

    __tablename__ = "scenarios"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    as_of: Mapped[date] = mapped_column(Date)
    # The snapshot is large (the whole portfolio); lists of scenarios never load it.
    live: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    ran_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ran_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    run_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)


class ListMemberRow(Base):
    """A person on the By Name List (`api.services.by_name_list`): their cohort and status,
    and when they last had contact with the service. The person is their case reference,
    across referrals; someone may be listed with no referral or bed-space at all."""

    __tablename__ = "by_name_list"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_reference: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cohort: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    joined_on: Mapped[date] = mapped_column(Date)
    joined_by: Mapped[str] = mapped_column(String(64))
    last_contact_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    left_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    left_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    # A person is on the list once at a time: the database refuses a second membership.
    __table_args__ = (
        Index(
            "one_listing_per_person",
            "case_reference",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
    )


class ListHistoryRow(Base):
    """One step of a person's time on the list, append-only: joining, each event and the
    status it moved them to, leaving; who, when (`at`), and the day it happened (`on`)."""

    __tablename__ = "by_name_list_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("by_name_list.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None: left
    on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime)
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
