"""Run a report notebook with papermill, export self-contained HTML, record the run.

``ta-outcomes report NAME --period P`` is :func:`main`; it is a thin wrapper over three steps,
each usable on its own (papermill's own layout is the model: one concern per function):

1. :func:`resolve_params` checks everything a user can get wrong *before any kernel starts*: the
   notebook name, the period, every ``-p key=value`` against the notebook's ``parameters`` cell
   (read with ``papermill.inspect_notebook``, values coerced to the declared types) and the
   metric parameters (``metrics.Params``).
2. :func:`run_report` computes ``metrics.json`` (which also proves the store exists, with the
   store's own message when it does not), executes the notebook with papermill from Python,
   exports the HTML (:mod:`analysis.htmlexport`) and publishes::

       OUT/NAME/PERIOD/NAME_PERIOD.html      the report
       OUT/NAME/PERIOD/NAME_PERIOD.ipynb     the executed notebook
       OUT/NAME/PERIOD/metrics.json          = ta-outcomes metrics for the period and parameters
       OUT/NAME/PERIOD/run.json              what the catalogue reads
       OUT/NAME/PERIOD/NAME_PERIOD.failed.ipynb   only after a failed run

   Every file is written beside its final name and renamed into place, so the last good report
   is never half-overwritten; a failed run leaves it untouched. Runs of the same report and
   period queue on ``OUT/NAME/PERIOD/.lock``.
3. :func:`analysis.catalogue.build_index` rebuilds ``OUT/index.html``; then the optional
   ``--notify-cmd`` is run with the status and the report's path.

Imports of papermill and nbconvert are kept inside functions: ``ta-outcomes --help`` and the
other subcommands should not pay for them.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis import paths
from analysis.errors import BadParameter, UserError
from analysis.files import write_atomic

EXIT_OK = 0
EXIT_FAILED = 1

#: Parameters the runner sets itself, from --period/--last and --db; never from -p.
RUNNER_KEYS = ("db", "period", "start", "end")
#: Parameters validated by metrics.Params (and used for metrics.json).
METRIC_KEYS = ("threshold", "lowball", "min_n", "confidence")
#: How long a second run of the same report and period waits for the first (seconds).
REPORT_LOCK_TIMEOUT = float(os.environ.get("TA_OUTCOMES_REPORT_LOCK_TIMEOUT", 3600))
#: How long the --notify-cmd may take before it is abandoned (seconds).
NOTIFY_TIMEOUT = 300.0
#: How long the kernel may take to start (seconds).
KERNEL_START_TIMEOUT = 120

if TYPE_CHECKING:
    from analysis.periods import Period

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


class ReportFailed(UserError):
    """The notebook ran and a cell failed (or the export did); the message names the cell."""

    exit_code = EXIT_FAILED


@dataclass(frozen=True)
class ReportResult:
    """What one run produced. Paths are None when the run did not produce them."""

    name: str
    period: str
    status: str  # 'ok' | 'failed'
    report_dir: Path
    html: Path | None
    ipynb: Path | None
    metrics: Path | None
    failed_ipynb: Path | None
    run_json: Path
    error: str | None
    duration: float

    @property
    def ok(self) -> bool:
        """True when the report was published."""
        return self.status == "ok"

    @property
    def report_path(self) -> Path:
        """The file to look at: the HTML, or after a failure the partial notebook."""
        return (self.html if self.ok else self.failed_ipynb) or self.report_dir


# -- step 1: parameters ------------------------------------------------------------------------


def notebook_path(name: str, notebook_dir: Path | str | None = None) -> Path:
    """``NOTEBOOK_DIR/NAME.ipynb``; BadParameter naming the available reports otherwise."""
    folder = Path(notebook_dir) if notebook_dir is not None else paths.notebooks_dir()
    available = sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []
    path = folder / f"{name}.ipynb"
    if not _NAME.fullmatch(str(name)) or not path.is_file():
        shown = ", ".join(available) if available else f"none in {folder}"
        raise BadParameter(f"unknown report {name!r} (available: {shown})")
    return path


def declared_parameters(nb_path: Path) -> dict[str, dict]:
    """The notebook's parameters as papermill reads them: name -> {inferred_type_name, default, help}."""
    import papermill

    try:
        return dict(papermill.inspect_notebook(str(nb_path)))
    except Exception as exc:  # a notebook that is not valid JSON, or not a notebook at all
        raise BadParameter(f"{nb_path}: cannot read its parameters ({exc})") from None


