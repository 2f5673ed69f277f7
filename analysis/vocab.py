"""The vocabularies, read once from ``data/reference/``: the only source of slugs, display names,
synonyms and outcome classes.

Ingest maps spellings onto these slugs (:mod:`analysis.ingest.reference` loads them into the
connection), the metrics SQL receives the outcome classes as bound lists (never as literals), the
reports take their labels from here and the demo draws from the same slugs. A user who adds a
row to ``outcomes.csv`` (say ``goodwill_credit``, final, decided and monetary) changes all of them
at once, with no code change.

Outcome classes:

- **final**: the case is over (every outcome but ``open``);
- **decided**: a decision on the claim (full, partial or no refund, replacement);
- **monetary**: a decision about money (decided minus replacement);
- **lapsed**: final without a decision (withdrawn, cancelled, out of coverage);
- **buyer_loss**: a lapse that leaves the buyer with nothing they chose (cancelled for missing
  evidence, out of coverage), as opposed to a withdrawal. Used by ``buyer_lost_rate``.
- **refund_share**: the share of the claim an outcome refunds by definition (full_refund 1,
  no_refund 0): a case without amounts is still decided by it; a partial refund without amounts
  is undetermined.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from analysis import settings
from analysis.errors import BadFile

#: The reference files and the field each one describes.
FILES = {
    "category": "categories.csv",
    "claim_type": "claim_types.csv",
    "outcome": "outcomes.csv",
}
#: The other vocabularies live together in one file, one row per (field, slug).
OTHER_FILE = "vocabularies.csv"
OUTCOME_FLAGS = ("is_final", "is_decided", "is_monetary")


@dataclass(frozen=True)
class Term:
    """One slug of a vocabulary with its display name and its synonyms."""

    field: str
    slug: str
    display_name: str
    synonyms: tuple[str, ...] = ()
    flags: dict = field(default_factory=dict, compare=False, hash=False)

    def spellings(self) -> tuple[str, ...]:
        """Every text that means this slug (slug, display name, synonyms)."""
        return (self.slug, self.display_name, *self.synonyms)


@dataclass(frozen=True)
class Vocabulary:
    """Every vocabulary of one reference folder."""

    folder: Path
    terms: tuple[Term, ...]

    def of(self, field_name: str) -> tuple[Term, ...]:
        """The terms of one field, in file order."""
        return tuple(t for t in self.terms if t.field == field_name)

    def slugs(self, field_name: str) -> tuple[str, ...]:
        """The slugs of one field, in file order."""
        return tuple(t.slug for t in self.of(field_name))

    def fields(self) -> tuple[str, ...]:
        """Every field with a vocabulary."""
        return tuple(dict.fromkeys(t.field for t in self.terms))

    def display_name(self, field_name: str, slug: str) -> str | None:
        """The display name of ``slug`` in ``field_name``, or None for an unknown slug."""
        term = next((t for t in self.of(field_name) if t.slug == slug), None)
        return term.display_name if term else None

    def resolve(self, field_name: str, text: str) -> str | None:
        """The slug that ``text`` (a slug, display name or synonym, any case and punctuation)
        means in ``field_name``, or None."""
        wanted = key(text)
        for term in self.of(field_name):
            if any(key(spelling) == wanted for spelling in term.spellings()):
                return term.slug
        return None

    def outcomes_where(self, **flags: bool) -> tuple[str, ...]:
        """Outcome slugs whose flags equal ``flags`` (e.g. ``is_decided=True``)."""
        return tuple(
            t.slug
            for t in self.of("outcome")
            if all(t.flags.get(name) == wanted for name, wanted in flags.items())
        )

    @property
    def final(self) -> tuple[str, ...]:
        return self.outcomes_where(is_final=True)

    @property
    def decided(self) -> tuple[str, ...]:
        return self.outcomes_where(is_decided=True)

    @property
    def monetary(self) -> tuple[str, ...]:
        return self.outcomes_where(is_monetary=True)

    @property
    def lapsed(self) -> tuple[str, ...]:
        return self.outcomes_where(is_final=True, is_decided=False)

    @property
    def buyer_loss(self) -> tuple[str, ...]:
        return self.outcomes_where(is_final=True, is_decided=False, buyer_loss=True)

    def outcome_classes(self) -> dict[str, list[str]]:
        """The outcome classes as lists, for binding into the metrics SQL."""
        return {
            "final_outcomes": list(self.final),
            "decided_outcomes": list(self.decided),
            "monetary_outcomes": list(self.monetary),
            "lapsed_outcomes": list(self.lapsed),
            "buyer_loss_outcomes": list(self.buyer_loss),
            # money decided by the outcome alone, for cases without amounts
            "refund_none_outcomes": [
                t.slug for t in self.of("outcome") if t.flags.get("refund_share") == 0
            ],
            "refund_full_outcomes": [
                t.slug for t in self.of("outcome") if t.flags.get("refund_share") == 1
            ],
        }


_NON_ALNUM = re.compile(r"[\W_]+")


def key(text: str) -> str:
    """The lookup key of a spelling: lower case, every run of characters that are not letters
    or digits as one space, trimmed. The same rule as the ingest's SQL macro ``ta_key``
    (``tests/test_vocab.py`` checks that the two agree)."""
    return _NON_ALNUM.sub(" ", _lower(str(text))).strip()


def _lower(text: str) -> str:
    """Lower case as DuckDB's ``lower()`` gives it: character by character. Python's
    ``str.lower`` applies the one context rule of Unicode (a capital sigma ending a word becomes
    the final 'ς', 'AΣ' -> 'aς', where DuckDB gives 'aσ') and lowers the dotted capital 'İ' to
    'i' plus a combining dot (which the key then turns into a space: 'İzmir' -> 'i zmir'), where
    DuckDB gives 'i'. Checked against DuckDB over every character up to U+2FFFF."""
    return "".join("i" if ch == "\u0130" else ch.lower() for ch in text)


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.exists():
        raise BadFile(f"{path}: reference file missing (restore it from git: data/reference/)")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise BadFile(f"{path}: reference file lacks the column(s) {', '.join(missing)}")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _flag(path: Path, row: dict, name: str) -> bool:
    value = row.get(name, "").lower()
    if value not in ("true", "false", ""):
        raise BadFile(f"{path}: {row.get('slug')}: {name} must be true or false, got {value!r}")
    return value == "true"


def _share(path: Path, row: dict) -> float | None:
    """outcomes.csv's refund_share: the share of the claim an outcome refunds by definition (1 for
    a full refund, 0 for none), so that a case without amounts is still decided; blank when the
    outcome says nothing about the amount (a partial refund)."""
    value = row.get("refund_share", "")
    if value == "":
        return None
    if value not in ("0", "1"):
        raise BadFile(
            f"{path}: {row.get('slug')}: refund_share must be 0, 1 or blank, got {value!r}"
        )
    return float(value)


def _synonyms(row: dict) -> tuple[str, ...]:
    return tuple(s.strip() for s in row.get("synonyms", "").split("|") if s.strip())


def _read(folder: Path) -> Vocabulary:
    terms: list[Term] = []
    for field_name, filename in FILES.items():
        path = folder / filename
        extra = OUTCOME_FLAGS if field_name == "outcome" else ()
        for row in _rows(path, ("slug", "display_name", *extra)):
            if not row["slug"]:
                continue
            flags = {}
            if field_name == "outcome":
                flags = {name: _flag(path, row, name) for name in (*OUTCOME_FLAGS, "buyer_loss")}
                flags["refund_share"] = _share(path, row)
                if flags["is_monetary"] and not flags["is_decided"]:
                    raise BadFile(f"{path}: {row['slug']}: a monetary outcome must be decided")
                if flags["is_decided"] and not flags["is_final"]:
                    raise BadFile(f"{path}: {row['slug']}: a decided outcome must be final")
            terms.append(
                Term(
                    field_name,
                    row["slug"],
                    row["display_name"] or row["slug"],
                    _synonyms(row),
                    flags,
                )
            )
    path = folder / OTHER_FILE
    for row in _rows(path, ("field", "slug")):
        if row["field"] and row["slug"]:
            name = row.get("display_name") or row["slug"].replace("_", " ")
            terms.append(Term(row["field"], row["slug"], name, _synonyms(row)))
    seen: set[tuple[str, str]] = set()
    for term in terms:
        if (term.field, term.slug) in seen:
            raise BadFile(f"{folder}: the {term.field} slug '{term.slug}' is listed twice")
        seen.add((term.field, term.slug))
    return Vocabulary(folder, tuple(terms))


@functools.lru_cache(maxsize=8)
def _cached(folder: str, stamp: tuple) -> Vocabulary:
    return _read(Path(folder))


def vocabulary(folder: Path | str | None = None) -> Vocabulary:
    """The vocabularies of ``folder`` (default: :func:`analysis.settings.reference_dir`).

    Read once per process, and again only when one of the files changes.
    """
    folder = Path(folder or settings.reference_dir())
    names = [*FILES.values(), OTHER_FILE]
    stamp = tuple(
        (n, (folder / n).stat().st_mtime_ns if (folder / n).exists() else None) for n in names
    )
    return _cached(str(folder), stamp)
