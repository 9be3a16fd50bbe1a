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
   product the catalog lacks, reported by name so the reply can say so; so is a shop brand
   beside a kind it has no product of ("یخچال ال جی"), a word that sets another product of
   our kind apart ("یخچال اسنوا ساید بای ساید"), and a code shaped like ours a few numbers
   from one of them ("s23 fe", "xm4");
6. a second mention that leaves out what the first said takes the first one's line: a version
   alone ("PS5 Pro or just the Slim", "همینو پروش چی؟"), a model number alone ("آیفون ۱۴ ...
   اگه نه ۱۳", "همون ۱۵ پرو", "ام۲ ... ام۳"), the same name with another number ("۴۵ واتم"),
   a brand after a join the kind of the brand before it ("جاروبرقی بوش و پارس خزر"); a line
   word only one product carries names it beside a join ("LOQ یا TUF") or with its own number.
7. a size beside a product that comes in another ("آیفون ۱۵ ۲۵۶ گیگ", "فلش ۱۲۸", "۴۵ وات") is a
   version we lack and the product is not found; a size later names the product again when it is
   its own ("... 128 chande?"), else one more version we lack; a thing we do not sell right before
   a product ("قاب آیفون ۱۵") is for it, and the product is not asked about; a line and a version
   with no number ("AirPods Max"), a shop brand and a line of it we lack ("دلونگی ددیکا") and an
   edition the product lacks ("PS5 digital") are products we lack.
Tokens are split where Latin meets Persian ("گلکسیa35"); Persian endings come off a catalog
word ("اولتراش", "پروشم"); a letter name after a model number joins it ("ایکس۸ بی" -> x8b).
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
# measured on tests/data/retail_dev.jsonl with bench/retail.py --thresholds (first 75: 117/120,
# 80-95: 118/120; with writer M3 folded in, 70: 595/597, 75: 596/597, 80-100: 597/597). 85
# stays: inside the plateau, and one wrong letter in a 7-letter word (85.7) still passes.
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
# Latin glued to Persian ("گلکسیa35", "a55ام"): two words, whichever script comes first
_SCRIPTS = re.compile(r"(?<=[\u0600-\u06ff])(?=[a-z])|(?<=[a-z])(?=[\u0600-\u06ff])")
_FOLD = str.maketrans({"آ": "ا", "أ": "ا", "إ": "ا", "ة": "ه", "ؤ": "و", "ى": "ی", "ۀ": "ه"})


def key(text: str) -> str:
    """The text as matching sees it (chunked normalization: never truncated)."""
    text = _MASK.sub(" ", text)
    text = normalize(text).translate(_FOLD).replace("\u200c", " ").lower()
    # a price is one token: 21,900,000 / ۲۱٬۹۰۰٬۰۰۰ / 22 400 000 (not "iphone 15 128")
    text = _THOUSANDS.sub(lambda m: re.sub(r"\D", "", m.group()), text)
    text = _DECIMAL.sub(r"\1d\2", text)  # "41.2" stays one token (no model "41" beside a "2")
    text = _GLUED.sub(" ", text)
    text = _SCRIPTS.sub(" ", text)
    text = re.sub(r"[^\w\s]|_", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_WORDS: dict[str, Any] = yaml.safe_load(files("bots").joinpath("data/catalog_words.yaml").read_text(encoding="utf-8"))
VARIANTS = frozenset(_WORDS["variants"])
# A model generation written after a name: "m3", "4", "s9" (not a size: "128", "8 گیگ").
_GENERATION = re.compile(r"^([a-z]{0,2})(\d{1,2})[a-z]?$")
# A model code: letters, then digits ("s24", "xm5", "e10", "i7").
_CODE = re.compile(r"^([a-z]{1,2})(\d{1,3})$")
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
        # a letter name may stand for several letters ("ای": a or e): the one making a catalog word wins
        self._letters: dict[str, list[str]] = {}
        for letter, names in words["letter_names"].items():
            for v in names:
                self._letters.setdefault(key(str(v)), []).append(letter)
        self._clitics = tuple(sorted((str(c) for c in words["clitics"]), key=len, reverse=True))
        self._clitic_ends = frozenset(c[-1] for c in self._clitics)
        self._glue_words: frozenset[str] = frozenset()  # catalog words (set once the names are read)
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
        # the words that set a product apart from others of its kind ("ساید", "رباتیک", "کمبی")
        kind_words = {w for k in self._categories for w in k}
        self._descriptors: dict[str, frozenset[str]] = {}
        for kind in set(self._categories.values()):
            if kind in _MODEL_KINDS:
                continue
            words_of_kind = [self._words_of[p.sku] for p in products if kind in self._kind[p.sku]]
            brand_words = {w for p in products for b in (p.brand_en, p.brand_fa) for w in self.tokens(b)}
            self._descriptors[kind] = frozenset(
                w
                for ws in words_of_kind
                for w in ws
                if not any(c.isdigit() for c in w) and len(w) >= 3 and w not in kind_words | brand_words | _COUNTED
            )
        self._lines = {" ".join(self.tokens(str(w))) for w in words["lines"]}
        self._other_brands = {" ".join(self.tokens(str(w))) for w in words["other_brands"]}
        self._unsold = {tuple(self.tokens(str(w))) for w in words["unsold"]}
        self._unsold_by_first: dict[str, list[tuple[str, ...]]] = {}
        for thing in self._unsold:
            self._unsold_by_first.setdefault(thing[0], []).append(thing)
        self._name_fillers = {key(str(w)) for w in words.get("name_fillers", [])}
        # words fuzzy matching never respells: they are words already ("charge" is no "charger")
        self._keep = frozenset(
            self._not_names | self._lines | self._other_brands | {w for k in self._categories for w in k}
        )
        self._guarding = frozenset(self._lines | {b for b in self._brands if " " not in b})
        self._model_token = re.compile(words["model_token"])
        # things we do not sell take Persian endings too ("جوهرشم", "قابشو")
        self._glue_words = frozenset(
            self._name_words
            | self._spelling_words
            | VARIANTS
            | {t[0] for t in self._unsold if len(t) == 1}
            | {key(str(u)) for spec in words["sizes"].values() for u in spec["units"]}  # "۲ تراش"
        )
        # multi-word brands ("pars khazar", "tp link") as token tuples
        self._brand_tuples = {tuple(b.split()): b for b in self._brands}
        self._brand_starts = {t[0] for t in self._brand_tuples}
        self._longest_brand = max(len(t) for t in self._brand_tuples)
        # a product-line word only one catalog product carries ("tuf", "loq", "xbox"): the word
        # alone names that product beside a join ("LOQ یا TUF") or with the product's own model
        # number ("band 8"); words of everyday speech ("note", "steam") only the latter
        carriers: dict[str, set[str]] = {}
        for p in products:
            for w in self._words_of[p.sku]:
                carriers.setdefault(w, set()).add(p.sku)
        by_sku = {p.sku: p for p in products}
        self._unique_line = {
            w: by_sku[next(iter(skus))]
            for w, skus in carriers.items()
            if len(skus) == 1 and w in self._lines and w not in self._brands
        }
        self._ordinary = frozenset(key(str(w)) for w in words["ordinary_words"])
        # words that, alone after a product, name another version of it ("... یا فقط اسلیم",
        # "همینو پروش چی؟", "or just the Slim"); "regular" names the plain one
        self._editions = frozenset(VARIANTS | {key(str(w)) for w in words["editions"]})
        self._plain = frozenset(key(str(w)) for w in words["plain"])
        self._pointers = frozenset(key(str(w)) for w in words["pointers"])
        self._refusals = frozenset(key(str(w)).replace(" ", "") for w in words["refusals"])
        # the catalog's model codes by shape: letters and number of digits ("s24": ("s", 2))
        self._size_units: dict[tuple[str, ...], str] = {}
        self._size_bare: dict[int, str] = {}
        for group, spec in words["sizes"].items():
            for unit in spec["units"]:
                self._size_units[tuple(key(str(unit)).split())] = group
            for n in spec["bare"]:
                self._size_bare[int(n)] = group
        latin_units = sorted((u[0] for u in self._size_units if len(u) == 1 and u[0].isascii()), key=len, reverse=True)
        self._size_glued = re.compile(r"^(\d+)(" + "|".join(latin_units) + r")$")  # "256gb", "45w"
        self._size_not = frozenset(key(str(w)) for w in words["size_not_product"])
        self._sizes_of: dict[str, dict[str, set[int]]] = {}
        for p in products:
            sizes: dict[str, set[int]] = {}
            for name in (p.name_en, p.name_fa, *p.aliases):
                for _, value, group, _ in self._sizes_in(key(name).split()):
                    sizes.setdefault(group, set()).add(value)
            self._sizes_of[p.sku] = sizes
        self._model_shapes: dict[tuple[str, int], list[int]] = {}
        for w in carriers:
            shape = _CODE.match(w)
            if shape is not None:
                self._model_shapes.setdefault((shape.group(1), len(shape.group(2))), []).append(int(shape.group(2)))

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
        if self._glue_words:  # Persian endings on a catalog word: "اولتراش", "پروشم", "اسلیمو", "واتم"
            raw = [self._without_clitic(w) for w in raw]
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
                letters = self._letters.get(word) or ([word] if len(word) == 1 and word.isascii() else [])
                if letters and nxt.isdigit() and word in self._letters:  # "اس ۲۴" -> s24, "ا ۵۵" (آ۵۵) -> a55
                    code = next((c + nxt for c in letters if c + nxt in self._glue_words), letters[-1] + nxt)
                    # a letter name before it belongs to the code too: "ایکس ام ۵" -> xm5
                    before = self._letters.get(out[-1], []) if out else []
                    joined = next((c + code for c in before if c + code in self._glue_words), None)
                    if joined is not None:
                        out[-1] = joined
                    else:
                        out.append(code)
                    i += 2
                    continue
                # a letter after a model number: "ایکس۸ بی" -> x8b, "۱۰۷ ای" -> 107a
                if letters and out and out[-1][-1:].isdigit() and not nxt.isdigit():
                    glued = next((out[-1] + c for c in letters if out[-1] + c in self._glue_words), None)
                    if glued is not None:
                        out[-1] = glued
                        i += 1
                        continue
                if word in self._numbers and out and not out[-1].isdigit() and self._is_catalog_word(out[-1]):
                    out.append(self._numbers[word])  # "نوت سیزده" -> note 13
                else:
                    out.append(word)
                i += 1
        return out

    def _without_clitic(self, word: str) -> str:
        if (
            word[-1:] not in self._clitic_ends
            or (word,) in self._spellings
            or word in self._glue_words
            or not "\u0600" <= word[:1] <= "\u06ff"
        ):
            return word
        for clitic in self._clitics:
            stem = word[: -len(clitic)]
            if word.endswith(clitic) and len(stem) >= 3 and ((stem,) in self._spellings or stem in self._glue_words):
                return stem
        return word

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
        by_kind, lacking = self._by_kind(tokens, mentions)
        mentions += by_kind
        mentions.sort(key=lambda m: m.start)
        found: list[Product] = []
        kept: list[Mention] = []
        near: list[tuple[str, Product]] = []
        accessories = self._accessories(tokens, mentions)
        for m in mentions:
            if m in accessories:  # "قاب آیفون ۱۵", "PS5 controller": a thing for the product, not it
                continue
            following = tokens[m.end] if m.end < len(tokens) else ""
            after = tokens[m.end + 1] if m.end + 1 < len(tokens) else ""
            own = self._words_of[m.product.sku]
            # "plus the Philips air fryer" joins two products; "plus" glued to a model names another
            joins = following == "plus" and (after in ("the", "a", "an", "my") or after in self._brands)
            # a generation the product does not have ("macbook air m3" beside our M2, "mx master 4")
            other_generation = following not in own and after not in _COUNTED and _next_generation(following, own)
            # "se ta" (three) is a count; an edition counts too ("PS5 digital edition" beside our disc Slim)
            variant = (following in VARIANTS or following in self._editions) and after not in _COUNTED
            # a word that sets another product of its kind apart: "یخچال اسنوا ساید بای ساید" (ours is combi)
            other_kind = any(following in self._descriptors.get(k, ()) for k in self._kind[m.product.sku])
            if (variant or other_generation or other_kind) and following not in own and not joins:
                near.append((" ".join(tokens[m.start : self._variant_end(tokens, m.end)]), m.product))
            else:
                kept.append(m)
                if m.product not in found:
                    found.append(m.product)
        unknown_at = self._unknown(tokens, mentions, found) + lacking
        # a variant we do not sell ("playstation 5 pro") is, for prices, a product we lack
        unknown_at += [
            (" ".join(tokens[m.start : self._variant_end(tokens, m.end)]), m.start)
            for m in mentions
            if (m not in kept and m not in accessories)
            or (
                m.end < len(tokens)
                and tokens[m.end] in VARIANTS
                and tokens[m.end] not in self._words_of[m.product.sku]
                and (m.end + 1 >= len(tokens) or tokens[m.end + 1] not in _COUNTED)
            )
        ]
        for m, at in accessories.items():  # reported by what it is for: "قاب iphone 15"
            unknown_at = [
                (f"{name} {' '.join(tokens[m.start : m.end])}", pos) if pos == at else (name, pos)
                for name, pos in unknown_at
            ]
        more: list[Mention] = []
        if mentions or unknown_at:
            more, more_unknown = self._elliptical(tokens, mentions, unknown_at)
            for m in more:
                kept.append(m)
                if m.product not in found:
                    found.append(m.product)
            unknown_at += more_unknown
            kept.sort(key=lambda m: m.start)
        if any(any(c.isdigit() for c in t) for t in tokens):
            taken = {k for name, pos in unknown_at for k in range(pos, pos + len(name.split()))}
            dropped, sized, size_unknown = self._sizes(tokens, mentions + more, kept, taken)
            if dropped or sized:
                kept = [m for m in kept if m not in dropped] + sized
                kept.sort(key=lambda m: m.start)
                found = []
                for m in kept:
                    if m.product not in found:
                        found.append(m.product)
            unknown_at += size_unknown
        if kept or unknown_at:
            # a line named after a product, with that product's line before it, may be ours:
            # "اپل واچ اولترا ۲ قیمت؟ سری ۹ چی؟" (series 9 is our Apple Watch Series 9)
            for name, pos in list(unknown_at):
                prior = [m for m in kept if m.end <= pos]
                prior_unknown = [(n, p) for n, p in unknown_at if p + len(n.split()) <= pos]
                last = max(
                    [(m.start, tokens[m.start : m.end]) for m in prior[-1:]]
                    + [(p, n.split()) for n, p in prior_unknown[-1:]],
                    default=None,
                )
                if last is None:
                    continue
                line = [t for t in _split_model(last[1], self._model_token)[0] if t not in VARIANTS]
                product = self._resolve([*line, *name.split()]) if line and name.split()[0] not in line else None
                if product is not None:
                    unknown_at.remove((name, pos))
                    kept.append(Mention(product, pos, pos + len(name.split())))
                    kept.sort(key=lambda m: m.start)
                    if product not in found:
                        found.append(product)
            # a name a found product covers is no product we lack ("... همون ۲۵ وات" after "۴۵ وات")
            unknown_at = [(n, pos) for n, pos in unknown_at if not any(m.start <= pos < m.end for m in kept)]
            # one name per position: the second mention's own reading ("شارژر 45 وات samsung") wins
            unknown_at = list({pos: (n, pos) for n, pos in unknown_at}.values())
        if len(mentions) + len(unknown_at) < len(tokens):
            used = {k for m in mentions for k in range(m.start, m.end)}
            used |= {k for m in kept for k in range(m.start, m.end)}
            used |= {k for name, start in unknown_at for k in range(start, start + len(name.split()))}
            unknown_at += self._bare_codes(tokens, used)
            found.sort(key=lambda p: next(m.start for m in kept if m.product == p))
        unknown_at.sort(key=lambda item: item[1])
        unknown = [name for name, _ in unknown_at]
        return Lookup(found, near, unknown, unknown_at, kept, tokens)

    def _sizes_in(self, tokens: list[str]) -> list[tuple[int, int, str, int]]:
        """Sizes written in ``tokens``: (position, value, kind of size, tokens it takes)."""
        out: list[tuple[int, int, str, int]] = []
        for k, word in enumerate(tokens):
            glued = self._size_glued.match(word) if word[:1].isdigit() else None
            if glued is not None:
                out.append((k, int(glued.group(1)), self._size_units[(glued.group(2),)], 1))
                continue
            if not word.isdigit():
                continue
            nxt = tokens[k + 1] if k + 1 < len(tokens) else ""
            unit = next(
                (
                    (self._size_units[u], len(u))
                    for u in (tuple(tokens[k + 1 : k + 3]), (nxt,), *((nxt[: -len(c)],) for c in self._clitics))
                    if u in self._size_units and (len(u) > 1 or u == (nxt,) or nxt.endswith(tuple(self._clitics)))
                ),
                None,
            )
            if unit is not None:
                after = tokens[k + 1 + unit[1]] if k + 1 + unit[1] < len(tokens) else ""
                if after not in self._size_not:
                    out.append((k, int(word), unit[0], 1 + unit[1]))
                continue
            value = int(word)
            thousand = nxt.startswith("هزار") or nxt in ("thousand", "k")
            after = tokens[k + 2] if k + 2 < len(tokens) else ""
            if thousand and after not in _MONEY_WORDS and value * 1000 in self._size_bare:
                out.append((k, value * 1000, self._size_bare[value * 1000], 2))
            elif not thousand and value in self._size_bare and nxt not in _MONEY_WORDS and nxt not in _COUNTED:
                out.append((k, value, self._size_bare[value], 1))
        return out

    def _sizes(
        self, tokens: list[str], mentions: list[Mention], kept: list[Mention], taken: set[int]
    ) -> tuple[set[Mention], list[Mention], list[tuple[str, int]]]:
        """A size beside a product that comes in another size is a version we lack ("آیفون ۱۵
        ۲۵۶ گیگ", "شارژر ۴۵ وات سامسونگ", "فلش ۱۲۸ کینگستون"); a size later in the message,
        beside no product, names the product before it again: its own size finds it ("a15 256
        gig darid? 128 chande?"), another is one more version we lack ("... ۲ تراش چی؟")."""
        dropped: set[Mention] = set()
        sized: list[Mention] = []
        unknown: list[tuple[str, int]] = []
        used = {k for m in mentions for k in range(m.start, m.end)} | taken
        anchors = list(mentions)
        for k, value, group, length in self._sizes_in(tokens):
            if k in used:
                continue
            glued = length == 1 and not tokens[k].isdigit()
            bare = (length == 1 and not glued) or (length == 2 and tokens[k + 1].startswith("هزار"))
            before_word = tokens[k - 1] if k else ""
            if bare and before_word in self._lines and before_word not in self._brands:
                continue  # "iphone 16": a model number
            near = [
                m
                for m in mentions
                if (0 <= k - m.end <= 1 or 0 <= m.start - (k + length) <= 1)
                and _same_phrase(tokens, min(k, m.start), max(k, m.start))
            ]
            near.sort(key=lambda m: min(abs(k - m.end), abs(m.start - k - length)))
            if not near and before_word in self._brands:  # a brand and a size: "tcl 18000"
                of_brand = [
                    p
                    for p in self.products
                    if p.brand_en in self._brands[before_word] and group in self._sizes_of[p.sku]
                ]
                matching = [p for p in of_brand if value in self._sizes_of[p.sku][group]]
                if len(matching) == 1:
                    sized.append(Mention(matching[0], k - 1, k + length))
                    anchors.append(sized[-1])
                elif of_brand and not matching:
                    unknown.append((" ".join(tokens[k - 1 : k + length]), k - 1))
                    if len(of_brand) == 1:
                        anchors.append(Mention(of_brand[0], k - 1, k + length))
                continue
            if near:
                m = near[0]
                own = self._sizes_of[m.product.sku].get(group)
                if own and value not in own and not (bare and tokens[k] in self._words_of[m.product.sku]):
                    # a mention that states its own size already ("۵۵ اینچ ... ۶۵ اینچش") stays found
                    stated = any(str(v) in tokens[m.start : m.end] for v in own)
                    if m in kept and not stated:
                        dropped.add(m)
                    name = f"{' '.join(tokens[m.start : m.end])} {' '.join(tokens[k : k + length])}"
                    unknown.append((name, k if stated else m.start))
                continue
            before = sorted((m for m in anchors if m.end <= k), key=lambda m: m.end)
            if not before:
                continue
            m = before[-1]
            own = self._sizes_of[m.product.sku].get(group)
            if not own:
                continue
            if value in own:
                if m.product not in [o.product for o in kept if o not in dropped]:
                    sized.append(Mention(m.product, k, k + length))
            elif not bare or len(own) == 1:
                unknown.append((f"{' '.join(tokens[m.start : m.end])} {' '.join(tokens[k : k + length])}", k))
        return dropped, sized, unknown

    def _accessories(self, tokens: list[str], mentions: list[Mention]) -> dict[Mention, int]:
        """Mentions that name what a thing we do not sell is for, and where that thing is: a
        thing right before the product, a word or two between them but no join ("قاب آیفون ۱۵",
        "دسته اضافه پلی استیشن ۵", "کارتریج پرینتر اچ پی"), or a Latin one right after it
        ("PS5 controller", "iPhone 15 case")."""
        out: dict[Mention, int] = {}
        for m in mentions:
            for k in range(m.start - 1, max(-1, m.start - 4), -1):
                thing = self._unsold_ending(tokens, k)
                if thing is not None:
                    out[m] = thing
                    break
                if tokens[k] in _JOINS or tokens[k] in _MONEY_WORDS or any(c.isdigit() for c in tokens[k]):
                    break
                if any(k in range(o.start, o.end) for o in mentions):
                    break
            else:
                after = tokens[m.end] if m.end < len(tokens) else ""
                if after.isascii() and any(
                    tuple(tokens[m.end : m.end + len(t)]) == t for t in self._unsold_by_first.get(after, ())
                ):
                    out[m] = m.end
        return out

    def _unsold_ending(self, tokens: list[str], k: int) -> int | None:
        """Where a thing we do not sell that ends at token ``k`` starts, if one does."""
        for start in range(k, max(-1, k - 3), -1):
            if tuple(tokens[start : k + 1]) in self._unsold:
                return start
        return None

    def _variant_end(self, tokens: list[str], end: int) -> int:
        """Where the name of a version we lack ends: all its variant words and a model code
        after them ("iphone 13 pro max", "ipad pro m4")."""
        stop = end + 1
        while stop < len(tokens) and tokens[stop] in VARIANTS:
            stop += 1
        counted = stop + 1 < len(tokens) and tokens[stop + 1] in _COUNTED
        if (
            stop < len(tokens)
            and _is_code(tokens[stop], self._model_token)
            and self._bare(tokens, stop)
            and not counted
        ):
            stop += 1
        return stop

    def _elliptical(
        self, tokens: list[str], mentions: list[Mention], unknown_at: list[tuple[str, int]]
    ) -> tuple[list[Mention], list[tuple[str, int]]]:
        """Second mentions that leave out what the first one said: a version alone ("PS5 Pro
        or just the Slim", "همینو پروش چی؟"), a model number alone ("آیفون ۱۴ ... اگه نه ۱۳",
        "همون ۱۵ پرو", "ام۲ ... ام۳"), the same name with another number ("۴۵ واتم").
        Each takes the line of the product named before it and is looked up whole."""
        anchors: list[tuple[int, int, list[str]]] = []
        for m in mentions:  # a mention with the product's own model code after it ("... شیائومی e10")
            end = m.end
            own = self._words_of[m.product.sku]
            while end < len(tokens) and end - m.end < 2 and tokens[end] in own and _CODE.match(tokens[end]):
                end += 1
            anchors.append((m.start, end, tokens[m.start : end]))
        anchors += [(pos, pos + len(name.split()), name.split()) for name, pos in unknown_at]
        anchors.sort(key=lambda a: a[0])
        covered = {k for start, end, _ in anchors for k in range(start, end)}
        found: list[Mention] = []
        unknown: list[tuple[str, int]] = []
        i = anchors[0][1] if anchors else len(tokens)
        while i < len(tokens):
            word = tokens[i]
            if i in covered or not (word in self._editions or word in self._plain or any(c.isdigit() for c in word)):
                i += 1
                continue
            prior = [a for a in anchors if a[1] <= i]
            if not prior or word in _JOINS:
                i += 1
                continue
            base = prior[-1][2]
            gap = tokens[prior[-1][1] : i]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            line, model = _split_model(base, self._model_token)
            plain = [t for t in base if t not in self._editions]
            candidates: list[list[str]] = []
            length = 1
            if word in self._editions or word in self._plain:
                # right after the name it is part of that name ("xiaomi 13 تی پرو"); "اولترا نمیخوام"
                # refuses it; "air fryer" is a kind, "max 30 million" a budget
                close = len(gap) < 2 and not (gap and (gap[0] in _JOINS or gap[0] in self._pointers))
                refused = (
                    nxt in self._refusals or nxt + (tokens[i + 2] if i + 2 < len(tokens) else "") in self._refusals
                )
                if close or refused or self._starts_kind(tokens, i) or (nxt.isdigit() and _money_after(tokens, i + 1)):
                    i += 1
                    continue
                if word in self._plain:
                    candidates = [plain]
                else:
                    candidates = [[*plain, word], [*(t for t in line if t not in VARIANTS), word]]
            elif model is not None and _is_code(word, self._model_token) and self._bare(tokens, i):
                same_shape = _shape(word) == _shape(model) and (not word.isdigit() or abs(int(word) - int(model)) <= 5)
                k = base.index(nxt) - 1 if nxt in base and nxt not in self._editions else -1
                if word.isdigit() and k >= 0 and base[k].isdigit() and base[k] != word:
                    # "شارژر ۲۵ وات ... ۴۵ واتم": the same name with another number
                    candidates = [[*base[:k], word, *base[k + 1 :]]]
                    length = 2
                elif same_shape and nxt not in _COUNTED:
                    while i + length < len(tokens) and tokens[i + length] in VARIANTS:
                        length += 1  # "همون ۱۵ پرو"
                    candidates = [[*line, *tokens[i : i + length]]]
            if not candidates or not any(c for c in candidates):
                i += 1
                continue
            product = next((p for c in candidates if c and (p := self._resolve(c)) is not None), None)
            if product is not None:
                found.append(Mention(product, i, i + length))
                anchors.append((i, i + length, candidates[0]))
            elif any(self._model_token.match(t) for t in candidates[0]) and candidates[0] != base:
                unknown.append((" ".join(candidates[0]), i))
                anchors.append((i, i + length, candidates[0]))
            anchors.sort(key=lambda a: a[0])
            i += length
        return found, unknown

    def _resolve(self, words: list[str]) -> Product | None:
        """The catalog product ``words`` name whole (the product's own words may follow its name)."""
        hit = next((m for m in self._exact(words) if m.start == 0), None)
        if hit is None or not all(t in self._words_of[hit.product.sku] for t in words[hit.end :]):
            return None
        return hit.product

    def _bare(self, tokens: list[str], i: int) -> bool:
        """A number or code standing alone: no brand, line or product kind beside it, no price."""
        before = tokens[i - 1] if i else ""
        return not (
            before in self._brands
            or before in self._lines
            or before in self._name_fillers
            or self._starts_kind(tokens, i + 1)
            or _money_after(tokens, i)
        )

    def _starts_kind(self, tokens: list[str], i: int) -> bool:
        if i >= len(tokens):
            return False
        return any(tuple(tokens[i : i + len(k)]) == k for k, _ in self._category_index.get(tokens[i], ()))

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
                hit = self._line_alone(tokens, i)
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

    def _line_alone(self, tokens: list[str], i: int) -> tuple[list[Product], int] | None:
        """A line word only one product carries, with that product's own model number after it
        ("band 8"), or alone beside a join ("LOQ یا TUF")."""
        product = self._unique_line.get(tokens[i])
        if product is None:
            return None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        own = self._words_of[product.sku]
        if _is_code(nxt, self._model_token) and nxt in own:
            return [product], 2
        if tokens[i] in self._ordinary or nxt in VARIANTS or _is_code(nxt, self._model_token) or nxt in self._lines:
            return None
        if (i and tokens[i - 1] in _JOINS) or nxt in _JOINS:
            return [product], 1
        if i and tokens[i - 1] in self._brands and product.brand_en in self._brands[tokens[i - 1]]:
            return [product], 1  # its own brand before it: "ایسوس تاف", "lenovo loq"
        return None

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

    def _by_kind(self, tokens: list[str], mentions: list[Mention]) -> tuple[list[Mention], list[tuple[str, int]]]:
        """A brand and a product kind ("Bosch bagless vacuum") find that brand's product of
        that kind; a number in the message chooses among several ("ال جی ۶۵ اینچ"). A brand
        right after a join takes the kind of the brand before it ("جاروبرقی بوش و پارس خزر").
        A shop brand beside a kind it has no product of is a product we lack ("یخچال ال جی")."""
        named = {m.product.sku for m in mentions}
        used = {k for m in mentions for k in range(m.start, m.end)}
        numbers = {t for t in tokens if t.isdigit()}
        out: list[Mention] = []
        lacking: list[tuple[str, int]] = []
        previous: tuple[int, set[str]] | None = None  # where the last brand ended, and its kinds
        for position, end, brand_key in self._brand_spans(tokens):
            kinds = self._kinds_in(tokens, near=[position, end - 1], window=6)
            inherited = False
            joined = bool(position) and tokens[position - 1] in _JOINS
            # only the first brand's size or an object marker between them: "اسنوا ۸ کیلویی رو با ال جی"
            between = tokens[previous[0] : position - 1] if previous is not None else []
            small = len(between) <= 4 and all(
                t.isdigit() or (t,) in self._size_units or t in _COUNTED or t in _OBJECT_MARKERS for t in between
            )
            if not kinds and previous is not None and joined and small:
                kinds, inherited = previous[1], True
            previous = (end, kinds)
            if not kinds:  # a brand and a number only ("ایکس ویژن ۵۰ اینچ"): the brand's one product with it
                hit = self._by_number(tokens, position, end, named)
                if hit is not None:
                    named.add(hit.product.sku)
                    out.append(hit)
                continue
            close = kinds if inherited else self._kinds_in(tokens, near=[position, end - 1], window=4)
            for brand, kind in ((b, k) for b in self._brands[brand_key] for k in kinds):
                candidates = [p for p in self.products if p.brand_en == brand and kind in self._kind[p.sku]]
                if not candidates and kind in close and position not in used:
                    if not any(kind in self._kind[p.sku] for p in self.products if p.sku in named):
                        lacking.append((f"{brand_key} {kind}", position))
                    continue
                if any(p.sku in named for p in candidates):
                    continue
                if len(candidates) > 1 and numbers and not kinds & _MODEL_KINDS:
                    candidates = [p for p in candidates if numbers & self._words_of[p.sku]]
                if len(candidates) == 1 and candidates[0].sku not in named:
                    # a word that sets another product of the kind apart ("ساید بای ساید", "رباتیک")
                    # and not this one: a product of the brand we lack
                    other = self._descriptors.get(kind, frozenset()) - self._words_of[candidates[0].sku]
                    near = tokens[max(0, position - 4) : end + 4]
                    if other and not inherited and any(t in other for t in near):
                        extra = next(t for t in near if t in other)
                        lacking.append((f"{brand_key} {kind} {extra}", position))
                        continue
                    named.add(candidates[0].sku)
                    out.append(Mention(candidates[0], position, end))
        return out, lacking

    def _brand_spans(self, tokens: list[str]) -> list[tuple[int, int, str]]:
        """Where the shop's brands are named: (start, end, the brand's key), "pars khazar" whole."""
        out: list[tuple[int, int, str]] = []
        i = 0
        while i < len(tokens):
            if tokens[i] in self._brand_starts:
                for n in range(min(self._longest_brand, len(tokens) - i), 0, -1):
                    brand = self._brand_tuples.get(tuple(tokens[i : i + n]))
                    if brand is not None:
                        out.append((i, i + n, brand))
                        i += n - 1
                        break
            i += 1
        return out

    def _by_number(self, tokens: list[str], position: int, end: int, named: set[str]) -> Mention | None:
        following = tokens[end : end + 3]
        numbers = {
            t
            for k, t in enumerate(following)
            if t.isdigit() and (k + 1 >= len(following) or following[k + 1] not in _MONEY_WORDS)
        }
        brands = self._brands[" ".join(tokens[position:end])]
        candidates = [p for p in self.products if p.brand_en in brands and numbers & self._words_of[p.sku]]
        if len(candidates) == 1 and candidates[0].sku not in named:
            return Mention(candidates[0], position, end)
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
            if (
                i not in used
                and i + 1 < len(tokens)
                and i + 1 not in used
                and word in self._brands
                and word not in self._lines
                and tokens[i + 1] in self._lines
                and tokens[i + 1] not in known
                and not self._model_token.match(tokens[i + 1])
            ):  # a shop brand and a line of it we lack: "دلونگی ددیکا"
                out.append((" ".join(tokens[i : i + 2]), i))
                i += 2
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
            elif i + 1 not in used and tokens[i + 1] in VARIANTS and word not in self._ordinary:
                # a line and a version with no number: "AirPods Max", "ایرپاد مکس"
                end = i + 2
                while end < len(tokens) and tokens[end] in VARIANTS:
                    end += 1
            else:
                i += 1
                continue
            mention = tokens[i:end]
            if not set(mention) <= known:
                out.append((" ".join(mention), i))
            i = end
        for k, word in enumerate(tokens):  # things we do not sell: "DualSense", "قاب"
            for thing in self._unsold_by_first.get(word, ()):
                if k not in used and tuple(tokens[k : k + len(thing)]) == thing:
                    out.append((" ".join(thing), k))
        return sorted(out, key=lambda item: item[1])

    def _bare_codes(self, tokens: list[str], used: set[int]) -> list[tuple[str, int]]:
        """A model code alone, shaped like the catalog's and a few numbers from one of them,
        that no product carries: "s23 fe" (our S24), "xm4" (our XM5)."""
        out: list[tuple[str, int]] = []
        for k, word in enumerate(tokens):
            code = _CODE.match(word)
            if code is None or k in used or word in self._name_words or not self._bare(tokens, k):
                continue
            digits = code.group(2)
            near = 3 if len(digits) == 1 else 10
            ours = self._model_shapes.get((code.group(1), len(digits)), [])
            if any(0 < abs(int(digits) - n) <= near for n in ours) and (
                k + 1 >= len(tokens) or tokens[k + 1] not in _COUNTED
            ):
                end = k + 1
                while end < len(tokens) and tokens[end] in VARIANTS:
                    end += 1
                out.append((" ".join(tokens[k:end]), k))
        return out

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
_OBJECT_MARKERS = frozenset(("رو", "را", "ro"))


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


def _is_code(word: str, model_token: re.Pattern[str]) -> bool:
    """A model number or code: digits, maybe with letters ("13", "m3", "s10"), not a bare letter."""
    return any(c.isdigit() for c in word) and model_token.match(word) is not None


def _split_model(words: list[str], model_token: re.Pattern[str]) -> tuple[list[str], str | None]:
    """A product's name as its line (the words before its model number) and that number."""
    for k, word in enumerate(words):
        if _is_code(word, model_token):
            return words[:k], word
    return words, None


def _shape(word: str) -> tuple[bool, int]:
    """What a model code looks like: letters or not, and how many digits ("m2" is an "m3")."""
    return (not word.isdigit(), sum(c.isdigit() for c in word))


def _money_after(tokens: list[str], i: int) -> bool:
    return i + 1 < len(tokens) and tokens[i + 1] in _MONEY_WORDS
