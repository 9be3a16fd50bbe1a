"""Private data taken out of text before it is stored (the model still sees the turn as sent).

Kinds are named in a profile's ``privacy.redact``. Patterns accept Persian and
Arabic-Indic digits as well as ASCII (Python's \\d matches all of them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from core.language import fold_digits

_SEP = r"[ \-]?"
_ZERO = "[0۰٠]"  # a zero in any of the three digit sets


def _iran_national_id_ok(digits: str) -> bool:
    """The check digit of an Iranian national code (کد ملی)."""
    code = fold_digits(re.sub(r"[ \-]", "", digits))
    if len(set(code)) == 1:
        return False
    total = sum(int(code[i]) * (10 - i) for i in range(9)) % 11
    check = int(code[9])
    return check == total if total < 2 else check == 11 - total


# Month names a birth date is written with: English, the Solar Hijri (Jalali) months and
# the Gregorian months as Persian writes them.
_MONTHS_FA = (
    "فروردین|اردیبهشت|خرداد|تیر|مرداد|امرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند"
    "|ژانویه|فوریه|مارس|آوریل|مه|می|ژوئن|ژوئیه|جولای|اوت|آگوست|سپتامبر|اکتبر|نوامبر|دسامبر"
)
_DATE = (
    r"(?:\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?[A-Za-z]{3,9},?\s+\d{4}|[A-Za-z]{3,9}\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
    r"|\d{1,2}(?:\s*ام)?\s+(?:" + _MONTHS_FA + r")(?:\s+ماه)?(?:\s+(?:سال\s+)?\d{2,4})?)"
)


# (kind, pattern, optional check): most specific first, so an IBAN is not read as a card,
# nor a checksum-valid national code (which may start 00) as an international phone number.
def _luhn_ok(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


_RULES: list[tuple[str, re.Pattern[str], Callable[[str], bool] | None]] = [
    ("iban", re.compile(r"\bIR(?:" + _SEP + r"\d){24}\b", re.IGNORECASE), None),
    # a tracking code of 16 digits is no card: card numbers pass the Luhn check
    ("card_number", re.compile(r"(?<!\d)\d{4}" + _SEP + r"\d{4}" + _SEP + r"\d{4}" + _SEP + r"\d{4}(?!\d)"), _luhn_ok),
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), None),
    (
        "date_of_birth",
        re.compile(
            r"(?:\b(?:born(?:\s+on)?|date\s+of\s+birth|DOB|birthday)\b|تاریخ\s*(?:ی\s*)?تولد(?:\s*(?:من|م|ام))?|متولد|تولدم|زاده"
            r"|\b(?:tarikhe?\s+)?tavalod(?:am|esh)?\b|\bmotevalede?\b)"
            r"\s*(?:is\s+|:\s*|هست\s+|در\s+|روز\s+)?"
            + _DATE
            # or the date first, "born" after it: "۱۲ مرداد ۱۳۷۰ به دنیا اومدم", "5 bahman 1369 be donya omadam"
            + r"|"
            + _DATE
            + r"\s+(?:به\s*دنیا\s*(?:اومدم|آمدم|اومده|آمده|اومد|آمد)"
            r"|(?:be\s*)?donya\s*(?:omadam|oomadam|omade|umadam)|(?:i\s+)?was\s+born)",
            re.IGNORECASE,
        ),
        None,
    ),
    # written whole or as 3-6-1 with dashes or spaces, as on the card
    ("iran_national_id", re.compile(r"(?<![\d-])\d{3}([ \-]?)\d{6}\1\d(?![\d-])"), _iran_national_id_ok),
    (
        "phone",
        re.compile(
            # never inside a code: an order number (#A-123-456-7890, ORD-0912345678) is no phone
            r"(?<![\w#-])(?:\+|" + _ZERO + _ZERO + r")\d{1,3}[\s.\-]?(?:\(?\d{1,4}\)?[\s.\-]?){2,5}\d{2,4}"
            r"|(?<![\w#-])" + _ZERO + r"\d{2,3}[\s.\-]?\d{3,4}[\s.\-]?\d{3,4}(?![\w-])"  # national: 0912 345 6789
            r"|\(\d{3}\)\s?\d{3}[\s.\-]\d{4}|(?<![\w#-])\d{3}[.\-]\d{3}[.\-]\d{4}(?![\w-])"  # North American
        ),
        None,
    ),
]
KINDS = frozenset(kind for kind, _, _ in _RULES)


def _keep_unless(check: Callable[[str], bool], label: str) -> Callable[[re.Match[str]], str]:
    """A match the check accepts becomes the label; others stay as they were."""

    def replace(match: re.Match[str]) -> str:
        return label if check(match.group()) else match.group()

    return replace


def redact(text: str, kinds: Iterable[str]) -> str:
    wanted = set(kinds)
    for kind, pattern, check in _RULES:
        if kind not in wanted:
            continue
        label = f"[{kind}]"
        text = pattern.sub(label if check is None else _keep_unless(check, label), text)
    return text
