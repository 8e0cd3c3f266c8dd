"""Schema fuzzing: every operation in the OpenAPI schema, with each role's token, against the
live service on loopback (a seeded SQLite copy).

Schemathesis generates requests from the schema, valid ones and invalid ones. For each answer:
no 5xx; a 4xx carries a `detail` that names the problem (for 422, every entry a field path and
a message); every answer's status is one the operation documents (`api.error_docs`), and
its body matches the schema documented for that status, with the content type documented.
The examples per operation are bounded so the whole run stays near a minute.

A second run sends every operation the sizes and ranges generation rarely reaches (odd and
10 MB ids, huge integers, a million list items), one field at a time, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from api.security import Role
from tests.api.conftest import settings_for
from tests.reliability.live import LiveService, live_service, role_headers

# Examples per (operation, role, mode). Valid requests go out with every role's token;
# invalid ones with the admin's, who may call everything, so they reach validation.
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 4}
NEGATIVE_ROLES = (Role.admin,)
SIGN_OUT = "POST /api/auth/logout"


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copy(sqlite_template, path)
    # Batch runs the fuzzer starts are solved by the greedy backend's fast path: the point
    # here is the HTTP surface, and CP-SAT runs would only queue behind each other.
    with live_service(settings_for(f"sqlite:///{path}", solver_time_limit_s=1.0)) as service:
        yield service


def names_the_problem(response: Any) -> str | None:
    """Why a 4xx answer does not name its problem (None when it does)."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} without a JSON body: {response.text[:200]!r}"
    detail = body.get("detail") if isinstance(body, dict) else None
    if not detail:
        return f"{response.status_code} without a detail: {body!r}"
    if response.status_code == 422:
        if not isinstance(detail, list):
            return f"422 detail is not a list of field problems: {detail!r}"
        for entry in detail:
            if not (isinstance(entry, dict) and entry.get("loc") and entry.get("msg")):
                return f"422 entry without a field path and message: {entry!r}"
    elif not isinstance(detail, str):
        return f"{response.status_code} detail is not a sentence: {detail!r}"
    return None


def response_checks() -> list[Any]:
    from schemathesis import checks

    return [
        not_a_server_error,
        checks.response_schema_conformance,  # type: ignore[attr-defined]
        checks.content_type_conformance,  # type: ignore[attr-defined]
        checks.status_code_conformance,  # type: ignore[attr-defined]
    ]


def fuzz_operation(
    live: LiveService,
    http: requests.Session,
    operation: Any,
    role: Role,
    mode: GenerationMode,
    cases: Counter[str],
    codes: Counter[int],
) -> None:
    checks = response_checks()

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), _=st.just(None))
    def one(case: schemathesis.Case, _: None) -> None:
        headers = live.headers[role]
        if operation.label == SIGN_OUT:  # it revokes its token: give it one of its own
            headers = role_headers(live.settings)[role]
        response = case.call(base_url=live.base_url, session=http, headers=headers, timeout=60)
        cases[operation.label] += 1
        codes[response.status_code] += 1
        case.validate_response(response, checks=checks, headers=headers)
        if 400 <= response.status_code < 500:
            problem = names_the_problem(response)
            assert problem is None, f"{case.method} {case.formatted_path}: {problem}"

    one()


def test_every_operation_with_every_role_answers_without_5xx_and_as_documented(
    live: LiveService,
) -> None:
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    cases: Counter[str] = Counter()
    codes: Counter[int] = Counter()
    failures: list[str] = []
    no_invalid_input = 0
    with requests.Session() as http:
        for operation in operations:
            for role in Role:
                for mode in EXAMPLES:
                    if mode is GenerationMode.NEGATIVE and role not in NEGATIVE_ROLES:
                        continue
                    try:
                        fuzz_operation(live, http, operation, role, mode, cases, codes)
                    except Unsatisfiable:
                        # Nothing the schema constrains (a free-text id, no body): there is
                        # no invalid request to make, only valid ones, fuzzed above.
                        assert mode is GenerationMode.NEGATIVE, operation.label
                        no_invalid_input += 1
                    except (Exception, BaseExceptionGroup) as error:  # all of them, then fail
                        failures.append(f"{operation.label} as {role} ({mode}): {error}")
    print(
        f"fuzzed {len(operations)} operations x {len(Role)} roles: {sum(cases.values())} "
        f"requests, answers {dict(sorted(codes.items()))}, {no_invalid_input} operations "
        "with no invalid request to make"
    )
    assert len(operations) >= 45
    assert all(cases[op.label] > 0 for op in operations)
    assert {200, 403, 404, 422} <= set(codes), codes  # every kind of answer was checked
    assert not failures, "\n\n".join(failures)


