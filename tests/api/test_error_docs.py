"""Each operation's OpenAPI entry lists the error answers it can give, each with its shape."""

from __future__ import annotations

from api.app import create_app
from api.config import Settings
from tests.api.conftest import SECRET


def _answers() -> dict[tuple[str, str], dict[str, dict]]:
    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))
    paths = app.openapi()["paths"]
    return {(m, p): op["responses"] for p, ops in paths.items() for m, op in ops.items()}


def test_error_answers_follow_from_what_the_operation_is() -> None:
    answers = _answers()
    codes = {key: set(value) for key, value in answers.items()}
    assert codes[("post", "/api/auth/token")] >= {"401", "429"}
    assert "403" not in codes[("get", "/api/auth/me")]  # every signed-in role may ask
    assert "403" not in codes[("get", "/api/vacancies")]
    assert {"401", "403", "404", "409"} <= codes[("get", "/api/referrals/{referral_id}/rank")]
    assert {"400", "404", "409"} <= codes[("post", "/api/placements")]  # names ids in its body
    assert (
        "404" not in codes[("get", "/api/placements")]
        and "409" not in codes[("get", "/api/placements")]
    )
    for key, value in answers.items():
        assert "503" in value, key  # every operation reads the database
    refusal = answers[("post", "/api/placements")]["409"]["content"]["application/json"]
    assert refusal["schema"]["$ref"].endswith("/Refusal")
