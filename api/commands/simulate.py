"""`bedmatch simulate SCENARIO.yaml [...] [-o DIR]`: stress-test a portfolio, scenarios compared;
`bedmatch simulate --stored ID [--database-url URL]`: a scenario stored by the service, run here."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli import EXIT_OK, UsageError, at_least, write_output
from api.commands.stored_scenario import run_stored, stored_output
from capacity.replications import run_replications
from capacity.report import figures, write_report
from capacity.scenario import load_scenario


def register(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="simulate a bed portfolio under scenarios' demand, with replications",
        description="Run each scenario's simulation (replications in parallel, locally or on "
        "a Dask cluster) and compare them side by side: waiting times, referrals never "
        "placed, occupancy, stays past target and women-only share per cohort, with 95% "
        "confidence intervals. Writes the figures as JSON to stdout, or with -o a directory "
        "with figures.json, report.md and plots.",
    )
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO.yaml")
    parser.add_argument(
        "--stored",
        type=at_least(1),
        metavar="ID",
        help="run the scenario stored in the service's database under this number, as the "
        "service would (its snapshot, plan and seed); prints its figures and the seconds "
        "its replications took",
    )
    parser.add_argument(
        "--database-url",
        help="the service's database, for --stored (default BEDMATCH_DATABASE_URL/DATABASE_URL)",
    )
    parser.add_argument("-o", "--output", metavar="DIR", help="write the report here")
    parser.add_argument(
        "--replications", type=at_least(1), default=5, metavar="N", help="replications (5)"
    )
    parser.add_argument(
        "--precision",
        type=float,
        metavar="P",
        help="add replications until the headline figures' 95%% intervals are within ±P of "
        "their mean (e.g. 0.05), up to --max-replications; --replications is the minimum",
    )
    parser.add_argument(
        "--max-replications", type=at_least(1), default=100, metavar="N", help="cap (100)"
    )
    parser.add_argument(
        "--workers", type=at_least(1), metavar="N", help="local processes (all cores)"
    )
    parser.add_argument("--cluster", metavar="ADDRESS", help="Dask scheduler, tcp://host:8786")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.stored is not None:
        if args.scenarios:
            raise UsageError("--stored: runs one stored scenario; leave out SCENARIO.yaml")
        summary, seconds = run_stored(
            args.database_url,
            args.stored,
            args.workers,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
        if args.output:
            write_report([summary], args.output)
        write_output(stored_output(args.stored, summary, seconds), None)
        return EXIT_OK
    if not args.scenarios:
        raise UsageError("SCENARIO.yaml: name one or more scenario files, or --stored ID")
    if args.replications < 1:
        raise UsageError("--replications: must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers: must be at least 1")
    scenarios = [load_scenario(path) for path in args.scenarios]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise UsageError(f"scenario names must differ to be compared: {', '.join(names)}")
    if args.precision is not None and not 0 < args.precision < 1:
        raise UsageError(f"--precision: a share between 0 and 1, got {args.precision}")
    summaries = run_replications(
        scenarios,
        args.replications,
        workers=args.workers,
        cluster=args.cluster,
        progress=not args.no_progress and sys.stderr.isatty(),
        precision=args.precision,
        max_replications=args.max_replications,
    )
    if args.output:
        written = write_report(summaries, args.output)
        write_output({name: str(path) for name, path in written.items()}, None)
    else:
        write_output(figures(summaries), None)
    return EXIT_OK
