"""Service errors the app maps to HTTP responses (see `api.app`)."""

from __future__ import annotations

from collections.abc import Sequence

from matcher.errors import BedmatchError


class NotFound(BedmatchError):
    """404: an id names nothing stored. The message names the id."""

    def __init__(self, what: str, item_id: object) -> None:
        self.what = what
        self.item_id = item_id
        super().__init__(f"unknown {what} id {item_id!r}")


class Conflict(BedmatchError):
    """409: the request is well formed but the stored state does not allow it."""

    def __init__(self, message: str, reasons: Sequence[str] = ()) -> None:
        self.message = message
        self.reasons = list(reasons)
        super().__init__(message)


def not_waiting(referral_id: str, status: str) -> Conflict:
    """409 for a referral that is no longer waiting (placed or withdrawn), naming its status."""
    return Conflict(f"referral {referral_id!r} is {status}, not waiting")
