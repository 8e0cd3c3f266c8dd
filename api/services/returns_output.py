"""The returns pack as people read it: plots (PNG), one CSV and one Excel workbook, and the
suppression of small counts for roles that may not see people (LIFECYCLE.md: commissioners
see counts and shares, small counts suppressed; Housing Options no people at all)."""

from __future__ import annotations

import csv
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Font  # noqa: E402

from api.services.figures import SMALL_COUNT  # noqa: E402
from api.services.plots import png_of  # noqa: E402
from api.services.returns import ReturnsPack  # noqa: E402

SUPPRESSED = f"fewer than {SMALL_COUNT}"


def shown_count(n: int, sees_personal_data: bool) -> str:
    """A count of people as this reader may see it."""
    return str(n) if sees_personal_data or n == 0 or n >= SMALL_COUNT else SUPPRESSED


def tables(pack: ReturnsPack, sees_personal_data: bool) -> dict[str, list[list[Any]]]:
    """Every figure as a table with its header row: the CSV, the workbook and the page."""

    def count(n: int) -> Any:
        return n if sees_personal_data or n == 0 or n >= SMALL_COUNT else SUPPRESSED

    summary: list[list[Any]] = [
        ["figure", "count"],
        ["days in the range", pack.days],
        ["referrals in", pack.referrals_in],
        ["placements", pack.placements],
        ["transfers", pack.transfers],
        ["placements undone", pack.undone],
        ["departures", pack.departures],
        ["offers made", pack.offers],
        *[[f"offers {state}", n] for state, n in pack.offers_by_outcome.items()],
        ["8-hour responses owed (priority-5 domestic abuse referrals)", pack.da_responses_owed],
        ["8-hour responses met", pack.da_responses_met],
        ["8-hour responses late", pack.da_responses_late],
        ["8-hour responses still missing, overdue", pack.da_responses_missing],
        ["bed-spaces", pack.women.bedspaces],
        ["women-safe bed-spaces", pack.women.women_safe_bedspaces],
        ["women-safe share of bed-spaces", round(pack.women.women_safe_share, 3)],
        ["caseload places", pack.women.caseload_places],
        ["places with a female worker", pack.women.caseload_places_with_female_workers],
        ["women-safe share of support offers", round(pack.women.support_offer_share, 3)],
        ["target share", pack.women.target],
    ]
    units = [
        [
            "unit",
            "name",
            "pathway",
            "bed-spaces",
            "bed-days",
            "occupied days",
            "void days",
            "occupancy",
            "stays ended",
            "median stay (days)",
            "stays past the pathway's target",
        ]
    ] + [
        [
            u.unit,
            u.name,
            u.pathway,
            u.bedspaces,
            u.bed_days,
            u.occupied_days,
            u.void_days,
            round(u.occupancy, 3) if u.occupancy is not None else "",
            u.stays_ended,
            u.median_stay_days if u.median_stay_days is not None else "",
            u.past_target,
        ]
        for u in pack.units
    ]
    reasons = [["why stays ended", "departures"]] + [
        [k, count(v)] for k, v in pack.departures_by_reason.items()
    ]
    destinations = [["where people went", "departures"]] + [
        [k, count(v)] for k, v in pack.departures_by_destination.items()
    ]
    declines = [["why offers were declined", "offers"]] + [
        [k, count(v)] for k, v in pack.decline_reasons.items()
    ]
    waiting = [["week from", *[f"priority {p}" for p in range(1, 6)], "all"]] + [
        [day.isoformat(), *[n for _, n in sorted(by.items())], sum(by.values())]
        for day, by in pack.waiting_by_week
    ]
    cohorts: list[list[Any]] = [
        [
            "group",
            "people waiting in the range",
            "placed",
            "still waiting at the end",
            "median wait (days)",
            "90th percentile wait (days)",
        ]
    ]
    for c in pack.cohort_waits:
        small = not sees_personal_data and 0 < c.people < SMALL_COUNT
        cohorts.append(
            [
                c.name,
                count(c.people),
                count(c.placed),
                count(c.still_waiting),
                "" if small or c.median_days is None else c.median_days,
                "" if small or c.p90_days is None else c.p90_days,
            ]
        )
    return {
        "summary": summary,
        "units": units,
        "departure reasons": reasons,
        "destinations": destinations,
        "declined offers": declines,
        "waiting list": waiting,
        "waits by group": cohorts,
    }


def as_csv(pack: ReturnsPack, sees_personal_data: bool) -> bytes:
    """Every table one after another, each under its name, in one CSV file."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"bedmatch returns {pack.start.isoformat()} to {pack.end.isoformat()}"])
    for name, rows in tables(pack, sees_personal_data).items():
        writer.writerow([])
        writer.writerow([name])
        writer.writerows(rows)
    for note in pack.notes:
        writer.writerow([note])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(pack: ReturnsPack, sees_personal_data: bool) -> bytes:
    """One sheet per table."""
    book = Workbook()
    first = True
    for name, rows in tables(pack, sees_personal_data).items():
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = name[:31]
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def waiting_plot(pack: ReturnsPack) -> bytes:
    """The waiting list week by week, one line per priority (PNG)."""
    fig, ax = plt.subplots(figsize=(9, 3.4))
    days: Any = [day for day, _ in pack.waiting_by_week]
    colours = ("#a8dadc", "#457b9d", "#2a9d8f", "#e9c46a", "#e76f51")
    for p in range(1, 6):
        ax.plot(
            days,
            [by[p] for _, by in pack.waiting_by_week],
            label=f"priority {p}",
            color=colours[p - 1],
        )
    ax.set_ylabel("people waiting")
    ax.set_ylim(bottom=0)
    ax.set_title("Waiting list by priority, week by week")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.autofmt_xdate()
    fig.tight_layout()
    return png_of(fig)


def occupancy_plot(pack: ReturnsPack) -> bytes:
    """Each unit's occupied and void bed-days (PNG), fullest first."""
    units = sorted((u for u in pack.units if u.bed_days), key=lambda u: -(u.occupancy or 0))[:30]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.28 * len(units) + 1)))
    names = [u.name for u in units]
    ax.barh(names, [u.occupied_days for u in units], color="#457b9d", label="occupied")
    ax.barh(
        names,
        [u.void_days for u in units],
        left=[u.occupied_days for u in units],
        color="#e9c46a",
        label="void",
    )
    ax.invert_yaxis()
    ax.set_xlabel("bed-days in the range")
    ax.set_title("Occupied and void bed-days by unit")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png_of(fig)


__all__ = [
    "SUPPRESSED",
    "as_csv",
    "as_xlsx",
    "occupancy_plot",
    "shown_count",
    "tables",
    "waiting_plot",
]
