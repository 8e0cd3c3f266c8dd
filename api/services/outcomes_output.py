"""The outcome figures as people read them: tables (the API, the CSV, the workbook), the
page's cells ("k of n, share and interval"), and plots (PNG). Commissioners see no count
under `SMALL_COUNT` and no share or median built on one (LIFECYCLE.md)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Font  # noqa: E402

from api.services.figures import SMALL_COUNT  # noqa: E402
from api.services.outcomes import WINDOWS, GroupOutcome, OutcomeReport, Share  # noqa: E402
from api.services.plots import png_of  # noqa: E402

SUPPRESSED = f"fewer than {SMALL_COUNT}"
GROUPING_NAMES = {
    "cohort": "by group of people",
    "pathway": "by pathway",
    "unit": "by unit",
    "support_team": "by support team",
    "list_cohort": "by By Name List cohort",
}


def _small(n: int) -> bool:
    return 0 < n < SMALL_COUNT


def share_visible(share: Share, sees_personal_data: bool) -> bool:
    """Whether this reader may see the share: a small count, or a share of one, could
    single a person out."""
    return sees_personal_data or not (_small(share.k) or _small(share.n))


def _count(n: int, sees_personal_data: bool) -> Any:
    return n if sees_personal_data or not _small(n) else SUPPRESSED


def _shares(group: GroupOutcome) -> list[tuple[str, str, Share]]:
    """(figure, what it is a share of, the share), in the tables' order."""
    rows = [
        ("planned move-on", "departures", group.planned_move_on),
        ("evictions", "departures", group.evictions),
        ("abandonments", "departures", group.abandonments),
    ]
    rows += [
        (f"sustained {f.months} months", "planned move-ons judged", f.judged)
        for f in group.sustained
    ]
    rows += [
        (f"returned within {f.months} months", "departures judged", f.judged)
        for f in group.returned
    ]
    rows.append(("past the pathway's longest stay", "stays with a limit", group.past_target))
    return rows


def _header() -> list[str]:
    head = ["group", "stays ended", "departures", "transfers out"]
    names = [
        ("planned move-on", "departures"),
        ("evictions", "departures"),
        ("abandonments", "departures"),
        *((f"sustained {m} months", "planned move-ons judged") for m in WINDOWS),
        *((f"returned within {m} months", "departures judged") for m in WINDOWS),
        ("past the pathway's longest stay", "stays with a limit"),
    ]
    for figure, of in names:
        head += [figure, f"{figure}: of ({of})", f"{figure}: share", "95% low", "95% high"]
    head += [f"planned move-ons too recent to judge at {m} months" for m in WINDOWS]
    head += [f"departures too recent to judge at {m} months" for m in WINDOWS]
    head += ["median stay (days)", "desired average (days)", "longest (days)"]
    return head


def _row(group: GroupOutcome, sees_personal_data: bool) -> list[Any]:
    row: list[Any] = [
        group.name,
        _count(group.stays_ended, sees_personal_data),
        _count(group.departures, sees_personal_data),
        _count(group.transfers_out, sees_personal_data),
    ]
    for _, _, share in _shares(group):
        if share_visible(share, sees_personal_data):
            interval = share.interval
            row += [
                share.k,
                share.n,
                round(share.share, 3) if share.share is not None else "",
                round(interval[0], 3) if interval else "",
                round(interval[1], 3) if interval else "",
            ]
        else:
            row += [_count(share.k, False), _count(share.n, False), "", "", ""]
    row += [_count(f.too_recent, sees_personal_data) for f in group.sustained]
    row += [_count(f.too_recent, sees_personal_data) for f in group.returned]
    hide_median = not sees_personal_data and _small(group.stays_ended)
    row += [
        "" if hide_median or group.median_stay_days is None else group.median_stay_days,
        group.target_days if group.target_days is not None else "",
        group.limit_days if group.limit_days is not None else "",
    ]
    return row


def tables(report: OutcomeReport, sees_personal_data: bool) -> dict[str, list[list[Any]]]:
    """One table per grouping, each with its header row."""
    out = {}
    for grouping, groups in report.groups.items():
        title = GROUPING_NAMES.get(grouping, f"by {grouping.replace('_', ' ')}")
        out[title] = [_header()] + [_row(g, sees_personal_data) for g in groups]
    return out


def share_words(share: Share, sees_personal_data: bool) -> str:
    """ "3 of 8: 38% (14–69%)" for the page; "–" where nothing to share."""
    if share.n == 0:
        return "–"
    if not share_visible(share, sees_personal_data):
        return f"{_count(share.k, False)} of {_count(share.n, False)}"
    interval = share.interval
    assert interval is not None and share.share is not None
    return f"{share.k} of {share.n}: {share.share:.0%} ({interval[0]:.0%}–{interval[1]:.0%})"


