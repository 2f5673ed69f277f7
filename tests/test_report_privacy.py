"""Tests for analysis.privacy: contact details masked in free text, formula injection neutralised."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.report.privacy import (
    EMAIL_MASK,
    PHONE_MASK,
    mask_contact_details,
    mask_frame,
    neutralise_formula,
    neutralise_formulas,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # e-mails, with plus-addressing and a multi-part domain
        ("mail li.wei+ta@example.com.cn today", f"mail {EMAIL_MASK} today"),
        ("a@b.co", EMAIL_MASK),
        # international numbers: led by + or 00, 7+ digits
        ("Call +86 138 0013 8000 now", f"Call {PHONE_MASK} now"),
        ("+44 20 7946 0958", PHONE_MASK),
        ("0049 30 1234567", PHONE_MASK),
        # local numbers: 9+ digits with the usual separators, parentheses included
        ("(555) 123-4567 x", f"{PHONE_MASK} x"),
        ("tel: 555-123-4567.", f"tel: {PHONE_MASK}."),
        ("phone:13800138000", f"phone:{PHONE_MASK}"),
        # two numbers in a row (19 digits) are still hidden: no upper bound
        ("call 138 0013 8000 1234 5678", f"call {PHONE_MASK}"),
        # both kinds in one text
        ("x@y.org / +1 212 555 0100", f"{EMAIL_MASK} / {PHONE_MASK}"),
        # separators after the number stay as they were
        ("call 555 123 4567 (mobile)", f"call {PHONE_MASK} (mobile)"),
    ],
)
def test_masks_emails_and_phone_numbers(text, expected):
    assert mask_contact_details(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Shipped 2026-10-01 14 days late",  # an ISO date followed by a count: 10 digits in a row
        "order 20261001 qty 5000",  # 8 digits: below the 9 a local number needs
        "case TA-2026-000123",  # an id glued to letters by a dash
        "claimed 1234567.89 USD",  # an amount with two decimals
        "$10,000 claim, $150 refund",  # thousands separators split the digits
        "ref 2026/10/01",
        "12.5 kg; 3 pcs",
        "ORD5551234567x",  # digits glued to letters are a reference, not a phone number
        "5551234567x and more",
        "",
    ],
)
def test_leaves_dates_amounts_and_short_numbers_alone(text):
    assert mask_contact_details(text) == text


@pytest.mark.parametrize("value", [None, 12.5, 7, float("nan")])
def test_non_strings_pass_through(value):
    result = mask_contact_details(value)
    assert result is value


@settings(max_examples=60, deadline=None)
@given(
    user=st.from_regex(r"[a-z][a-z0-9._]{0,10}", fullmatch=True),
    domain=st.from_regex(r"[a-z]{2,8}\.(com|cn|de|co\.uk)", fullmatch=True),
    before=st.text(alphabet="abc xyz,;:", max_size=15),
    after=st.text(alphabet="abc xyz,;:", max_size=15),
    digits=st.lists(st.integers(0, 9), min_size=9, max_size=13),
)
def test_no_email_or_phone_survives(user, domain, before, after, digits):
    email = f"{user}@{domain}"
    phone = "+" + "".join(map(str, digits))
    text = f"{before} {email} {after} {phone} {after}"
    masked = mask_contact_details(text)
    assert email not in masked and phone not in masked
    assert masked.count(EMAIL_MASK) == 1 and masked.count(PHONE_MASK) == 1
    # idempotent: masking the masked text changes nothing
    assert mask_contact_details(masked) == masked


@pytest.mark.parametrize(
    ("text", "phones", "emails"),
    [
        # Inputs that make naive patterns re-scan the text from every position (quadratic
        # time: minutes on a megabyte description). These finish at once and mask correctly.
        ("1 " * 100_000 + "x", 1, 0),  # one long run of digits: hidden as one "number"
        ("1" * 200_000 + "x", 0, 0),  # glued to a letter: not a phone number
        ("a" * 200_000 + " b@c.de", 0, 1),  # a long local-part-like run without "@"
        ("a@" * 100_000 + "x", 0, 0),  # many "@", no domain
        ("(" * 200_000, 0, 0),
    ],
)
def test_long_hostile_inputs(text, phones, emails):
    masked = mask_contact_details(text)
    assert masked.count(PHONE_MASK) == phones and masked.count(EMAIL_MASK) == emails


def test_mask_frame_masks_text_columns_only():
    frame = pd.DataFrame(
        {"case_id": ["TA-1"], "description": ["mail me: a@b.com"], "claim_usd": [13800138000.0]}
    )
    masked = mask_frame(frame)
    assert masked.loc[0, "description"] == f"mail me: {EMAIL_MASK}"
    assert masked.loc[0, "case_id"] == "TA-1"
    assert masked.loc[0, "claim_usd"] == 13800138000.0  # a number is not a phone
    assert frame.loc[0, "description"] == "mail me: a@b.com"  # the input is not modified


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("ACME = best", "ACME = best"),  # an = not at the start is harmless
        ("", ""),
        (-5, -5),  # a real number is not text a spreadsheet evaluates
        (None, None),
    ],
)
def test_neutralise_formula(value, expected):
    assert neutralise_formula(value) == expected


def test_neutralise_formulas_in_a_csv_export():
    frame = pd.DataFrame({"supplier": ["=cmd|' /C calc'!A0", "Acme"], "claim_usd": [-5.0, 10.0]})
    buffer = io.StringIO()
    neutralise_formulas(frame).to_csv(buffer, index=False)
    # the formula cell is quoted text led by an apostrophe; the negative number stays a number
    assert buffer.getvalue().splitlines() == [
        "supplier,claim_usd",
        "'=cmd|' /C calc'!A0,-5.0",
        "Acme,10.0",
    ]
