"""The shop's catalog, and finding the products a message (or a model's reply) names.

Matching works on key tokens: NFKC + hazm (Arabic ي/ك become Persian), آ as ا, ZWNJ and
punctuation as spaces, digits in ASCII, lower case; URLs, e-mail addresses and order
numbers masked first (an address such as a55fan@gmail.com names no product). Then, with
the words in ``bots/data/catalog_words.yaml``:

1. Persian glued to digits is split ("آیفون۱۳"), other spellings become the catalog's
   ("ایفون" -> iphone), Latin letters said in Persian join their digits ("اس ۲۴" -> s24),
   number words after a catalog word become digits ("نوت سیزده" -> note 13);
2. the longest catalog name (or alias) at each position wins, also written without its
   spaces ("galaxya55", "redminote13");
3. a brand with a product kind finds that brand's one product of that kind ("ماشین
   ظرفشویی بوش"), a number in the message choosing among several ("ال جی ۶۵ اینچ");
4. a word no name matches may be a catalog word misspelt: rapidfuzz's ratio, at a
   threshold measured on a labelled set (bench/retail.py), letters only: digits never
   change, so "iphone 14" is never taken for "iphone 15";
5. a product line with a model token that found nothing ("iphone 16", "pixel 8") is a
   product the catalog lacks, reported by name so the reply can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from core.language import normalize

# A customer's misspelt catalog word must be this similar (rapidfuzz ratio, 0-100);
# measured on tests/data/retail_dev.jsonl with bench/retail.py --thresholds (75: 117/120,
# 80-95: 118/120, the middle of the plateau taken).
FUZZY_THRESHOLD = 85

_MASK = re.compile(
    r"https?://\S+|www\.\S+|\b[\w.-]+\.(?:ir|com|net|org|io)(?:/\S*)?|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|#[\w-]+|(?:order|سفارش|کد پیگیری|رهگیری)\s*(?:number|no\.?|شماره)?\s*:?\s*[\w-]*\d[\w-]*"
    r"|\b[a-z]{1,3}\d{1,4}-\d{4,}\b",  # an order code (A15-20931): a model code never runs on so

    re.IGNORECASE,
)
_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:[\u066c,]\d{3})+(?!\d)|(?<![\d.])\d{1,3}(?: \d{3}){2,}(?!\d)")
_DECIMAL = re.compile(r"(\d)[.\u066b](\d)")
_GLUED = re.compile(r"(?<=[\u0600-\u06ff])(?=\d)|(?<=\d)(?=[\u0600-\u06ff])")
_FOLD = str.maketrans({"آ": "ا", "أ": "ا", "إ": "ا", "ة": "ه", "ؤ": "و", "ى": "ی", "ۀ": "ه"})


def key(text: str) -> str:
    """The text as matching sees it (chunked normalization: never truncated)."""
    text = _MASK.sub(" ", text)
    text = normalize(text).translate(_FOLD).replace("\u200c", " ").lower()
    # a price is one token: 21,900,000 / ۲۱٬۹۰۰٬۰۰۰ / 22 400 000 (not "iphone 15 128")
    text = _THOUSANDS.sub(lambda m: re.sub(r"\D", "", m.group()), text)
    text = _DECIMAL.sub(r"\1d\2", text)  # "41.2" stays one token (no model "41" beside a "2")
    text = _GLUED.sub(" ", text)
    text = re.sub(r"[^\w\s]|_", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_WORDS: dict[str, Any] = yaml.safe_load(files("bots").joinpath("data/catalog_words.yaml").read_text(encoding="utf-8"))
VARIANTS = frozenset(_WORDS["variants"])
# A model generation written after a name: "m3", "4", "s9" (not a size: "128", "8 گیگ").
_GENERATION = re.compile(r"^([a-z]{0,2})(\d{1,2})[a-z]?$")
# Words after a number that make it a count or a size, not a generation: "۲ تا", "8 گیگ".
_COUNTED = frozenset(_WORDS["counted"])


@dataclass(frozen=True)
class Product:
    sku: str
    brand_en: str
    brand_fa: str
    name_en: str
    name_fa: str
    price_toman: int
    stock: int
    warranty_months: int
    aliases: tuple[str, ...] = ()

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


@dataclass(frozen=True)
class Mention:
    """Where a message names a product: token positions, end exclusive."""

    product: Product
    start: int
    end: int


@dataclass(frozen=True)
class Lookup:
    products: list[Product]
    near_misses: list[tuple[str, Product]]  # (what was asked, the closest product we have)
    unknown: list[str] = field(default_factory=list)  # product names asked about that the catalog lacks
    unknown_at: list[tuple[str, int]] = field(default_factory=list)  # the same, with their token position
    mentions: list[Mention] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


class Catalog:
    def __init__(self, products: list[Product], words: dict[str, Any]) -> None:
        self.products = products
        self._spellings: dict[tuple[str, ...], str] = {}
        for canonical, variants in words["spellings"].items():
            for variant in variants:
                self._spellings[tuple(key(str(variant)).split())] = canonical
        self._letters = {key(str(v)): letter for letter, names in words["letter_names"].items() for v in names}
        self._numbers = {key(str(w)): digits for digits, names in words["number_words"].items() for w in names}
        self._longest_spelling = max(len(k) for k in self._spellings)
        self._spelling_words = set(self._spellings.values())
        self._name_words: set[str] = set()
        # names and aliases, as token tuples and without spaces
        self._names: dict[tuple[str, ...], list[Product]] = {}
        self._compact: dict[str, list[Product]] = {}
        for product in products:
            for name in (product.sku, product.name_en, product.name_fa, *product.aliases):
                tokens = tuple(self.tokens(name))
                if not tokens:
                    continue
                if product not in self._names.setdefault(tokens, []):
                    self._names[tokens].append(product)
                if product not in self._compact.setdefault("".join(tokens), []):
                    self._compact["".join(tokens)].append(product)
        self._longest = max(len(k) for k in self._names)
        self._name_words = {t for k in self._names for t in k}
        vocabulary = sorted({t for k in self._names for t in k if not t.isdigit() and len(t) >= 3})
        # by first letter: a misspelling keeps its first letter far more often than not
        self._vocabulary: dict[str, list[str]] = {}
        for word in vocabulary:
            self._vocabulary.setdefault(word[0], []).append(word)
        self._words_of = {
            p.sku: frozenset(t for name in (p.name_en, p.name_fa, *p.aliases) for t in self.tokens(name))
            for p in products
        }
        self._not_names = {key(str(w)) for w in words["not_names"]}
        self._brands: dict[str, set[str]] = {}
        for p in products:
            for brand in (p.brand_en, p.brand_fa):
                self._brands.setdefault(" ".join(self.tokens(brand)), set()).add(p.brand_en)
        self._categories: dict[tuple[str, ...], str] = {}
        for category, names in words["categories"].items():
            for name in names:
                self._categories[tuple(self.tokens(str(name)))] = category
        self._category_index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for kind_tokens, kind in self._categories.items():
            self._category_index.setdefault(kind_tokens[0], []).append((kind_tokens, kind))
        self._kind = {
            p.sku: self._kinds_in(self.tokens(f"{p.name_en} {p.name_fa} {' '.join(p.aliases)}")) for p in products
        }
        self._lines = {" ".join(self.tokens(str(w))) for w in words["lines"]}
        self._other_brands = {" ".join(self.tokens(str(w))) for w in words["other_brands"]}
        self._unsold = {tuple(self.tokens(str(w))) for w in words["unsold"]}
        self._name_fillers = {key(str(w)) for w in words.get("name_fillers", [])}
        # words fuzzy matching never respells: they are words already ("charge" is no "charger")
        self._keep = frozenset(
            self._not_names | self._lines | self._other_brands | {w for k in self._categories for w in k}
        )
        self._guarding = frozenset(self._lines | {b for b in self._brands if " " not in b})
        self._model_token = re.compile(words["model_token"])

    @classmethod
    @cache
    def shipped(cls) -> Catalog:
        raw = yaml.safe_load(files("bots").joinpath("data/catalog.yaml").read_text(encoding="utf-8"))
        products = [Product(**{**p, "aliases": tuple(p.get("aliases", []))}) for p in raw["products"]]
        return cls(products, _WORDS)

    # -- tokens ---------------------------------------------------------------

    def tokens(self, text: str) -> list[str]:
        """Key tokens with spellings, letter names and number words made the catalog's."""
        raw = key(text).split()
        # Arabic glues "and" to the next word ("وبوكو"): a spelling behind it is taken alone
        raw = [w[1:] if w.startswith("و") and len(w) > 3 and (w[1:],) in self._spellings else w for w in raw]
        # and its article: "البلايستيشن"
        raw = [w[2:] if w.startswith("ال") and len(w) > 4 and (w[2:],) in self._spellings else w for w in raw]
        out: list[str] = []
        i = 0
        while i < len(raw):
            for n in range(min(self._longest_spelling, len(raw) - i), 0, -1):
                canonical = self._spellings.get(tuple(raw[i : i + n]))
                if canonical is not None:
                    out.extend(canonical.split())
                    i += n
                    break
            else:
                word = raw[i]
                nxt = raw[i + 1] if i + 1 < len(raw) else ""
                if word in self._letters and nxt.isdigit():  # "اس ۲۴" -> s24, "ا ۵۵" (آ۵۵) -> a55
                    out.append(self._letters[word] + nxt)
                    i += 2
                    continue
                if word in self._numbers and out and not out[-1].isdigit() and self._is_catalog_word(out[-1]):
                    out.append(self._numbers[word])  # "نوت سیزده" -> note 13
                else:
                    out.append(word)
                i += 1
        return out

    def _is_catalog_word(self, word: str) -> bool:
        return word in self._name_words or word in self._spelling_words

    def _kinds_in(self, tokens: list[str], near: list[int] | None = None, window: int = 0) -> set[str]:
        """Product kinds named in ``tokens`` (only within ``window`` words of a ``near`` position)."""
        kinds = set()
        for i, token in enumerate(tokens):
            if near is not None and not any(abs(i - j) <= window and _same_phrase(tokens, i, j) for j in near):
                continue
            for kind_tokens, kind in self._category_index.get(token, ()):
                if tuple(tokens[i : i + len(kind_tokens)]) == kind_tokens:
                    kinds.add(kind)
        return kinds

    def _brand_positions(self, tokens: list[str]) -> list[int]:
        return [i for i, t in enumerate(tokens) if t in self._brands]

    # -- lookup ---------------------------------------------------------------

    def lookup(self, message: str) -> Lookup:
        return self.lookup_tokens(self.tokens(message))

    def lookup_tokens(self, tokens: list[str]) -> Lookup:
        """Products the message names, in its order; near misses; products it names that
        the catalog lacks."""
        mentions = self._exact(tokens)
        if len(mentions) < len(tokens):
            fixed = self._respelt(tokens, mentions)
            if fixed != tokens:
                tokens = fixed
                mentions = self._exact(tokens)
        mentions += self._by_kind(tokens, mentions)
        mentions.sort(key=lambda m: m.start)
        found: list[Product] = []
        near: list[tuple[str, Product]] = []
        for m in mentions:
            following = tokens[m.end] if m.end < len(tokens) else ""
            after = tokens[m.end + 1] if m.end + 1 < len(tokens) else ""
            own = self._words_of[m.product.sku]
            # "plus the Philips air fryer" joins two products; "plus" glued to a model names another
            joins = following == "plus" and (after in ("the", "a", "an", "my") or after in self._brands)
            # a generation the product does not have ("macbook air m3" beside our M2, "mx master 4")
            other_generation = following not in own and after not in _COUNTED and _next_generation(following, own)
            if (following in VARIANTS or other_generation) and following not in own and not joins:
                near.append((" ".join([*tokens[m.start : m.end], following]), m.product))
            elif m.product not in found:
                found.append(m.product)
        unknown_at = self._unknown(tokens, mentions, found)
        # a variant we do not sell ("playstation 5 pro") is, for prices, a product we lack
        unknown_at += [
            (" ".join([*tokens[m.start : m.end], tokens[m.end]]), m.start)
            for m in mentions
            if m.product not in found
            or (
                m.end < len(tokens) and tokens[m.end] in VARIANTS and tokens[m.end] not in self._words_of[m.product.sku]
            )
        ]
        unknown_at.sort(key=lambda item: item[1])
        unknown = [name for name, _ in unknown_at]
        return Lookup(found, near, unknown, unknown_at, [m for m in mentions if m.product in found], tokens)

    def _exact(self, tokens: list[str]) -> list[Mention]:
        out: list[Mention] = []
        i = 0
        while i < len(tokens):
            hit = None
            for n in range(min(self._longest, len(tokens) - i), 0, -1):
                products = self._names.get(tuple(tokens[i : i + n]))
                if products is None and n <= 3:
                    products = self._compact.get("".join(tokens[i : i + n]))
                if products:
                    hit = (products, n)
                    break
            if hit is None:
                i += 1
                continue
            products, n = hit
            # "galaxy z flip 6" is no "flip 6" (JBL): a short name after another product's line word
            before = _phrase_before(tokens, i, 2)
            kept = [
                p
                for p in products
                if n > 2 or not any(w in self._guarding and w not in self._words_of[p.sku] for w in before)
            ]
            if not kept:
                i += 1
                continue
            out.extend(Mention(p, i, i + n) for p in kept)
            i += n
        return out

    def _respelt(self, tokens: list[str], mentions: list[Mention]) -> list[str]:
        """Misspelt catalog words ("سامسونک", "galaxi") put right; digits are never touched."""
        used = {k for m in mentions for k in range(m.start, m.end)}
        out = list(tokens)
        for i, token in enumerate(tokens):
            if i in used or len(token) < 4 or any(c.isdigit() for c in token) or token in self._keep:
                continue
            candidates = self._vocabulary.get(token[0], [])
            best = process.extractOne(token, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
            if best is not None:
                out[i] = best[0]
        return out

    def _by_kind(self, tokens: list[str], mentions: list[Mention]) -> list[Mention]:
        """A brand and a product kind ("Bosch bagless vacuum") find that brand's product of
        that kind; a number in the message chooses among several ("ال جی ۶۵ اینچ")."""
        named = {m.product.sku for m in mentions}
        numbers = {t for t in tokens if t.isdigit()}
        out: list[Mention] = []
        for position in self._brand_positions(tokens):
            kinds = self._kinds_in(tokens, near=[position], window=6)
            if not kinds:  # a brand and a number only ("ایکس ویژن ۵۰ اینچ"): the brand's one product with it
                hit = self._by_number(tokens, position, named)
                if hit is not None:
                    named.add(hit.product.sku)
                    out.append(hit)
                continue
            for brand, kind in ((b, k) for b in self._brands[tokens[position]] for k in kinds):
                candidates = [p for p in self.products if p.brand_en == brand and kind in self._kind[p.sku]]
                if any(p.sku in named for p in candidates):
                    continue
                if len(candidates) > 1 and numbers and not kinds & _MODEL_KINDS:
                    candidates = [p for p in candidates if numbers & self._words_of[p.sku]]
                if len(candidates) == 1 and candidates[0].sku not in named:
                    named.add(candidates[0].sku)
                    out.append(Mention(candidates[0], position, position + 1))
        return out

    def _by_number(self, tokens: list[str], position: int, named: set[str]) -> Mention | None:
        following = tokens[position + 1 : position + 4]
        numbers = {
            t
            for k, t in enumerate(following)
            if t.isdigit() and (k + 1 >= len(following) or following[k + 1] not in _MONEY_WORDS)
        }
        brands = self._brands[tokens[position]]
        candidates = [p for p in self.products if p.brand_en in brands and numbers & self._words_of[p.sku]]
        if len(candidates) == 1 and candidates[0].sku not in named:
            return Mention(candidates[0], position, position + 1)
        return None

    def _unknown(self, tokens: list[str], mentions: list[Mention], found: list[Product]) -> list[tuple[str, int]]:
        used = {k for m in mentions for k in range(m.start, m.end)}
        # words of the products found: "apple watch series 9" names the Apple Watch found, not another
        known = frozenset().union(*(self._words_of[p.sku] for p in found))
        out: list[tuple[str, int]] = []
        i = 0
        while i < len(tokens):
            word = tokens[i]
            if i not in used and word in self._other_brands:  # "midea air conditioner", "bose qc ultra"
                end = min(i + 3, len(tokens))
                out.append((" ".join(tokens[i:end]), i))
                i = end
                continue
            if i in used or word not in self._lines or i + 1 >= len(tokens):
                i += 1
                continue
            j = i + 1
            while j < len(tokens) - 1 and tokens[j] in self._name_fillers:  # "ال‌جی مدل GC-B257"
                j += 1
            pair = tokens[j] in self._lines and j not in used and not self._model_token.match(tokens[j])
            # up to two words of the model's name before its number: "galaxy z flip 5", "lg gc b257"
            while j < min(i + 3, len(tokens) - 1) and (
                tokens[j] in self._lines or tokens[j] in VARIANTS or (tokens[j].isascii() and len(tokens[j]) <= 3)
            ):
                if self._model_token.match(tokens[j]):
                    break
                j += 1
            is_price = j + 1 < len(tokens) and tokens[j + 1] in _MONEY_WORDS  # "apple ۴۱ میلیون": a price
            if j < len(tokens) and j not in used and self._model_token.match(tokens[j]) and not is_price:
                end = j + 1
                while end < len(tokens) and tokens[end] in VARIANTS:
                    end += 1
            elif pair:  # two line words: "nintendo switch"
                end = i + 2
            else:
                i += 1
                continue
            mention = tokens[i:end]
            if not set(mention) <= known:
                out.append((" ".join(mention), i))
            i = end
        for k in range(len(tokens)):  # things we do not sell: "DualSense", "قاب"
            for thing in self._unsold:
                if k not in used and tuple(tokens[k : k + len(thing)]) == thing:
                    out.append((" ".join(thing), k))
        return sorted(out, key=lambda item: item[1])

    # -- the rest -------------------------------------------------------------

    def find(self, message: str) -> list[Product]:
        return self.lookup(message).products

    def by_sku(self, sku: str) -> Product | None:
        return next((p for p in self.products if p.sku == sku), None)

    def brands_in(self, message: str) -> list[str]:
        text = f" {' '.join(self.tokens(message))} "
        return sorted({b for name, bs in self._brands.items() if f" {name} " in text for b in bs})

    def in_stock_by_brand(self, brand_en: str, limit: int = 3) -> list[Product]:
        return [p for p in self.products if p.brand_en == brand_en and p.in_stock][:limit]


_MONEY_WORDS = frozenset(_WORDS["money_words"])
_JOINS = frozenset(_WORDS["joins"])


def _next_generation(word: str, own: frozenset[str]) -> bool:
    """``word`` is a near generation of one of the product's own model tokens: the same
    letters, a number a few apart ("m3" beside "m2", "4" beside "3s")."""
    found = _GENERATION.match(word)
    if found is None:
        return False
    letters, number = found.group(1), int(found.group(2))
    for token in own:
        mine = _GENERATION.match(token)
        if mine is not None and mine.group(1) == letters and 0 < abs(int(mine.group(2)) - number) <= 3:
            return True
    return False


def _phrase_before(tokens: list[str], i: int, n: int) -> list[str]:
    out: list[str] = []
    for k in range(i - 1, max(-1, i - 1 - n), -1):
        if tokens[k] in _JOINS:
            break
        out.append(tokens[k])
    return out


def _same_phrase(tokens: list[str], i: int, j: int) -> bool:
    low, high = min(i, j), max(i, j)
    return not any(t in _JOINS for t in tokens[low + 1 : high])


_MODEL_KINDS = frozenset(_WORDS["model_kinds"])
