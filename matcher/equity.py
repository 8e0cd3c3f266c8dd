"""Equity of one batch allocation, per cohort: who was waiting, who is placed, how long
they had waited, and how far each cohort's placement rate is from the whole list's.

Every share carries its count (placed of waiting), and a cohort nobody is in says so rather
than showing a rate of zero. Waits are days since referral on the allocation's date, for
everyone waiting then, placed or not.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date

import numpy as np
from pydantic import BaseModel, ConfigDict

from constraints.cohorts import Cohort, cohorts_of_referral
from matcher.model import Referral

EVERYONE = "all"


class CohortEquity(BaseModel):
    model_config = ConfigDict(frozen=True)

    cohort: str
    waiting: int  # on the list when the allocation ran
    placed: int
    placement_rate: float | None  # None where nobody in the cohort was waiting
    wait_p50_days: float | None  # days since referral, everyone waiting in the cohort
    wait_p90_days: float | None
    rate_gap: float | None  # this cohort's rate minus the whole list's


def equity(
    referrals: Iterable[Referral], placed: Collection[str], as_of: date
) -> list[CohortEquity]:
    """The figures for everyone, then each cohort, of an allocation that placed the
    referrals whose ids are in `placed`."""
    people = [(r, cohorts_of_referral(r)) for r in referrals]
    everyone = _figures(EVERYONE, [r for r, _ in people], placed, as_of, None)
    rows = [everyone]
    for cohort in Cohort:
        members = [r for r, cohorts in people if cohort in cohorts]
        rows.append(_figures(cohort.value, members, placed, as_of, everyone.placement_rate))
    return rows


def _figures(
    name: str,
    members: list[Referral],
    placed: Collection[str],
    as_of: date,
    list_rate: float | None,
) -> CohortEquity:
    count = sum(r.id in placed for r in members)
    rate = count / len(members) if members else None
    waits = np.array([(as_of - r.referred).days for r in members], dtype=float)
    return CohortEquity(
        cohort=name,
        waiting=len(members),
        placed=count,
        placement_rate=rate,
        wait_p50_days=_quantile(waits, 0.5),
        wait_p90_days=_quantile(waits, 0.9),
        rate_gap=rate - list_rate if rate is not None and list_rate is not None else None,
    )


def _quantile(values: np.ndarray, q: float) -> float | None:
    # "inverted_cdf": a wait somebody actually had, never one interpolated between two.
    return float(np.quantile(values, q, method="inverted_cdf")) if len(values) else None
