"""`ta-outcomes`: a thin command-line wrapper over the Python API.

Every subcommand parses its arguments, calls one function in ``analysis``, prints its result and
maps expected failures to a one-line message on stderr and a distinct exit code. No traceback
reaches the user for an error they can act on.

Exit codes: 0 ok; 1 the work ran and something in it failed (a bad file, a failing report); 2 the
request was wrong (bad parameters, no store); 70 a bug (reported in one line, the traceback with
TA_OUTCOMES_DEBUG=1); 74 the machine refused (full disk, a folder that cannot be written); 75 the
store or a report was busy for longer than the timeout (try again later).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from analysis import settings

EXIT_OK = 0
EXIT_FAILED = 1  # the work ran and something in it failed (a bad file, a failing report)
# (a request that was itself wrong exits with its error's own code: analysis.errors)
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE): reported in one line, traceback with TA_OUTCOMES_DEBUG=1


def _add_db(p: argparse.ArgumentParser, data_path: bool = True) -> None:
    p.add_argument(
        "--db",
        type=settings.store_location,
        default=None,
        help=f"the DuckDB case store (default: {settings.default_db()}; TA_OUTCOMES_DB sets it), "
        "or a pooled store 'ducklake:<metadata>' (README: Pooling many agencies' data)",
    )
    if data_path:
        _add_data_path(p)


def _add_data_path(p: argparse.ArgumentParser, dest: str = "data_path") -> None:
    p.add_argument(
        "--data-path",
        dest=dest,
        type=Path,
        default=None,
        metavar="DIR",
        help="a NEW lake's folder for its data files (the lake remembers it afterwards)",
    )


def _add_metric_params(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threshold",
        type=float,
        default=settings.THRESHOLD,
        help=f"supplier-sided below this share of the claim ({settings.THRESHOLD:g})",
    )
    p.add_argument(
        "--lowball",
        type=float,
        default=settings.LOWBALL,
        help=f"lowball below this share of the claim ({settings.LOWBALL:g})",
    )
    p.add_argument(
        "--min-n",
        type=int,
        default=settings.MIN_N,
        help=f"mark rates on fewer decided cases 'few cases' ({settings.MIN_N})",
    )
    p.add_argument(
        "--min-n-rate",
        type=int,
        default=None,
        help=f"show a rate from this many decided cases, counts only below ({settings.MIN_N_RATE}, "
        "or --min-n when lower)",
    )
    p.add_argument(
        "--min-n-named",
        type=int,
        default=settings.MIN_N_NAMED,
        help=f"name a supplier from this many decided cases ({settings.MIN_N_NAMED})",
    )


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and its subcommands' parsers (by name)."""
    parser = argparse.ArgumentParser(
        prog="ta-outcomes",
        description="Trade Assurance dispute outcomes: ingest case exports, compute metrics, render reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict[str, argparse.ArgumentParser] = {}

    p = commands["ingest"] = sub.add_parser("ingest", help="clean case exports into the store")
    p.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="files or folders of exports (a folder's files whose content the store has loaded "
        "before are not read again: 'nothing new')",
    )
    _add_db(p)
    p.add_argument(
        "--mapping", type=Path, help="YAML mapping of a foreign export onto the intake format"
    )
    p.add_argument(
        "--as-of",
        help="the day the export describes, YYYY-MM-DD (default: the mapping's export_date, "
        "else a date in the file's name, else none: the day of the load); cases still open in "
        "it are open as of that day, and a case opened, escalated or closed after it is "
        "quarantined",
    )
    p.add_argument(
        "--rekey-buyers",
        action="store_true",
        help="make a new buyer-key secret and clear every stored buyer key (when the key file "
        "is lost for good); load the exports again to key the buyers anew",
    )
    p.add_argument(
        "--allow-mixed",
        action="store_true",
        help="load real exports into a store that holds the synthetic demo cases (refused "
        "otherwise: reports would call the mix synthetic)",
    )
    p.set_defaults(func=_cmd_ingest)

    p = commands["demo"] = sub.add_parser(
        "demo", help="generate the synthetic demo data set and load it"
    )
    _add_db(p)
    p.add_argument(
        "--raw-dir",
        type=Path,
        default=settings.RAW_DIR / "demo",
        help="where the raw demo exports go",
    )
    p.add_argument(
        "--cases",
        type=int,
        default=settings.DEMO_CASES,
        help=f"number of synthetic cases (default {settings.DEMO_CASES})",
    )
    p.add_argument(
        "--seed", type=int, default=settings.DEMO_SEED, help="random seed (default fixed)"
    )
    p.set_defaults(func=_cmd_demo)

    p = commands["metrics"] = sub.add_parser(
        "metrics", help="outcome metrics for a period, as JSON or a table"
    )
    _add_db(p, data_path=False)
    p.add_argument("--start", required=True, help="first day of the period (YYYY-MM-DD), inclusive")
    p.add_argument("--end", required=True, help="last day of the period (YYYY-MM-DD), inclusive")
    p.add_argument("--format", choices=["json", "table"], default="json")
    _add_metric_params(p)
    _add_snapshot(p)
    p.add_argument("--category", help="restrict to one category (a slug or a display name)")
    _add_client(p)
    p.set_defaults(func=_cmd_metrics)

    p = commands["report"] = sub.add_parser(
        "report", help="run a report notebook with papermill and export self-contained HTML"
    )
    p.add_argument("name", help="notebook name in notebooks/ (e.g. outcome_report, data_quality)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "--period", help="2026-10, 2026-Q3, 2026, or START:END (YYYY-MM-DD:YYYY-MM-DD)"
    )
    when.add_argument(
        "--last",
        choices=["month", "quarter", "year", "12-months"],
        help="the latest complete month, quarter or year before today, or the 12 months to the "
        "latest complete month",
    )
    _add_db(p, data_path=False)
    _add_snapshot(p)
    p.add_argument(
        "--out",
        type=Path,
        default=settings.REPORTS_DIR,
        help=f"output folder (default {settings.REPORTS_DIR}/)",
    )
    p.add_argument(
        "--category",
        help="restrict the report to one category (a slug or a display name, e.g. Electronics)",
    )
    _add_client(p)
    p.add_argument(
        "--title",
        help="the report's title line (default: the report's name and period; a --client "
        "report says 'one client', never the name)",
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another notebook parameter (e.g. -p threshold=0.2)",
    )
    p.add_argument(
        "--notify-cmd",
        help="command run after the report; gets STATUS and REPORT_PATH as arguments",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also print the report to <report>.pdf beside the HTML (headless Chromium)",
    )
    p.add_argument(
        "--each",
        choices=["category", "supplier"],
        help="a batch: the all-categories report and one per category, or one per supplier with "
        "at least min_n_named decided cases (e.g. supplier_scorecard); one catalogue update",
    )
    p.set_defaults(func=_cmd_report)

    p = commands["export-store"] = sub.add_parser(
        "export-store",
        help="copy a store between a DuckDB file and a lake (a member's store founds a pool; a "
        "lake is taken home as a file)",
    )
    _add_db(p, data_path=False)
    _add_data_path(p, dest="to_data_path")
    p.add_argument(
        "--to",
        required=True,
        type=settings.store_location,
        help="the new store: a DuckDB file that does not exist yet, or a lake without a store",
    )
    p.set_defaults(func=_cmd_export_store)

    p = commands["catalogue"] = sub.add_parser(
        "catalogue", help="rebuild DIR/index.html, the catalogue of reports"
    )
    p.add_argument("--out", type=Path, default=settings.REPORTS_DIR)
    p.set_defaults(func=_cmd_catalogue)
    return parser, commands


