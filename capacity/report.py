"""Scenarios side by side: a JSON file of the figures, plots and a Markdown table.

The JSON (`figures.json`) is the record; the plots and `report.md` are drawn from it, so
they can never disagree with it. Plots use matplotlib's Agg backend: no display is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from capacity.replications import Estimate, ScenarioSummary  # noqa: E402
from capacity.scenario import Cohort  # noqa: E402

COHORT_ORDER = ("all", *(c.value for c in Cohort))
PLOTS = {
    "wait_p50_days": ("Median wait for a placement (days)", "waiting_p50.png"),
    "wait_p90_days": ("90th percentile wait (days)", "waiting_p90.png"),
    "never_placed_share": ("Share of referrals never placed", "never_placed.png"),
    "los_breaches": ("Stays past their pathway's target", "los_breaches.png"),
}


def figures(summaries: list[ScenarioSummary]) -> dict[str, Any]:
    """Everything the report shows, as plain JSON data."""
    return {"scenarios": [s.model_dump(mode="json") for s in summaries]}


def _value(estimate: Estimate) -> float:
    return 0.0 if estimate.mean is None else estimate.mean


def _error(estimate: Estimate) -> tuple[float, float]:
    if estimate.mean is None or estimate.low is None or estimate.high is None:
        return (0.0, 0.0)
    return (estimate.mean - estimate.low, estimate.high - estimate.mean)


def _cohort_bars(summaries: list[ScenarioSummary], metric: str, title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(summaries))
    for k, summary in enumerate(summaries):
        estimates = [summary.cohorts[c][metric] for c in COHORT_ORDER]
        errors = list(zip(*(_error(e) for e in estimates), strict=True))
        ax.bar(
            [i + k * width for i in range(len(COHORT_ORDER))],
            [_value(e) for e in estimates],
            width,
            yerr=errors,
            capsize=3,
            label=summary.scenario,
        )
    ax.set_xticks([i + width * (len(summaries) - 1) / 2 for i in range(len(COHORT_ORDER))])
    ax.set_xticklabels([c.replace("_", " ") for c in COHORT_ORDER], rotation=15)
    ax.set_title(f"{title} (95% confidence interval)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _over_time(summaries: list[ScenarioSummary], path: Path) -> None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for summary in summaries:
        top.plot(summary.daily_occupancy, label=summary.scenario)
        bottom.plot(summary.waiting_list, label=summary.scenario)
    top.set_ylabel("occupancy")
    bottom.set_ylabel("waiting list")
    bottom.set_xlabel("day")
    top.set_title("Occupancy and waiting list, mean over replications")
    top.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(estimate: Estimate, digits: int = 1) -> str:
    if estimate.mean is None:
        return "–"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.mean:.{digits}f}"
    return f"{estimate.mean:.{digits}f} ({estimate.low:.{digits}f}–{estimate.high:.{digits}f})"


def markdown(summaries: list[ScenarioSummary]) -> str:
    lines = ["# Portfolio stress test", ""]
    lines += [
        "| scenario | bed-spaces | women-only share | replications | occupancy | "
        "stays past target |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in summaries:
        lines.append(
            f"| {s.scenario} | {s.bedspaces} | {s.women_only_share:.0%} | {s.replications} | "
            f"{_fmt(s.occupancy, 3)} | {_fmt(s.los_breaches)} |"
        )
    lines += ["", "Per cohort: mean over replications (95% confidence interval).", ""]
    lines += [
        "| cohort | scenario | referrals | wait p50 (days) | wait p90 (days) | "
        "never placed | stays past target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for cohort in COHORT_ORDER:
        for s in summaries:
            c = s.cohorts[cohort]
            lines.append(
                f"| {cohort.replace('_', ' ')} | {s.scenario} | {_fmt(c['arrivals'], 0)} | "
                f"{_fmt(c['wait_p50_days'])} | {_fmt(c['wait_p90_days'])} | "
                f"{_fmt(c['never_placed'], 0)} | {_fmt(c['los_breaches'], 0)} |"
            )
    lines += ["", *(f"![{title}]({name})" for title, name in PLOTS.values())]
    lines += ["![occupancy and waiting list](over_time.png)", ""]
    return "\n".join(lines)


def write_report(summaries: list[ScenarioSummary], directory: str | Path) -> dict[str, Path]:
    """Write `figures.json`, `report.md` and the plots into `directory`; returns the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = {"figures": out / "figures.json", "report": out / "report.md"}
    written["figures"].write_text(json.dumps(figures(summaries), indent=2) + "\n")
    for metric, (title, name) in PLOTS.items():
        _cohort_bars(summaries, metric, title, out / name)
        written[metric] = out / name
    _over_time(summaries, out / "over_time.png")
    written["over_time"] = out / "over_time.png"
    written["report"].write_text(markdown(summaries))
    return written