def resolve_params(
    name: str,
    period: str | None = None,
    last: str | None = None,
    params: list[str] | Mapping[str, Any] | None = None,
    today: date | None = None,
    notebook_dir: Path | str | None = None,
) -> tuple[Period, dict[str, Any]]:
    """Check a report request and return ``(Period, parameters)`` without starting a kernel.

    ``params`` is a list of ``"key=value"`` strings (the CLI's ``-p``) or a dict. The returned
    dict holds every notebook parameter whose default is a plain value, overridden by
    ``params`` and coerced to the declared type (``"0.2"`` -> 0.2 for a ``float``), except
    ``db``, ``period``, ``start`` and ``end``, which the runner sets. Raises BadParameter for
    an unknown notebook, period form or parameter, or a value out of range.
    """
    from analysis import metrics, periods

    nb_path = notebook_path(name, notebook_dir)
    if (period is None) == (last is None):
        raise BadParameter("give exactly one of --period (e.g. 2026-10) and --last month|quarter")
    if period is not None:
        the_period = periods.parse_period(period)
    else:
        if last not in ("month", "quarter", "year"):
            raise BadParameter(f"--last {last!r}: use month or quarter")
        the_period = periods.last_complete(last, today or date.today())

    declared = declared_parameters(nb_path)
    overrides = _parse_overrides(params)
    effective: dict[str, Any] = {}
    for key, spec in declared.items():
        if key in RUNNER_KEYS:
            continue
        try:
            effective[key] = ast.literal_eval(spec.get("default", ""))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass  # an expression: the notebook computes it unless -p sets it
    for key, raw in overrides.items():
        if key in RUNNER_KEYS:
            how = "--db" if key == "db" else "--period or --last"
            raise BadParameter(f"-p {key}: set it with {how}, not -p")
        if key not in declared:
            known = ", ".join(k for k in declared if k not in RUNNER_KEYS) or "none"
            raise BadParameter(
                f"-p {key}: notebook {name!r} has no such parameter (it has: {known})"
            )
        effective[key] = _coerce(key, raw, declared[key])

    # metrics.Params is the one place the metric parameters are validated (0-1, whole min_n).
    checked = metrics.Params(**{k: effective[k] for k in METRIC_KEYS if k in effective})
    for key in METRIC_KEYS:
        if key in effective:
            effective[key] = getattr(checked, key)
    return the_period, effective


