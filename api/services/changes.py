"""How a stored record changes: only the fields a request names, with every change listed
field by field and every weakening of a safety field marked.

A safety field is one a hard rule stands on (DESIGN.md's families 1-9). Absence never
changes it: a partial update or an import row that leaves a column out keeps what is stored.
It may be weakened only by an explicit value, and each weakening is written to the audit
trail with its old and new value, so a refuge turned mixed, or a DA victim's flag dropped,
is always someone's recorded decision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from matcher.errors import Issue, ProblemInvalid
from matcher.model import RISK_ORDER, GenderPolicy, Risk, Staffing

Weakens = Callable[[Any, Any], bool]


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _risk_level(value: Any) -> int:
    return RISK_ORDER.index(Risk(value))


def _turned_off(old: Any, new: Any) -> bool:
    return bool(old) and not new


def _turned_on(old: Any, new: Any) -> bool:
    return not old and bool(new)


def _lost_items(old: Any, new: Any) -> bool:
    return bool(set(old or ()) - set(new or ()))


def _risk_lowered(old: Any, new: Any) -> bool:
    return _risk_level(new) < _risk_level(old)


def _risk_raised(old: Any, new: Any) -> bool:
    return _risk_level(new) > _risk_level(old)


def _grew(old: Any, new: Any) -> bool:
    return bool(new > old)


def _shrank(old: Any, new: Any) -> bool:
    return bool(new < old)


def _left_single_gender(old: Any, new: Any) -> bool:
    return GenderPolicy(old) is not GenderPolicy.mixed and GenderPolicy(new) != GenderPolicy(old)


def _left_24_7(old: Any, new: Any) -> bool:
    return Staffing(old) is Staffing.staffed_24_7 and Staffing(new) is not Staffing.staffed_24_7


def _changed(old: Any, new: Any) -> bool:
    return bool(old != new)


def _address_lost(old: Any, new: Any) -> bool:
    return bool(old) and old != new


# For each stored collection, its safety fields and when a change to one weakens it.
SAFETY_FIELDS: dict[str, dict[str, Weakens]] = {
    "units": {
        "kind": _changed,
        "gender_policy": _left_single_gender,
        "confidential_address": _turned_off,
        "address": _address_lost,
        "min_age": _shrank,
        "max_age": _grew,
        "under_18_approved": _turned_on,
        "staffing": _left_24_7,
        "mappa_approved": _turned_on,
        "max_risk": _risk_raised,
        "max_high_risk_residents": _grew,
        "support_hours_capacity": _grew,
    },
    "bedspaces": {"unit": _changed, "cluster": _changed},
    "support_teams": {
        "caseload_capacity": _grew,
        "female_workers": _shrank,
        "area": _changed,
        "kind": _changed,
    },
    "referrals": {
        "gender": _changed,
        "age": _changed,
        "needs_women_only": _turned_off,
        "wants_female_worker": _turned_off,
        "risk": _risk_lowered,
        "flags": _lost_items,
        "needs_24_7": _turned_off,
        "needs_accessible": _turned_off,
        "household_size": _changed,
        "excluded_areas": _lost_items,
        "keep_apart": _lost_items,
        "keep_together": _changed,
        "priority": _shrank,
    },
}

# Referral fields whose values may go into the audit trail (LIFECYCLE.md: old and new values
# for safety fields); for other personal fields only the field's name is recorded.
PERSONAL_COLLECTIONS = frozenset({"referrals"})


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    weakens: bool


@dataclass(frozen=True)
class RecordChange:
    """One record's change: created (every field new) or updated (the fields that moved)."""

    collection: str
    id: str
    created: bool
    fields: tuple[FieldChange, ...] = field(default=())

    @property
    def weakened(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if f.weakens)

    def audit_detail(self) -> str:
        """The change as the audit trail keeps it: `field: old -> new` (`field: value` for a
        new record) for inventory and for a person's safety fields, the field's name alone
        for a person's other fields."""
        personal = self.collection in PERSONAL_COLLECTIONS
        safety = SAFETY_FIELDS.get(self.collection, {})
        parts = []
        for change in self.fields:
            if personal and change.field not in safety:
                parts.append(change.field)
            elif self.created:
                parts.append(f"{change.field}: {_shown(change.new)}")
            else:
                parts.append(f"{change.field}: {_shown(change.old)} -> {_shown(change.new)}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": "create" if self.created else "update",
            "fields": {c.field: [c.old, c.new] for c in self.fields},
            "weakens": [c.field for c in self.weakened],
        }


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "null" if value is None else str(value)


