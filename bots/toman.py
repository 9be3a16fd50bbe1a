"""Money and dates as an Iranian shop writes them: toman with Persian digits, Jalali dates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from persiantools.jdatetime import JalaliDate

from core.language import fold_digits

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FRIDAY = 4  # date.weekday(): the Iranian weekend
TEHRAN = ZoneInfo("Asia/Tehran")


def persian_digits(value: int | str) -> str:
    return str(value).translate(_PERSIAN_DIGITS)


def format_toman(amount: int, language: str = "fa") -> str:
    """The catalog's way: ``۲۱٬۹۰۰٬۰۰۰ تومان`` (fa: Persian digits, Arabic thousands separator),
    ``٢١٬٩٠٠٬٠٠٠ تومان`` (ar), ``21,900,000 toman`` (anything else)."""
    if language == "fa":
        return f"{amount:,}".replace(",", "٬").translate(_PERSIAN_DIGITS) + " تومان"
    if language == "ar":
        return f"{amount:,}".replace(",", "٬").translate(_ARABIC_DIGITS) + " تومان"
    return f"{amount:,} toman"


def tehran_today() -> date:
    """Today where the shop is: the server's clock may be UTC, and Tehran is 3:30 ahead."""
    return datetime.now(TEHRAN).date()


@cache
def _iran_holidays(year: int) -> holidays.HolidayBase:
    # The `holidays` package's Iran calendar: Solar Hijri holidays and the lunar ones
    # (estimated a year ahead, as Iran announces them).
    return holidays.country_holidays("IR", years=[year, year + 1])


def is_working_day(day: date) -> bool:
    return day.weekday() != FRIDAY and day not in _iran_holidays(day.year)


def delivery_date(today: date, working_days: int) -> date:
    """``working_days`` after today, Fridays and Iran's official holidays not counted."""
    day = today
    left = working_days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
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
