"""Private data is redacted in stored messages, in English and Persian text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from core.engine import TurnRequest
from core.ledger import Message
from core.redaction import KINDS, redact
from tests.conftest import HELPDESK, write_profile


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+x@example.co.uk now", "mail [email] now"),
        ("call +1 (415) 555-2671", "call [phone]"),
        ("call 555-123-4567", "call [phone]"),
        ("شماره من ۰۹۱۲۳۴۵۶۷۸۹ است", "شماره من [phone] است"),
        ("موبایل +98 912 345 6789", "موبایل [phone]"),
        ("کد ملی ۰۰۸۴۵۷۵۹۴۸", "کد ملی [iran_national_id]"),
        ("card 6037-9975-1234-5670", "card [card_number]"),
        ("شماره کارت ۶۰۳۷۹۹۷۵۱۲۳۴۵۶۷۰", "شماره کارت [card_number]"),
        ("IBAN IR820540102680020817909002", "IBAN [iban]"),
        ("I was born on 12/03/1985.", "I was [date_of_birth]."),
        ("DOB: March 12, 1985", "[date_of_birth]"),
        ("تاریخ تولد: ۱۳۶۵/۰۴/۱۲", "[date_of_birth]"),
    ],
)
def test_each_kind(text: str, expected: str) -> None:
    assert redact(text, KINDS) == expected


@pytest.mark.parametrize(
    "text",
    [
        "قیمت ۲۱٬۹۰۰٬۰۰۰ تومان",  # a price
        "order 1234567890",  # ten digits that are not a valid national code
        "delivered 2024-07-18",  # a date that is not a birth date
        "SKU S24-ULTRA-256",
        "1,250,000 toman",
    ],
)
def test_what_is_not_private_stays(text: str) -> None:
    assert redact(text, KINDS) == text


def test_only_the_profiles_kinds_are_redacted() -> None:
    assert redact("a@b.io 09123456789", ["email"]) == "[email] 09123456789"


@pytest.mark.anyio
async def test_stored_messages_are_redacted_but_the_model_sees_the_original(
    fake, settings, profiles_dir, load_runtime
) -> None:
    write_profile(profiles_dir, HELPDESK + "privacy: {redact: [email, phone]}\n", "helpdesk.yaml")
    runtime = load_runtime(settings)
    result = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="I am jo@x.org, 09123456789"))
    assert fake.chat_requests()[0]["messages"][-1]["content"] == "I am jo@x.org, 09123456789"
    with runtime.database.session() as session:
        stored = session.exec(select(Message).where(Message.conversation_id == result.conversation_id)).all()
    assert [m.content for m in stored] == ["I am [email], [phone]", "echo: I am [email], [phone]"]


def test_unknown_kinds_are_a_profile_error(tmp_path) -> None:
    from core.errors import ProfileError
    from core.hooks import available_bots
    from core.pricing import PriceTable
    from core.profiles import load_profiles

    write_profile(tmp_path / "p", HELPDESK + "privacy: {redact: [emails]}\n", "helpdesk.yaml")
    with pytest.raises(ProfileError, match=r"privacy\.redact: value error, unknown kinds \['emails'\]"):
        load_profiles(tmp_path / "p", PriceTable.load(), available_bots())


def test_order_numbers_are_not_taken_for_phone_numbers() -> None:
    kinds = ["phone"]
    assert redact("order #A-123-456-7890 is late", kinds) == "order #A-123-456-7890 is late"
    assert redact("ORD-0912345678 please", kinds) == "ORD-0912345678 please"
    assert redact("call me on 0912 345 6789", kinds) == "call me on [phone]"


def _independent(split: str) -> list[dict[str, object]]:
    path = Path(__file__).parent / "data" / f"redaction_{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# Kinds the set covers that domainbots does not redact (a passport, a US SSN, a birth
# certificate number): out of scope, so not counted against the rules.
_OUT_OF_SCOPE = {"V-015", "RD2-073"}
_MEDICAL_KINDS = ["email", "phone", "card_number", "date_of_birth", "iran_national_id"]


def test_the_independent_dev_split_is_redacted_and_its_look_alikes_are_kept() -> None:
    """tests/data/redaction_dev.jsonl was written by a helper that had not read this code
    (brief: tests/data/briefs/redaction_writer.md); the test split is measured, not asserted."""
    rows = _independent("dev")
    missed = [
        (row["id"], pii)
        for row in rows
        if row["id"] not in _OUT_OF_SCOPE
        for pii in row["pii"]  # type: ignore[attr-defined]
        if pii in redact(str(row["text"]), _MEDICAL_KINDS)
    ]
    changed = [row["id"] for row in rows if not row["pii"] and redact(str(row["text"]), _MEDICAL_KINDS) != row["text"]]
    assert len(rows) >= 30
    assert missed == []
    assert changed == []
