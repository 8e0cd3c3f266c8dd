"""Shared helpers for the service tests: read the stored state the way the service does."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from api.orm import PlacementRow, ResidentRow
from api.services.assemble import build_problem
from matcher.ranking import build_context, rank


def factory(client: Any) -> Any:
    return client.app.state.sessionmaker


def placeable(client: Any) -> dict[str, list[tuple[str, int]]]:
    """For every bed-space some waiting referral may take: [(referral, rank)], from the ranking."""
    settings = client.app.state.settings
    with factory(client)() as session:
        problem = build_problem(session, settings.placement_date())
    context = build_context(problem)
    options: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for referral in problem.referrals:
        if referral.keep_together:
            continue
        for placed in rank(context, referral.id, cost_top=0).ranked:
            if not placed.partners:
                options[placed.bedspace].append((referral.id, placed.rank))
    return options


def counts(client: Any) -> tuple[int, int]:
    """(present residents, placements): what a refused request must leave unchanged."""
    with factory(client)() as session:
        residents = session.scalar(
            select(func.count()).select_from(ResidentRow).where(ResidentRow.left_on.is_(None))
        )
        placements = session.scalar(select(func.count()).select_from(PlacementRow))
    return int(residents or 0), int(placements or 0)


def import_counts(imported: dict[str, Any]) -> dict[str, Any]:
    """An import's answer cut to what it did in numbers: kind, created, updated."""
    return {key: imported[key] for key in ("kind", "created", "updated")}


def people_named(answer: dict[str, Any]) -> set[str]:
    """Everyone a ranking answer names, the ranked person too: whom its audit must list."""
    named = {answer["referral"], *answer["partners"]}
    for placement in answer["ranked"]:
        named |= {p["referral"] for p in placement["partners"]}
        affected = (placement["cost_to_others"] or {}).get("affected", [])
        named |= {a["referral"] for a in affected}
    return named
