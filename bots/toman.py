"""Money and dates as an Iranian shop writes them: toman with Persian digits, Jalali dates."""

from __future__ import annotations

import re
from datetime import date, timedelta

from persiantools.jdatetime import JalaliDate

from core.language import fold_digits

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
FRIDAY = 4  # date.weekday(): the Iranian weekend


def persian_digits(value: int | str) -> str:
    return str(value).translate(_PERSIAN_DIGITS)


def format_toman(amount: int, language: str = "fa") -> str:
    """``21900000 -> '۲۱٬۹۰۰٬۰۰۰ تومان'`` (Persian digits, Arabic thousands separator)."""
    if language != "fa":
        return f"{amount:,} toman"
    return f"{amount:,}".replace(",", "٬").translate(_PERSIAN_DIGITS) + " تومان"


def delivery_date(today: date, working_days: int) -> date:
    """``working_days`` after today, Fridays not counted."""
    day = today
    left = working_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() != FRIDAY:
            left -= 1
    return day


def jalali(day: date, language: str = "fa") -> str:
    if language != "fa":
        return f"{day:%A %d %B %Y} ({JalaliDate(day).strftime('%d %B %Y')} in the Iranian calendar)"
    return JalaliDate(day).strftime("%A %d %B %Y", locale="fa")


# "۵۰ تومن": colloquially often fifty *thousand* toman; a shop should ask, not guess.
_BARE_AMOUNT = re.compile(r"(?<![\d,٬.])(\d{1,3})\s*(?:تومن|تومان|toman)(?!\s*(?:هزار|میلیون))", re.IGNORECASE)
_SCALED = re.compile(r"(\d{1,3})\s*(?:هزار|میلیون|k|m|تومنی)", re.IGNORECASE)


def ambiguous_amounts(text: str) -> list[str]:
    """Amounts written too short to be read for sure, e.g. ['50 تومن']."""
    folded = fold_digits(text)
    if _SCALED.search(folded):
        return []
    return [match.group(0) for match in _BARE_AMOUNT.finditer(folded)]
