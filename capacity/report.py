"""Scenarios side by side: a JSON file of the figures, plots and a Markdown table.

The JSON (`figures.json`) is the record; the plots and `report.md` are drawn from it, so
they can never disagree with it. Plots use matplotlib's Agg backend: no display is needed.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from capacity.replications import ScenarioSummary  # noqa: E402
from capacity.statistics import Estimate  # noqa: E402
from constraints.cohorts import COHORT_NAMES, Cohort  # noqa: E402

COHORT_ORDER = ("all", *(c.value for c in Cohort))
# Waits count everyone referred, people still waiting at the end too (`capacity.statistics`).
# Each plot: its name in the written files, the figure it draws, its title and its file.
PLOTS = {
    "wait_p50_days": (
        "wait_everyone_p50_days",
        "Median wait for a placement, everyone (days)",
        "waiting_p50.png",
    ),
    "wait_p90_days": (
        "wait_everyone_p90_days",
        "90th percentile wait, everyone (days)",
        "waiting_p90.png",
    ),
    "still_waiting_share": (
        "still_waiting_share",
        "Share still waiting at the end",
        "still_waiting.png",
    ),
    "never_placed_share": (
        "never_placed_share",
        "Share of referrals never placed",
        "never_placed.png",
    ),
    "los_breaches": ("los_breaches", "Stays past their pathway's target", "los_breaches.png"),
}
NOT_REACHED = "not reached"


def figures(summaries: list[ScenarioSummary]) -> dict[str, Any]:
    """Everything the report shows, as plain JSON data."""
    return {"scenarios": [s.model_dump(mode="json") for s in summaries]}


def _value(estimate: Estimate) -> float:
    return 0.0 if estimate.mean is None else estimate.mean


def _error(estimate: Estimate) -> tuple[float, float]:
    if estimate.mean is None or estimate.low is None or estimate.high is None:
        return (0.0, 0.0)
    return (estimate.mean - estimate.low, estimate.high - estimate.mean)


def _cohort_bars(
    summaries: list[ScenarioSummary], metric: str, title: str, path: Path | IO[bytes]
) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(summaries))
    missing = NOT_REACHED if metric.startswith("wait_") else "no data"
    for k, summary in enumerate(summaries):
        estimates = [summary.cohorts[c][metric] for c in COHORT_ORDER]
        errors = list(zip(*(_error(e) for e in estimates), strict=True))
        xs = [i + k * width for i in range(len(COHORT_ORDER))]
        ax.bar(
            xs,
            [_value(e) for e in estimates],
            width,
            yerr=errors,
            capsize=3,
            label=summary.scenario,
        )
        # No bar is not a zero: a figure without a value says why where its bar would be.
        for x, figure in zip(xs, estimates, strict=True):
            if figure.mean is None:
                ax.annotate(
                    missing,
                    (x, 0),
                    xytext=(0, 4),
                    textcoords="offset points",
                    rotation=90,
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color="0.35",
                )
    ax.set_xticks([i + width * (len(summaries) - 1) / 2 for i in range(len(COHORT_ORDER))])
    ax.set_xticklabels([COHORT_NAMES[c] for c in COHORT_ORDER], rotation=20, ha="right")
    ax.set_title(f"{title} (95% confidence interval)")
    if summaries:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def _over_time(summaries: list[ScenarioSummary], path: Path | IO[bytes]) -> None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for summary in summaries:
        top.plot(summary.daily_occupancy, label=summary.scenario)
        bottom.plot(summary.waiting_list, label=summary.scenario)
    top.set_ylabel("occupancy")
    bottom.set_ylabel("waiting list")
    bottom.set_xlabel("day")
    top.set_title("Occupancy and waiting list, mean over replications")
    if summaries:
        top.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


OVER_TIME = "over_time"


def plot_png(summaries: list[ScenarioSummary], plot: str) -> bytes:
    """One of the report's plots (a name in `PLOTS`, or `OVER_TIME`) as PNG bytes."""
    out = io.BytesIO()
    if plot == OVER_TIME:
        _over_time(summaries, out)
    else:
        metric, title, _ = PLOTS[plot]
        _cohort_bars(summaries, metric, title, out)
    return out.getvalue()


def _fmt(estimate: Estimate, digits: int = 1, missing: str = "–") -> str:
    if estimate.mean is None:
        return missing
    if estimate.low is None or estimate.high is None:
        return f"{estimate.mean:.{digits}f}"
    return f"{estimate.mean:.{digits}f} ({estimate.low:.{digits}f}–{estimate.high:.{digits}f})"


