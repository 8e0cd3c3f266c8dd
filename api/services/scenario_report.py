"""Scenarios' figures for reading and for download: the report as Markdown or HTML with its
plots inside the one file, and the figures as a CSV or XLSX sheet, one row per figure.

Everything is drawn from the stored figures (`capacity.report` tables and plots), so the
page, the download and the sheet can never disagree. Figures are aggregates over simulated
people: no one's details are in them.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from capacity.replications import ScenarioSummary
from capacity.report import (
    COHORT_COLUMNS,
    OVER_TIME,
    PLOTS,
    cohort_rows,
    markdown,
    plot_png,
    portfolio_rows,
)
from capacity.statistics import Estimate
from constraints.cohorts import COHORT_NAMES

PLOT_NAMES = (*PLOTS, OVER_TIME)
PLOT_TITLES = {
    **{name: title for name, (_, title, _) in PLOTS.items()},
    OVER_TIME: "Occupancy and waiting list over time",
}
SHEET_COLUMNS = ("scenario", "cohort", "figure", "mean", "low", "high", "replications")


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    csv = "csv"
    xlsx = "xlsx"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def markdown_report(summaries: list[ScenarioSummary]) -> str:
    """`capacity.report.markdown` with each plot inside the file, not beside it."""
    text = markdown(summaries)
    for name, (_, _, filename) in PLOTS.items():
        text = text.replace(f"({filename})", f"({_data_uri(plot_png(summaries, name))})")
    return text.replace("(over_time.png)", f"({_data_uri(plot_png(summaries, OVER_TIME))})")


def html_report(summaries: list[ScenarioSummary]) -> str:
    """A page of its own: both tables, then every plot, nothing fetched from anywhere."""

    def table(rows: list[dict[str, str]], columns: Iterable[str], table_id: str) -> str:
        names = list(columns)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in names)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(row[c])}</td>" for c in names) + "</tr>"
            for row in rows
        )
        return f'<table id="{table_id}"><tr>{head}</tr>{body}</table>'

    portfolio = portfolio_rows(summaries)
    plots = "".join(
        f'<h2>{html.escape(PLOT_TITLES[name])}</h2><img alt="{html.escape(PLOT_TITLES[name])}" '
        f'src="{_data_uri(plot_png(summaries, name))}">'
        for name in PLOT_NAMES
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Portfolio scenarios</title><style>body{font-family:system-ui,sans-serif;"
        "margin:1.5rem}table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border-bottom:"
        "1px solid #ddd;padding:.3rem .5rem;text-align:left}img{max-width:100%}</style></head>"
        "<body><h1>Portfolio scenarios</h1>"
        + table(portfolio, portfolio[0] if portfolio else [], "portfolio")
        + "<p>Per cohort: mean over replications (95% confidence interval, Student t, kept "
        "within what is possible). Waits count everyone referred after the warm-up, people "
        "still waiting at the end too (Kaplan–Meier).</p>"
        + table(cohort_rows(summaries), COHORT_COLUMNS, "cohorts")
        + plots
        + "</body></html>"
    )


def sheet_rows(summaries: list[ScenarioSummary]) -> list[dict[str, Any]]:
    """Every figure with its interval, one row each: the portfolio's, then each cohort's."""
    rows: list[dict[str, Any]] = []

    def add(scenario: str, cohort: str, figure: str, value: Estimate) -> None:
        rows.append(
            {
                "scenario": scenario,
                "cohort": cohort,
                "figure": figure,
                "mean": value.mean,
                "low": value.low,
                "high": value.high,
                "replications": value.n,
            }
        )

    for s in summaries:
        plain = {
            "bedspaces": s.bedspaces,
            "women_only_share": s.women_only_share,
            "women_safe_share": s.women_safe_share,
            "horizon_days": s.horizon_days,
            "warmup_days": s.warmup_days,
        }
        for figure, number in plain.items():
            add(s.scenario, "portfolio", figure, Estimate(mean=number, low=None, high=None, n=1))
        add(s.scenario, "portfolio", "occupancy", s.occupancy)
        add(s.scenario, "portfolio", "los_breaches", s.los_breaches)
        for cohort, figures in s.cohorts.items():
            for figure, value in figures.items():
                add(s.scenario, COHORT_NAMES[cohort], figure, value)
    return rows
