"""What of a buyer's identity the ingest keeps out of the store, besides the buyer column itself.

The buyer column is keyed (:mod:`analysis.ingest.pseudonym`) and a mapping may send it nowhere
else (:mod:`analysis.ingest.mapping`). Two more doors are closed here and in the SQL:

- **Columns that name a person or a contact** (``Buyer Email``, ``Buyer Phone``, ``Customer
  Name``, ``Contact``, ``WhatsApp``, ``收货人电话``) are not kept in ``cases.extra`` nor in a
  quarantined record: :func:`names_a_person_or_contact`. The load line says which were dropped.
- **E-mail addresses and phone numbers** inside what is kept as free text (``description`` and
  every kept extra value) are masked as the file is loaded, set-based in SQL: the macro
  ``ta_mask_contacts`` of ``sql/macros.sql`` (the same rule as the reports' masking,
  :func:`analysis.report.privacy.mask_contact_details`, on RE2). Identifiers are never masked.
"""

from __future__ import annotations

import re

#: A header holding one of these (as a word, or anywhere for the longer ones) names a contact.
CONTACT_WORDS = frozenset({
    "email", "emails", "mail", "phone", "phones", "telephone", "tel", "mobile", "cell",
    "cellphone", "whatsapp", "wechat", "skype", "telegram", "viber", "contact", "contacts", "fax",
    "address", "addresses",
})  # fmt: skip
#: ... found inside a word too ("BuyerEmail", "whatsapp_no", "收货人电话": phone, e-mail, WeChat,
#: contact, consignee, name in Chinese).
CONTACT_PARTS = ("email", "phone", "whatsapp", "wechat", "telegram",
                 "电话", "手机", "邮箱", "邮件", "微信", "联系", "收货人", "姓名")  # fmt: skip
#: Words naming a person on the buyer's side ...
PERSON_WORDS = frozenset({
    "buyer", "buyers", "customer", "customers", "client", "clients", "consumer", "purchaser",
    "complainant", "claimant", "requester", "applicant", "person", "user", "username",
    "买家", "客户",
})  # fmt: skip
#: ... and what identifies one: a header with a person word and one of these ("Customer Name",
#: "Buyer ID", "Client account") or with nothing else ("Buyer", "Customer") is a person.
IDENTITY_WORDS = frozenset({
    "name", "names", "id", "ref", "reference", "account", "acct", "login", "handle", "nick",
    "nickname", "no", "number", "code", "key",
})  # fmt: skip
#: Headers that are a person's name on their own.
NAME_HEADERS = frozenset({"name", "full_name", "first_name", "last_name", "surname",
                          "given_name", "family_name", "fullname", "firstname", "lastname"})  # fmt: skip


def names_a_person_or_contact(header: str) -> bool:
    """Whether an export column's header says its values are a person or a way to reach one.

    ``Buyer Email``, ``buyerPhone``, ``Customer Name``, ``Buyer``, ``Contact``, ``WhatsApp``,
    ``Shipping address``, ``Name`` are; ``Consumer disputed?``, ``Company response to
    consumer``, ``Buyer country``, ``State`` are not (a person word with no identity word).
    """
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(header)).lower()  # buyerEmail: 2 words
    words = set(re.findall(r"[^\W_]+", spaced))
    squashed = re.sub(r"[\W_]+", "", spaced)  # "E-mail", "Whats App" -> email, whatsapp
    if words & CONTACT_WORDS or any(part in squashed for part in CONTACT_PARTS):
        return True
    if "_".join(re.findall(r"[^\W_]+", spaced)) in NAME_HEADERS:
        return True
    person = words & PERSON_WORDS
    return bool(person) and (bool(words & IDENTITY_WORDS) or words <= PERSON_WORDS)
