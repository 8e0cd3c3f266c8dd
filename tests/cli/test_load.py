"""`bedmatch load`: a generated problem stored in a new database, and what it refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from api.db import make_engine, make_sessionmaker
from api.demo import DatabaseKind, kind_of
from api.orm import BedSpaceRow, ReferralRow, UserRow
from api.security import Role, verify_password
from fixtures.generator import generate_json

URL_VARIABLES = ("BEDMATCH_DATABASE_URL", "DATABASE_URL")


def bedmatch(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in URL_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def stored(url: str) -> tuple[int, int]:
    """How many referrals and bed-spaces the database holds."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            referrals = session.scalar(select(func.count()).select_from(ReferralRow))
            beds = session.scalar(select(func.count()).select_from(BedSpaceRow))
            return int(referrals or 0), int(beds or 0)
    finally:
        engine.dispose()


def test_load_stores_the_problem_in_a_new_database_and_refuses_a_second_load(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    document = generate_json(3, 20, 40)
    loaded = bedmatch("load", "-", "--database-url", url, stdin=document)
    assert loaded.returncode == 0, loaded.stderr
    summary = json.loads(loaded.stdout)
    assert summary["stored"]["referrals"] == 20 and summary["stored"]["bedspaces"] == 40
    assert summary["seconds"] > 0
    assert stored(url) == (20, 40)

    again = bedmatch("load", "-", "--database-url", url, stdin=document)
    assert again.returncode == 2
    assert "--database-url: the database already holds data" in again.stderr
    assert stored(url) == (20, 40)  # nothing mixed in


def test_load_names_what_is_missing_or_wrong(tmp_path: Path) -> None:
    document = generate_json(3, 5, 10)
    nowhere = bedmatch("load", "-", stdin=document)
    assert nowhere.returncode == 2 and "--database-url" in nowhere.stderr

    url = f"sqlite:///{tmp_path / 'trial.db'}"
    invalid = bedmatch("load", "-", "--database-url", url, stdin="{}")
    assert invalid.returncode == 2 and "as_of" in invalid.stderr
    assert not (tmp_path / "trial.db").exists()  # refused before the database is touched


def test_load_makes_the_first_admin_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    document = generate_json(3, 5, 10)
    short = bedmatch(
        "load", "-", "--database-url", url, "--admin-password", "short", stdin=document
    )
    assert short.returncode == 2 and "--admin-password" in short.stderr

    password = "a-long-trial-admin-password"
    loaded = bedmatch(
        "load", "-", "--database-url", url, "--admin-password", password, stdin=document
    )
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["admin"] == "admin"
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            admin = session.scalars(select(UserRow)).one()
            assert (admin.username, admin.role) == ("admin", Role.admin)
            assert verify_password(admin.password_hash, password)
            assert kind_of(session) is DatabaseKind.real  # never the demo
    finally:
        engine.dispose()
