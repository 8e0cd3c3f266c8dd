"""Passwords, tokens and login throttling.

Passwords are hashed with argon2 (argon2-cffi); tokens are HS256 JWTs (PyJWT) that carry the
username and role and expire after `Settings.token_minutes`. A failed login says the same
thing, after the same work, whether or not the username exists, so a login form cannot be
used to find out who has an account.
"""

from __future__ import annotations

import hashlib
import hmac
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
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.config import Settings
from api.orm import UserRow

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost one argon2 check.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")
ALGORITHM = "HS256"


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
    user = session.scalar(select(UserRow).where(UserRow.username == username))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return Principal(user.username, Role(user.role))


def create_token(settings: Settings, principal: Principal) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": principal.username,
        "role": principal.role.value,
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
            options={"require": ["exp"], "verify_exp": False},
        )
        return Principal(str(claims["sub"]), Role(claims["role"])), int(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None


class LoginLimiter:
    """At most `attempts` failed logins per key (username and client) in a sliding minute."""

    def __init__(self, attempts: int, window_s: float = 60.0) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
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
        with self._lock:
            self._recent(key, time.monotonic()).append(time.monotonic())

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
