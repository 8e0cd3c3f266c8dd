"""The Markdown tables of a benchmark run, generated from its `results.json` and nothing else.

`python -m benchmarks.report RESULTS.json [-o FILE]` regenerates the table from a saved run;
`benchmarks/RESULTS.md` is such a file and is never edited by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import family_summary

SOLVE_COLUMNS = (
    "instance",
    "size",
    "backend",
    "status",
    "solve s (median)",
    "limit s",
    "spread s (min–max)",
    "time × greedy",
    "placed 5/4/3/2/1",
    "open bands (bound)",
    "bands proven s (median)",
    "objective",
    "bound",
    "gap",
    "soft objective",
    "soft gap",
    "soft − greedy",
    "peak MiB",
    "checker",
)
FAMILY_COLUMNS = (
    "backend",
    "instances",
    "every band proven",
    "proof s (median)",
    "proof s (p90)",
    "soft gap (median)",
    "soft gap (max)",
    "soft gap ≤ 1%",
    "peak MiB (max)",
    "checker",
    "matching",
)
MASK_COLUMNS = (
    "size",
    "pairs",
    "median s (of n)",
    "spread s",
    "target s",
    "traced peak MiB",
    "process peak MiB",
    "target MiB",
    "plain Python s (extrapolated)",
    "speed-up",
    "sample agrees",
    "meets target",
)
BANDS = ("5", "4", "3", "2", "1")


def render_markdown(results: dict[str, Any]) -> str:
    """Every table of the run, with the machine, the commit and the command to reproduce it."""
    lines = [
        f"# bedmatch benchmarks: family `{results.get('family')}`",
        "",
        "Generated from `results.json` by `benchmarks/report.py`; do not edit by hand.",
        "",
        f"- Machine: {results.get('machine_label')}",
        f"- Software: {_versions(results.get('machine') or {})}",
        f"- Commit: `{results.get('git_sha')}`",
        f"- Run: {results.get('started')} to {results.get('finished')}",
        f"- Reproduce: `{results.get('command')}`",
        "",
        *_verdict(results),
        *_mask_section(results.get("mask")),
        *_family_section(results.get("solves") or []),
        *_solve_section(results.get("solves") or []),
    ]
    for section, title in (
        ("rank_latency", "Rank latency"),
        ("simulation", "Simulation speed"),
        ("service_load", "Service load"),
        ("explain_speed", "Explain speed"),
    ):
        lines += _script_section(title, results.get(section))
    return "\n".join(lines).rstrip() + "\n"


def _versions(machine: dict[str, Any]) -> str:
    versions = machine.get("versions") or {}
    parts = [f"Python {machine.get('python')}"] + [
        f"{name} {version}" for name, version in versions.items() if version
    ]
    return ", ".join(parts) + (f"; {machine['os']}" if machine.get("os") else "")


def _verdict(results: dict[str, Any]) -> list[str]:
    failures = results.get("failures") or []
    if not failures:
        return ["**Verdict: pass** (no broken rule, exact backends agree, gaps within target).", ""]
    return ["**Verdict: FAIL**", "", *[f"- {failure}" for failure in failures], ""]


def _table(columns: Sequence[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
        *["| " + " | ".join(row) + " |" for row in rows],
        "",
    ]


def _mask_section(record: dict[str, Any] | None) -> list[str]:
    lines = ["## Eligibility mask with reasons (issue 3)", ""]
    if record is None:
        return lines + ["Not measured in this family.", ""]
    if record.get("outcome") != "measured":
        return lines + [f"Not measured: {_first_line(record.get('error'))}", ""]
    row = [
        record["size"],
        f"{record['pairs']:,}",
        f"{record['median_s']:.3f} (of {record['repeat']})",
        f"{record['min_s']:.3f}–{record['max_s']:.3f}",
        f"{record['target_s']:g}",
        _mib(record["traced_peak_bytes"]),
        _mib(record["process_peak_rss_bytes"]),
        _mib(record["target_bytes"]),
        f"{record['baseline_extrapolated_s']:.1f}",
        f"{record['speedup']:.0f}×" if record.get("speedup") else "–",
        "yes" if record["sample_agrees"] else "**NO**",
        "yes" if record.get("meets_targets") else "**no**",
    ]
    note = (
        f"Timed: `eligibility(build_tables(problem), reasons=True)`. Baseline: every rule of "
        f"`PAIR_RULES` on every `build_places` place, for {record['baseline_sample_referrals']} "
        f"referrals spread over the list ({record['baseline_per_referral_s']:.3f} s each), "
        f"extrapolated to all, in the same process. Process peak is the whole measuring "
        f"process (interpreter and the generated problem included)."
    )
    return lines + _table(MASK_COLUMNS, [row]) + [note, ""]


def _family_section(records: list[dict[str, Any]]) -> list[str]:
    """The family as a distribution, per backend: only for several instances of one size (a
    summary over several sizes would mix what cannot be compared)."""
    rows = family_summary.summarise(records)
    sizes = {r.get("size") for r in records if r.get("outcome") == "measured"}
    if not rows or max(row["instances"] for row in rows) < 2 or len(sizes) != 1:
        return []
    lines = ["## Over the family", ""]
    lines += _table(FAMILY_COLUMNS, [_family_row(row) for row in rows])
    lines += [
        "`every band proven` counts the instances whose every band's count met its proven "
        "bound; `proof s` is when that happened, the median and the 90th percentile by nearest "
        "rank over all instances, an instance never proven counting as never (`not proven`). "
        "The soft gap is the soft points' against their proven bound given the bands as "
        "placed. Peak memory is the largest over the family, the solving process's and its "
        "largest worker's own, and (tree) the most the two held together at one moment, "
        "pages they share counted once (see the solve table). On slack instances (no rule "
        "coupling people can bind) `matching` counts the solves that placed as many as "
        "scipy's maximum bipartite matching of the eligible pairs.",
        "",
    ]
    return lines


def _family_row(row: dict[str, Any]) -> list[str]:
    n = row["instances"]
    gaps = row["soft_gaps"]
    return [
        row["backend"],
        str(n),
        f"{row['every_band_proven']} of {n}",
        _seconds(row["proof_s_median"]),
        _seconds(row["proof_s_p90"]),
        f"{row['soft_gap_median']:.3%}" if row["soft_gap_median"] is not None else "–",
        f"{row['soft_gap_max']:.3%}" if row["soft_gap_max"] is not None else "–",
        f"{row['soft_gap_within_target']} of {gaps}" if gaps else "–",
        _mib(row["peak_bytes_max"])
        + (f" + {_mib(row['worker_peak_bytes_max'])}" if row["worker_peak_bytes_max"] else "")
        + (f" (tree {_mib(row['tree_peak_bytes_max'])})" if row.get("tree_peak_bytes_max") else ""),
        f"{row['checker_passed']} of {n}",
        f"{row['matching_reached']} of {row['slack_instances']}" if row["slack_instances"] else "–",
    ]


def _seconds(value: float) -> str:
    return "not proven" if math.isinf(value) else f"{value:.1f}"


def _solve_section(records: list[dict[str, Any]]) -> list[str]:
    lines = ["## Batch allocation (issue 4)", ""]
    measured = [r for r in records if r.get("outcome") == "measured"]
    others = [r for r in records if r.get("outcome") != "measured"]
    if not records:
        return lines + ["No instances in this family.", ""]
    greedy = {r["instance"]: r for r in measured if r["backend"] == "greedy"}
    rows = [_solve_row(record, greedy.get(record["instance"])) for record in measured]
    if rows:
        lines += _table(SOLVE_COLUMNS, rows)
        lines += [
            "Times are wall seconds around `matcher.solve.solve`; `time × greedy` and "
            "`soft − greedy` compare with the greedy baseline measured in the same run. "
            "Placed counts are per priority band, 5 (most urgent) first; `bands proven s` is "
            "when the solve had every band's count proven optimal (the soft stage follows), "
            "from the start of the solve. `gap` is that of the first part of the objective "
            "not proven optimal (a band's count, or else the soft points); `soft gap` is the "
            "soft points' against their proven bound given the bands as placed, so it is "
            "there even when a band is open. Peak memory is the "
            'solving process\'s (`ru_maxrss`); "(worker)" is the largest own peak (`VmHWM`) '
            "among the processes it started (proof workers, CBC), and `tree` the largest sum "
            "of the proportional set sizes of the solving process and its workers at one "
            "moment (pages shared copy-on-write counted once); both sampled every 0.2 s "
            "(`benchmarks.machine.TreeMemory`). Records before that change give as the "
            "worker's peak the solving process's size when the worker started (Linux starts a "
            "program's `ru_maxrss` there).",
            "",
        ]
    if others:
        lines += ["Not measured:", ""]
        lines += [
            f"- {r['instance']} / {r['backend']}: {r.get('outcome')}, "
            f"{_first_line(r.get('reason') or r.get('error'))}"
            for r in others
        ]
        lines.append("")
    return lines


def _solve_row(record: dict[str, Any], greedy: dict[str, Any] | None) -> list[str]:
    bands = record.get("placed_by_band") or {}
    time_ratio = soft_delta = "–"
    if greedy is not None and record["backend"] != "greedy":
        if greedy.get("median_s"):
            time_ratio = f"{record['median_s'] / greedy['median_s']:.1f}"
        soft_delta = f"{record['soft_objective'] - greedy['soft_objective']:+,.0f}"
    checker = "pass" if not record.get("violations") else f"**{record['violations']} broken**"
    return [
        record["instance"],
        record["size"] + (f" ({record['stress']})" if record.get("stress") else ""),
        record["backend"],
        str(record.get("status")),
        f"{record['median_s']:.2f}",
        _number(record.get("time_limit_s")),
        f"{record['min_s']:.2f}–{record['max_s']:.2f} (n={record['repeat']})",
        time_ratio,
        "/".join(str(bands.get(band, 0)) for band in BANDS),
        _open_bands(record),
        _bands_proven(record),
        _number(record.get("objective")),
        _number(record.get("bound")),
        f"{record['gap']:.3%}" if record.get("gap") is not None else "–",
        _number(record.get("soft_objective")),
        _soft_gap(record),
        soft_delta,
        _peak(record),
        checker,
    ]


def _soft_gap(record: dict[str, Any]) -> str:
    """The soft points' gap to their proven bound given the bands as placed ("–" where the
    backend proved none)."""
    bound, soft = record.get("soft_bound_given_bands"), record.get("soft_objective")
    if bound is None or soft is None:
        return "–"
    return f"{(bound - soft) / max(bound, 1):.3%}"


def _open_bands(record: dict[str, Any]) -> str:
    """The bands not proven optimal, each with its proven bound ("–": every band proven;
    "?" for a record from before bounds were kept)."""
    bounds = record.get("placed_bound_by_priority")
    if not bounds:
        return "?"
    placed = record.get("placed_by_priority") or {}
    open_bands = [
        f"{band} ({_number(bounds[band])})"
        for band in BANDS
        if band in bounds and bounds[band] > placed.get(band, 0)
    ]
    return ", ".join(open_bands) or "–"


def _bands_proven(record: dict[str, Any]) -> str:
    """The median time at which the solves had every band proven, over the solves that did
    ("(2 of 3)" when not all did; "–" when none did or the backend does not say)."""
    per_solve = record.get("bands_proven_s") or []
    times = [t for t in per_solve if t is not None]
    if not times:
        return "–"
    text = f"{statistics.median(times):.2f}"
    return text if len(times) == len(per_solve) else f"{text} ({len(times)} of {len(per_solve)})"


def _peak(record: dict[str, Any]) -> str:
    """The measuring process's peak, beside it its largest worker process's, if any, and the
    tree's at one moment, where measured."""
    workers = record.get("peak_rss_children_bytes")
    tree = record.get("peak_tree_pss_bytes")
    own = _mib(record.get("peak_rss_bytes"))
    text = f"{own} + {_mib(workers)} (worker)" if workers else own
    return f"{text}, tree {_mib(tree)}" if tree else text


