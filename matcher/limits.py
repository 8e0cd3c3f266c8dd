"""How long, how many and how large each value in a document may be, in one place.

Every bound is one both databases the service runs on can store (SQLite integers are signed
64-bit, PostgreSQL `integer` signed 32-bit; ids are `String(64)` columns) and one no real
portfolio comes near, so an absurd value is refused by the model with the field's name,
before any database or solver sees it. Ids are what URLs and CSV cells carry, so they are
plain: letters, digits, `-`, `_` and `.` (never `/`, a space, NUL or a control character).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ID_MAX_LENGTH = 64  # api.orm.Id
ID_PATTERN = r"^[A-Za-z0-9._-]+$"
NAME_MAX_LENGTH = 200  # areas.name, units.name
ADDRESS_MAX_LENGTH = 400  # units.address
LABEL_MAX_LENGTH = 64  # bedspaces.cluster; an offer, a strength, a soft term's name
# One line of text: no NUL (PostgreSQL cannot store it in text) and no control characters.
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# Free text may also break lines (tab, line feed, carriage return).
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

AGE_MAX = 130
HOUSEHOLD_MAX = 20
COUNT_MAX = 1_000_000  # residents, cases, workers, reserved bed-spaces: well inside 2**31
WEEKLY_HOURS_MAX = 168.0  # one person's support, in hours a week
HOURS_CAPACITY_MAX = 1e9  # a unit's support hours (the default means "no limit")
MINUTES_MAX = 10_000.0  # travel between two areas, about a week
WEIGHT_MAX = 1_000.0  # a soft term's weight, either sign

TAGS_MAX = 200  # offers of a unit, strengths of a person
AREAS_MAX = 1_000  # preferred or excluded areas of a person
PEOPLE_MAX = 1_000  # keep_apart or keep_together of a person
WEIGHTS_MAX = 64  # soft-term weights in a policy
REFERRALS_PER_REQUEST_MAX = 20_000  # ids in one request body (accepting a run's proposals)

Id = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
Name = Annotated[str, Field(max_length=NAME_MAX_LENGTH, pattern=LINE_PATTERN)]
Label = Annotated[str, Field(max_length=LABEL_MAX_LENGTH, pattern=LINE_PATTERN)]
Address = Annotated[str, Field(max_length=ADDRESS_MAX_LENGTH, pattern=TEXT_PATTERN)]
