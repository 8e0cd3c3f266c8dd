"""`bedmatch explain` through the console script: one JSON document, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BEDMATCH = str(Path(sys.executable).with_name("bedmatch"))


def bedmatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BEDMATCH, *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def problem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explain") / "problem.json"
    made = bedmatch("generate", "--seed", "3", "--referrals", "60", "--beds", "80", "-o", str(path))
    assert made.returncode == 0, made.stderr
    return path


def referral_ids(problem: Path) -> list[str]:
    return [r["id"] for r in json.loads(problem.read_text())["referrals"]]


def test_one_referral_is_one_json_document(problem: Path) -> None:
    answers = []
    for referral in [*referral_ids(problem)[:4], "R00016"]:  # R00016 has no safe place
        done = bedmatch("explain", str(problem), "--referral", referral)
        assert done.returncode == 0, done.stderr
        answers.append(json.loads(done.stdout))
    unplaceable = [a for a in answers if not a["placeable"]]
    placeable = [a for a in answers if a["placeable"]]
    assert unplaceable and placeable
    for answer in unplaceable:
        assert answer["ranking"] is None
        for place in answer["nearest"]:
            assert set(place) >= {"unit", "bedspaces", "blocking"} and place["blocking"]
            for blocking in place["blocking"]:
                assert set(blocking) <= {"rule", "family", "reason", "missing"}
                assert 1 <= blocking["family"] <= 9
        if answer["earliest"] is not None:
            assert set(answer["earliest"]) == {"date", "unit", "bedspace"}
    for answer in placeable:
        assert answer["ranking"]["top"] and answer["nearest"] == []


def test_output_file(problem: Path, tmp_path: Path) -> None:
    out = tmp_path / "explained.json"
    referral = referral_ids(problem)[0]
    done = bedmatch("explain", str(problem), "--referral", referral, "-o", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert json.loads(out.read_text())["referral"] == referral


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--referral", "NOBODY"], "--referral"),
        ([], "--referral"),
        (["--referral", "R00001", "--nearest", "0"], "--nearest"),
    ],
)
def test_bad_input_exits_2_naming_the_field(problem: Path, args: list[str], named: str) -> None:
    done = bedmatch("explain", str(problem), *args)
    assert done.returncode == 2 and done.stdout == ""
    assert named in done.stderr and "Traceback" not in done.stderr


def test_bad_problem_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"as_of": "2026-11-23", "bedspaces": [{"id": "B", "unit": "U"}]}))
    done = bedmatch("explain", str(broken), "--referral", "R1")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_the_whole_list_is_one_json_document(problem: Path) -> None:
    done = bedmatch("explain", str(problem), "--all", "--shortlist", "1", "--time-limit", "5")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["unplaceable"] and answer["changes"]
    for group in answer["unplaceable"]:
        assert group["referrals"] and all(1 <= f <= 9 for f in group["families"])
    for effect in answer["changes"]:
        assert set(effect) >= {"change", "placed_by_priority", "proven"}
        assert set(effect["placed_by_priority"]) == {"1", "2", "3", "4", "5"}
        assert isinstance(effect["proven"], bool)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--all", "--referral", "R00001"], "--referral"),
        (["--all", "--time-limit", "-1"], "--time-limit"),
        (["--all", "--changes", "0"], "--changes"),
    ],
)
def test_whole_list_bad_input_exits_2(problem: Path, args: list[str], named: str) -> None:
    done = bedmatch("explain", str(problem), *args)
    assert done.returncode == 2 and done.stdout == ""
    assert named in done.stderr and "Traceback" not in done.stderr
