"""Run a report notebook with papermill, export self-contained HTML, record the run.

``ta-outcomes report NAME --period P`` is :func:`analysis.publish.command.main`, a thin wrapper over
these steps (papermill's own layout is the model: one concern per function):

1. :func:`analysis.publish.params.resolve_params` checks everything a user can get wrong before
   any kernel starts; :func:`plan_report` decides every name and path of the run;
   :func:`check_subject` finds a scorecard's supplier or a dossier's case in the store.
2. :func:`run_report` moves a :class:`Run` through its named states (planned, running, exported,
   published, or failed from any of them) in one ``try ... finally`` that records what it ended
   as. It holds one read-only :class:`analysis.store.Reader` for the whole run, so that no
   ingest can land between the figures of ``metrics.json``, the notebook's sections and its stamp
   (an ingest waits, saying so); computes ``metrics.json``; executes the notebook
   (:mod:`analysis.publish.execute`), exports the HTML (:mod:`analysis.publish.htmlexport`) and
   publishes::

       OUT/NAME/LABEL/NAME_LABEL.html      the report (LABEL: the period, the category's name,
                                           a supplier's or case's subject_label)
       OUT/NAME/LABEL/NAME_LABEL.ipynb     the executed notebook
       OUT/NAME/LABEL/metrics.json         = ta-outcomes metrics for the period and parameters
       OUT/NAME/LABEL/run.json             what the catalogue reads; always the truth of the last run
       OUT/NAME/LABEL/NAME_LABEL.failed.ipynb   only after a failed run

   Every file is written beside its final name and renamed into place, so the last good report
   is never half-overwritten; a failed run leaves it untouched. Runs of the same report and label
   queue on ``OUT/NAME/LABEL/.lock``.
3. :func:`analysis.publish.catalogue.build_index` rebuilds ``OUT/index.html``; then the optional
   ``--notify-cmd`` runs with the status and the report's path, whatever happened.

A machine that refuses (a full disk, an ``--out`` that cannot be written) is not a bug: the run
fails with one line naming the path and the cause (exit 74), run.json says "failed" (or, when not
even that can be written, no longer says "ok"), and the notify command is told.

Imports of papermill and nbconvert are kept inside functions: ``ta-outcomes --help`` and the
other subcommands should not pay for them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis import settings, store, vocab
from analysis.errors import BadParameter, EnvironmentProblem, UserError, environment_problem
from analysis.files import write_atomic
from analysis.publish.params import RUNNER_KEYS, declared_parameters, notebook_path
from analysis.store import lake
from analysis.store.lock import held

if TYPE_CHECKING:
    from analysis.metrics.periods import Period

EXIT_OK = 0
EXIT_FAILED = 1


class ReportFailed(UserError):
    """The notebook ran and a cell failed (or the export did); the message names the cell."""

    exit_code = EXIT_FAILED


@dataclass(frozen=True)
class ReportResult:
    """What one run produced. Paths are None when the run did not produce them."""

    name: str
    period: str
    status: str  # 'ok' | 'no data' | 'failed'
    report_dir: Path
    html: Path | None
    ipynb: Path | None
    metrics: Path | None
    failed_ipynb: Path | None
    run_json: Path
    error: str | None
    duration: float
    pdf: Path | None = None

    @property
    def ok(self) -> bool:
        """True when the report was published (with data, or saying it has none)."""
        return self.status in ("ok", "no data")

    @property
    def report_path(self) -> Path:
        """The file to look at: the HTML, or after a failure the partial notebook."""
        return (self.html if self.ok else self.failed_ipynb) or self.report_dir


@dataclass(frozen=True)
class Plan:
    """Everything decided about a run before it starts: what runs, with what, and where to."""

    name: str
    nb_path: Path
    period: Period
    db: Path
    params: dict
    inject: dict
    category: str | None
    category_label: str | None
    title: str
    out_dir: Path
    report_dir: Path
    stem: str
    pdf: bool = False
    #: The parameter naming the report's subject ('supplier_id', 'case_id') and its value, or
    #: None for a report of the whole store or a category.
    subject_key: str | None = None
    subject: str | None = None
    #: The notebook's own subject parameter (its metadata ``ta_subject``): a run without it is
    #: refused before any kernel starts.
    subject_required: str | None = None

    @property
    def what(self) -> str:
        """The run in messages: 'supplier_scorecard 2026-10', and its subject's id if it has
        one ('... supplier_id SUP-1'), so a batch's failure says whose report failed."""
        subject = f" {self.subject_key} {self.subject}" if self.subject else ""
        return f"{self.name} {self.period.label}{subject}"

    @property
    def html(self) -> Path:
        return self.report_dir / f"{self.stem}.html"

    @property
    def pdf_path(self) -> Path:
        return self.report_dir / f"{self.stem}.pdf"

    @property
    def ipynb(self) -> Path:
        return self.report_dir / f"{self.stem}.ipynb"

    @property
    def metrics(self) -> Path:
        return self.report_dir / "metrics.json"

    @property
    def failed_ipynb(self) -> Path:
        return self.report_dir / f"{self.stem}.failed.ipynb"

    @property
    def run_json(self) -> Path:
        return self.report_dir / "run.json"


