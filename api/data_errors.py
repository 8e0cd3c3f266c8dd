"""A value the database cannot store, as a 422 naming the field where it can be told.

The models refuse such values first (`matcher.limits`); this is the backstop for whatever
reaches the database anyway. PostgreSQL refuses a too-long string, an integer beyond its
column or NUL in text with `DataError`; SQLite's driver refuses an integer beyond 64 bits
with a plain `OverflowError` before the statement runs. The bound parameters say which
value it was: SQLAlchemy names them after their columns (`age`, or `id_1` in a WHERE).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.exc import StatementError

INT32 = (-(2**31), 2**31 - 1)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
VARCHAR = re.compile(r"character varying\((\d+)\)")


def raised_by_database(error: BaseException) -> bool:
    """Whether `error` came out of a statement being run (not out of the service's own code)."""
    if isinstance(error, StatementError):
        return True
    frame = error.__traceback__
    while frame is not None:
        if "/sqlalchemy/engine/" in frame.tb_frame.f_code.co_filename:
            return True
        frame = frame.tb_next
    return False


def _parameters(error: BaseException) -> Iterable[Mapping[str, Any]]:
    params = getattr(error, "params", None)
    if isinstance(params, Mapping):
        yield params
    elif isinstance(params, list | tuple):
        yield from (p for p in params if isinstance(p, Mapping))


def _field(name: str) -> str:
    return re.sub(r"_\d+$", "", name)


def data_error_detail(error: BaseException) -> list[dict[str, object]]:
    """FastAPI's 422 `detail` for a value the database refused: one entry per field found,
    or one for the whole body when the parameters do not tell."""
    message = str(getattr(error, "orig", None) or error)
    longest = VARCHAR.search(message)
    entries: dict[str, str] = {}
    for params in _parameters(error):
        for name, value in params.items():
            field = _field(name)
            if isinstance(value, bool):
                continue
            if isinstance(value, int) and not INT32[0] <= value <= INT32[1]:
                entries[field] = f"{value} is beyond what the database can store"
            elif isinstance(value, str) and CONTROL.search(value):
                entries[field] = "contains NUL or a control character"
            elif isinstance(value, str) and longest and len(value) > int(longest[1]):
                entries[field] = f"longer than {longest[1]} characters"
    if not entries:
        return [
            {"loc": ["body"], "msg": "a value the database cannot store", "type": "value_error"}
        ]
    return [{"loc": ["body", f], "msg": m, "type": "value_error"} for f, m in entries.items()]
