"""`bedmatch generate` and `bedmatch check` from the shell: round trips and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def bedmatch(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_generate_is_reproducible_and_checks_clean(tmp_path: Path) -> None:
    first = bedmatch("generate", "--seed", "4", "--referrals", "20", "--beds", "40")
    again = bedmatch("generate", "--seed", "4", "--referrals", "20", "--beds", "40")
    assert first.returncode == 0 and first.stdout == again.stdout
    problem = tmp_path / "problem.json"
    problem.write_text(first.stdout)
    checked = bedmatch("check", str(problem), "-", stdin='{"assignments": []}')
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout) == {"valid": True, "violations": []}


def test_check_exits_1_and_lists_every_broken_rule(tmp_path: Path) -> None:
    problem = tmp_path / "problem.json"
    problem.write_text(
        json.dumps(
            {
                "as_of": "2026-11-23",
                "areas": [{"id": "A"}],
                "units": [
                    {"id": "U", "area": "A", "kind": "adult_mixed", "gender_policy": "men_only"}
                ],
                "bedspaces": [{"id": "B", "unit": "U"}],
                "referrals": [
                    {"id": "R1", "referred": "2026-11-01", "age": 30, "gender": "woman"},
                    {"id": "R2", "referred": "2026-11-01", "age": 30, "gender": "man"},
                ],
            }
        )
    )
    solution = tmp_path / "solution.json"
    solution.write_text(
        json.dumps(
            {
                "assignments": [
                    {"referral": "R1", "bedspace": "B"},
                    {"referral": "R2", "bedspace": "B"},
                ]
            }
        )
    )
    result = bedmatch("check", str(problem), str(solution))
    assert result.returncode == 1
    rules = {v["rule"] for v in json.loads(result.stdout)["violations"]}
    # A woman in a men-only unit, two people in one bed-space, a man and a woman in one cluster.
    assert rules == {
        "men_only_units_take_only_men",
        "one_person_per_bedspace",
        "cluster_never_mixed_gender",
    }


def test_bad_input_exits_2_naming_the_field_never_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"as_of": "2026-11-23", "referrals": [{"id": "R1"}]}')
    result = bedmatch("check", str(bad), str(bad))
    assert result.returncode == 2
    assert "referrals[0].age: field required" in result.stderr
    assert "Traceback" not in result.stderr

    missing = bedmatch("check", str(tmp_path / "none.json"), str(bad))
    assert missing.returncode == 2 and "cannot read file" in missing.stderr

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = bedmatch("check", str(broken), str(bad))
    assert result.returncode == 2 and "not valid JSON" in result.stderr


def test_argument_errors_exit_2() -> None:
    result = bedmatch("generate", "--seed", "1", "--referrals", "-1", "--beds", "3")
    assert result.returncode == 2 and "--referrals: must be 0 or more, got -1" in result.stderr