def _percent(estimate: Estimate) -> str:
    if estimate.mean is None:
        return "–"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.mean:.0%}"
    return f"{estimate.mean:.0%} ({estimate.low:.0%}–{estimate.high:.0%})"


def _wait(estimate: Estimate, replications: int) -> str:
    if estimate.mean is not None:
        return _fmt(estimate)
    if estimate.n:
        return f"{NOT_REACHED} in {replications - estimate.n} of {replications} runs"
    return NOT_REACHED


def _replications(summary: ScenarioSummary) -> str:
    if summary.precision is None:
        return f"{summary.replications}"
    outcome = "reached" if summary.precision_reached else "not reached: the cap stopped it"
    return f"{summary.replications} (run to ±{summary.precision:.0%}, {outcome})"


def _warmup(summary: ScenarioSummary) -> str:
    return f"{summary.warmup_days} days" if summary.warmup_days else "none"


COHORT_COLUMNS = (
    "cohort",
    "scenario",
    "referrals",
    "wait p50 (days)",
    "wait p90 (days)",
    "still waiting",
    "never placed",
    "stays past target",
)


def cohort_rows(summaries: list[ScenarioSummary]) -> list[dict[str, str]]:
    """The per-cohort table, as text: one row per cohort and scenario (`COHORT_COLUMNS`)."""
    rows = []
    for cohort in COHORT_ORDER:
        for s in summaries:
            c = s.cohorts[cohort]
            values = (
                COHORT_NAMES[cohort],
                s.scenario,
                _fmt(c["arrivals"], 0),
                _wait(c["wait_everyone_p50_days"], s.replications),
                _wait(c["wait_everyone_p90_days"], s.replications),
                _percent(c["still_waiting_share"]),
                _fmt(c["never_placed"], 0),
                _fmt(c["los_breaches"], 0),
            )
            rows.append(dict(zip(COHORT_COLUMNS, values, strict=True)))
    return rows


def portfolio_rows(summaries: list[ScenarioSummary]) -> list[dict[str, str]]:
    """The headline table, as text: one row per scenario."""
    return [
        {
            "scenario": s.scenario,
            "bed-spaces": str(s.bedspaces),
            "women-only share": f"{s.women_only_share:.0%}",
            "women-safe share": f"{s.women_safe_share:.0%}",
            "replications": _replications(s),
            "warm-up": _warmup(s),
            "occupancy": _fmt(s.occupancy, 3),
            "stays past target": _fmt(s.los_breaches),
        }
        for s in summaries
    ]


def markdown(summaries: list[ScenarioSummary]) -> str:
    lines = ["# Portfolio stress test", ""]
    lines += [
        "| scenario | bed-spaces | women-only share | replications | warm-up | occupancy | "
        "stays past target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in summaries:
        lines.append(
            f"| {s.scenario} | {s.bedspaces} | {s.women_only_share:.0%} | {_replications(s)} | "
            f"{_warmup(s)} | {_fmt(s.occupancy, 3)} | {_fmt(s.los_breaches)} |"
        )
    lines += [
        "",
        "Per cohort: mean over replications (95% confidence interval, Student t, kept within "
        "what is possible). Waits count everyone referred after the warm-up: people still "
        "waiting at the end are counted as waiting at least that long (Kaplan–Meier), and a "
        f"wait is '{NOT_REACHED}' where fewer than half (or 90%) are placed within the horizon.",
        "",
    ]
    columns = list(COHORT_COLUMNS)
    lines += [
        "| " + " | ".join(columns) + " |",
        "| --- | --- |" + " ---: |" * (len(columns) - 2),
    ]
    for row in cohort_rows(summaries):
        lines.append("| " + " | ".join(row[c] for c in columns) + " |")
    lines += ["", *(f"![{title}]({name})" for _, title, name in PLOTS.values())]
    lines += ["![occupancy and waiting list](over_time.png)", ""]
    return "\n".join(lines)


def write_report(summaries: list[ScenarioSummary], directory: str | Path) -> dict[str, Path]:
    """Write `figures.json`, `report.md` and the plots into `directory`; returns the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = {"figures": out / "figures.json", "report": out / "report.md"}
    written["figures"].write_text(json.dumps(figures(summaries), indent=2) + "\n")
    for plot, (metric, title, name) in PLOTS.items():
        _cohort_bars(summaries, metric, title, out / name)
        written[plot] = out / name
    _over_time(summaries, out / "over_time.png")
    written["over_time"] = out / "over_time.png"
    written["report"].write_text(markdown(summaries))
    return written
