"""The reproducibility stamp: parameters, data fingerprint, row counts, code and library versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

import analysis
from analysis import store
from analysis.metrics import provenance
from analysis.metrics.quality import AuditScope
from analysis.report import fmt
from analysis.report.context import ReportContext, period_text
from analysis.report.display import Table, TableGroup, user_errors_one_line
from analysis.store import lake


@user_errors_one_line
def stamp(ctx: ReportContext | AuditScope, now: datetime | None = None) -> TableGroup:
    """Parameters, data fingerprint and row counts, code and library versions, generation time.

    Works for a report (:class:`ReportContext`) and for the data-quality audit
    (:class:`AuditScope`). The report's last section: the reader its context opened
    (:func:`analysis.report.context.open_store`) is closed, so that a notebook run to its end in
    JupyterLab holds nothing.
    """
    try:
        return _stamp(ctx, now)
    finally:
        if isinstance(ctx.store, store.Reader):
            ctx.store.close()


def _stamp(ctx: ReportContext | AuditScope, now: datetime | None) -> TableGroup:
    fingerprint = provenance.data_fingerprint(ctx.store)
    generated = (now or datetime.now(UTC)).astimezone(UTC)
    code = {"analysis": analysis.__version__, "git": provenance.git_describe()}
    versions = provenance.library_versions()
    parameters = dict(ctx.parameters)
    if "db" in parameters:
        # The reader needs the store's name, not this machine's folder layout (a lake: its
        # catalog's name and the snapshot the report read)
        given = str(parameters["db"])
        parameters["db"] = lake.describe(given) if store.is_lake(given) else Path(given).name
    items = [("Generated at", generated.strftime("%Y-%m-%d %H:%M:%S UTC"))]
    items += [(f"Parameter {k}", str(v) if v != "" else "(empty)") for k, v in parameters.items()]
    period_record = None
    if isinstance(ctx, ReportContext):
        # the last section: a store that changed while the report ran refuses to be stamped
        ctx.check_unchanged()
        in_period = ctx.blocks(None)
        items += [
            ("Period used", period_text(ctx.period)),
            ("Compared with", period_text(ctx.previous)),
            ("Trailing window", period_text(ctx.trailing)),
            ("Data as of", ctx.as_of.isoformat() if ctx.as_of else "not recorded"),
            ("Cases closed in the period", fmt.count(in_period["cases_closed"].iloc[0])),
            ("Cases opened in the period", fmt.count(in_period["cases_opened"].iloc[0])),
        ]
        period_record = {"label": ctx.period.label, "start": ctx.start, "end": ctx.end}
        as_of = ctx.as_of
    else:
        as_of = None
        items.append(("Scope", ctx.description))
        if ctx.period is not None:
            period_record = {
                "label": ctx.period.label,
                "start": ctx.period.start,
                "end": ctx.period.end,
            }
    location = store.location_of(ctx.store)
    if store.is_lake(str(location)):
        items.append(("Lake read", lake.describe(location)))
    items += [
        ("Data fingerprint (SHA-256)", str(fingerprint["digest"])),
        ("Cases in the store", fmt.count(fingerprint["cases"])),
        ("of which synthetic", fmt.count(fingerprint["synthetic_cases"])),
        ("Loads", fmt.count(fingerprint["loads"])),
        ("Quarantined rows", fmt.count(fingerprint["quarantined_rows"])),
        ("Store schema version", str(fingerprint["schema_version"] or "unknown")),
        ("Code version (analysis)", code["analysis"]),
        ("Code version (git describe)", code["git"]),
    ]
    items += [(f"Library {k}", v) for k, v in versions.items()]
    frame = pd.DataFrame(items, columns=["Item", "Value"])
    record = {
        "generated_at": generated.isoformat(),
        "parameters": parameters,
        "period": period_record,
        "fingerprint": fingerprint,
        "code": code,
        "libraries": versions,
        "synthetic": ctx.synthetic,
        "as_of": as_of,
    }
    caption = (
        "Reproducibility stamp. The fingerprint is the SHA-256 of every case id with the hash of "
        "its cleaned fields, in case-id order: the same fingerprint, parameters and code version "
        "give the same figures."
    )
    return TableGroup(
        [Table(frame=frame, caption=caption, name="stamp", record=record,
               fold=f"Fingerprint {str(fingerprint.get('digest') or '')[:12]}, parameters, code and "
               "library versions")],
        name="stamp",
    )  # fmt: skip