def _parse_overrides(params: list[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    if not params:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    overrides = {}
    for item in params:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadParameter(f"-p {item!r}: expected KEY=VALUE, e.g. -p threshold=0.2")
        overrides[key] = value.strip()
    return overrides


def _type_of(spec: dict) -> tuple[str, bool]:
    """(base type name, whether None is allowed) from papermill's inferred type or the default."""
    type_name = (spec.get("inferred_type_name") or "None").replace(" ", "")
    optional = False
    if m := re.fullmatch(r"Optional\[(.+)\]", type_name):
        type_name, optional = m[1], True
    elif m := re.fullmatch(r"Union\[(.+),None\]|(.+)\|None", type_name):
        type_name, optional = (m[1] or m[2]), True
    if type_name == "None":  # no annotation: go by the default's type
        try:
            default = ast.literal_eval(spec.get("default", ""))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            default = ...
        if default is None:
            return "any", True
        type_name = (
            type(default).__name__ if isinstance(default, bool | int | float | str) else "any"
        )
    return type_name, optional


def _coerce(key: str, raw: Any, spec: dict) -> Any:
    """Turn a -p value into the parameter's declared type, or raise BadParameter."""
    type_name, optional = _type_of(spec)
    if raw is None and optional:
        return None
    text = str(raw).strip()
    if optional and text.lower() in ("none", "null", ""):
        return None
    wanted = {"float": "a number", "int": "a whole number", "bool": "true or false"}
    try:
        if type_name == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
        if type_name == "int":
            if not re.fullmatch(r"[+-]?\d+", text):
                raise ValueError(text)
            return int(text)
        if type_name == "float":
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(text)
            return value
    except ValueError:
        raise BadParameter(f"-p {key}={raw}: expected {wanted[type_name]}") from None
    if type_name == "str":
        return text if isinstance(raw, str) else raw
    try:  # lists, dicts, untyped: a Python literal if it is one, else the text
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


# -- step 2: run -------------------------------------------------------------------------------


def _dir_label(label: str) -> str:
    # Period labels are already file-name safe (2026-10, 2026-Q3, 2026-01-01_2026-03-31); this
    # keeps them so whatever the periods module may produce later.
    return re.sub(r"[^A-Za-z0-9._-]", "_", label)


@contextlib.contextmanager
def _report_lock(report_dir: Path, what: str, timeout: float) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(str(report_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(
            f"another run of {what} is in progress; waiting for it to finish "
            f"(up to {timeout:.0f} s, lock {report_dir / '.lock'})...",
            file=sys.stderr,
            flush=True,
        )
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise UserError(
                f"{what}: another run still holds {report_dir / '.lock'} after {timeout:.0f} s; "
                "try again later",
                exit_code=EXIT_FAILED,
            ) from None
        print(f"{what}: the other run finished; starting", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        lock.release()


def _kernel_config(socket_dir: Path | None):
    from traitlets.config import Config

    config = Config()
    if socket_dir is not None:
        # Unix sockets in a private folder instead of TCP ports on localhost: nothing else on
        # the machine can reach the kernel, and ipykernel stops warning on every run that its
        # TCP traffic is unencrypted. A folder of its own so two kernels never share a name.
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(socket_dir / "kernel")
    return config


def execute_notebook(nb_path: Path, output: Path, parameters: dict, progress: bool = True) -> None:
    """Execute ``nb_path`` into ``output`` with papermill, in-process, the way reports are run.

    Raises papermill's ``PapermillExecutionError`` for a failing cell (after saving the partial
    notebook to ``output``), or nbclient's errors for a kernel that died or did not start.
    """
    import papermill

    socket_dir = Path(tempfile.mkdtemp(prefix="ta-kernel-")) if os.name == "posix" else None
    try:
        papermill.execute_notebook(
            str(nb_path),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=progress,
            request_save_on_cell_execute=False,
            start_timeout=KERNEL_START_TIMEOUT,
            cwd=str(
                nb_path.parent
            ),  # as JupyterLab does: the kernel starts in the notebook's folder
            # nbclient's default 'graceful' shutdown can stall ~3 s waiting for the kernel to
            # acknowledge; the executed notebook is complete by then, so stop it at once.
            shutdown_kernel="immediate",
            config=_kernel_config(socket_dir),
            # Charts inline whatever MPLBACKEND the caller's environment has (a headless
            # scheduler or a test run often sets Agg, which the kernel would inherit and then
            # show no figures at all). Reports draw charts, so this costs no extra import.
            extra_arguments=["--matplotlib=inline"],
        )
    finally:
        if socket_dir is not None:
            shutil.rmtree(socket_dir, ignore_errors=True)


def _describe_failure(exc: Exception, partial: Path | None) -> str:
    """Finish the sentence "NAME PERIOD failed ...": the failing cell and its error, one line.

    For a failing cell: ``in cell 4 [explode] `raise ValueError("x")`: ValueError: x``, the cell
    numbered from 1 as in the notebook one edits (papermill's injected cell not counted).
    """
    from papermill.exceptions import PapermillExecutionError

    if not isinstance(exc, PapermillExecutionError):
        text = " ".join(str(exc).split()) or type(exc).__name__
        return f"({type(exc).__name__}): {text[:300]}"
    where = f"in cell {exc.cell_index + 1}"
    first_line = next((ln.strip() for ln in str(exc.source).splitlines() if ln.strip()), "")
    tags: list[str] = []
    if partial is not None and partial.exists():
        import nbformat
        from papermill.execute import ERROR_MARKER_TAG

        # exc.cell_index counts the executed cells before papermill added its two error-marker
        # cells to the saved notebook; drop those to index the same list.
        cells = [
            c
            for c in nbformat.read(partial, as_version=4).cells
            if ERROR_MARKER_TAG not in c.get("metadata", {}).get("tags", [])
        ]
        # Number cells as in the notebook the user edits: papermill's injected cell is not there.
        injected = sum(
            "injected-parameters" in c.get("metadata", {}).get("tags", [])
            for c in cells[: exc.cell_index]
        )
        where = f"in cell {exc.cell_index + 1 - injected}"
        if exc.cell_index < len(cells):
            tags = list(cells[exc.cell_index].get("metadata", {}).get("tags", []))
    if tags:
        where += f" [{', '.join(tags)}]"
    if first_line:
        where += f" `{first_line[:80]}{'...' if len(first_line) > 80 else ''}`"
    evalue = " ".join(str(exc.evalue).split())[:300]
    return f"{where}: {exc.ename}: {evalue}"


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
    if previous.get("status") == "ok" and previous.get("html"):
        good = {
            k: previous.get(k)
            for k in ("generated_at", "html", "ipynb", "metrics", "headline", "params")
        }
    else:
        good = previous.get("last_good")
    if good and good.get("html") and (report_dir / good["html"]).is_file():
        return good
    return None


def run_report(
    name: str,
    period: Period,
    db: Path | str,
    out_dir: Path | str,
    params: Mapping[str, Any] | None = None,
    progress: bool = True,
    notify_cmd: str | None = None,
    notebook_dir: Path | str | None = None,
) -> ReportResult:
    """Run report ``name`` for ``period`` (a ``periods.Period``) and publish it under ``out_dir``.

    ``params`` are notebook parameters as returned by :func:`resolve_params`. Raises
    BadParameter or StoreMissing before any kernel starts; a failing cell does not raise but
    returns a result with status 'failed' and an ``error`` naming the cell (the partial notebook
    is kept as ``NAME_PERIOD.failed.ipynb``, the last good report is left untouched).
    """
    from analysis import catalogue, metrics
    from analysis.htmlexport import export_html

    t0 = time.monotonic()
    nb_path = notebook_path(name, notebook_dir)
    params = dict(params or {})
    declared = declared_parameters(nb_path)
    unknown = sorted((set(params) - set(declared)) | (set(params) & set(RUNNER_KEYS)))
    if unknown:
        raise BadParameter(f"parameters not settable for notebook {name!r}: {', '.join(unknown)}")
    notify_argv = _notify_argv(notify_cmd)
    db = Path(db).resolve()

    # metrics.json first: it is cheap, and it opens the store, so a missing store or an unknown
    # category is reported (with the store's own message) before a kernel is started.
    metric_params = metrics.Params(**{k: params[k] for k in METRIC_KEYS if k in params})
    # A notebook declares "every category" as "" or None (papermill cannot read `str | None`).
    category = params.get("category") or None
    figures = metrics.outcome_metrics(
        db, period.start, period.end, params=metric_params, category=category
    )
    # Exactly what `ta-outcomes metrics --format json` prints for the same period and parameters.
    metrics_text = json.dumps(figures, indent=2, default=str)

    runner_values = {
        "db": str(db),
        "period": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    inject = {k: v for k, v in runner_values.items() if k in declared}
    inject.update(params)

    # A report restricted to one category is a different report: it must not replace the
    # all-categories one for the same period.
    label = _dir_label(period.label + (f"_{category}" if category else ""))
    out_dir = Path(out_dir)
    report_dir = out_dir / name / label
    report_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{name}_{label}"
    final = {
        "html": report_dir / f"{stem}.html",
        "ipynb": report_dir / f"{stem}.ipynb",
        "metrics": report_dir / "metrics.json",
    }
    failed_ipynb = report_dir / f"{stem}.failed.ipynb"
    run_json = report_dir / "run.json"
    title = f"{_notebook_title(nb_path, name)} \u2014 {period.label}" + (
        f" ({category})" if category else ""
    )

    with _report_lock(report_dir, f"{name} {period.label}", REPORT_LOCK_TIMEOUT):
        running = report_dir / f".{stem}.{os.getpid()}.running.ipynb"
        html_partial = report_dir / f".{stem}.{os.getpid()}.html.partial"
        error = None
        try:
            try:
                execute_notebook(nb_path, running, inject, progress)
                export_html(running, html_partial, title=title)
            except Exception as exc:  # a failing cell, a dead kernel, a failed export
                if running.exists():
                    os.replace(running, failed_ipynb)
                else:  # (a kernel that died saves nothing) no stale partial from an older run
                    failed_ipynb.unlink(missing_ok=True)
                error = _describe_failure(exc, failed_ipynb if failed_ipynb.exists() else None)
            else:
                write_atomic(final["metrics"], metrics_text + "\n")
                os.replace(running, final["ipynb"])
                # The HTML last: the catalogue's link goes live with everything else in place.
                os.replace(html_partial, final["html"])
                failed_ipynb.unlink(missing_ok=True)
        finally:
            running.unlink(missing_ok=True)
            html_partial.unlink(missing_ok=True)

        previous = _read_json(run_json)
        ok = error is None
        record = {
            "name": name,
            "period": period.label,
            "period_kind": period.kind,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "status": "ok" if ok else "failed",
            "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - t0, 2),
            "params": params,
            "db": str(db),
            "html": final["html"].name if ok else None,
            "ipynb": final["ipynb"].name if ok else None,
            "metrics": final["metrics"].name if ok else None,
            "failed_ipynb": None if ok else failed_ipynb.name if failed_ipynb.exists() else None,
            "headline": catalogue.headline(figures) if ok else None,
            "error": None if ok else f"{name} {period.label} failed {error}",
            "last_good": None if ok else _last_good(previous, report_dir),
        }
        write_atomic(run_json, json.dumps(record, indent=2, default=str) + "\n")

    catalogue.build_index(out_dir)
    result = ReportResult(
        name=name,
        period=period.label,
        status=record["status"],
        report_dir=report_dir,
        html=final["html"] if ok else None,
        ipynb=final["ipynb"] if ok else None,
        metrics=final["metrics"] if ok else None,
        failed_ipynb=None if ok else (failed_ipynb if failed_ipynb.exists() else None),
        run_json=run_json,
        error=None
        if ok
        else f"{record['error']}"
        + (f"; partial notebook: {failed_ipynb}" if failed_ipynb.exists() else ""),
        duration=time.monotonic() - t0,
    )
    if notify_argv:
        _notify(notify_argv, result)
    return result


def _notebook_title(nb_path: Path, name: str) -> str:
    try:
        title = json.loads(nb_path.read_text(encoding="utf-8")).get("metadata", {}).get("title")
    except (OSError, ValueError):
        title = None
    return str(title) if title else name.replace("_", " ").capitalize()


# -- step 3: tell someone ----------------------------------------------------------------------


def _notify_argv(notify_cmd: str | None) -> list[str] | None:
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
            timeout=NOTIFY_TIMEOUT,
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


def main(
    name: str,
    period: str | None = None,
    last: str | None = None,
    db: Path | str = paths.DEFAULT_DB,
    out: Path | str = paths.REPORTS_DIR,
    params: list[str] | Mapping[str, Any] | None = None,
    notify_cmd: str | None = None,
    progress: bool = True,
    notebook_dir: Path | str | None = None,
    today: date | None = None,
) -> int:
    """``ta-outcomes report``: print the report's path and return 0, or raise a UserError.

    Bad parameters and a missing store raise BadParameter / StoreMissing (exit 2) before any
    kernel starts; a failing report raises :class:`ReportFailed` (exit 1) with one line naming
    the failing cell, after the catalogue and the notify command have been updated.
    """
    _notify_argv(notify_cmd)  # refuse a malformed command before doing any work
    the_period, effective = resolve_params(
        name, period=period, last=last, params=params, today=today, notebook_dir=notebook_dir
    )
    result = run_report(
        name,
        the_period,
        db=db,
        out_dir=out,
        params=effective,
        progress=progress,
        notify_cmd=notify_cmd,
        notebook_dir=notebook_dir,
    )
    if not result.ok:
        raise ReportFailed(result.error or f"{name} {the_period.label} failed")
    print(result.html)
    return EXIT_OK
