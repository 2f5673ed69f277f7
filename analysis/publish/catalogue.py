"""``OUT/index.html``: the catalogue of every report under a reports folder.

Built from the ``run.json`` that :mod:`analysis.publish.runner` writes beside each report, so it
needs no kernel and no store and can be rebuilt at any time (``ta-outcomes catalogue``). Reports
are grouped by kind (their human title), and within a kind sorted by period, newest first, the
all-categories report before the category ones. Each row says what a reader must know before
sending the file on: the period, the category (or "all"), whose report it is (a supplier's
scorecard names the supplier, a case's dossier the case and its supplier), whether the data are
synthetic, the data's as-of date, the status ("ok", "no data", "failed") and the headline
figures: the store's, or the subject's own (a supplier's decided cases and rate, a case's
outcome and money).

Like the reports it is one self-contained page: inline CSS, no script, a Content-Security-Policy
that forbids every fetch, rendered from an autoescaping Jinja2 template
(``templates/catalogue/index.html.j2``).
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from analysis import settings
from analysis.files import write_atomic
from analysis.publish.htmlexport import TEMPLATES_DIR, content_security_policy, report_css
from analysis.report import fmt
from analysis.store.lock import held

#: The figures of metrics.json's ``overall`` block that the catalogue shows.
HEADLINE_FIELDS = (
    "decided",
    "supplier_sided_rate",
    "supplier_sided_ci_low",
    "supplier_sided_ci_high",
    "refund_ratio_pooled",
    "suppressed",
    "few_cases",
)
INDEX_NAME = "index.html"
TITLE = "Trade Assurance outcome reports"


def headline(figures: dict) -> dict:
    """The catalogue's headline figures from an ``outcome_metrics`` result (its ``overall`` block)."""
    overall = figures.get("overall") or {}
    picked = {name: overall.get(name) for name in HEADLINE_FIELDS}
    params = figures.get("params") or {}
    picked["min_n"] = params.get("min_n")
    picked["min_n_rate"] = params.get("min_n_rate")
    return picked


