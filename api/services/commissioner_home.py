"""The commissioner's home page: the live portfolio's headline figures, each with the count
it comes from, a plot of them against their targets, and the last scenarios in a line each.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from api.orm import ScenarioRow  # noqa: E402
from api.services.plots import png_of  # noqa: E402
from capacity.quotas import WomenOnlyShare, women_only_share  # noqa: E402
from matcher.model import Problem  # noqa: E402

LAST_SCENARIOS = 5


@dataclass(frozen=True)
class Headline:
    """One scenario's figures in a line: occupancy and everyone's median wait, as text."""

    occupancy: str
    median_wait: str
    still_waiting: str


@dataclass(frozen=True)
class Portfolio:
    bedspaces: int
    occupied: int
    occupancy: float
    women: WomenOnlyShare
    waiting: int
    waiting_by_priority: dict[int, int]


def portfolio(problem: Problem) -> Portfolio:
    occupied = sum(1 for r in problem.residents if problem.resident_is_present(r))
    beds = len(problem.bedspaces)
    by_priority = dict.fromkeys(range(5, 0, -1), 0)
    for referral in problem.referrals:
        by_priority[referral.priority] += 1
    return Portfolio(
        bedspaces=beds,
        occupied=occupied,
        occupancy=occupied / beds if beds else 0.0,
        women=women_only_share(problem),
        waiting=len(problem.referrals),
        waiting_by_priority=by_priority,
    )


def headline(row: ScenarioRow) -> Headline | None:
    """A scenario's headline figures from its stored run, None before its first."""
    if not row.figures:
        return None
    everyone = row.figures["cohorts"]["all"]
    wait = everyone["wait_everyone_p50_days"]
    occupancy = row.figures["occupancy"]["mean"]
    return Headline(
        occupancy="–" if occupancy is None else f"{occupancy:.0%}",
        median_wait="not reached" if wait["mean"] is None else f"{wait['mean']:.1f} days",
        still_waiting=f"{everyone['still_waiting_share']['mean']:.0%}",
    )


def headline_plot(problem: Problem) -> bytes:
    """Occupancy and the women-safe shares of bed-spaces and support offers, each a bar
    labelled with its count, against the 30% target (PNG)."""
    figures = portfolio(problem)
    women = figures.women
    bars = [
        ("Occupied bed-spaces", figures.occupancy, f"{figures.occupied} of {figures.bedspaces}"),
        (
            "Women-safe bed-spaces",
            women.women_safe_share,
            f"{women.women_safe_bedspaces} of {women.bedspaces}",
        ),
        (
            "Support places with a female worker",
            women.support_offer_share,
            f"{women.caseload_places_with_female_workers} of {women.caseload_places}",
        ),
    ]
    fig, ax = plt.subplots(figsize=(8, 2.8))
    ys = list(range(len(bars)))[::-1]
    colours = ["#457b9d", "#2a9d8f", "#2a9d8f"]
    ax.barh(ys, [share for _, share, _ in bars], color=colours)
    for y, (_, share, count) in zip(ys, bars, strict=True):
        ax.annotate(
            f"{share:.0%} ({count})",
            (share, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
        )
    ax.axvline(women.target, color="#e76f51", linestyle="--", linewidth=1.5)
    ax.annotate(
        f"{women.target:.0%} women-safe target",
        (women.target, len(bars) - 0.45),
        color="#e76f51",
        fontsize=8,
        ha="left",
        xytext=(3, 0),
        textcoords="offset points",
    )
    ax.set_yticks(ys, [label for label, _, _ in bars])
    ax.set_xlim(0, 1.15)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title("The portfolio today")
    fig.tight_layout()
    return png_of(fig)
