"""The language of a message, and Persian text made comparable.

Detection runs on the raw text, before any normalizing: hazm rewrites Arabic and
Urdu letters into Persian ones, which would erase the evidence. langdetect is
seeded (it is random otherwise) and loads only the languages that matter here; it
is wrong on one- or two-word Persian ("سلام" -> ur) and refuses digits, emoji and
URLs, so script rules come first and the conversation's language is the fallback.

Normalizing: NFKC (lam-alef ligatures, presentation forms), then one shared hazm
Normalizer in the settings that keep prices, SKUs, emails and URLs intact, then
digits folded to ASCII for parsing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("fa", "ar", "ur", "en")
# hazm's repeated-character step is quadratic on long unbroken text.
MAX_NORMALIZE_CHARS = 2000

_URL = re.compile(r"https?://\S+|www\.\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PERSIAN_ONLY = set("پچژگ")  # not in Arabic or used differently there
_URDU_ONLY = set("ٹڈڑںےۓھہ")
_ARABIC_ONLY = set("ةأإؤئءًٌٍَُِّ") | {"\u0649"}  # ta marbuta, hamza forms, harakat, alef maksura
_ARABIC_WORDS = re.compile(
    r"(?:^|\s)(?:ال\w+|في|من|على|هل|هذا|هذه|التي|الذي|عندكم|عندك|أريد|اريد|كم|بكم|مرحبا|شكرا|جزيلا|نعم|أهلا|اهلا"
    r"|كيف|ماذا|لماذا|متى|أين|اين|لو|سمحت|يوجد|هناك|ممكن)(?=\s|$|[؟?!.,،])"
)
_PERSIAN_WORDS = re.compile(
    r"(?:^|\s)(?:است|هست|می\S*|نمی\S*|را|این|آن|چه|چند|چنده|خیلی|ممنون|مرسی|دارید|ندارید|برای|که)(?=\s|$|[؟?!.,])"
)
_URDU_WORDS = re.compile(r"(?:^|\s)(?:ہے|ہیں|کیا|کے|میں|اور|نہیں|آپ|ہم)(?=\s|$|[؟?!.,])")
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def _is_arabic_script(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\ufb50" <= ch <= "\ufeff"


def _words(text: str) -> tuple[int, int]:
    """Latin-script and Arabic-script words. Latin tokens with digits (S24, A55) are product
    names, not language: "iPhone 15 قیمت" is a Persian question."""
    latin = arabic = 0
    for word in text.split():
        letters = [ch for ch in word if ch.isalpha()]
        if not letters:
            continue
        if any(_is_arabic_script(ch) for ch in letters):
            arabic += 1
        elif all(ch.isascii() for ch in letters) and not any(ch.isdigit() for ch in word):
            latin += 1
    return latin, arabic


@cache
def _factory() -> Any:
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    profiles = [(Path(PROFILES_DIRECTORY) / lang).read_text(encoding="utf-8") for lang in LANGUAGES]
    factory.load_json_profile(profiles)
    factory.set_seed(0)
    return factory


def _langdetect(text: str) -> str | None:
    from langdetect.lang_detect_exception import LangDetectException

    detector = _factory().create()
    detector.append(text)
    try:
        return detector.detect()
    except LangDetectException:
        return None


def _script_vote(text: str) -> str | None:
    """A language when the letters or common words settle it, else None."""
    chars = set(text)
    if chars & _URDU_ONLY or _URDU_WORDS.search(text):
        return "ur"
    if chars & _PERSIAN_ONLY or _PERSIAN_WORDS.search(text):
        return "fa"
    if chars & _ARABIC_ONLY or _ARABIC_WORDS.search(text):
        return "ar"
    return None


def detect(text: str, *, previous: str | None = None, default: str = "fa") -> str:
    """ISO 639-1 code of the message: fa, ar, ur or en (other Latin-script text counts as en).

    ``previous`` is the conversation's language so far; ``default`` is the bot's.
    """
    core = _URL.sub(" ", text[:MAX_NORMALIZE_CHARS])
    latin, arabic = _words(core)
    if latin == 0 and arabic == 0:  # digits, emoji, a link, a bare SKU: nothing to go on
        return previous or default
    if arabic == 0 or latin > 3 * arabic:
        return "en"
    # From here the message is in an Arabic-script language; Latin words in it are names.
    core = " ".join(word for word in core.split() if any(_is_arabic_script(ch) for ch in word))
    vote = _script_vote(core)
    if arabic <= 2:
        # Too short for statistics: the letters decide, else the conversation does.
        if vote:
            return vote
        return previous if previous in ("fa", "ar", "ur") else "fa"
    guess = _langdetect(core)
    if vote == "ur" or (vote == "fa" and guess in ("ar", "ur")):
        return vote
    return guess if guess in LANGUAGES else vote or previous or default


@cache
def _normalizer() -> Any:
    from hazm import Normalizer

    # One instance per process (building one takes ~1 s and ~150 MB). The defaults
    # break retail text: 1,250,000 -> ۱ , ۲۵۰ , ۰۰۰, URLs, emails, SKUs like S24.
    return Normalizer(persian_numbers=False, persian_style=False, correct_spacing=False)


def fold_digits(text: str) -> str:
    """Persian and Arabic-Indic digits to ASCII, so int() and regexes agree."""
    return text.translate(_DIGITS)


def chunks(text: str, size: int = MAX_NORMALIZE_CHARS) -> list[str]:
    """``text`` cut at whitespace into pieces of at most ``size`` characters (an unbroken
    run longer than that is cut where it must be); joined back they are ``text``."""
    out: list[str] = []
    start = 0
    while len(text) - start > size:
        cut = start + size
        space = text.rfind(" ", start + 1, cut)
        space = max(space, text.rfind("\n", start + 1, cut))
        end = space + 1 if space > start else cut
        out.append(text[start:end])
        start = end
    out.append(text[start:])
    return out


def persian(text: str) -> str:
    """NFKC, then hazm in the safe settings, chunk by chunk (hazm is quadratic on long
    unbroken text): Persian letters for Arabic ones, presentation forms resolved. Digits,
    Latin text, URLs and prices are left as written. Never truncated."""
    text = unicodedata.normalize("NFKC", text)
    if not any(_is_arabic_script(ch) for ch in text):
        return text
    normalizer = _normalizer()
    return "".join(_keep_edges(piece, normalizer.normalize(piece)) for piece in chunks(text))


def _keep_edges(original: str, normalized: str) -> str:
    """hazm strips a piece's outer whitespace; the joins between chunks need it back."""
    lead = original[: len(original) - len(original.lstrip())]
    trail = original[len(original.rstrip()) :]
    return lead + normalized.strip() + trail


def normalize(text: str) -> str:
    """NFKC, hazm (safe settings), ASCII digits; for matching and parsing, never truncated."""
    return fold_digits(persian(text))


def warm_up() -> None:
    """Load the detector profiles and hazm's lexicon now rather than on a first request."""
    _factory()
    _normalizer()
