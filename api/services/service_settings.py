"""Named values the service keeps about itself, one row each in `service_settings`.

Each key is declared here with its meaning, so a setting is never a free-form string
scattered through the code. Values are text; a switch is "on" or "off".
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from api.orm import ServiceSettingRow

# The database was created as the public demo (seeded data, documented logins).
CREATED_AS_DEMO = "created_as_demo"
# A real admin account has been created in this database (never a demo from then on).
HAD_REAL_ADMIN = "had_real_admin"
# An admin lets the nightly rule record the move-out of every resident past their expected
# leaving date ("on"); otherwise only a coordinator records move-outs (`api.services.departures`).
NIGHTLY_MOVE_OUTS = "nightly_move_outs"

# How many days an offer holds its bed-space before it expires (a whole number; unset: the
# default in `api.services.offers`).
OFFER_DAYS = "offer_days"

# Days without contact after which a person on the By Name List is inactive (a whole number;
# unset: the default in `api.services.by_name_list`).
LIST_INACTIVE_DAYS = "list_inactive_days"

KNOWN_KEYS = frozenset(
    {CREATED_AS_DEMO, HAD_REAL_ADMIN, NIGHTLY_MOVE_OUTS, OFFER_DAYS, LIST_INACTIVE_DAYS}
)


def get(session: Session, key: str) -> str | None:
    """The stored value of `key`, or None if it was never set."""
    _known(key)
    row = session.get(ServiceSettingRow, key)
    return None if row is None else row.value


def is_on(session: Session, key: str) -> bool:
    return get(session, key) == "on"


def put(session: Session, key: str, value: str, by: str) -> None:
    """Set `key` in the session's transaction (the caller commits, with its audit event)."""
    _known(key)
    stamp = datetime.now(UTC).replace(tzinfo=None)
    row = session.get(ServiceSettingRow, key)
    if row is None:
        session.add(ServiceSettingRow(key=key, value=value, changed_at=stamp, changed_by=by))
    else:
        row.value, row.changed_at, row.changed_by = value, stamp, by
    session.flush()


def _known(key: str) -> None:
    if key not in KNOWN_KEYS:
        raise KeyError(f"unknown service setting {key!r}")
