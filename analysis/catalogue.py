"""``OUT/index.html``: the catalogue of every report under a reports folder, newest first.

It is built from the ``run.json`` that :mod:`analysis.runner` writes beside each report, so it
needs no kernel and no store and can be rebuilt at any time (``ta-outcomes catalogue``). Like
the reports it is one self-contained page: inline CSS, no script, a Content-Security-Policy that
forbids every fetch, every value HTML-escaped.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from analysis.files import write_atomic
from analysis.htmlexport import content_security_policy, escape, report_css

#: The figures of metrics.json's ``overall`` block that the catalogue shows.
HEADLINE_FIELDS = (
    "decided",
    "supplier_sided_rate",
    "supplier_sided_ci_low",
    "supplier_sided_ci_high",
    "refund_ratio_pooled",
    "suppressed",
)
INDEX_NAME = "index.html"


def headline(figures: dict) -> dict:
    """The catalogue's headline figures from an ``outcome_metrics`` result (its ``overall`` block)."""
    overall = figures.get("overall") or {}
    picked = {field: overall.get(field) for field in HEADLINE_FIELDS}
    picked["min_n"] = (figures.get("params") or {}).get("min_n")
    return picked


def find_runs(out_dir: Path | str) -> list[dict]:
    """Every ``OUT/NAME/PERIOD/run.json``, newest first; each dict gains ``_dir`` (relative)."""
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
        run["_sort"] = _timestamp(run.get("generated_at"), run_json)
        runs.append(run)
    runs.sort(key=lambda r: (r["_sort"], r["_dir"]), reverse=True)
    return runs


def _timestamp(value: Any, run_json: Path) -> float:
    try:
        when = datetime.fromisoformat(str(value))
        if when.tzinfo is None:
            when = when.astimezone()
        return when.timestamp()
    except (TypeError, ValueError):
        return run_json.stat().st_mtime


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.1f}%" if isinstance(value, int | float) else ""


def _figures_cells(figures: dict | None) -> str:
    if not figures:
        return '<td class="ta-num"></td>' * 3
    decided = figures.get("decided")
    decided_text = f"{decided:,}" if isinstance(decided, int) else ""
    rate = figures.get("supplier_sided_rate")
    if rate is None and figures.get("suppressed"):
        rate_text = f"suppressed (fewer than {figures.get('min_n')} decided)"
    elif rate is None:
        rate_text = "\u2014"
    else:
        low, high = figures.get("supplier_sided_ci_low"), figures.get("supplier_sided_ci_high")
        interval = ""
        if isinstance(low, int | float) and isinstance(high, int | float):
            interval = f" ({low * 100:.1f}\u2013{high * 100:.1f}%)"
        rate_text = _pct(rate) + interval
    ratio = figures.get("refund_ratio_pooled")
    ratio_text = _pct(ratio) if ratio is not None else "\u2014"
    return "".join(
        f'<td class="ta-num">{escape(text)}</td>' for text in (decided_text, rate_text, ratio_text)
    )


def _when(value: Any) -> str:
    """'2026-11-02T06:00:00+00:00' -> '2026-11-02 06:00 UTC'."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M %Z").strip()
    except (TypeError, ValueError):
        return str(value or "")


def _link(rel_dir: str, file_name: Any, text: str) -> str:
    href = quote(f"{rel_dir}/{file_name}", safe="/")
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def _row(run: dict) -> str:
    """One report: its name links to the report (after a failure: to the last good one)."""
    status = str(run.get("status") or "unknown")
    rel_dir = run["_dir"]
    name = str(run.get("name") or "")
    good = run if status == "ok" and run.get("html") else (run.get("last_good") or {})
    name_html = _link(rel_dir, good["html"], name) if good.get("html") else escape(name)
    status_html = (
        f'<span class="status-{"ok" if status == "ok" else "failed"}">{escape(status)}</span>'
    )
    if run.get("error"):
        status_html += f'<div class="error-line">{escape(run["error"])}</div>'
    if status != "ok" and good.get("html"):
        status_html += (
            f'<div class="note">{_link(rel_dir, good["html"], "last good report")} '
            f"of {escape(_when(good.get('generated_at')))}, figures below</div>"
        )
    if run.get("failed_ipynb"):
        status_html += (
            f'<div class="note">{_link(rel_dir, run["failed_ipynb"], "partial notebook")}</div>'
        )
    return (
        f'<tr><td class="ta-text">{name_html}</td>'
        f'<td class="ta-text">{escape(run.get("period", ""))}</td>'
        f'<td class="ta-text">{escape(_when(run.get("generated_at")))}</td>'
        f'<td class="ta-text">{status_html}</td>'
        f"{_figures_cells(good.get('headline'))}</tr>"
    )


def render_index(runs: list[dict], title: str = "Trade Assurance outcome reports") -> str:
    """The catalogue page for ``runs`` (as from :func:`find_runs`)."""
    now = _when(datetime.now().astimezone().isoformat())
    if runs:
        body = (
            '<div class="jp-OutputArea-output"><table class="ta-catalogue">'
            '<thead><tr><th class="ta-text">Report</th><th class="ta-text">Period</th>'
            '<th class="ta-text">Generated</th><th class="ta-text">Status</th>'
            '<th class="ta-num">Decided</th><th class="ta-num">Supplier-sided rate (95% CI)</th>'
            '<th class="ta-num">Refund ratio (pooled)</th></tr></thead><tbody>\n'
            + "\n".join(_row(run) for run in runs)
            + "\n</tbody></table></div>"
        )
    else:
        body = (
            "<p>No reports yet. Run <code>ta-outcomes report outcome_report --last month</code> "
            "to make the first one.</p>"
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{escape(content_security_policy(None))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{escape(title)}</title>
<style>
{report_css()}
</style>
</head>
<body>
<header><h1>{escape(title)}</h1>
<p class="ta-generated">{len(runs)} report(s), newest first. Catalogue rebuilt {escape(now)}.</p>
</header>
<main>
{body}
</main>
<footer class="ta-footer"><p>Supplier-sided rate: share of decided cases whose refund was below
the threshold share of the claim; refund ratio: refunded / claimed over monetary decisions.
See each report's methodology section.</p></footer>
</body>
</html>
"""


def build_index(out_dir: Path | str) -> Path:
    """Write ``out_dir/index.html`` listing every report found there; return its path.

    Rebuilds under ``out_dir/.index.lock`` so two runs finishing at once cannot leave a
    catalogue that misses one of them; the page is written beside and renamed into place.
    """
    from filelock import FileLock

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / INDEX_NAME
    with FileLock(str(out_dir / ".index.lock")):
        write_atomic(index, render_index(find_runs(out_dir)))
    return index
