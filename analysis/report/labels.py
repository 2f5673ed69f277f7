"""Readable names for slugs and breakdowns: from the vocabularies and the breakdown registry."""

from __future__ import annotations

from typing import Any

from analysis import vocab
from analysis.metrics import breakdowns
from analysis.report.fmt import missing


def label(field_name: str | None, slug: Any) -> str:
    """A reader's name for ``slug`` of ``field_name`` (a breakdown or a vocabulary field)."""
    if missing(slug):
        return breakdowns.UNKNOWN
    if field_name in breakdowns.BY_NAME:
        return breakdowns.BY_NAME[field_name].label(slug)
    if field_name in vocab.vocabulary().fields():
        name = vocab.vocabulary().display_name(field_name, str(slug))
        if name:
            return name
    return str(slug).replace("_", " ")


def title(by: str) -> str:
    """The title of breakdown ``by`` ('Claim type')."""
    found = breakdowns.BY_NAME.get(by)
    return found.title if found else by.replace("_", " ").capitalize()
