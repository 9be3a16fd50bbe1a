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
        self._by_name: dict[str, list[Product]] = {}
        for product in products:
            for name in (product.sku, product.name_en, product.name_fa, *product.aliases):
                if (k := key(name)) and product not in self._by_name.setdefault(k, []):
                    self._by_name[k].append(product)
        # One pass over the message: at each position the longest name wins, so "s24 ultra"
        # is found and not also "s24"; names match whole words only.
        names = sorted(self._by_name, key=len, reverse=True)
        self._names = re.compile(r"(?<= )(?:" + "|".join(re.escape(n) for n in names) + r")(?= )")
        self._brands = {key(b): p.brand_en for p in products for b in (p.brand_en, p.brand_fa)}

    @classmethod
    @cache
    def shipped(cls) -> Catalog:
        raw = yaml.safe_load(files("bots").joinpath("data/catalog.yaml").read_text(encoding="utf-8"))
        return cls([Product(**{**p, "aliases": tuple(p.get("aliases", []))}) for p in raw["products"]])

    def lookup(self, message: str) -> Lookup:
        return self.lookup_keyed(key(message))

    def lookup_keyed(self, keyed: str) -> Lookup:
        """Products a (key-form) message names, in its order. A name followed by a variant
        word the product does not have ("iPhone 13 mini") is a near miss, not a match."""
        text = f" {keyed} "
        found: list[Product] = []
        near: list[tuple[str, Product]] = []
        for match in self._names.finditer(text):
            following = text[match.end() + 1 :].split(" ", 1)[0]
            for product in self._by_name[match.group()]:
                if following in VARIANTS and following not in key(f"{product.name_en} {product.name_fa}"):
                    near.append((f"{match.group()} {following}", product))
                elif product not in found:
                    found.append(product)
        return Lookup(products=found, near_misses=[(asked, p) for asked, p in near if p not in found])

    def find(self, message: str) -> list[Product]:
        return self.lookup(message).products

    def brands_in(self, message: str) -> list[str]:
        text = f" {key(message)} "
        return sorted({brand for name, brand in self._brands.items() if f" {name} " in text})

    def in_stock_by_brand(self, brand_en: str, limit: int = 3) -> list[Product]:
        return [p for p in self.products if p.brand_en == brand_en and p.in_stock][:limit]
