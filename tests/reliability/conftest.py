"""Reliability fixtures: the service's own database fixtures (imported, not copied), a live
server on loopback, and tokens per role."""

from __future__ import annotations

from tests.api.conftest import (  # noqa: F401  (fixtures used by name)
    database_url,
    postgres,
    postgres_url,
    sqlite_template,
    sqlite_url,
)