# -- step 1: the plan ----------------------------------------------------------------------------


def _file_label(text: str) -> str:
    """A period label or a category name, safe in a file name ('Apparel & Textiles' ->
    'Apparel-Textiles')."""
    return re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-") or "x"


#: A subject's label: at most this many characters of its id's slug, then a hash of the id.
SUBJECT_SLUG_CHARS = 40
#: Hex digits of the id's SHA-256 beside the slug (48 bits: two ids with the same slug and hash
#: would need about 16 million ids of one slug).
SUBJECT_HASH_CHARS = 12


def subject_label(subject_id: str) -> str:
    """A supplier's or case's id, safe, unique and stable in a file name: its slug, cut to
    :data:`SUBJECT_SLUG_CHARS`, and a short hash of the id itself ('ACME/1' ->
    'ACME-1-<hash>').

    The slug alone is not unique (``ACME/1`` and ``ACME 1`` are both ``ACME-1``; every
    non-ASCII name is ``x``; ``acme`` and ``ACME`` are one folder on a case-insensitive disk)
    and an id may be longer than a file name may be: the hash of the exact id keeps each
    subject's reports apart, and the same id always gets the same label.
    """
    slug = _file_label(subject_id)[:SUBJECT_SLUG_CHARS].strip("-.") or "x"
    digest = hashlib.sha256(subject_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{slug}-{digest[:SUBJECT_HASH_CHARS]}"


def _notebook_metadata(nb_path: Path) -> dict:
    try:
        metadata = json.loads(nb_path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _notebook_title(nb_path: Path, name: str) -> str:
    title = _notebook_metadata(nb_path).get("title")
    return str(title) if title else name.replace("_", " ").capitalize()


#: Parameters that make a report one subject's (a supplier's scorecard, a case's dossier).
SUBJECT_KEYS = ("supplier_id", "case_id")


def plan_report(
    name: str,
    period: Period,
    db: Path | str,
    out_dir: Path | str,
    params: Mapping[str, Any] | None = None,
    notebook_dir: Path | str | None = None,
    pdf: bool = False,
) -> Plan:
    """Decide the run: the notebook, what to inject, the folder and file names, the title.

    A report restricted to one category is a different report: it is filed apart from the
    all-categories one, and its title and file name carry the category's display name.
    """
    nb_path = notebook_path(name, notebook_dir)
    params = dict(params or {})
    declared = declared_parameters(nb_path)
    unknown = sorted((set(params) - set(declared)) | (set(params) & set(RUNNER_KEYS)))
    if unknown:
        raise BadParameter(f"parameters not settable for notebook {name!r}: {', '.join(unknown)}")
    # a lake is read at one snapshot for the whole run (the notebook's figures and metrics.json)
    db = lake.pin(db) if store.is_lake(db) else Path(db).resolve()
    runner_values = {
        "db": str(db),
        "period": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    inject = {k: v for k, v in runner_values.items() if k in declared}
    inject.update(params)
    # A notebook declares "every category" as "" or None (papermill cannot read `str | None`).
    category = params.get("category") or None
    category_label = (
        (vocab.vocabulary().display_name("category", category) or category) if category else None
    )
    # one supplier's or one case's report is filed apart too, under its id
    subject_key = next((k for k in SUBJECT_KEYS if str(params.get(k) or "").strip()), None)
    subject = str(params[subject_key]).strip() if subject_key else None
    required = _notebook_metadata(nb_path).get("ta_subject")
    # one client's report (--client) is filed apart under its buyer key, titled without a name
    client = str(params.get("buyer_key") or "").strip() or None
    label = (
        _file_label(period.label)
        + (f"_{_file_label(category_label)}" if category_label else "")
        + (f"_{subject_label(subject)}" if subject else "")
        + (f"_client-{client}" if client else "")
    )
    title = str(params.get("title") or "").strip() or (
        f"{_notebook_title(nb_path, name)} \u2014 {period.title}"
        + (f" ({category_label})" if category_label else "")
        + (f" ({subject})" if subject else "")
        + (" (one client)" if client else "")
    )
    out_dir = Path(out_dir)
    return Plan(
        name=name,
        nb_path=nb_path,
        period=period,
        db=db,
        params=params,
        inject=inject,
        category=category,
        category_label=category_label,
        title=title,
        out_dir=out_dir,
        report_dir=out_dir / name / label,
        stem=f"{name}_{label}",
        pdf=pdf,
        subject_key=subject_key,
        subject=subject,
        subject_required=str(required) if required in SUBJECT_KEYS else None,
    )


def check_same_store(plan: Plan) -> None:
    """Refuse to replace a report of another store: ``run.json`` in the report's folder names
    the store it was computed from (``db``); a run from a different store would silently replace
    it (the demo's October by the user's own October). Raises BadParameter naming ``--out``
    before anything is written."""
    earlier = _read_json(plan.run_json) or {}
    other = earlier.get("db")
    if not other:
        return
    if Path(other) == plan.db and earlier.get("synthetic") is not None:
        from analysis.metrics import provenance

        # the same path, but demo data then and none now (or the reverse): the store was
        # replaced (the demo's removed by hand and the user's own loaded in its place)
        if bool(earlier["synthetic"]) != provenance.store_facts(plan.db)["synthetic"]:
            other = f"{other}, when it held {'demo' if earlier['synthetic'] else 'real'} data"
    if lake.split(other)[0] != lake.split(plan.db)[0]:  # (a lake's reports: any snapshot)
        raise BadParameter(
            f"{plan.report_dir} holds the {plan.name} {plan.period.label} report of another "
            f"store ({other}); this run's store is {plan.db}. Pass --out FOLDER to keep each "
            "store's reports in a folder of its own (nothing was written)"
        )


# -- step 2: run ---------------------------------------------------------------------------------


def _figures(plan: Plan, reader: store.Reader) -> dict:
    """``metrics.json``'s figures: what ``ta-outcomes metrics`` prints for the same period and
    parameters, of the state the run holds."""
    from analysis import metrics

    return metrics.outcome_metrics(
        reader, plan.period.start, plan.period.end, params=_metric_params(plan),
        category=plan.category,
    )  # fmt: skip


def _metric_params(plan: Plan):
    from analysis import metrics
    from analysis.publish.params import METRIC_KEYS

    return metrics.Params(**{k: plan.params[k] for k in METRIC_KEYS if k in plan.params})


#: How the runner names a subject in a message ('supplier', 'case').
_SUBJECT_WORDS = {"supplier_id": "supplier", "case_id": "case"}


def check_subject(plan: Plan, source: store.Source | None = None) -> dict | None:
    """The report's subject as the store has it, checked before any kernel starts.

    Returns ``{"key", "id", "name"}`` for a supplier (its latest name) or ``{"key", "id",
    "supplier_id", "supplier_name"}`` for a case, or None for a report without a subject.
    Raises BadParameter (one line) for an id the store does not hold, and for a notebook whose
    subject (``ta_subject`` in its metadata) is empty: such a run would otherwise fail inside
    the notebook, or render a report about no one, after its kernel started. ``source``: the
    run's reader (default: the plan's store).
    """
    from analysis.metrics import dossier, scorecard

    source = plan.db if source is None else source
    if plan.subject is None:
        if plan.subject_required:
            key = plan.subject_required
            raise BadParameter(
                f"{plan.name}: no {_SUBJECT_WORDS[key]} chosen: set one with -p {key}=ID "
                "(an id as in the store)"
            )
        return None
    try:
        if plan.subject_key == "supplier_id":
            name = scorecard.supplier_name(source, plan.subject)
            return {"key": plan.subject_key, "id": plan.subject, "name": name}
        owner = dossier.case_supplier(source, plan.subject)
        return {"key": plan.subject_key, "id": plan.subject, **owner}
    except BadParameter as exc:
        raise BadParameter(f"{plan.name} -p {plan.subject_key}: {exc}") from None


def _case_title(plan: Plan, reader: store.Reader) -> str:
    """A dossier's title: 'Case dossier — case TA-1: Acme Co. (S1), compliance claim'."""
    from analysis.metrics import dossier
    from analysis.report.dossier import case_title

    subject = dossier.case_subject(reader, plan.subject)
    return f"{_notebook_title(plan.nb_path, plan.name)} \u2014 {case_title(subject)}"


def _subject_headline(plan: Plan, reader: store.Reader, subject: dict | None) -> dict | None:
    """The catalogue's headline figures of the report's own subject: a supplier's decided
    cases and rate in the period (as its scorecard counts them), a case's outcome and money;
    None for a report without a subject (its headline is the store's, from metrics.json)."""
    from analysis.metrics import dossier, scorecard
    from analysis.publish import catalogue

    if subject is None:
        return None
    params = _metric_params(plan)
    if subject["key"] == "supplier_id":
        block = scorecard.supplier_block(
            reader, plan.period.start, plan.period.end, subject["id"], params
        )
        return catalogue.headline({"overall": block, "params": params.as_dict()})
    return dossier.case_headline(dossier.case_record(reader, subject["id"], params), params)


def _make_folder(plan: Plan) -> None:
    try:
        plan.report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(
            f"--out {plan.out_dir}: cannot create the report folder {plan.report_dir} "
            f"({exc.strerror or type(exc).__name__})"
        ) from None


def _report_lock(plan: Plan):
    what = plan.what
    timeout = settings.report_lock_timeout()
    return held(
        plan.report_dir / ".lock",
        timeout,
        waiting=f"another run of {what} is in progress; waiting for it to finish "
        f"(up to {timeout:.0f} s, lock {plan.report_dir / '.lock'})...",
        error=f"{what}: another run still holds {plan.report_dir / '.lock'} after {timeout:.0f} s; "
        "try again later",
        acquired=f"{what}: the other run finished; starting",
        exit_code=EXIT_FAILED,
    )


def _execute_and_export(plan: Plan, progress: bool) -> tuple[Path, Path, str | None]:
    """Execute the notebook and export its HTML beside their final names.

    Returns (executed notebook, HTML, error or None). A failing cell, a dead kernel or a failed
    export is an error (the partial notebook is kept as ``.failed.ipynb``); a machine that
    refuses raises :class:`EnvironmentProblem`.
    """
    from analysis.publish.execute import describe_failure, execute_notebook
    from analysis.publish.htmlexport import export_html

    running = plan.report_dir / f".{plan.stem}.{os.getpid()}.running.ipynb"
    # (ends in .html: Chromium prints a page by what its name says it is)
    html_partial = plan.report_dir / f".{plan.stem}.{os.getpid()}.partial.html"
    try:
        execute_notebook(plan.nb_path, running, plan.inject, progress)
        export_html(running, html_partial, title=plan.title)
        if plan.pdf:
            from analysis.publish.pdf import print_pdf

            print_pdf(html_partial, _pdf_partial(plan))
    except Exception as exc:
        if running.exists():
            os.replace(running, plan.failed_ipynb)
        else:  # (a kernel that died saves nothing) no stale partial from an older run
            plan.failed_ipynb.unlink(missing_ok=True)
        html_partial.unlink(missing_ok=True)
        problem = environment_problem(exc)
        if problem is not None:
            raise problem from None
        return (
            running,
            html_partial,
            describe_failure(exc, plan.failed_ipynb if plan.failed_ipynb.exists() else None),
        )
    return running, html_partial, None


def _pdf_partial(plan: Plan) -> Path:
    return plan.report_dir / f".{plan.stem}.{os.getpid()}.partial.pdf"


def _publish(plan: Plan, running: Path, html_partial: Path, metrics_text: str) -> None:
    """Rename the finished files into place; the HTML last, so the link goes live with the rest
    in place. Everything that needs disk space is written before the first rename."""
    write_atomic(plan.metrics, metrics_text)
    os.replace(running, plan.ipynb)
    if plan.pdf:
        os.replace(_pdf_partial(plan), plan.pdf_path)
    os.replace(html_partial, plan.html)
    plan.failed_ipynb.unlink(missing_ok=True)


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _last_good(previous: dict | None, report_dir: Path) -> dict | None:
    """The previous run's good result, carried over through any number of failed runs."""
    if not previous:
        return None
    if previous.get("status") in ("ok", "no data") and previous.get("html"):
        good = {
            k: previous.get(k)
            for k in ("generated_at", "html", "ipynb", "metrics", "pdf", "headline", "params")
        }
    else:
        good = previous.get("last_good")
    if good and good.get("html") and (report_dir / good["html"]).is_file():
        return good
    return None


def _status(figures: dict | None) -> str:
    overall = (figures or {}).get("overall") or {}
    return (
        "no data" if not overall.get("cases_opened") and not overall.get("cases_closed") else "ok"
    )


def _run_record(
    plan: Plan,
    status: str,
    error: str | None,
    figures: dict | None,
    fingerprint: dict | None,
    t0: float,
    subject: dict | None = None,
    subject_headline: dict | None = None,
) -> dict:
    from analysis.publish import catalogue

    ok = status in ("ok", "no data")
    if subject is not None:
        headline = subject_headline  # the supplier's or the case's own, not the store's
    else:
        headline = catalogue.headline(figures) if figures else None
    return {
        "name": plan.name,
        "title": _notebook_title(plan.nb_path, plan.name),
        "period": plan.period.label,
        "period_kind": plan.period.kind,
        "start": plan.period.start.isoformat(),
        "end": plan.period.end.isoformat(),
        "category": plan.category,
        "category_label": plan.category_label,
        "status": status,
        "synthetic": bool(fingerprint["synthetic_cases"]) if fingerprint else None,
        "as_of": (figures or {}).get("as_of"),
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 2),
        "params": plan.params,
        "db": str(plan.db),
        "data": fingerprint,
        "html": plan.html.name if ok else None,
        "ipynb": plan.ipynb.name if ok else None,
        "metrics": plan.metrics.name if ok else None,
        "pdf": plan.pdf_path.name if ok and plan.pdf else None,
        "failed_ipynb": None
        if ok
        else plan.failed_ipynb.name
        if plan.failed_ipynb.exists()
        else None,
        # whose report it is: {key, id, name} of a supplier, {key, id, supplier_*} of a case
        "subject": subject,
        "headline": headline if ok else None,
        "error": None if ok else f"{plan.what} failed {error}",
        "last_good": None if ok else _last_good(_read_json(plan.run_json), plan.report_dir),
    }


def _write_run_json(plan: Plan, record: dict) -> None:
    """Write run.json; when the machine refuses, remove the old one rather than leave it saying
    the last run was ok (removing needs no space)."""
    try:
        write_atomic(plan.run_json, json.dumps(record, indent=2, default=str) + "\n")
    except OSError:
        if record["status"] not in ("ok", "no data"):
            plan.run_json.unlink(missing_ok=True)
        raise


#: The states of a run, in order; any of them can end in "failed".
STATES = ("planned", "running", "exported", "published", "failed")


@dataclass
class Run:
    """One run of a report: its plan, the state it has reached (:data:`STATES`) and what it has
    produced so far. Each step moves it on; :meth:`record` writes what it ended as (run.json)."""

    plan: Plan
    t0: float
    state: str = "planned"
    #: why the run failed: a failing cell or export (``error``), or the machine (``problem``)
    error: str | None = None
    problem: EnvironmentProblem | None = None
    figures: dict | None = None
    fingerprint: dict | None = None
    subject: dict | None = None
    subject_headline: dict | None = None
    #: the executed notebook and the HTML beside their final names, once exported
    partials: tuple[Path, Path] | None = None
    #: every state the run has been in, in order
    history: list[str] = dataclasses.field(default_factory=lambda: ["planned"])

    def move(self, state: str) -> None:
        """Enter ``state`` (one of :data:`STATES`)."""
        if state not in STATES:
            raise ValueError(f"not a state of a run: {state!r}")
        self.state = state
        self.history.append(state)

    def fail(self, error: str | None = None, problem: EnvironmentProblem | None = None) -> None:
        """The run failed: a cell or the export (``error``), or the machine (``problem``)."""
        if self.state != "failed":
            self.move("failed")
        self.error = error if error is not None else self.error
        self.problem = problem if problem is not None else self.problem

    @property
    def status(self) -> str:
        """What run.json and the catalogue say: 'ok', 'no data' or 'failed'."""
        return _status(self.figures) if self.state == "published" else "failed"

    def prepare(self, reader: store.Reader, background: ThreadPoolExecutor) -> tuple:
        """planned: check the subject, title the run, start its figures beside the kernel.

        Raises BadParameter for an unknown subject before anything is written. Returns the
        pending figures and subject headline."""
        from analysis.metrics import provenance

        self.subject = check_subject(self.plan, reader)
        if self.plan.subject_key == "case_id":
            # issue 29: a dossier is titled by its case (id, supplier, claim), not a period
            self.plan = dataclasses.replace(self.plan, title=_case_title(self.plan, reader))
        # metrics.json is computed beside the notebook, not before it: the kernel's start and
        # imports leave a core idle for it (about 2 s of a 1M-case report; both read the same
        # state, which the open reader holds). Its error, if any, is raised before any kernel
        # starts when it is already known, else after the notebook; nothing is published
        # without it.
        pending = (
            background.submit(_figures, self.plan, reader),
            background.submit(_subject_headline, self.plan, reader, self.subject),
        )
        self.fingerprint = provenance.data_fingerprint(reader)
        if self.fingerprint and self.fingerprint["synthetic_cases"]:
            # a browser tab, a bookmark and a printed page carry the title: say it there too
            self.plan = dataclasses.replace(
                self.plan, title=f"SYNTHETIC DATA \u2014 {self.plan.title}"
            )
        _make_folder(self.plan)
        return pending

    def execute(self, pending: tuple, progress: bool) -> None:
        """running -> exported: the notebook executed and its HTML (and PDF) written beside
        their final names; a failing cell or export fails the run."""
        figures, _ = pending
        if figures.done():
            figures.result()  # a metrics error, raised before any kernel starts
        self.move("running")
        running, html_partial, error = _execute_and_export(self.plan, progress)
        self.partials = (running, html_partial)
        if error is None:
            self.move("exported")
        else:
            self.fail(error)

    def publish(self, pending: tuple) -> None:
        """exported -> published: metrics.json written, the files renamed into place."""
        self.settle(pending, raise_errors=True)
        if self.state != "exported":
            return
        running, html_partial = self.partials
        _publish(
            self.plan, running, html_partial, json.dumps(self.figures, indent=2, default=str) + "\n"
        )
        self.move("published")

    def settle(self, pending: tuple, raise_errors: bool = False) -> None:
        """Take the figures computed beside the notebook (a run the machine stopped still records
        the state it saw); ``raise_errors``: a metrics error is the run's error."""
        figures, headline = pending
        if self.figures is None:
            try:
                self.figures = figures.result()
            except Exception:
                if raise_errors:
                    raise
        if self.subject_headline is None:
            with contextlib.suppress(Exception):
                self.subject_headline = headline.result()

    def clean_up(self) -> None:
        """Remove this process's partial files (a published run has renamed them away)."""
        for partial in self.plan.report_dir.glob(f".{self.plan.stem}.{os.getpid()}.*"):
            partial.unlink(missing_ok=True)

    def record(self) -> None:
        """Write run.json: the truth of this run, whatever it ended as."""
        if self.problem is not None:
            # what the machine refused is what run.json says, over a cell's failure
            self.fail(f"({self.problem})")
        try:
            _write_run_json(
                self.plan,
                _run_record(
                    self.plan, self.status, self.error, self.figures, self.fingerprint, self.t0,
                    self.subject, self.subject_headline,
                ),
            )  # fmt: skip
        except OSError as exc:
            self.problem = self.problem or EnvironmentProblem.from_os_error(exc)

    def result(self) -> ReportResult:
        """What the run produced, for the caller and the notify command."""
        plan, published = self.plan, self.state == "published" and self.problem is None
        if self.problem is not None:
            error = f"{plan.what} failed: {self.problem}"
        elif self.state == "failed":
            error = f"{plan.what} failed {self.error}" + (
                f"; partial notebook: {plan.failed_ipynb}" if plan.failed_ipynb.exists() else ""
            )
        else:
            error = None
        return ReportResult(
            name=plan.name,
            period=plan.period.label,
            status="failed" if self.problem is not None else self.status,
            report_dir=plan.report_dir,
            html=plan.html if published else None,
            ipynb=plan.ipynb if published else None,
            metrics=plan.metrics if published else None,
            pdf=plan.pdf_path if plan.pdf and published else None,
            failed_ipynb=plan.failed_ipynb if plan.failed_ipynb.exists() else None,
            run_json=plan.run_json,
            error=error,
            duration=time.monotonic() - self.t0,
        )


def run_report(
    name: str,
    period: Period,
    db: Path | str,
    out_dir: Path | str,
    params: Mapping[str, Any] | None = None,
    progress: bool = True,
    notify_cmd: str | None = None,
    notebook_dir: Path | str | None = None,
    pdf: bool = False,
    catalogue: bool = True,
) -> ReportResult:
    """Run report ``name`` for ``period`` (a ``periods.Period``) and publish it under ``out_dir``.

    ``pdf``: print the page to ``<report>.pdf`` beside the HTML (headless Chromium).
    ``catalogue``: rebuild ``out_dir/index.html`` afterwards (a batch run does it once, at the
    end).

    ``params`` are notebook parameters as returned by :func:`resolve_params`. Raises
    BadParameter or StoreMissing before any kernel starts, and :class:`EnvironmentProblem` when
    the machine refuses (after recording and notifying it); a failing cell does not raise but
    returns a result with status 'failed' and an ``error`` naming the cell (the partial notebook
    is kept as ``NAME_LABEL.failed.ipynb``, the last good report is left untouched).
    """
    plan = plan_report(name, period, db, out_dir, params, notebook_dir, pdf=pdf)
    check_same_store(plan)
    notify_argv = check_notify_cmd(notify_cmd)
    run = Run(plan, time.monotonic())
    try:
        # One state for the whole run: while the run's reader is open, a writer waits.
        with store.Reader(plan.db) as reader, ThreadPoolExecutor(1) as background:
            pending = run.prepare(reader, background)
            with _report_lock(run.plan):
                try:
                    run.execute(pending, progress)
                    run.publish(pending)
                except OSError as exc:
                    run.fail(problem=EnvironmentProblem.from_os_error(exc))
                except EnvironmentProblem as exc:
                    run.fail(problem=exc)
                finally:
                    run.settle(pending)
                    run.clean_up()
                run.record()
        if run.problem is None and catalogue:
            from analysis.publish import catalogue as index

            try:
                index.build_index(run.plan.out_dir)
            except OSError as exc:
                run.problem = EnvironmentProblem.from_os_error(exc)
    except EnvironmentProblem as exc:
        run.fail(problem=exc)
    result = run.result()
    if notify_argv:
        _notify(notify_argv, result)
    if run.problem is not None:
        raise EnvironmentProblem(f"{run.plan.what} failed: {run.problem}")
    return result


# -- step 3: tell someone ------------------------------------------------------------------------


def check_notify_cmd(notify_cmd: str | None) -> list[str] | None:
    """The notify command's argv (None when there is none); BadParameter when it is malformed,
    before any work is done."""
    if not notify_cmd:
        return None
    try:
        argv = shlex.split(notify_cmd)
    except ValueError as exc:
        raise BadParameter(f"--notify-cmd {notify_cmd!r}: {exc}") from None
    if not argv:
        raise BadParameter("--notify-cmd is empty")
    return argv


def _notify(argv: list[str], result: ReportResult) -> None:
    """Run ``argv + [status, report_path]`` (no shell); a failure is reported, never fatal."""
    report_path = str(Path(result.report_path).resolve())
    env = {
        **os.environ,
        "TA_REPORT_NAME": result.name,
        "TA_REPORT_PERIOD": result.period,
        "TA_REPORT_STATUS": result.status,
        "TA_REPORT_PATH": report_path,
        "TA_REPORT_ERROR": result.error or "",
    }
    try:
        done = subprocess.run(
            [*argv, result.status, report_path],
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=settings.NOTIFY_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"ta-outcomes report: warning: --notify-cmd failed: {exc}", file=sys.stderr)
        return
    if done.returncode != 0:
        print(
            f"ta-outcomes report: warning: --notify-cmd {shlex.join(argv)} exited {done.returncode}",
            file=sys.stderr,
        )
