"""Sign-in: where a request comes from, how often an account or an address may fail, and the
record of every attempt.

Where a request comes from
    The client address is the peer of the connection. `X-Forwarded-For` and
    `X-Forwarded-Proto` are believed only from a proxy listed in `BEDMATCH_TRUSTED_PROXIES`
    (addresses or networks; none by default), which `api.transport` hands to uvicorn's
    `ProxyHeadersMiddleware`. Anyone else could write any address there and start every
    guess afresh.

Throttling
    Failed sign-ins are counted in sliding one-minute windows, three ways, where N is
    `BEDMATCH_LOGIN_ATTEMPTS_PER_MINUTE`:

    1. per account and address, N: one guesser at one account. Always applies, even to the
       right password, so waiting out the minute is the only way on.
    2. per account from any address, ACCOUNT_SHARE × N: one account guessed from many
       addresses (a botnet, or a forged address). Address changes buy nothing.
    3. per address across accounts, ADDRESS_SHARE × N: one address spraying a likely
       password over many accounts, each staying under its own limits.

    Anyone can push an account or an address over limits 2 and 3 (a wrong password for
    someone else's username; a colleague's typos at an office whose staff share one public
    address), so on their own they would lock out people who did nothing wrong. They
    therefore do not apply to an account at an address it has signed in from before (a
    `sign_in` event in the audit trail, within KNOWN_FOR): there only limit 1 does. A
    sprayer behind the office's address, or a botnet guessing a coordinator's password,
    slows down new accounts and new addresses for at most a minute, and never the
    coordinator at her usual desk with the right password. A guesser sharing that desk's
    address still meets limit 1 for each account. Only when a limit is reached is the
    audit trail asked (through an index of sign-in events alone).

    A success clears limit 1 for its account and address only: the shared counts stay, so
    one good sign-in does not reopen an account or an address to someone else's guessing.
    Counts live in each worker process (`bedmatch serve --workers 2` gives each its own
    count) and end with it; the audit trail is the lasting record.

The record
    Every attempt writes an event, committed before the answer, whose subject is the client
    address: `sign_in` (the account and its role), `sign_in_failed` (the username as typed,
    and why: no such username, wrong password, account closed; admins alone read this),
    `sign_in_refused` (throttled, unchecked). `sign_out` is written by
    `api.services.sessions`.

    A refused attempt costs its sender nothing (no password is checked), so a flood of them
    could fill the trail at network speed. Refusals under one limit (the pair, the account
    or the address that was over) are therefore written at most once every
    REFUSALS_RECORDED_EVERY seconds: the event names the attempt that was written and counts
    every refusal under that limit since the last one written. Failed and successful
    attempts each cost an argon2 check and are all written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from starlette.requests import Request

from api.orm import AuditEventRow, UserRow
from api.security import USERNAME_LENGTH, LoginLimiter, could_be_username
from api.services import audit

ACCOUNT_SHARE = 2  # an account's failed sign-ins per minute from all addresses, in N
ADDRESS_SHARE = 4  # an address's failed sign-ins per minute over all accounts, in N
KNOWN_FOR = timedelta(days=90)  # how long a sign-in makes its address a known one
REFUSALS_RECORDED_EVERY = 10.0  # seconds between written refusals under one limit
NO_ROLE = "-"  # the role column of an attempt that signed nobody in


class SignInThrottle:
    """The three limits above, for one worker process."""

    def __init__(self, attempts_per_minute: int) -> None:
        self.pair = LoginLimiter(attempts_per_minute)
        self.account = LoginLimiter(ACCOUNT_SHARE * attempts_per_minute)
        self.address = LoginLimiter(ADDRESS_SHARE * attempts_per_minute)
        self._refusals: dict[str, tuple[float, int]] = {}  # limit -> (last written, since)
        self._lock = threading.Lock()

    def retry_after(self, username: str, client: str, known: Callable[[], bool]) -> tuple[int, str]:
        """Seconds to wait before trying (0: try now), and the limit that is over. `known`
        says whether the account has signed in from `client` before; it is asked only if a
        shared limit is reached."""
        account = _account_key(username)
        pair = f"{account}|{client}"
        wait = self.pair.retry_after(pair)
        if wait:
            return wait, f"pair {pair}"
        over_account = self.account.retry_after(account)
        over_address = self.address.retry_after(client)
        if not (over_account or over_address) or known():
            return 0, ""
        if over_account >= over_address:
            return over_account, f"account {account}"
        return over_address, f"address {client}"

    def refusals_to_record(self, limit: str) -> int:
        """How many refusals under `limit` an event written now stands for (this one and
        those not written since the last); 0: count this one, write nothing yet."""
        now = time.monotonic()
        with self._lock:
            last, since = self._refusals.get(limit, (-REFUSALS_RECORDED_EVERY, 0))
            since += 1
            if now - last < REFUSALS_RECORDED_EVERY:
                self._refusals[limit] = (last, since)
                return 0
            self._refusals[limit] = (now, 0)
            if len(self._refusals) >= LoginLimiter.sweep_at:
                for key, (written, _) in list(self._refusals.items()):
                    if now - written >= 60:
                        del self._refusals[key]
            return since

    def failed(self, username: str, client: str) -> None:
        account = _account_key(username)
        self.pair.failed(f"{account}|{client}")
        self.account.failed(account)
        self.address.failed(client)

    def succeeded(self, username: str, client: str) -> None:
        self.pair.succeeded(f"{_account_key(username)}|{client}")


def _account_key(username: str) -> str:
    # No account's name is longer: a megabyte of typed name must not become a megabyte key.
    return username[: USERNAME_LENGTH + 1].lower()


def client_address(request: Request) -> str:
    """The client's address, as the trusted proxies (if any) give it."""
    return request.client.host if request.client else "-"


def signed_in_before(session: Session, username: str, client: str) -> bool:
    """Whether the account named `username` (any case) signed in from `client` lately."""
    if not could_be_username(username):
        return False
    account = (
        select(UserRow.username)
        .where(func.lower(UserRow.username) == func.lower(username))
        .scalar_subquery()
    )
    # The condition written out, not bound, so the partial index of sign-ins serves it.
    found = select(AuditEventRow.id).where(
        text("action = 'sign_in'"),
        AuditEventRow.username == account,
        AuditEventRow.subject_id == client,
        AuditEventRow.at >= audit.now() - KNOWN_FOR,
    )
    return session.scalar(found.limit(1)) is not None


def as_typed(username: str) -> str:
    """A username someone typed, fit for the trail: control characters (a NUL would fail
    the write on PostgreSQL) shown as `?`, and cut to the column's length."""
    shown = "".join(c if c.isprintable() else "?" for c in username)
    return shown[:USERNAME_LENGTH]


def record(
    session: Session, username: str, role: str, action: str, client: str, detail: str = ""
) -> None:
    """Write one attempt to the audit trail; return once it is committed."""
    audit.record_at_once(session, username, role, action, "client", client[:200], detail)
