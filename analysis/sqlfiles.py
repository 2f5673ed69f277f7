"""The project's SQL files: each layer keeps its SQL beside its code (``analysis/<layer>/sql/``).

A file is rendered with Jinja2 over :func:`analysis.columns.sql_context` (the column registry), so
per-column SQL (one parse per amount column, the content hash, the clean step's select list) is
written once as a loop. Only identifiers from the registry are ever placed into SQL text this
way; every value reaches DuckDB as a bound parameter. A step whose SQL depends on the file being
loaded (its columns, the mapping's value maps) is rendered by :func:`render` with that plan added:
identifiers again (a file's sanitised column names, quoted by the ``ident`` filter), never values.
"""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def _environment():
    import jinja2

    env = jinja2.Environment(
        # '{% from "metrics/sql/flags.sql" import supplier_sided %}': a file may import the
        # macros of another, so one SQL expression serves several queries
        loader=jinja2.FunctionLoader(_source),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 (SQL identifiers from the registry, not HTML)
    )
    env.filters["ident"] = ident
    return env


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (a file's column name may be any text)."""
    return '"' + str(name).replace('"', '""') + '"'


def _source(name: str) -> str:
    """The text of ``analysis/<name>`` (``metrics/sql/flags.sql``)."""
    return resources.files("analysis").joinpath(*name.split("/")).read_text(encoding="utf-8")


@functools.cache
def sql(layer: str, name: str) -> str:
    """``analysis/<layer>/sql/<name>``, rendered over the column registry."""
    from analysis import columns

    template = _environment().get_template(f"{layer}/sql/{name}")
    return template.render(**columns.sql_context())


def render(layer: str, name: str, **plan) -> str:
    """``analysis/<layer>/sql/<name>`` rendered over the column registry and ``plan``: what one
    run adds (identifiers, flags and counts; never a value, which is bound)."""
    from analysis import columns

    template = _environment().get_template(f"{layer}/sql/{name}")
    return template.render(**(columns.sql_context() | plan))
