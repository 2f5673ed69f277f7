"""The report's context: the notebook's parameters validated once, the store found, the period
and the one before it, and the breakdowns of the period computed once for every section."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from analysis import metrics, settings, store, vocab
from analysis.errors import BadParameter
from analysis.metrics import periods, provenance
from analysis.report.display import user_errors_one_line


def resolve_db(db: str | Path) -> Path:
    """Find the store: ``db`` as given, else relative to the project root.

    A notebook opened in JupyterLab runs in ``notebooks/``, where the default
    ``data/cases.duckdb`` does not exist; the project root's does. Raises
    :class:`analysis.store.StoreMissing`, saying what to do, when neither exists.
    """
    if store.is_lake(str(db)):
        # a pooled store: found by its catalog, not as a file, and read at one snapshot (the
        # runner's pin, else the current one) so that a load landing meanwhile never mixes in
        from analysis.store import lake

        return lake.pin(str(db))
    given = Path(str(db)).expanduser()
    candidates = [given]
    if not given.is_absolute():
        candidates.append(settings.PROJECT_ROOT / given)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = " or ".join(str(c) for c in dict.fromkeys(candidates))
    raise store.StoreMissing(
        f"no case store at {looked}. Create it with `make demo` (synthetic demo data) or "
        f"`ta-outcomes ingest data/raw/YOUR_EXPORT.csv --db {given}`, then run this notebook again."
    )


def open_store(db: str | Path) -> store.Reader:
    """The report's one read-only connection to the store :func:`resolve_db` finds, open: its
    forty-odd queries share it, and its last section (the stamp) closes it, so that a notebook
    run to its end in JupyterLab holds nothing."""
    return store.Reader(resolve_db(db)).open()


def resolve_period(
    period: str = "", start: str = "", end: str = "", today: date | None = None
) -> periods.Period:
    """The report's period: explicit ``start`` and ``end`` win, then ``period``, else the latest
    complete calendar month before ``today``."""
    start, end, period = (str(x or "").strip() for x in (start, end, period))
    if start or end:
        if not (start and end):
            raise BadParameter(
                "give both start and end (YYYY-MM-DD), or neither and a period such as 2026-10"
            )
        first = periods.parse_date(start, "start")
        last = periods.parse_date(end, "end")
        if period:
            # The runner passes the period's label together with its dates. When they describe
            # the same days, keep the calendar period: its previous period is the previous
            # month or quarter, not "the same number of days before".
            try:
                named = periods.parse_period(period)
            except BadParameter:
                named = None  # e.g. a range's label; the explicit dates decide anyway
            if named is not None and (named.start, named.end) == (first, last):
                return named
        return periods.range_period(first, last)
    if period:
        return periods.parse_period(period)
    return periods.last_complete("month", today)


@dataclass(frozen=True)
class ReportContext:
    """Everything a section needs: the store's reader (the run's one connection), the period, the
    one before it and the trailing window, the parameters, and every figure computed once for all
    the sections that show it."""

    store: store.Reader
    period: periods.Period
    previous: periods.Period
    trailing: periods.Period
    params: metrics.Params
    category: str | None
    parameters: dict
    synthetic: bool
    mixed: bool  # synthetic and real data in one store
    as_of: date | None
    #: when the latest export was loaded (whether or not it changed a case)
    last_loaded: datetime | None = None
    #: the store's state when the report opened (its loads): a section that finds another
    #: state refuses to mix them (see :meth:`check_unchanged`)
    state: tuple = ()
    # figures by key: several sections show the same figures, and on a large store each
    # computation is a scan of it
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def start(self) -> date:
        return self.period.start

    @property
    def end(self) -> date:
        return self.period.end

    @property
    def before_trailing(self) -> periods.Period:
        """The 12 whole calendar months before the trailing window (what it is compared with)."""
        return periods.trailing_months(
            self.trailing.start - timedelta(days=1), settings.TRAILING_MONTHS
        )

    def window(self, which: str) -> periods.Period:
        """The report's period ('period'), the one before it ('previous'), its trailing 12
        months ('trailing') or the 12 months before those ('before_trailing')."""
        if which == "before_trailing":
            return self.before_trailing
        return {"period": self.period, "trailing": self.trailing, "previous": self.previous}[which]

    def cached(self, key: tuple, compute):
        """``compute()`` once per report for ``key`` (a copy of a frame each time)."""
        if key not in self._cache:
            self._cache[key] = compute()
        value = self._cache[key]
        return value.copy() if isinstance(value, pd.DataFrame) else value

    def blocks(self, by: str | None, which: str = "period") -> pd.DataFrame:
        """``metrics.block_frame`` of the period (or the trailing window) by ``by``."""
        span = self.window(which)
        return self.cached(
            ("blocks", by, which),
            lambda: metrics.block_frame(
                self.store, span.start, span.end, by, self.params, self.category
            ),
        )

    def prefetch(self, bys: tuple[str | None, ...] | list[str | None], which: str = "period"):
        """Compute the blocks of several breakdowns of a window in one grouped scan
        (:func:`metrics.block_frames`) for the sections that show them together; later
        :meth:`blocks` calls take them from the cache."""
        missing = tuple(by for by in dict.fromkeys(bys) if ("blocks", by, which) not in self._cache)
        if len(missing) > 1:
            span = self.window(which)
            frames = metrics.block_frames(
                self.store, span.start, span.end, missing, self.params, self.category
            )
            for by, frame in frames.items():
                self._cache[("blocks", by, which)] = frame

    def check_unchanged(self) -> None:
        """Refuse to finish a report whose store changed while it ran (a load landed between
        two sections): its figures would describe two states. Scheduled runs cannot meet this
        (the runner holds the store); a notebook run by hand beside an ingest can."""
        now = _state(self.store)
        if self.state and now != self.state:
            raise BadParameter(
                f"the store changed while this report ran (loads {self.state[0]} -> {now[0]}); "
                "run the report again so that every figure describes one state"
            )


def trailing_window(period: periods.Period) -> periods.Period:
    """The 12 whole calendar months ending with the month of the period's last day (the last
    one cut at that day)."""
    first = periods.trailing_months(period.end, settings.TRAILING_MONTHS).start
    return periods.range_period(first, period.end)


def _state(source: store.Source) -> tuple:
    with store.connect(source) as con:
        return con.execute("SELECT count(*), coalesce(max(load_id), 0) FROM loads").fetchone()


def period_text(period: periods.Period) -> str:
    """'2026-10 (2026-10-01 to 2026-10-31)' or, for a range, '2026-01-05 to 2026-02-20'."""
    span = f"{period.start.isoformat()} to {period.end.isoformat()}"
    return span if period.kind == "range" else f"{period.label} ({span})"


@user_errors_one_line
def open_report(
    db: str | Path = settings.DEFAULT_DB_TEXT,
    period: str = "",
    start: str = "",
    end: str = "",
    category: str = "",
    threshold: float = settings.THRESHOLD,
    lowball: float = settings.LOWBALL,
    min_n: int = settings.MIN_N,
    min_n_rate: int | None = None,
    min_n_named: int = settings.MIN_N_NAMED,
    today: date | None = None,
    buyer_key: str = "",
) -> ReportContext:
    """Validate the notebook's parameters, find the store, and return the report's context.

    ``buyer_key``: one client's cases only (``--client NAME``; every figure, through
    :func:`analysis.metrics.case_flags.bind`).

    Raises one-line errors (shown without a traceback in the notebook): StoreMissing saying how
    to create the store, BadParameter for a period, threshold or category that cannot be used.
    """
    the_period = resolve_period(period, start, end, today)
    params = metrics.Params(
        threshold=threshold, lowball=lowball, min_n=min_n, min_n_rate=min_n_rate,
        min_n_named=min_n_named, buyer_key=buyer_key,
    )  # fmt: skip
    reader = open_store(db)
    facts = provenance.store_facts(reader)
    given = str(category or "").strip()
    category = (vocab.vocabulary().resolve("category", given) or given) if given else None
    if category is not None and category not in facts["categories"]:
        known = ", ".join(facts["categories"]) or "none: the store is empty"
        raise BadParameter(f"category {given!r}: no case in the store has it (categories: {known})")
    return ReportContext(
        store=reader,
        period=the_period,
        previous=periods.previous_period(the_period),
        trailing=trailing_window(the_period),
        params=params,
        category=category,
        parameters={
            "db": str(db),
            "period": period,
            "start": start,
            "end": end,
            "category": category or "",
            **{k: v for k, v in params.as_dict().items() if k != "confidence"},
        },
        synthetic=facts["synthetic"],
        mixed=facts["mixed"],
        as_of=provenance.as_of(reader),
        last_loaded=provenance.last_loaded(reader),
        state=_state(reader),
    )
