"""Service settings: one `BaseSettings`, read from `BEDMATCH_*` environment variables.

`BEDMATCH_DATABASE_URL` (or plain `DATABASE_URL`, as hosting platforms set it) picks the
database; the default is a SQLite file in the working directory. There is no default
password anywhere: an admin account exists only when `BEDMATCH_ADMIN_PASSWORD` is set (or
`bedmatch serve --admin-password`), or in the demo database, whose logins are documented.
"""

from __future__ import annotations

import secrets
from datetime import date

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEDMATCH_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///bedmatch.db",
        validation_alias=AliasChoices("BEDMATCH_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    # A fresh random key per process unless set: tokens then end with the process, which is
    # the safe failure for a demo; a deployment sets BEDMATCH_SECRET_KEY.
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32), min_length=16)
    token_minutes: int = Field(default=60, ge=1)
    login_attempts_per_minute: int = Field(default=5, ge=1)
    demo: bool = False
    demo_seed: int = 8
    demo_referrals: int = Field(default=60, ge=1)
    demo_beds: int = Field(default=120, ge=1)
    admin_username: str = Field(default="admin", pattern=r"^[A-Za-z0-9_.@-]{2,64}$")
    admin_password: str | None = Field(default=None, min_length=12)
    as_of: date | None = Field(default=None, description="placement date; today when unset")
    solver_backend: str = "cpsat"
    solver_time_limit_s: float = Field(default=10.0, gt=0)
    run_migrations: bool = True
    # Threads answering requests at once (the rest queue); see `api.app` for why it is small.
    request_threads: int = Field(default=2, ge=1, le=64)
    # The largest request body (`api.body_limit`); only the import takes more, up to its own
    # limit, and keeps the upload in a temporary file rather than in memory.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_import_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Plain HTTP for local use: the sign-in cookie without `Secure`, no HSTS (`api.transport`).
    insecure_http: bool = False
    # Proxies whose X-Forwarded-For/-Proto are believed: comma-separated addresses or networks.
    trusted_proxies: str = ""
    # Scenario replications: local worker processes (None: every core; 1: in the service's
    # own process), or a Dask scheduler's address (`tcp://host:8786`), which takes precedence.
    scenario_workers: int | None = Field(default=None, ge=1, le=256)
    dask_scheduler: str = ""

    def placement_date(self) -> date:
        return self.as_of or date.today()
