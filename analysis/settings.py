"""Every path, environment variable, default and timeout of the project, in one place.

The CLI's option defaults, the report context, the notebooks' parameters cells (checked by
``tests/test_settings.py``) and the metric parameters all take their defaults from here. Values
that an environment variable can override are functions, read when they are needed, so that a
test or a scheduler can set the variable at any time.

Environment variables (all optional):

=================================  ===========================================================
``TA_OUTCOMES_DB``                 the store used when ``--db`` is not given
``TA_OUTCOMES_REFERENCE``          the folder of taxonomies (default ``data/reference``)
``TA_OUTCOMES_BUYER_KEY_FILE``     the buyer-key secret (default: beside the store; for a lake
                                   ``~/.config/ta-outcomes/lake-buyer.key``)
``TA_OUTCOMES_MEMORY_LIMIT``       DuckDB's memory limit for an ingest (default ``3GB``)
``TA_OUTCOMES_LOCK_TIMEOUT``       seconds a command waits for the store (default 600)
``TA_OUTCOMES_REPORT_LOCK_TIMEOUT`` seconds a report waits for another run of itself (3600)
``TA_OUTCOMES_BATCH_WORKERS``      reports a batch (``--each``) runs at once (default 2, at most
                                   the machine's cores)
``TA_OUTCOMES_DEBUG``              print the traceback of an unexpected error
``TA_OUTCOMES_CHROMIUM``           the Chromium that prints ``--pdf`` (default /usr/bin/chromium)
=================================  ===========================================================

A number of seconds is a non-negative number (``600``, ``0.5``); a memory limit is a number and
a unit (``3GB``, ``512MB``, ``1.5GiB``). A value of another form is refused in one line naming
the variable (:class:`analysis.errors.BadParameter`, exit 2); an empty value means unset.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from analysis.errors import BadParameter

#: The project root (the folder holding pyproject.toml) when run from a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# -- paths -------------------------------------------------------------------------------------

#: The store when neither ``--db`` nor TA_OUTCOMES_DB says otherwise (relative to the project).
DEFAULT_DB_TEXT = "data/cases.duckdb"
RAW_DIR = Path("data/raw")
REPORTS_DIR = Path("reports")
#: The buyer-key secret's file name, beside the store.
BUYER_KEY_FILENAME = ".ta-outcomes-buyer.key"
#: What names a pooled store (a DuckLake: analysis.store.lake) where a store's path goes.
LAKE_PREFIX = "ducklake:"
#: A lake's buyer-key secret when TA_OUTCOMES_BUYER_KEY_FILE does not say: each member's own copy
#: of the pool's shared secret, in the member's home (never in the lake's shared data path).
LAKE_BUYER_KEY = Path("~/.config/ta-outcomes/lake-buyer.key")


def project_root() -> Path:
    """The current directory when it looks like the project (so `ta-outcomes` works from a
    checkout), else the package's own checkout."""
    cwd = Path.cwd()
    return cwd if (cwd / "pyproject.toml").exists() else PROJECT_ROOT


def is_lake(db: object) -> bool:
    """Whether ``db`` names a lake (``ducklake:<metadata>``) rather than a DuckDB file."""
    return isinstance(db, str) and db.startswith(LAKE_PREFIX)


def store_location(text: str | Path) -> Path | str:
    """A store as given (``--db``, TA_OUTCOMES_DB): a lake's name as written, else a path."""
    return str(text) if isinstance(text, str) and is_lake(text) else Path(text)


def default_db() -> Path | str:
    """The store used when ``--db`` is not given."""
    return store_location(_env("TA_OUTCOMES_DB") or DEFAULT_DB_TEXT)


def reference_dir() -> Path:
    """The folder of user-editable taxonomies (categories.csv and friends)."""
    env = os.environ.get("TA_OUTCOMES_REFERENCE")
    return Path(env) if env else project_root() / "data" / "reference"


def notebooks_dir() -> Path:
    """The folder of report notebooks."""
    return project_root() / "notebooks"


def buyer_key_file(db: Path | str) -> Path:
    """Where the buyer-key secret of store ``db`` lives."""
    env = os.environ.get("TA_OUTCOMES_BUYER_KEY_FILE")
    if env:
        return Path(env)
    if is_lake(db):
        return LAKE_BUYER_KEY.expanduser()
    return Path(db).resolve().parent / BUYER_KEY_FILENAME


# -- resources and timeouts ----------------------------------------------------------------------


def _env(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or None


def _seconds(name: str, default: float) -> float:
    """A number of seconds from the environment variable ``name``, else ``default``."""
    text = _env(name)
    if text is None:
        return float(default)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise BadParameter(f"{name}={text!r} is not a number of seconds (e.g. {default:g})")
    return value


#: A memory size as DuckDB reads it: a number and a unit (decimal or binary).
_MEMORY = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B)", re.IGNORECASE)


def memory_limit() -> str:
    """DuckDB's memory limit for an ingest (it spills to ``<db>.tmp/`` beyond it)."""
    text = _env("TA_OUTCOMES_MEMORY_LIMIT")
    if text is None:
        return "3GB"
    if not _MEMORY.fullmatch(text):
        raise BadParameter(
            f"TA_OUTCOMES_MEMORY_LIMIT={text!r} is not a memory size (a number and a unit: 3GB, 512MB)"
        )
    return text


def lock_timeout() -> float:
    """Seconds a command waits for the store (another writer, or a reader a writer must wait for)."""
    return _seconds("TA_OUTCOMES_LOCK_TIMEOUT", 600)


