"""analysis.metrics.definitions: every definition once, and docs/metrics.md generated from it."""

from __future__ import annotations

from pathlib import Path

from analysis import metrics
from analysis.metrics import (
    BLOCK_FIELDS,
    DEFINITIONS,
)


def test_docs_carry_every_definition():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "metrics.md").read_text("utf-8")
    # The generated section of docs/metrics.md is exactly DEFINITIONS.
    assert metrics.definitions_markdown() in doc
    for name, text in DEFINITIONS:
        assert text in doc, name
    names = [name for name, _ in DEFINITIONS]
    assert len(names) == len(set(names))
    # Every field of the JSON block is defined or explained in the doc.
    for field in BLOCK_FIELDS:
        assert f"`{field}`" in doc, field