def _script_section(title: str, record: dict[str, Any] | None) -> list[str]:
    if record is None or record.get("outcome") == "skipped":
        return []
    lines = [f"## {title}", ""]
    if record.get("outcome") == "error":
        return lines + [f"Failed: {_first_line(record.get('error'))}", ""]
    hidden = {"family", "script", "git_sha", "machine", "outcome", "arguments"}
    shown = {key: value for key, value in record.items() if key not in hidden}
    rows = [[key, _scalar(value)] for key, value in _flatten(shown)]
    return lines + _table(("measure", "value"), rows)


def _flatten(record: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar fields of a script's record, nested dicts as dotted names, lists of dicts indexed;
    lists of numbers (raw samples) are left out."""
    out: list[tuple[str, Any]] = []
    for key, value in record.items():
        if isinstance(value, dict):
            out += _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            for i, item in enumerate(value):
                out += _flatten(item, f"{prefix}{key}[{i}].")
        elif value is None or isinstance(value, int | float | str | bool):
            out.append((f"{prefix}{key}", value))
    return out


def _scalar(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _number(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _mib(value: Any) -> str:
    if value is None:
        return "–"
    mib = value / (1 << 20)
    return f"{mib:,.0f}" if mib >= 10 else f"{mib:.2f}"


def _first_line(text: Any) -> str:
    return str(text or "").strip().splitlines()[0] if text else "no reason given"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the Markdown table of a run.")
    parser.add_argument("results", help="a results.json written by `bedmatch bench`")
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    args = parser.parse_args(argv)
    table = render_markdown(json.loads(Path(args.results).read_text()))
    if args.output:
        Path(args.output).write_text(table)
    else:
        sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