def find_runs(out_dir: Path | str) -> list[dict]:
    """Every ``OUT/NAME/PERIOD/run.json``; each dict gains ``_dir`` (relative to ``out_dir``)."""
    out_dir = Path(out_dir)
    runs = []
    for run_json in out_dir.glob("*/*/run.json"):
        rel_dir = run_json.parent.relative_to(out_dir).as_posix()
        try:
            run = json.loads(run_json.read_text(encoding="utf-8"))
            if not isinstance(run, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as exc:
            name, period = run_json.parent.parent.name, run_json.parent.name
            run = {
                "name": name,
                "period": period,
                "status": "unreadable",
                "error": f"run.json could not be read ({exc.__class__.__name__})",
            }
        run["_dir"] = rel_dir
        runs.append(run)
    return runs


def _when(value: Any) -> str:
    """'2026-11-02T06:00:00+00:00' -> '2026-11-02 06:00 UTC'."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M %Z").strip()
    except (TypeError, ValueError):
        return str(value or "")


def _href(rel_dir: str, file_name: Any) -> str | None:
    return quote(f"{rel_dir}/{file_name}", safe="/") if file_name else None


#: The parameters that make a report one subject's, and the word for it (runner.SUBJECT_KEYS).
SUBJECT_WORDS = {"supplier_id": "supplier", "case_id": "case"}


def _subject(run: dict) -> dict | None:
    """``{"key", "short", "text", "current"}`` of a supplier's or case's report (``short``:
    'supplier SUP-1', for the link; ``text`` with its name), else None. ``current``
    is False for a run.json written before subjects were recorded: its figures are the
    store's, not the subject's, and are not shown."""
    subject = run.get("subject")
    if isinstance(subject, dict) and subject.get("key") in SUBJECT_WORDS:
        current = True
    else:
        params = run.get("params") if isinstance(run.get("params"), dict) else {}
        key = next((k for k in SUBJECT_WORDS if str(params.get(k) or "").strip()), None)
        if key is None:
            return None
        subject, current = {"key": key, "id": str(params[key]).strip()}, False
    key = subject["key"]
    # ids are shown whole, as the store holds them (a reader looks them up); names are free text
    short = f"{SUBJECT_WORDS[key]} {subject.get('id') or ''}"
    text = short
    name = subject.get("name") if key == "supplier_id" else subject.get("supplier_name")
    if key == "supplier_id":
        text += f" ({fmt.clean_text(name, 60)})" if name else ""
    elif subject.get("supplier_id"):
        owner = subject["supplier_id"]
        text += (
            f", supplier {fmt.clean_text(name, 60)} ({owner})" if name else f", supplier {owner}"
        )
    return {"key": key, "short": short, "text": text, "current": current}


def _case_figures(figures: dict) -> dict:
    """A case's outcome and money (``metrics.dossier.case_headline``) as the row shows them."""
    from analysis.report.labels import label

    currency = figures.get("currency") or ""

    def amount(value) -> str:
        return fmt.NOT_RECORDED if value is None else f"{float(value):,.2f} {currency}".rstrip()

    return {
        "outcome": label("outcome", figures.get("outcome")),
        "claimed": amount(figures.get("claimed")),
        "refunded": amount(figures.get("refunded")),
    }


def _figures(figures: dict | None, subject: dict | None = None) -> dict:
    blank = {"decided": "", "rate": "", "ratio": "", "outcome": "", "claimed": "", "refunded": ""}
    if subject is not None and not subject["current"]:
        figures = None  # an old run.json's headline is the whole store's, not the subject's
    if not figures:
        return blank
    if subject is not None and subject["key"] == "case_id":
        return {**blank, **_case_figures(figures)}
    # a run.json written before min_n_rate existed withheld rates below min_n
    min_n_rate = figures.get("min_n_rate") or figures.get("min_n") or settings.MIN_N_RATE
    return {
        **blank,
        "decided": fmt.count(figures.get("decided")),
        "rate": fmt.rate_ci(
            figures.get("supplier_sided_rate"),
            figures.get("supplier_sided_ci_low"),
            figures.get("supplier_sided_ci_high"),
            bool(figures.get("suppressed")),
            min_n_rate,
            bool(figures.get("few_cases")),
        ),
        "ratio": fmt.pct(figures.get("refund_ratio_pooled")),
    }


def _row(run: dict) -> dict:
    """One report as the template shows it."""
    status = str(run.get("status") or "unknown")
    rel_dir = run["_dir"]
    good = run if status in ("ok", "no data") and run.get("html") else (run.get("last_good") or {})
    title = str(run.get("title") or str(run.get("name") or "").replace("_", " ").capitalize())
    period = str(run.get("period") or "")
    if run.get("period_kind") == "range" and run.get("start") and run.get("end"):
        period = f"{run['start']} to {run['end']}"  # the reader's spelling, not the file name's
    category = run.get("category_label") or run.get("category") or "all"
    subject = _subject(run)
    label = (
        f"{title}, {period}"
        + (f", {category}" if category != "all" else "")
        + (f", {subject['short']}" if subject else "")
        # one client's report (--client): said, never named (its params hold the key only)
        + (", one client" if (run.get("params") or {}).get("buyer_key") else "")
    )
    return {
        "label": label,
        "href": _href(rel_dir, good.get("html")),
        "pdf_href": _href(rel_dir, good.get("pdf")),
        "generated": _when(run.get("generated_at")),
        "period": period,
        "category": category,
        "synthetic": bool(run.get("synthetic")),
        "as_of": run.get("as_of") or "",
        "status": status,
        "status_class": {"ok": "ok", "no data": "nodata"}.get(status, "failed"),
        "error": run.get("error") or "",
        "last_good_href": _href(rel_dir, good.get("html"))
        if status not in ("ok", "no data")
        else None,
        "last_good_when": _when(good.get("generated_at")),
        "failed_href": _href(rel_dir, run.get("failed_ipynb")),
        "subject": subject["text"] if subject else "",
        "subject_key": subject["key"] if subject else None,
        **_figures(good.get("headline"), subject),
        "_end": str(run.get("end") or period),
        "_all": not run.get("category"),
        "_category": str(category),
    }


def _groups(runs: list[dict]) -> list[dict]:
    """Rows grouped by kind of report; in a group, newest period first, then the all-categories
    report, then the category reports by name (three stable sorts, least important first)."""
    by_kind: dict[str, list[dict]] = {}
    for run in runs:
        kind = str(run.get("title") or run.get("name") or "Reports")
        by_kind.setdefault(kind, []).append(_row(run))
    groups = []
    for kind in sorted(by_kind):
        rows = sorted(by_kind[kind], key=lambda r: r["subject"])
        rows.sort(key=lambda r: r["_category"])
        rows.sort(key=lambda r: not r["_all"])
        rows.sort(key=lambda r: r["_end"], reverse=True)
        keys = {r["subject_key"] for r in rows} - {None}
        groups.append({
            "title": kind,
            "rows": rows,
            # a group of subjects' reports shows whose each is; a group of dossiers shows each
            # case's outcome and money instead of rates (one notebook: one kind of subject)
            "subjects": bool(keys),
            "cases": keys == {"case_id"},
        })  # fmt: skip
    return groups


@functools.cache
def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR / "catalogue")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("index.html.j2")


def render_index(runs: list[dict], title: str = TITLE) -> str:
    """The catalogue page for ``runs`` (as from :func:`find_runs`)."""
    return _template().render(
        title=title,
        csp=content_security_policy(None),
        css=report_css(),
        runs=runs,
        groups=_groups(runs),
        rebuilt=_when(datetime.now().astimezone().isoformat()),
    )


def build_index(out_dir: Path | str) -> Path:
    """Write ``out_dir/index.html`` listing every report found there; return its path.

    Rebuilds under ``out_dir/.index.lock`` so two runs finishing at once cannot leave a
    catalogue that misses one of them; the page is written beside and renamed into place.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / INDEX_NAME
    with held(
        out_dir / ".index.lock",
        settings.report_lock_timeout(),
        waiting=f"waiting for another run to finish rebuilding {index}...",
        error=f"{index}: another run kept the catalogue locked; run `ta-outcomes catalogue` later",
    ):
        write_atomic(index, render_index(find_runs(out_dir)))
    return index
