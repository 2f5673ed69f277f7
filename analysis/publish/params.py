"""Report parameters, checked before any kernel starts.

Everything a user can get wrong is refused here, with one line: the notebook name, the period, every
``-p key=value`` against the notebook's ``parameters`` cell (read with
``papermill.inspect_notebook``, values coerced to the declared types) and the metric parameters
(:class:`analysis.metrics.params.Params`, the one place they are validated).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis import settings, vocab
from analysis.errors import BadParameter
from analysis.metrics.params import PARAM_NAMES

if TYPE_CHECKING:
    from analysis.metrics.periods import Period

#: What --last accepts: the latest complete month, quarter or year, or the 12 months to the
#: latest complete month.
LAST = ("month", "quarter", "year", "12-months")
#: Parameters the runner sets itself, from --period/--last and --db; never from -p.
RUNNER_KEYS = ("db", "period", "start", "end")
#: Parameters validated by metrics.Params (and used for metrics.json).
METRIC_KEYS = PARAM_NAMES

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def notebook_path(name: str, notebook_dir: Path | str | None = None) -> Path:
    """``NOTEBOOK_DIR/NAME.ipynb``; BadParameter naming the available reports otherwise."""
    folder = Path(notebook_dir) if notebook_dir is not None else settings.notebooks_dir()
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
    from analysis import metrics
    from analysis.metrics import periods

    nb_path = notebook_path(name, notebook_dir)
    if (period is None) == (last is None):
        raise BadParameter(
            "give exactly one of --period (e.g. 2026-10) and --last month|quarter|12-months"
        )
    today = today or date.today()
    if period is not None:
        the_period = periods.parse_period(period)
    else:
        if last not in LAST:
            raise BadParameter(f"--last {last!r}: use one of {', '.join(LAST)}")
        if last == "12-months":
            # the trailing 12 months to the latest complete month (a supplier's scorecard)
            month = periods.last_complete("month", today)
            first = periods.trailing_months(month.end, settings.TRAILING_MONTHS).start
            the_period = periods.range_period(first, month.end)
        else:
            the_period = periods.last_complete(last, today)
    if the_period.end > today:
        # A period not over yet would be reported as if it were: its last days would read as
        # days without disputes (and 9999-12 would fail deep inside a notebook).
        raise BadParameter(
            f"period {period or last!r} ends on {the_period.end.isoformat()}, after today "
            f"({today.isoformat()}); report a period that is over, e.g. --last month"
        )

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

    if effective.get("category"):
        # a slug or a display name ("Electronics"), as ingest accepts them
        slug = vocab.vocabulary().resolve("category", str(effective["category"]))
        if slug is None:
            known = ", ".join(vocab.vocabulary().slugs("category"))
            raise BadParameter(
                f"category {effective['category']!r}: not a category (categories: {known})"
            )
        effective["category"] = slug
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
