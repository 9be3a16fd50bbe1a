"""Persian typed with the keyboard left on the English layout, read back as Persian.

A phone or a laptop left on the English layout turns "نفسم بالا نمیاد" into "ktsl fhgh
kldhn": Latin letters that are neither English nor Finglish. Each key has one Persian
letter (``bots/data/keyboard_layout.yaml``), so the text is restored key by key where the
result reads as Persian and the original does not read as English: several words of a turn
must agree, line by line (one short word could be an accident of the keys), and English words in the same
turn ("sorry, wrong keyboard") stay as they are.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib.resources import files

import yaml

from bots import triage_words as words

# A word of keys: letters and the punctuation keys that write Persian letters (; ' , [ ] \).
_KEY_WORD = re.compile(r"[A-Za-z;',\[\]\\]+")
_EDGE = ",'"  # at a word's edge these are more often punctuation and quotes than و and گ
PERSIAN_ZIPF = 1.5  # a restored word Persian writes at least this often (wordfreq's list)
ONE_WORD_ZIPF = 3.0  # a turn of one word restores only to a common Persian word
SHARE = 0.6  # the share of a turn's Latin words that must restore to Persian


@cache
def _keys() -> dict[int, str]:
    data = yaml.safe_load(files("bots").joinpath("data/keyboard_layout.yaml").read_text(encoding="utf-8"))
    return str.maketrans(data["keys"])


@lru_cache(maxsize=65536)
def _persian(word: str) -> str | None:
    """The word as the Persian layout writes it, if that is a Persian word. A comma or a quote at
    its edge is read as و or گ ("j," is تو) where that makes the word, as punctuation otherwise
    ("svl," is "سرم,")."""
    core = word.strip(_EDGE)
    lead, tail = word[: len(word) - len(word.lstrip(_EDGE))], word[len(word.rstrip(_EDGE)) :]
    for keys, before, after in ((word, "", ""), (core, lead, tail)):
        persian = keys.translate(_keys())
        # inflected forms wordfreq lacks ("نوزادم", "ماهشه") are read by their stem
        known = words.zipf_persian(persian) >= PERSIAN_ZIPF or words.persian_word(persian)
        if keys and not _latin(persian) and known:
            return before + persian + after
    return None


def _latin(text: str) -> bool:
    """A capital with no Persian letter of its own is left: no layout slip wrote it."""
    return any("a" <= c.lower() <= "z" for c in text)


@lru_cache(maxsize=4096)
def restored(text: str) -> str:
    """The text with its layout slips read back as Persian, line by line (a line typed before
    the layout was switched, and one after); any other text unchanged. Cached: a conversation's
    turns are read several times a turn (alone, together, by the rules and by the model)."""
    if not any("a" <= c <= "z" for c in text.lower()):
        return text
    return "\n".join(_restored_line(line) for line in text.split("\n"))


def _restored_line(text: str) -> str:
    found = list(_KEY_WORD.finditer(text))
    keyed = [m for m in found if any(c.isalpha() for c in m.group())]
    latin = [m for m in keyed if not _english(m.group())]
    # a slip: words that read as Persian and are no English, most of the line's other words
    slips = [m for m in latin if _persian(m.group()) is not None]
    if not slips or len(slips) < SHARE * len(latin):
        return text
    # one word read back is a slip only when it is the line's one word ("lvsd"): amid English
    # it is slang or a typo ("ngl", "shud")
    if len(slips) == 1 and (len(keyed) > 1 or words.zipf_persian(_persian(slips[0].group()) or "") < ONE_WORD_ZIPF):
        return text
    out, last = [], 0
    for m in found:
        word = m.group()
        # in a slip every key is Persian ("an" is شد, ";[" کج, "," و) but an English word that
        # reads as no Persian one ("sorry, wrong keyboard")
        if word == ",":
            persian: str | None = "و"
        elif word.strip(_EDGE) == "" or _english(word):
            persian = _persian(word)
        else:
            persian = _persian(word) or word.translate(_keys())
        if persian is None:
            continue
        out.append(text[last : m.start()])
        out.append(persian)
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def _english(word: str) -> bool:
    # a comma ends an English word, never starts one: ",hd" is وای, not "hd"
    core = word.rstrip(_EDGE).lstrip("'")
    return words.english_word(core.lower())
