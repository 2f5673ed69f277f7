"""`ta-outcomes`: a thin command-line wrapper over the Python API.

Every subcommand parses its arguments, calls one function in ``analysis``, prints its result and
maps expected failures (bad input, missing store, failed report) to a one-line message on stderr
and a non-zero exit code. No traceback reaches the user for an error they can act on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from analysis import paths

EXIT_OK = 0
EXIT_FAILED = 1  # the work ran and something in it failed (a bad file, a failing report)
EXIT_USAGE = 2  # the request itself was wrong (bad parameters, missing store)
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE): reported in one line, traceback with TA_OUTCOMES_DEBUG=1


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        type=Path,
        default=paths.DEFAULT_DB,
        help=f"the DuckDB case store (default: {paths.DEFAULT_DB})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ta-outcomes",
        description="Trade Assurance dispute outcomes: ingest case exports, compute metrics, render reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="clean case exports into the store")
    p.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="files or folders of exports"
    )
    _add_db(p)
    p.add_argument(
        "--mapping", type=Path, help="YAML mapping of a foreign export onto the intake format"
    )
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("demo", help="generate the synthetic demo data set and load it")
    _add_db(p)
    p.add_argument(
        "--raw-dir", type=Path, default=paths.RAW_DIR / "demo", help="where the raw demo exports go"
    )
    p.add_argument(
        "--cases", type=int, default=5000, help="number of synthetic cases (default 5000)"
    )
    p.add_argument("--seed", type=int, default=20261127, help="random seed (default fixed)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("metrics", help="outcome metrics for a period, as JSON or a table")
    _add_db(p)
    p.add_argument("--start", required=True, help="first day of the period (YYYY-MM-DD), inclusive")
    p.add_argument("--end", required=True, help="last day of the period (YYYY-MM-DD), inclusive")
    p.add_argument("--format", choices=["json", "table"], default="json")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.10,
        help="supplier-sided below this share of the claim (0.10)",
    )
    p.add_argument(
        "--lowball", type=float, default=0.05, help="lowball below this share of the claim (0.05)"
    )
    p.add_argument(
        "--min-n", type=int, default=30, help="suppress groups with fewer decided cases (30)"
    )
    p.add_argument("--category", help="restrict to one category slug")
    p.set_defaults(func=_cmd_metrics)

    p = sub.add_parser(
        "report", help="run a report notebook with papermill and export self-contained HTML"
    )
    p.add_argument("name", help="notebook name in notebooks/ (e.g. outcome_report, data_quality)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "--period", help="2026-10, 2026-Q3, 2026, or START:END (YYYY-MM-DD:YYYY-MM-DD)"
    )
    when.add_argument(
        "--last",
        choices=["month", "quarter"],
        help="the latest complete month or quarter before today",
    )
    _add_db(p)
    p.add_argument(
        "--out", type=Path, default=paths.REPORTS_DIR, help="output folder (default reports/)"
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra notebook parameter",
    )
    p.add_argument(
        "--notify-cmd",
        help="command run after the report; gets STATUS and REPORT_PATH as arguments",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("catalogue", help="rebuild DIR/index.html, the catalogue of reports")
    p.add_argument("--out", type=Path, default=paths.REPORTS_DIR)
    p.set_defaults(func=_cmd_catalogue)
    return parser


def _cmd_ingest(args: argparse.Namespace) -> int:
    from analysis import ingest

    return ingest.main(args.paths, db=args.db, mapping=args.mapping)


def _cmd_demo(args: argparse.Namespace) -> int:
    from analysis import demo

    demo.run_demo(db=args.db, raw_dir=args.raw_dir, n_cases=args.cases, seed=args.seed)
    return EXIT_OK


def _cmd_metrics(args: argparse.Namespace) -> int:
    from analysis import metrics, periods

    start, end = periods.parse_date(args.start, "--start"), periods.parse_date(args.end, "--end")
    params = metrics.Params(threshold=args.threshold, lowball=args.lowball, min_n=args.min_n)
    result = metrics.outcome_metrics(args.db, start, end, params=params, category=args.category)
    if args.format == "json":
        print(json.dumps(result, indent=2, default=str))
    else:
        print(metrics.format_table(result))
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from analysis import runner

    return runner.main(
        name=args.name,
        period=args.period,
        last=args.last,
        db=args.db,
        out=args.out,
        params=args.param,
        notify_cmd=args.notify_cmd,
        progress=not args.no_progress,
    )


def _cmd_catalogue(args: argparse.Namespace) -> int:
    from analysis import catalogue

    print(catalogue.build_index(args.out))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ta-outcomes` console script."""
    from analysis.errors import UserError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"ta-outcomes {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"ta-outcomes {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line, the traceback on request
        if os.environ.get("TA_OUTCOMES_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(
            f"ta-outcomes {args.command}: internal error ({type(exc).__name__}: {first}); "
            "run again with TA_OUTCOMES_DEBUG=1 for the traceback, and report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