# --- size and range: hostile values in every field ----------------------------------------
# Generated requests rarely reach the values that broke the service: ids with `/`, NUL or
# control characters, strings of 10 MB, integers past what a database column holds, lists of
# a million items. So every operation is also sent a valid request with one field at a time
# replaced by each of these, on SQLite and on PostgreSQL (which refuses NUL and 32-bit
# overflows with errors of its own).

ODD_STRINGS = {
    "slash": "R/1",
    "NUL": "R\x001",
    "escape": "R\x1b[2J",
    "line feed": "R\n1",
    "DEL": "R\x7f",
    "long": "R" * 100_000,
    "10 MB": "R" * 10_000_000,
}
HUGE_NUMBERS = {
    "2**31": 2**31,
    "2**63": 2**63,
    "2**70": 2**70,
    "-2**63-1": -(2**63) - 1,
    "1e308": 1e308,
}
MILLION_ITEMS = ["a"] * 1_000_000
UVICORN_REFUSAL = "Invalid HTTP request received."


def hostile_values(value: Any) -> dict[str, Any]:
    """What to put in place of one valid value, by its type."""
    if isinstance(value, bool) or value is None:
        return {}
    if isinstance(value, int | float):
        return HUGE_NUMBERS
    if isinstance(value, str):
        return {**ODD_STRINGS, **{k: str(v) for k, v in HUGE_NUMBERS.items()}}
    if isinstance(value, list):
        return {"a million items": MILLION_ITEMS} | {
            f"an item {name}": [odd] for name, odd in ODD_STRINGS.items()
        }
    return {}


def a_valid_case(operation: Any) -> schemathesis.Case | None:
    found: list[schemathesis.Case] = []

    @settings(
        max_examples=1,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def first(case: schemathesis.Case) -> None:
        found.append(case)

    first()
    return found[0] if found else None


def hostile_cases(case: schemathesis.Case) -> Iterator[tuple[str, schemathesis.Case]]:
    for name, value in case.path_parameters.items():
        for label, odd in hostile_values(value or "x").items():
            derived = case.derive()
            derived.path_parameters[name] = odd if isinstance(odd, str) else str(odd)
            yield f"path {name} {label}", derived
    for name, value in case.query.items():
        for label, odd in hostile_values(value).items():
            yield f"query {name} {label}", case.derive(query={**case.query, name: odd})
    if case.media_type == "application/json" and isinstance(case.body, dict):
        for name, value in case.body.items():
            for label, odd in hostile_values(value).items():
                derived = case.derive()
                derived.body = {**case.body, name: odd}
                yield f"body {name} {label}", derived


@pytest.fixture(params=["sqlite", "postgresql"])
def live_on_both(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> Iterator[LiveService]:
    if request.param == "sqlite":
        shutil.copy(sqlite_template, tmp_path / "fuzz.db")
        url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    with live_service(settings_for(url, solver_time_limit_s=1.0)) as service:
        yield service


def test_hostile_sizes_and_ranges_in_every_field_answer_without_5xx_and_as_documented(
    live_on_both: LiveService,
) -> None:
    live = live_on_both
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    headers = live.headers[Role.admin]
    checks = response_checks()
    codes: Counter[int] = Counter()
    failures: list[str] = []
    sent = 0
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            base = a_valid_case(operation)
            if base is None:
                continue
            for label, case in hostile_cases(base):
                sent += 1
                where = f"{operation.label} with {label}"
                try:
                    response = case.call(
                        base_url=live.base_url, session=http, headers=headers, timeout=60
                    )
                except requests.ConnectionError as error:
                    failures.append(f"{where}: no answer ({error})")
                    continue
                codes[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(f"{where}: {response.status_code} {response.text[:200]}")
                    continue
                if response.status_code == 400 and response.text == UVICORN_REFUSAL:
                    # uvicorn refuses a request line past its parser's limit (the 10 MB id in a
                    # URL) itself, before the service sees the request.
                    continue
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except (Exception, BaseExceptionGroup) as error:
                    failures.append(f"{where}: {error!r}")
                    continue
                if 400 <= response.status_code < 500 and (problem := names_the_problem(response)):
                    failures.append(f"{where}: {problem}")
    print(f"sent {sent} hostile requests: answers {dict(sorted(codes.items()))}")
    assert sent > 500
    assert {404, 413, 422} <= set(codes), codes
    assert not failures, "\n\n".join(failures[:40])
