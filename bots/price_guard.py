"""The price guard: every money figure in a retail reply is the catalog's, or it goes.

A model quotes prices from memory: a tenfold slip (rials for toman), another product's
price, a price for a phone the shop does not sell, "۲۱٫۹ میلیون" for 21,900,000. The guard
reads every money figure in a reply (any digit script; separators ٬ , ، and spaces;
"۲۱ میلیون و ۹۰۰ هزار", "21.9 million"; toman or rial), ties it to the product it is
about (the nearest product named in the same sentence, before it if any, else after;
else the last one named earlier; else the one the customer asked about), then:
- a catalog product's figure is written as the catalog's price, in the catalog's format
  for the reply's language, in place (so the reply never contradicts itself);
- a figure for a product the catalog lacks goes, with its sentence, and the reply says
  the product is not available;
- a figure tied to no product (several were asked about, the sentence names none) is the
  price of the one it equals, or it goes with its sentence: the customer then gets each
  asked product's catalog price from the bot, never a figure that may be nobody's;
- a figure after a budget word ("زیر ۱۰ میلیون", "under 10 million") is left alone.
Words live in ``bots/data/price_words.yaml``; the catalog lookup finds the products.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from bots.catalog import Catalog, Product
from bots.toman import format_toman
from core.language import fold_digits

_D = "[0-9\u06f0-\u06f9\u0660-\u0669]"
_SEP = "[\u066c,\u060c.\u066b ]"  # ٬ , ، . ٫ and a space
_NUMBER = rf"{_D}{{1,3}}(?:{_SEP}{_D}{{3}})+(?!{_D})|{_D}+(?:[.\u066b/]{_D}+)?"
# A sentence ends at . ! ? ؟ or a line break, but not at the dot of "79.9" or "X.Vision".
_SENTENCE = re.compile(r"(?:[^.!?؟\n]|\.(?=\w))*(?:[.!?؟]+|\n|$)")


@dataclass(frozen=True)
class Figure:
    start: int
    end: int
    toman: int
    text: str


@dataclass
class Guarded:
    text: str
    corrected: list[tuple[str, str]] = field(default_factory=list)  # (what the model wrote, what it became)
    removed: list[str] = field(default_factory=list)  # products the catalog lacks whose price went
    priced: list[Product] = field(default_factory=list)  # catalog products the reply now prices
    untied: int = 0  # figures that could be no asked product's: removed with their sentence


class PriceGuard:
    def __init__(self, catalog: Catalog, words: dict[str, Any] | None = None) -> None:
        self.catalog = catalog
        words = words or _words()
        self._not_sold: dict[str, str] = words["not_sold"]
        self._scales = {str(k).lower(): int(v) for k, v in words["scales"].items()}
        self._currencies = {str(k).lower(): Decimal(str(v)) for k, v in words["currencies"].items()}
        scale = "|".join(sorted(map(re.escape, self._scales), key=len, reverse=True))
        currency = "|".join(sorted(map(re.escape, self._currencies), key=len, reverse=True))
        part = rf"(?:{_NUMBER})(?:\s*(?:{scale})(?![\w]))?"
        self._money = re.compile(
            rf"(?<![\w\u066c,.\u066b])(?P<amount>{part}(?:\s*(?:و|and|,)\s*{part})*)"
            rf"(?P<currency>\s*(?:{currency})(?![\w]))?",
            re.IGNORECASE,
        )
        self._part = re.compile(rf"(?P<number>{_NUMBER})(?:\s*(?P<scale>{scale})(?![\w]))?", re.IGNORECASE)
        self._unit = re.compile(r"\s*(?:" + "|".join(map(re.escape, words["units"])) + r")(?![\w])", re.IGNORECASE)
        budget = "|".join(sorted(map(re.escape, words["budget"]), key=len, reverse=True))
        self._budget = re.compile(rf"(?:^|[\s(])(?:{budget})\s*$", re.IGNORECASE)
        costs = "|".join(sorted(map(re.escape, words.get("other_costs", [])), key=len, reverse=True))
        self._other_cost = re.compile(rf"(?:^|[\s(])(?:{costs})(?:\s+\S+){{0,4}}\s*[:：]?\s*$", re.IGNORECASE)
        # numbers in the catalog's own names ("کولر گازی ۱۸۰۰۰ اینورتر", "پاوربانک ۲۰۰۰۰"): written
        # bare, without a currency or a scale, they name a model or a size, not a price
        self._name_numbers = frozenset(
            t
            for p in catalog.products
            for name in (p.name_en, p.name_fa, *p.aliases)
            for t in catalog.tokens(name)
            if t.isdigit()
        )
        # a currency word written before its figure ("Toman 1,450,000"): replaced with the figure
        self._currency_before = re.compile(rf"(?:{currency})\s*$", re.IGNORECASE)

    @classmethod
    @cache
    def shipped(cls) -> PriceGuard:
        return cls(Catalog.shipped())

    # -- reading figures -----------------------------------------------------------

    def figures(self, text: str) -> list[Figure]:
        out: list[Figure] = []
        for match in self._money.finditer(text):
            amount, currency = match.group("amount"), match.group("currency")
            parts = list(self._part.finditer(amount))
            scaled = any(p.group("scale") for p in parts)
            if not currency and not scaled and (self._unit.match(text, match.end()) or not _grouped(amount)):
                continue  # "۲۵۶ گیگ", "18000 BTU", a bare small number: no price
            if not currency and not scaled and re.sub(r"\D", "", fold_digits(amount)) in self._name_numbers:
                continue  # "کولر گازی ۱۸۰۰۰ اینورتر گری": the model's own number
            value = self._value(parts)
            if currency:
                value = value * self._currencies[currency.strip().lower()]
            if value < 1000:  # "۲۰ تومن" is everyday speech for thousands: not ours to fix
                continue
            out.append(Figure(match.start(), match.end(), int(value), match.group()))
        return out

    def _value(self, parts: list[re.Match[str]]) -> Decimal:
        total = Decimal(0)
        for part in parts:
            number = fold_digits(part.group("number")).replace("\u066b", ".")
            scale = part.group("scale")
            if scale:
                total += Decimal(number.replace(",", "").replace("\u066c", "")) * self._scales[scale.lower()]
            else:
                total += Decimal(re.sub(r"[\u066c,\u060c. ]", "", number) or "0")
        return total

    # -- guarding ------------------------------------------------------------------

    def check(self, reply: str, *, language: str, asked: list[Product]) -> Guarded:
        """The reply with every figure made the catalog's or removed, and what changed."""
        language = language if language in ("fa", "ar") else "en"
        result = Guarded(reply)
        pieces: list[str] = []
        last: Product | str | None = None
        for sentence in _SENTENCE.finditer(reply):
            s_text = sentence.group()
            figures = self.figures(s_text) if s_text.strip() else []
            anchors = self._anchors(self.catalog.lookup(s_text)) if s_text.strip() else []
            edits: list[tuple[int, int, str]] = []
            unknown: list[Figure] = []
            untied: list[Figure] = []
            for figure in figures:
                before = s_text[: figure.start]
                if self._budget.search(before) or self._other_cost.search(before):
                    continue
                # where the figure is among the sentence's products matters only when there are two
                position = len(self.catalog.tokens(s_text[: figure.start])) if len(anchors) > 1 else 0
                about = _nearest(anchors, position)
                if about is None:
                    about = last if last is not None else (asked[0] if len(asked) == 1 else None)
                if about is None and asked:  # several asked, none named: the one whose price it is, if any
                    about = next((p for p in asked if p.price_toman == figure.toman), None)
                    if about is None:
                        untied.append(figure)
                        continue
                if isinstance(about, Product):
                    want = format_toman(about.price_toman, language)
                    if figure.text.strip().endswith(("تومانه", "تومنه")):
                        want += "ه"  # "... تومانه" (it is ... toman): keep the copula
                    if figure.text.strip().casefold() != want.casefold():  # "Toman" is as right as "toman"
                        lead = self._currency_before.search(before)
                        doubled = lead is not None and not figure.text.strip().endswith(lead.group().strip())
                        edits.append((lead.start() if lead and doubled else figure.start, figure.end, want))
                        result.corrected.append((figure.text.strip(), want))
                    if about not in result.priced:
                        result.priced.append(about)
                elif isinstance(about, str):  # a product the catalog lacks: its price goes
                    unknown.append(figure)
                    if about not in result.removed:
                        result.removed.append(about)
            if anchors:
                last = anchors[-1][1]
            if unknown and not edits and not any(isinstance(a[1], Product) for a in anchors):
                continue  # the sentence is about a product we do not sell: it goes whole
            if untied:
                result.untied += len(untied)
                continue  # a figure that may be nobody's price goes with its sentence
            edits += [(f.start, f.end, self._not_sold[language]) for f in unknown]
            for start, end, new in sorted(edits, reverse=True):
                s_text = (
                    s_text[:start] + (" " if start and not s_text[start - 1].isspace() else "") + new + s_text[end:]
                )
            pieces.append(s_text)
        result.text = "".join(pieces).strip() if (result.corrected or result.removed or result.untied) else reply
        return result

    def _anchors(self, lookup: Any) -> list[tuple[int, Product | str]]:
        """Product mentions in a sentence, by token position: catalog products and names of
        products the catalog lacks."""
        anchors: list[tuple[int, Product | str]] = [(m.start, m.product) for m in lookup.mentions]
        anchors += [(pos, name) for name, pos in lookup.unknown_at]
        return sorted(anchors, key=lambda a: a[0])

    def format(self, amount: int, language: str) -> str:
        return format_toman(amount, language if language in ("fa", "ar") else "en")


def _grouped(amount: str) -> bool:
    """Written as a price: thousands separators, or at least 5 digits."""
    folded = fold_digits(amount)
    return bool(re.search(r"\d[\u066c,\u060c ]\d{3}", folded)) or len(re.sub(r"\D", "", folded)) >= 5


def _nearest(anchors: list[tuple[int, Product | str]], position: int) -> Product | str | None:
    before = [a for a in anchors if a[0] < position]
    if before:
        return before[-1][1]
    return anchors[0][1] if anchors else None


@cache
def _words() -> dict[str, Any]:
    return yaml.safe_load(files("bots").joinpath("data/price_words.yaml").read_text(encoding="utf-8"))
