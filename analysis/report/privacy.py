"""Privacy and safe-sharing helpers for what leaves the building in reports and exports.

- :func:`mask_contact_details` hides e-mail addresses and phone numbers inside free text (case
  descriptions, supplier names, quarantine reasons) before a report shows it. Buyers write their
  contact details into descriptions; a report sent to a journalist must not carry them. The
  ingest masks descriptions and extra columns with the same rule before they are stored (the
  SQL macro ``ta_mask_contacts`` of ``analysis/ingest/sql/macros.sql``; a property test keeps
  the two equal); this masking stays for what a store loaded before that holds, and for names.
- :func:`neutralise_formula` / :func:`neutralise_formulas` defuse spreadsheet formula injection in
  tables exported as CSV: a cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
  return, which some spreadsheets strip before reading the formula) gets a leading apostrophe, so
  Excel and LibreOffice show it as text instead of evaluating it.

Masking is deliberately conservative: it would rather hide a long reference number that looks like
a phone number than let a real phone number through. It is for free text only: a value of the
store's id columns (``case_id``, ``supplier_id``; a 16-digit order number is a case id) is shown
as it is, through :func:`analysis.report.fmt.identifier`, so that a reader can find the case.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

EMAIL_MASK = "[email hidden]"
PHONE_MASK = "[phone hidden]"

# local@domain.tld, including dots, plus-addressing and sub-domains. The look-behind lets a match
# start only where a run of local-part characters starts: without it a long run with no "@"
# would be re-scanned from every position (quadratic time on a megabyte description).
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)

# One scan with three alternatives, tried in this order at each position:
#   iso_date  2026-10-01 is a date, never a phone: consumed and kept as it is;
#   amount    1234567.89 (digits, one dot, two decimals) is an amount: kept;
#   phone     a run of digits and the separators phone numbers use (space, dot, dash, slash,
#             parentheses), optionally led by + or 00. The run is taken whole and never
#             backtracked into (linear time on any input); _mask_phone then decides, from the
#             digits it holds and the character after it, whether it is a phone number.
_NUMBERISH = re.compile(
    r"(?P<iso_date>(?<![\w.\-/])\d{4}-\d{2}-\d{2}(?![\w\-]))"
    r"|(?P<amount>(?<![\w.\-/])\d+\.\d{2}(?![\w.\-]))"
    r"|(?P<phone>(?<![\w.\-/+@])(?:\+|\b00)?\(?\d[\d().\-/ ]*)"
)
# The number itself: up to its last digit (and a closing parenthesis right after it).
_PHONE_CORE = re.compile(r".*\d\)?", re.DOTALL)
_GLUED = re.compile(r"[\w@]")

#: A number led by + (or 00) is international: 7 digits suffice. Otherwise ask for 9, so that
#: order numbers like 20261001 and short counts stay readable. There is no upper bound: a run
#: longer than a phone number (two numbers in a row, a card number) is hidden as well.
_MIN_DIGITS_INTERNATIONAL = 7
_MIN_DIGITS_LOCAL = 9


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    if match.lastgroup != "phone":
        return text
    core = _PHONE_CORE.match(text).group(0)
    after = match.string[match.start() + len(core) : match.start() + len(core) + 1]
    if _GLUED.match(after):
        return text  # glued to a word or an address ("ORD5551234567x"): not a phone number
    digits = sum(ch.isdigit() for ch in core)
    international = core.startswith(("+", "00"))
    minimum = _MIN_DIGITS_INTERNATIONAL if international else _MIN_DIGITS_LOCAL
    if digits >= minimum:
        return PHONE_MASK + text[len(core) :]
    return text


def mask_contact_details(text: Any) -> Any:
    """Replace e-mail addresses and phone numbers inside ``text`` with placeholders.

    ``"Call +86 138 0013 8000 or mail li@example.cn"`` becomes
    ``"Call [phone hidden] or mail [email hidden]"``. ISO dates (2026-10-01), amounts with two
    decimals and numbers of fewer than 9 digits (7 when led by + or 00) are left alone.
    Non-strings (None, NaN, numbers) are returned unchanged, so this can be mapped over a column.
    """
    if not isinstance(text, str):
        return text
    masked = _EMAIL.sub(EMAIL_MASK, text) if "@" in text else text
    return _NUMBERISH.sub(_mask_phone, masked)


def mask_frame(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with contact details masked in ``columns`` (default: every text column)."""
    masked = frame.copy()
    if columns is None:
        columns = [c for c in masked.columns if _is_text_column(masked[c])]
    for column in columns:
        masked[column] = masked[column].map(mask_contact_details)
    return masked


# Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection").
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """Return ``value`` with a leading apostrophe when it is text a spreadsheet would evaluate.

    ``"=HYPERLINK(...)"`` becomes ``"'=HYPERLINK(...)"``; ``"-5"`` as *text* becomes ``"'-5"``
    (a real number -5 is left alone: only strings can carry a formula). Non-strings pass through.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` safe to write as CSV for spreadsheets: text cells and headers neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        if _is_text_column(safe[column]):
            safe[column] = safe[column].map(neutralise_formula)
    safe.columns = [neutralise_formula(c) for c in safe.columns]
    return safe


def _is_text_column(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)