def _add_snapshot(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-of-snapshot",
        type=int,
        metavar="N",
        help="a lake read as it was at its snapshot N (the id a report's stamp names): "
        "reproduces an old report exactly",
    )


def _add_client(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--client",
        metavar="NAME",
        help="one client's cases only: NAME as the tracker writes the buyer reference, matched "
        "through the store's buyer key (the name is neither stored nor printed)",
    )


def _buyer_key(args: argparse.Namespace) -> str | None:
    """The buyer key of ``--client NAME`` (None without it)."""
    if args.client is None:
        return None
    from analysis.ingest import pseudonym

    return pseudonym.client_key(_db(args), args.client)


def _db(args: argparse.Namespace) -> Path | str:
    db = args.db if args.db is not None else settings.default_db()
    if getattr(args, "data_path", None) is not None:
        from analysis.errors import BadParameter
        from analysis.store import lake

        if not lake.is_lake(db):
            raise BadParameter("--data-path is for a lake (--db ducklake:...), not a DuckDB file")
        lake.use_data_path(db, args.data_path)
    if getattr(args, "as_of_snapshot", None) is not None:
        from analysis.store import lake

        db = lake.pinned(db, args.as_of_snapshot)
    return db


def _category(text: str | None) -> str | None:
    """A category given as a slug or a display name, as its slug (BadParameter if unknown)."""
    from analysis import vocab
    from analysis.errors import BadParameter

    if text is None or not str(text).strip():
        return None
    words = vocab.vocabulary()
    slug = words.resolve("category", text)
    if slug is None:
        known = ", ".join(f"{t.slug} ({t.display_name})" for t in words.of("category"))
        raise BadParameter(f"--category {text!r}: not a category (categories: {known})")
    return slug


