"""`bedmatch rank`: JSON on success, exit 2 naming the bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from fixtures import INSTANCES_DIR

COUPLE = str(INSTANCES_DIR / "keep_together_couple.json")


def test_rank_writes_the_ranking(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rank", COUPLE, "--referral", "R00001"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["referral"] == "R00001"
    assert {"ranked", "excluded", "units"} <= set(result)
    first = result["ranked"][0]
    assert {"bedspace", "unit", "support_team", "score", "terms", "reasons"} <= set(first)
    assert first["partners"][0]["referral"] == "R00002"


def test_top_limits_the_placements(tmp_path: Path) -> None:
    out = tmp_path / "rank.json"
    assert main(["rank", COUPLE, "--referral", "R00001", "--top", "1", "-o", str(out)]) == 0
    assert len(json.loads(out.read_text())["ranked"]) == 1


def test_unknown_referral_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rank", COUPLE, "--referral", "R404"]) == 2
    assert "'R404'" in capsys.readouterr().err


@pytest.mark.parametrize("top", ["0", "-2", "many"])
def test_bad_top_exits_2_with_a_message(top: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rank", COUPLE, "--referral", "R00001", "--top", top]) == 2
    assert "--top" in capsys.readouterr().err


def test_batch_solution_is_read_and_compared(tmp_path: Path) -> None:
    batch = tmp_path / "solution.json"
    batch.write_text(json.dumps({"assignments": [{"referral": "R00001", "bedspace": "B00002"}]}))
    out = tmp_path / "rank.json"
    assert (
        main(["rank", COUPLE, "--referral", "R00001", "--batch", str(batch), "-o", str(out)]) == 0
    )
    result = json.loads(out.read_text())
    assert result["batch_placement"] == "B00002"
    assert all(p["batch_places_elsewhere"] is False for p in result["ranked"])
