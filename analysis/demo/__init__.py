"""`ta-outcomes demo`: a seeded, realistic, clearly synthetic data set, written as exports and loaded.

:func:`generate` simulates Trade Assurance disputes over the 24 months up to the current month and
writes them the way a case tracker would export them over time: an older full snapshot, two change
exports (one Excel, one JSON) and a current full snapshot. The files carry the messy spellings,
amount and date formats of real exports, a few rows repeated inside a file and about 1% bad rows, so
that loading them exercises the whole cleaning path. :func:`run_demo` regenerates the files and
loads them into a demo store with :func:`analysis.ingest.ingest_paths`.

The simulation is vectorised (numpy/pandas); every random draw comes from one seeded
:class:`numpy.random.Generator` per stage, so a seed gives the same bytes on every machine. What is
built in (the outcome model, the process dates, the bad-row kinds) is described in
``docs/demo-data.md``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from analysis import settings
from analysis.demo.exports import _assemble, _bad_rows, _readme, _write, render
from analysis.demo.simulate import simulate_cases, snapshot_plan, state_at
from analysis.demo.taxonomy import (  # noqa: F401 (re-exported)
    AMOUNT_COLUMNS,
    BAD_KINDS,
    BAD_ROW_SHARE,
    CATEGORIES,
    CATEGORY_SLUGS,
    CLAIM_TYPES,
    COLUMNS,
    DATE_COLUMNS,
    EVIDENCE_ITEMS,
    FORMULA_DESCRIPTION,
    GENERATED_PATTERNS,
    HOSTILE_DESCRIPTION,
    HOSTILE_SUPPLIER_NAME,
    MAX_EXCEL_ROWS,
    OUTCOME_SPELLINGS,
    README_MARKER,
    UNMAPPED_CATEGORIES,
    check_vocabulary,
)
from analysis.errors import BadParameter, UserError

DEFAULT_SEED = settings.DEMO_SEED
DEFAULT_CASES = settings.DEMO_CASES


def generate(
    raw_dir: Path,
    n_cases: int = DEFAULT_CASES,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
) -> list[Path]:
    """Write the synthetic raw exports to ``raw_dir``; return their paths, oldest snapshot first.

    ``n_cases`` cases (the three public-record cases included) are opened over the 24 months up
    to ``today`` (default: the current date). The same seed and ``today`` give the same bytes.
    """
    if n_cases < 10:
        raise BadParameter(f"--cases must be at least 10 (got {n_cases})")
    if seed < 0:
        raise BadParameter(f"--seed must be 0 or more (got {seed})")
    today = today or date.today()
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    cases = simulate_cases(n_cases, seed, today)
    plan = snapshot_plan(today)
    streams = np.random.SeedSequence([seed, 1]).spawn(len(plan))
    paths, counts, kind_offset, bad_number = [], [], 0, 1
    for snapshot, stream in zip(plan, streams, strict=True):
        rng = np.random.default_rng(stream)
        state = state_at(cases, snapshot)
        if snapshot.fmt == "xlsx" and len(state) > MAX_EXCEL_ROWS:
            # The later full snapshot carries everything anyway; keep the sheet small.
            keep = np.sort(rng.choice(len(state), size=MAX_EXCEL_ROWS, replace=False))
            state = state.iloc[keep].reset_index(drop=True)
        good = render(state, rng)
        public = state["case_id"].str.startswith("TA-PUBLIC-").to_numpy()
        if public.any():  # the public-record cases read as published: canonical and in USD
            good.loc[public] = render(state[public], rng, clean=True).to_numpy()
        n_bad = max(1, round(BAD_ROW_SHARE * len(good)))
        bad = _bad_rows(state, rng, n_bad, kind_offset, bad_number, today)
        kind_offset, bad_number = kind_offset + n_bad, bad_number + n_bad
        rows = _assemble(good, bad, rng)
        path = raw_dir / snapshot.name
        _write(rows, path, snapshot)
        paths.append(path)
        counts.append(len(rows))
    (raw_dir / "README.txt").write_text(_readme(plan, counts, n_cases, seed), encoding="utf-8")
    return paths


# --- the command ---------------------------------------------------------------------------------


def _check_store_is_demo(db: Path) -> None:
    """Refuse (UserError) unless ``db`` is absent or a store holding only synthetic data."""
    import duckdb

    from analysis import store

    if not db.exists():
        return
    try:
        con = store.open_duckdb(db, read_only=True)
    except duckdb.Error as exc:
        raise UserError(
            f"{db} exists but is not a readable DuckDB store ({store.first_line(exc)}); refusing "
            "to replace it with demo data. Choose another path with --db."
        ) from None
    try:
        if not store.is_store(con):
            tables = con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]
            if tables:
                raise UserError(
                    f"{db} is a DuckDB database but not a ta-outcomes store; refusing to replace "
                    "it with demo data. Choose another path with --db."
                )
            return
        meta = store.meta(con)
        real = str(meta.get("contains_real_data", "")).strip().lower() == "true"
        real = (
            real
            or con.execute("SELECT count(*) FROM cases WHERE NOT is_synthetic").fetchone()[0] > 0
        )
    finally:
        con.close()
    if real:
        raise UserError(
            f"{db} holds real (non-synthetic) case data; `ta-outcomes demo` will not overwrite it. "
            "Give the demo its own store, e.g. --db data/demo.duckdb."
        )


def _clear_raw_dir(raw_dir: Path) -> None:
    """Delete the files an earlier demo wrote; refuse a folder holding anything else."""
    if not raw_dir.exists():
        return
    readme = raw_dir / "README.txt"
    ours = readme.exists() and readme.read_text(encoding="utf-8", errors="replace").startswith(
        README_MARKER
    )
    if not ours and any(raw_dir.iterdir()):
        raise UserError(
            f"{raw_dir} already holds files not written by `ta-outcomes demo`; "
            "give the demo an empty folder with --raw-dir."
        )
    for pattern in GENERATED_PATTERNS:
        for path in raw_dir.glob(pattern):
            path.unlink()
    if ours:
        readme.unlink()


def run_demo(
    db: Path,
    raw_dir: Path,
    n_cases: int = DEFAULT_CASES,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
) -> list:
    """Regenerate the demo exports in ``raw_dir`` and load them into a fresh demo store ``db``.

    Refuses (UserError) to touch a store holding real data, or a raw folder holding files it
    did not write. Prints one summary line per load and a final line; returns the LoadResults.
    """
    from analysis import store
    from analysis.ingest import format_result, ingest_paths

    db, raw_dir = (db if store.is_lake(db) else Path(db)), Path(raw_dir)
    if n_cases < 10:
        raise BadParameter(f"--cases must be at least 10 (got {n_cases})")
    check_vocabulary()
    if store.is_lake(db):
        # a pooled store is never emptied: the demo loads only into a lake without a store yet
        try:
            with store.connect(db, read_only=True):
                pass
        except store.StoreMissing:
            pass
        else:
            raise UserError(
                f"{db} already holds a case store; the demo loads only into a new lake (a "
                "pooled store is never replaced). Give the demo its own catalog with --db."
            )
        _clear_raw_dir(raw_dir)
    else:
        with store.writer_lock(db):
            _check_store_is_demo(db)
            _clear_raw_dir(raw_dir)
            for path in (db, Path(f"{db}.wal")):
                path.unlink(missing_ok=True)
    files = generate(raw_dir, n_cases=n_cases, seed=seed, today=today)
    # oldest snapshot first, so later snapshots update earlier ones; each as of its own day
    results = []
    for path, snapshot in zip(files, snapshot_plan(today or date.today()), strict=True):
        results += ingest_paths(
            [path], db, synthetic=True, as_of=snapshot.as_of, today=today,
            on_result=lambda r: print(format_result(r), flush=True),
        )  # fmt: skip
    with store.connect(db, read_only=True) as con:
        n_stored = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        n_quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    print(
        f"demo store ready: {db} holds {n_stored} SYNTHETIC cases "
        f"({n_quarantined} rows quarantined) loaded from {len(files)} files in {raw_dir}",
        flush=True,
    )
    return results