def _cmd_ingest(args: argparse.Namespace) -> int:
    from analysis import ingest
    from analysis.metrics import periods

    as_of = periods.parse_date(args.as_of, "--as-of") if args.as_of else None
    return ingest.main(
        args.paths,
        db=_db(args),
        mapping=args.mapping,
        rekey=args.rekey_buyers,
        as_of=as_of,
        allow_mixed=args.allow_mixed,
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from analysis import demo

    demo.run_demo(db=_db(args), raw_dir=args.raw_dir, n_cases=args.cases, seed=args.seed)
    return EXIT_OK


def _cmd_metrics(args: argparse.Namespace) -> int:
    from analysis import metrics
    from analysis.metrics import periods
    from analysis.report import console

    start, end = periods.parse_date(args.start, "--start"), periods.parse_date(args.end, "--end")
    params = metrics.Params(
        threshold=args.threshold,
        lowball=args.lowball,
        min_n=args.min_n,
        min_n_rate=args.min_n_rate,
        min_n_named=args.min_n_named,
        buyer_key=_buyer_key(args),
    )
    result = metrics.outcome_metrics(
        _db(args), start, end, params=params, category=_category(args.category)
    )
    if args.format == "json":
        print(json.dumps(result, indent=2, default=str))
    else:
        print(console.format_table(result))
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from analysis.publish import command

    params = list(args.param)
    if args.category:
        params.append(f"category={args.category}")
    if args.client is not None:
        params.append(f"buyer_key={_buyer_key(args)}")
    if args.title is not None:
        params.append(f"title={args.title}")
    return command.main(
        name=args.name,
        period=args.period,
        last=args.last,
        db=_db(args),
        out=args.out,
        params=params,
        notify_cmd=args.notify_cmd,
        progress=not args.no_progress,
        pdf=args.pdf,
        each=args.each,
    )


def _cmd_export_store(args: argparse.Namespace) -> int:
    from analysis.store import lake

    source = _db(args)
    if args.to_data_path is not None:
        lake.use_data_path(str(args.to), args.to_data_path)
    copied = lake.export_store(source, args.to)
    print(
        f"copied {lake.redacted(source)} to {lake.redacted(args.to)}: "
        + ", ".join(f"{table} {n}" for table, n in copied.items())
    )
    return EXIT_OK


def _cmd_catalogue(args: argparse.Namespace) -> int:
    from analysis.publish import catalogue

    print(catalogue.build_index(args.out))
    return EXIT_OK


def _quiet_stdout() -> None:
    # The reader went away (`| head`): the rest of the output has nowhere to go. Point stdout at
    # /dev/null so the interpreter's final flush does not fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ta-outcomes` console script."""
    from analysis.errors import UserError, environment_problem

    parser, commands = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse would show the top-level usage; the subcommand's is the one that helps
        commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.func(args)
    except UserError as exc:
        print(f"ta-outcomes {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"ta-outcomes {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except Exception as exc:  # a bug, not bad input: still one line, the traceback on request
        problem = environment_problem(exc)
        if problem is not None:
            print(f"ta-outcomes {args.command}: {problem}", file=sys.stderr)
            return problem.exit_code
        if settings.debug():
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
