"""Passwords, tokens and login throttling.

Passwords are hashed with argon2 (argon2-cffi); tokens are HS256 JWTs (PyJWT) that carry the
username, role and a random token id (`jti`) and expire after `Settings.token_minutes`. The
token id is what sign-out revokes (`api.services.sessions`); a token without one is refused.
A failed login says the same thing, after the same work, whether or not the username exists,
so a login form cannot be used to find out who has an account. Usernames are matched in any
case.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.config import Settings
from api.orm import UserRow

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost one argon2 check.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")
ALGORITHM = "HS256"
USERNAME_LENGTH = 64  # the accounts table's username column


class Role(StrEnum):
    coordinator = "coordinator"
    housing_options = "housing_options"
    commissioner = "commissioner"
    admin = "admin"


ROLES = tuple(Role)
# Roles that may see a person's details and a refuge's address.
PERSONAL_DATA_ROLES = frozenset({Role.coordinator, Role.admin})


@dataclass(frozen=True)
class Principal:
    """The signed-in user as a request sees it."""

    username: str
    role: Role
    # The signed-in token's id (`jti`): what signing out revokes. Empty for the service itself.
    token_id: str = ""

    @property
    def sees_personal_data(self) -> bool:
        return self.role in PERSONAL_DATA_ROLES


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str) -> Principal | None:
    """The user if the password is right and the account active; None otherwise."""
    principal, _ = check_password(session, username, password)
    return principal


def check_password(session: Session, username: str, password: str) -> tuple[Principal | None, str]:
    """The user if the password is right and the account active, else None and why (for
    the audit trail only: the person signing in is told the same whatever the reason)."""
    user = session.scalar(_account_named(username)) if could_be_username(username) else None
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None, "no such username"
    if not verify_password(user.password_hash, password):
        return None, "wrong password"
    if not user.active:
        return None, "account closed"
    return Principal(user.username, Role(user.role)), ""


def could_be_username(username: str) -> bool:
    """Whether a typed name could name an account at all: a longer one, or one with control
    characters (which PostgreSQL refuses in a text value), is not looked up."""
    return 0 < len(username) <= USERNAME_LENGTH and username.isprintable()


def _account_named(username: str) -> Select[UserRow]:
    return select(UserRow).where(func.lower(UserRow.username) == func.lower(username))


def create_token(settings: Settings, principal: Principal) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": principal.username,
        "role": principal.role.value,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + timedelta(minutes=settings.token_minutes),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def decode_token(settings: Settings, token: str) -> Principal | None:
    """The principal a valid, unexpired token names; None for anything else."""
    signed = _signed_claims(settings.secret_key, token)
    if signed is None:
        return None
    principal, expires = signed
    # As PyJWT judges `exp`: whole seconds, expired from that second on.
    return principal if int(_now()) < expires else None


def token_expiry(settings: Settings, token: str) -> datetime | None:
    """When a validly signed token expires (naive UTC); None for a forged or malformed one."""
    signed = _signed_claims(settings.secret_key, token)
    return None if signed is None else datetime.fromtimestamp(signed[1], UTC).replace(tzinfo=None)


def _now() -> float:
    return time.time()


# Every request of a signed-in user presents the same token: its signature is checked once,
# not on every request (HMAC, base64 and JSON: a tenth of a millisecond each time). Expiry is
# still judged on every request, above. Bounded, so tokens from old sessions fall out.
@lru_cache(maxsize=4096)
def _signed_claims(secret_key: str, token: str) -> tuple[Principal, int] | None:
    """The principal and expiry (Unix seconds) a token's valid signature vouches for;
    None for a token that is forged, malformed or lacks a claim. Expiry is not checked."""
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "jti"], "verify_exp": False},
        )
        token_id = str(claims["jti"])
        if not 0 < len(token_id) <= 64:
            return None
        principal = Principal(str(claims["sub"]), Role(claims["role"]), token_id)
        return principal, int(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None


class LoginLimiter:
    """At most `attempts` failed logins per key in a sliding window (`api.sign_in` keys it
    by account and address, by account, and by address)."""

    # Keys with no failure left in the window are dropped once there are this many, so
    # guesses at ever new usernames do not grow the table without end.
    sweep_at = 10_000

    def __init__(self, attempts: int, window_s: float = 60.0) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, key: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(key, now)
            if len(failures) < self.attempts:
                return 0
            return max(1, int(self.window_s - (now - failures[0])) + 1)

    def failed(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(key, now)
            self._failures[key].append(now)
            if len(self._failures) >= self.sweep_at:
                stale = [k for k in self._failures if not self._recent(k, now)]
                for k in stale:
                    del self._failures[k]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def csrf_token(settings: Settings, session_token: str) -> str:
    """The form token for a signed-in page session: bound to its sign-in token and key."""
    digest = hmac.new(
        settings.secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256
    )
    return digest.hexdigest()[:40]


def csrf_ok(settings: Settings, session_token: str | None, given: str | None) -> bool:
    if not session_token or not given:
        return False
    return hmac.compare_digest(csrf_token(settings, session_token), given)
