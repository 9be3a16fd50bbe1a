"""The shop's catalog, and finding the products a message asks about.

Matching works on a key form of the text: NFKC + hazm (Arabic ي/ك become Persian),
ZWNJ and punctuation as spaces, digits in ASCII, lower case. So "گلکسي A۵۵",
"galaxy a55" and "گلکسی‌A55" find the same product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml

from core.language import normalize


def key(text: str) -> str:
    text = normalize(text).replace("\u200c", " ").lower()
    text = re.sub(r"[^\w\s]|_", " ", text)
    return re.sub(r"\s+", " ", text).strip()


# Words that make another model of the same line: "iPhone 13 mini" is not an "iPhone 13".
VARIANTS = frozenset(
    [
        *("mini", "pro", "max", "ultra", "plus", "lite", "fe", "neo", "prime", "edge", "fold", "flip"),
        *("مینی", "پرو", "مکس", "اولترا", "پلاس", "لایت"),
    ]
)


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
class Lookup:
    products: list[Product]
    near_misses: list[tuple[str, Product]]  # (what was asked, the closest product we have)


class Catalog:
    def __init__(self, products: list[Product]) -> None:
        self.products = products
        self._keys: list[tuple[str, Product]] = sorted(
            {(key(name), p) for p in products for name in (p.sku, p.name_en, p.name_fa, *p.aliases) if key(name)},
            key=lambda pair: -len(pair[0]),
        )
        self._brands = {key(b): p.brand_en for p in products for b in (p.brand_en, p.brand_fa)}

    @classmethod
    @cache
    def shipped(cls) -> Catalog:
        raw = yaml.safe_load(files("bots").joinpath("data/catalog.yaml").read_text(encoding="utf-8"))
        return cls([Product(**{**p, "aliases": tuple(p.get("aliases", []))}) for p in raw["products"]])

    def lookup(self, message: str) -> Lookup:
        """Products the message names, in its order; a longer name wins over one inside it
        ("S24 Ultra" is not also an "S24"), and a name followed by a variant word the
        product does not have ("iPhone 13 mini") is a near miss, not a match."""
        text = f" {key(message)} "
        taken: list[tuple[int, int]] = []
        found: list[tuple[int, Product]] = []
        near: list[tuple[str, Product]] = []
        for name, product in self._keys:
            for match in re.finditer(re.escape(f" {name} "), text):
                start, end = match.start(), match.end()
                if any(s <= start and end <= e for s, e in taken):
                    continue
                taken.append((start, end))
                following = text[end:].split(" ", 1)[0]
                if following in VARIANTS and following not in key(product.name_en + " " + product.name_fa):
                    near.append((f"{name} {following}", product))
                else:
                    found.append((start, product))
        ordered: list[Product] = []
        for _, product in sorted(found, key=lambda item: item[0]):
            if product not in ordered:
                ordered.append(product)
        return Lookup(products=ordered, near_misses=[(asked, p) for asked, p in near if p not in ordered])

    def find(self, message: str) -> list[Product]:
        return self.lookup(message).products

    def brands_in(self, message: str) -> list[str]:
        text = f" {key(message)} "
        return sorted({brand for name, brand in self._brands.items() if f" {name} " in text})

    def in_stock_by_brand(self, brand_en: str, limit: int = 3) -> list[Product]:
        return [p for p in self.products if p.brand_en == brand_en and p.in_stock][:limit]
