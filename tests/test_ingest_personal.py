"""analysis.ingest.personal: which export columns name a person or a contact (not kept)."""

from __future__ import annotations

import pytest

from analysis.ingest.personal import names_a_person_or_contact


@pytest.mark.parametrize(
    "header",
    ["Buyer Email", "buyerPhone", "Buyer e-mail", "Customer Name", "Customer ID", "Buyer",
     "Contact", "WhatsApp", "Whats App", "Shipping address", "Name", "Last name", "tel",
     "收货人电话", "买家", "微信号", "buyer_ref_2"],
)  # fmt: skip
def test_a_person_or_a_contact_is_named(header):
    assert names_a_person_or_contact(header)


@pytest.mark.parametrize(
    "header",
    ["Consumer disputed?", "Company response to consumer", "Buyer country", "State",
     "ZIP code", "Supplier name", "Company", "Tracking number", "Order note", "Sub-issue",
     "Tags", "Submitted via", "案件编号"],
)  # fmt: skip
def test_other_columns_are_kept(header):
    assert not names_a_person_or_contact(header)