def report_lock_timeout() -> float:
    """Seconds a report run waits for another run of the same report and period."""
    return _seconds("TA_OUTCOMES_REPORT_LOCK_TIMEOUT", 3600)


def batch_workers() -> int:
    """How many reports of a batch run at once: ``TA_OUTCOMES_BATCH_WORKERS`` (a whole number
    from 1), default 2, never more than the machine's cores (a report keeps about one core busy:
    its kernel while it computes, then the export)."""
    text = _env("TA_OUTCOMES_BATCH_WORKERS")
    cores = os.cpu_count() or 1
    if text is None:
        return max(1, min(2, cores))
    if not text.isdigit() or int(text) < 1:
        raise BadParameter(
            f"TA_OUTCOMES_BATCH_WORKERS={text!r} is not a whole number of reports from 1 (e.g. 2)"
        )
    return min(int(text), cores)


def chromium_path() -> Path:
    """The Chromium that prints reports to PDF (Debian's package by default)."""
    return Path(os.environ.get("TA_OUTCOMES_CHROMIUM", "/usr/bin/chromium"))


def debug() -> bool:
    """Whether an unexpected error prints its traceback."""
    return bool(os.environ.get("TA_OUTCOMES_DEBUG"))


#: How long a --notify-cmd may take before it is abandoned (seconds).
NOTIFY_TIMEOUT = 300.0
#: How long a report's kernel may take to start (seconds).
KERNEL_START_TIMEOUT = 120
#: How long a report waits for a cell's outputs once the kernel has said the cell is done
#: (seconds). nbclient's default is 4 and papermill fails the report past it: a 10M store's
#: supplier tables (their CSV download and record) took longer than that to arrive.
OUTPUT_WAIT_TIMEOUT = 120
#: How long Chromium may take to print a report to PDF (seconds).
PDF_TIMEOUT = 180.0

# -- metric parameters: the defaults of analysis.metrics.params.Params -------------------------

#: supplier-sided when refund < THRESHOLD x claim
THRESHOLD = 0.10
#: lowball when 0 < refund < LOWBALL x claim
LOWBALL = 0.05
#: a group's rate is shown (with its interval) from MIN_N_RATE decided cases ...
MIN_N_RATE = 10
#: ... and marked "few cases" below MIN_N decided cases
MIN_N = 30
#: a supplier is named (compared, listed) only with at least MIN_N_NAMED decided cases
MIN_N_NAMED = 30
#: interval coverage; a test is significant when p < 1 - CONFIDENCE
CONFIDENCE = 0.95
#: a supplier is flagged only when its FLAG_CONFIDENCE interval of O/E excludes 1 (funnel-plot
#: practice: 95% limits warn, 99.8% limits call out)
FLAG_CONFIDENCE = 0.998
#: prob_excess: the probability, under the suppliers' random-intercept model, that a supplier's
#: true O/E exceeds EXCESS_OE
EXCESS_OE = 1.2
#: the p-chart's control limits: the pooled rate +- P_CHART_SIGMA standard errors
P_CHART_SIGMA = 3

# -- report defaults ---------------------------------------------------------------------------

#: "Refused high-value claims": no refund on a claim of at least this many US dollars.
HIGH_VALUE_USD = 10_000
#: Months of the trailing window (breakdowns beside the period, trend, suppliers, effects).
TRAILING_MONTHS = 12
#: The thresholds of the headline's sensitivity table (supplier-sided below t x claim).
SENSITIVITY_THRESHOLDS = (0.10, 0.25, 0.50)
#: The adjusted model is fitted from this many decided cases, and this many cases of the rarer
#: outcome per parameter.
MODEL_MIN_CASES = 200
MODEL_EVENTS_PER_PARAMETER = 10
#: Time to resolution: the curve stops where fewer cases than this are still at risk.
KM_MIN_AT_RISK = 10
#: Trade Assurance's claim window: a dispute opened within this many days of confirmed receipt.
CLAIM_WINDOW_DAYS = 30
#: ... then buyer and supplier negotiate alone for this many days (escalation from the next) ...
NEGOTIATION_DAYS = 3
#: ... and an unresolved dispute is escalated automatically by this day (day 7 or 8 in two
#: versions of the platform's page: the later is used). Days count from the opening day, day 1.
AUTO_ESCALATION_DAY = 8
#: Bootstrap resamples for the interval of a difference of money ratios (seeded, reproducible).
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261201
#: Beyond this many cases in the two periods together, the refund ratio's change gets the
#: delta-method interval (the bootstrap's large-sample limit) instead of the bootstrap.
BOOTSTRAP_MAX_CASES = 20_000
#: Notable-case tables show at most this many rows (the largest claims first).
NOTABLE_LIMIT = 15
#: A long table (the named suppliers: thousands at 10M cases) shows its flagged rows and this
#: many more in the page; the whole table is its CSV download (a 1.2 MB table made the page slow
#: to export and to read).
PAGE_ROWS = 25
#: A folded reference table (the suppliers too small to rate) shows at most this many rows: all
#: of a small agency's, the first of a large store's thousands; its CSV download holds them all.
REFERENCE_ROWS = 200
#: At most this many of the client's cases in the one-page client summary (one A4 page).
SUMMARY_CASES = 12
#: The notable cases of each kind the findings name by id; the rest are counted and listed in
#: the report's notable-cases section (a large month's 41 compliance cases would bury the answer).
LEAD_CASES = 5
#: Descriptions are cut to this many characters (after masking) in report tables.
DESCRIPTION_CHARS = 160

# -- the demo ----------------------------------------------------------------------------------

DEMO_CASES = 5000
DEMO_SEED = 20261127