def count_words(n: int, sees_personal_data: bool) -> str:
    return str(_count(n, sees_personal_data))


def as_csv(report: OutcomeReport, sees_personal_data: bool) -> bytes:
    """Every table one after another, each under its name, in one CSV file."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            f"bedmatch outcomes of stays ended {report.start.isoformat()} to "
            f"{report.end.isoformat()}, judged on {report.as_of.isoformat()}"
        ]
    )
    for name, rows in tables(report, sees_personal_data).items():
        writer.writerow([])
        writer.writerow([name])
        writer.writerows(rows)
    for note in report.notes:
        writer.writerow([note])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(report: OutcomeReport, sees_personal_data: bool) -> bytes:
    """One sheet per table, and the notes on a sheet of their own."""
    book = Workbook()
    first = True
    named = tables(report, sees_personal_data)
    named["notes"] = [["note"]] + [[n] for n in report.notes]
    for name, rows in named.items():
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


FIGURES: list[tuple[str, Callable[[GroupOutcome], Share], str]] = [
    ("planned move-on", lambda g: g.planned_move_on, "#2a9d8f"),
    ("sustained 6 months", lambda g: g.sustained[0].judged, "#457b9d"),
    ("sustained 12 months", lambda g: g.sustained[-1].judged, "#1d3557"),
    ("returned within 6 months", lambda g: g.returned[0].judged, "#f4a261"),
    ("returned within 12 months", lambda g: g.returned[-1].judged, "#e76f51"),
]


def shares_plot(report: OutcomeReport, grouping: str, sees_personal_data: bool) -> bytes:
    """Planned move-on, sustainment and returns per group, each bar with its 95% interval
    (PNG). A share the reader may not see, or of nobody, has no bar."""
    groups = report.groups.get(grouping, [])[:20]
    fig, ax = plt.subplots(figsize=(9, max(2.6, 0.62 * len(groups) + 1.2)))
    height = 0.8 / len(FIGURES)
    for f, (label, pick, colour) in enumerate(FIGURES):
        ys, xs, lows, highs = [], [], [], []
        for g, group in enumerate(groups):
            share = pick(group)
            if share.n == 0 or not share_visible(share, sees_personal_data):
                continue
            interval = share.interval
            assert interval is not None and share.share is not None
            ys.append(g + (f - (len(FIGURES) - 1) / 2) * height)
            xs.append(share.share)
            lows.append(share.share - interval[0])
            highs.append(interval[1] - share.share)
        if ys:  # a figure nobody could be judged on yet has no bars, and no legend entry
            ax.barh(ys, xs, height=height, color=colour, label=label, xerr=[lows, highs], capsize=2)
    ax.set_yticks(range(len(groups)), [g.name for g in groups])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.set_title(f"Outcomes {GROUPING_NAMES.get(grouping, grouping)}, with 95% intervals")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if not groups:
        ax.text(0.5, 0.5, "no stays ended in the range", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    return png_of(fig)


def stay_plot(report: OutcomeReport, grouping: str, sees_personal_data: bool) -> bytes:
    """Median length of stay per group against its pathway's desired average and longest
    stay (PNG)."""
    groups = [
        g
        for g in report.groups.get(grouping, [])
        if g.median_stay_days is not None and (sees_personal_data or not _small(g.stays_ended))
    ][:25]
    fig, ax = plt.subplots(figsize=(9, max(2.6, 0.32 * len(groups) + 1.2)))
    ys = list(range(len(groups)))
    ax.barh(ys, [g.median_stay_days or 0 for g in groups], color="#8ab17d", label="median stay")
    for marker, pick, label, colour in (
        ("|", lambda g: g.target_days, "desired average", "#264653"),
        ("d", lambda g: g.limit_days, "longest stay", "#e76f51"),
    ):
        points = [(y, pick(g)) for y, g in zip(ys, groups, strict=True) if pick(g) is not None]
        if points:
            ax.scatter(
                [x for _, x in points],
                [y for y, _ in points],
                marker=marker,
                s=160,
                color=colour,
                label=label,
                zorder=3,
            )
    ax.set_yticks(ys, [g.name for g in groups])
    ax.invert_yaxis()
    ax.set_xlabel("days")
    ax.set_xlim(left=0)
    ax.set_title(f"Median length of stay {GROUPING_NAMES.get(grouping, grouping)}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if not groups:
        ax.text(0.5, 0.5, "no stays ended in the range", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    return png_of(fig)


__all__ = [
    "GROUPING_NAMES",
    "SUPPRESSED",
    "as_csv",
    "as_xlsx",
    "count_words",
    "share_visible",
    "share_words",
    "shares_plot",
    "stay_plot",
    "tables",
]
