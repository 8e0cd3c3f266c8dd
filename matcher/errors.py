"""Every error bedmatch raises on purpose.

    BedmatchError
    ├── ProblemInvalid      a problem or solution document is malformed or inconsistent
    │                       (HTTP 422, CLI exit 2); carries every issue found, not the first
    ├── BackendUnavailable  a solver backend is not installed or cannot run (HTTP 503)
    ├── ReferralNotFound    a ranking or override names a referral the problem lacks (HTTP 404)
    └── PlacementRefused    an override asks for a placement a hard rule forbids (HTTP 409);
                            carries every rule's reason

A referral nobody can place is not an error: it is a result, with reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a document: where (a field path) and why."""

    loc: tuple[str | int, ...]
    msg: str

    @property
    def path(self) -> str:
        return format_loc(self.loc)

    def __str__(self) -> str:
        return f"{self.path}: {self.msg}" if self.loc else self.msg


def format_loc(loc: Sequence[str | int]) -> str:
    """`("referrals", 3, "age")` -> `referrals[3].age`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class BedmatchError(Exception):
    """Base of every error raised on purpose by bedmatch."""


class ProblemInvalid(BedmatchError):
    """A document failed validation; `issues` lists every field that is wrong and why."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))

    @classmethod
    def from_validation_error(
        cls, error: ValidationError, prefix: tuple[str | int, ...] = ()
    ) -> ProblemInvalid:
        """Every error pydantic found, each field path under `prefix` (e.g. `("body",)`)."""
        issues = []
        for detail in error.errors(include_url=False):
            msg = detail["msg"]
            if detail["type"] == "missing":
                msg = "field required"
            msg = msg.removeprefix("Value error, ")
            issues.append(Issue((*prefix, *detail["loc"]), msg))
        return cls(issues)

    def as_detail(self) -> list[dict[str, object]]:
        """The issues in FastAPI's 422 `detail` shape."""
        return [{"loc": list(i.loc), "msg": i.msg, "type": "value_error"} for i in self.issues]


class BackendUnavailable(BedmatchError):
    """The requested solver backend cannot run here."""


class ReferralNotFound(BedmatchError):
    """A ranking or override names a referral id the problem does not hold."""

    def __init__(self, referral: str) -> None:
        self.referral = referral
        super().__init__(f"unknown referral id {referral!r}")


class PlacementRefused(BedmatchError):
    """A chosen placement breaks hard rules; no override reason can allow it.

    `rules` names the broken rules and `reasons` gives each in a coordinator's words.
    """

    def __init__(
        self, referral: str, bedspace: str, rules: Sequence[str], reasons: Sequence[str]
    ) -> None:
        self.referral = referral
        self.bedspace = bedspace
        self.rules = list(rules)
        self.reasons = list(reasons)
        super().__init__(f"{referral} cannot be placed in {bedspace}: " + " ".join(self.reasons))