@cache
def partial(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with every field optional and nothing filled in: a PATCH body, or an import
    row. The fields it names are merged into the stored record, which `model` then validates
    whole (`merge`), so every rule of the model still holds."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        # The field's own bounds (`ge`, `max_length`, ...) hold for a value that is given.
        annotation: Any = (
            Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        )
        fields[name] = (annotation | None, Field(default=None, description=info.description))
    # A model that reads one field into others (a referral's timestamp `referred`) does so
    # for the fields given, too.
    before = getattr(model, "patch_before", None)
    validators: dict[str, Any] | None = (
        {"_before": model_validator(mode="before")(before)} if before is not None else None
    )
    return create_model(  # type: ignore[no-any-return, call-overload]
        f"{model.__name__}Patch",
        __config__=ConfigDict(extra="forbid"),
        __validators__=validators,
        __doc__=f"The fields of a {model.__name__.lower()} to change; the rest keep their values.",
        **fields,
    )


@cache
def complete(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with no defaults: a PUT body, which replaces a record whole and so must give
    every field (`null` where a field may be empty). The model's own rules still apply."""
    fields: dict[str, Any] = {}
    # Fields added to a model later keep their default (None), so a client written before
    # them still replaces a record whole: contract, add, never rename.
    added: frozenset[str] = getattr(model, "added_later", frozenset())
    for name, info in model.model_fields.items():
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[annotation, *info.metadata]
        if name in added:
            fields[name] = (annotation, Field(default=info.default, description=info.description))
        else:
            fields[name] = (annotation, Field(description=info.description))
    return create_model(  # type: ignore[no-any-return, call-overload]
        f"{model.__name__}Replacement",
        __base__=model,
        __doc__=f"A whole {model.__name__.lower()}: every field, as stored.",
        **fields,
    )


def stored_values(model: type[BaseModel], row: Any) -> dict[str, Any]:
    """A stored row's fields as plain values (enums as strings), through its model."""
    item = model.model_validate(row, from_attributes=True)
    return {name: _plain(getattr(item, name)) for name in type(item).model_fields}


def merge(
    model: type[BaseModel],
    stored: Mapping[str, Any],
    given: Mapping[str, Any],
    loc: tuple[str | int, ...] = ("body",),
) -> BaseModel:
    """The stored record with the `given` fields changed, validated whole by its model; a
    field left out keeps its stored value (or, with nothing stored, takes its default).
    `ProblemInvalid` names each field (under `loc`) that is unknown or invalid."""
    unknown = sorted(set(given) - set(model.model_fields))
    if unknown:
        raise ProblemInvalid([Issue((*loc, name), "unknown field") for name in unknown])
    if stored and "id" in given and given["id"] != stored["id"]:
        raise ProblemInvalid([Issue((*loc, "id"), f"must stay {stored['id']!r}")])
    try:
        return model.model_validate({**stored, **given})
    except ValidationError as error:
        raise ProblemInvalid.from_validation_error(error, prefix=loc) from None


def diff(
    collection: str, record_id: str, before: Mapping[str, Any], after: BaseModel
) -> RecordChange:
    """The fields that differ between the stored values and the new record."""
    safety = SAFETY_FIELDS.get(collection, {})
    changes = []
    for name in type(after).model_fields:
        new = _plain(getattr(after, name))
        old = before.get(name)
        if _same(old, new):
            continue
        weakens = name in safety and safety[name](old, new)
        changes.append(FieldChange(name, old, new, weakens))
    return RecordChange(collection, record_id, created=False, fields=tuple(changes))


def created(collection: str, item: BaseModel) -> RecordChange:
    fields = tuple(
        FieldChange(name, None, _plain(getattr(item, name)), weakens=False)
        for name in type(item).model_fields
        if name != "id"
    )
    return RecordChange(collection, str(getattr(item, "id")), created=True, fields=fields)  # noqa: B009


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float | int) and isinstance(new, float | int):
        return float(old) == float(new)
    return bool(old == new)


def required_on_create(collection: str) -> frozenset[str]:
    """Fields a new record must name even where the problem document has a default: a
    person's risk is never assumed low by the service."""
    return REQUIRED_ON_CREATE.get(collection, frozenset())


REQUIRED_ON_CREATE: dict[str, frozenset[str]] = {"referrals": frozenset({"risk"})}
