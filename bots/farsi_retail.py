"""The Farsi retail behaviour: answers grounded in the catalog, in the customer's language.

prepare(): find the products the message names (after normalizing), put only those
into the prompt as the sole source of prices, stock and warranty; say plainly when
something is not in the catalog; ask about colloquial amounts ("۵۰ تومن"); tell
the model which language to answer in.

finish(): whatever the model wrote, a price question about a catalog product ends
with the catalog's price, so a reply never rests on the model's memory of prices.

Profile options: ``reply_languages`` (default [fa, en]; add ar to answer Arabic in
Arabic) and ``delivery_days`` (working days to deliver, default 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from importlib.resources import files

import yaml

from bots.catalog import Catalog, Product, key
from bots.toman import ambiguous_amounts, delivery_date, format_toman, jalali, persian_digits
from core.hooks import PassThrough, Turn
from core.language import fold_digits, warm_up

_ASKS_PRICE = re.compile(r"قیمت|چنده|چند|چقدر|price|cost|how much|سعر|بكم|کتنے", re.IGNORECASE)
_ASKS_ITEM = re.compile(r"موجود|دارید|دارین|داری|stock|available|have|do you sell|عندكم|يوجد", re.IGNORECASE)
TEXTS = yaml.safe_load(files("bots").joinpath("data/farsi_retail.yaml").read_text(encoding="utf-8"))


class FarsiRetailBot(PassThrough):
    def __init__(self, today: Callable[[], date] = date.today) -> None:
        warm_up()  # hazm's Normalizer and the detector: once, at start-up
        self.catalog = Catalog.shipped()
        self.today = today

    def _fact(self, product: Product, language: str, days: int) -> str:
        digits = persian_digits if language == "fa" else str
        stock = (
            TEXTS["in_stock"][language].format(count=digits(product.stock))
            if product.in_stock
            else TEXTS["out_of_stock"][language]
        )
        when = jalali(delivery_date(self.today(), days), language) if product.in_stock else "-"
        return TEXTS["fact"][language].format(
            name_fa=product.name_fa,
            name_en=product.name_en,
            sku=product.sku,
            price=format_toman(product.price_toman, language),
            stock=stock,
            warranty=digits(product.warranty_months),
            when=when,
        )

    def prepare(self, turn: Turn) -> None:
        options = turn.profile.options
        allowed = options.get("reply_languages", ["fa", "en"])
        language = turn.language if turn.language in allowed else "fa"
        text = key(turn.message)  # normalized once: NFKC, hazm, ASCII digits, lower case
        lookup = self.catalog.lookup_keyed(text)
        asks_price = bool(_ASKS_PRICE.search(text))
        asks = asks_price or bool(_ASKS_ITEM.search(text))
        turn.notes.update(products=lookup.products, asks_price=asks_price, language=language)
        facts_language = "fa" if language == "fa" else "en"
        days = int(options.get("delivery_days", 2))
        context: list[str] = []
        if lookup.products:
            header = TEXTS["facts_header"][facts_language]
            context.append("\n".join([header, *(self._fact(p, facts_language, days) for p in lookup.products)]))
        for asked, closest in lookup.near_misses:
            context.append(TEXTS["near_miss"].format(asked=asked, fact=self._fact(closest, facts_language, days)))
        if asks and not lookup.products and not lookup.near_misses:
            suggestions = [
                p for brand in self.catalog.brands_in(turn.message) for p in self.catalog.in_stock_by_brand(brand)
            ]
            line = TEXTS["not_in_catalog"]
            if suggestions:
                facts = "\n".join(self._fact(p, facts_language, days) for p in suggestions)
                line += TEXTS["brand_suggestions"].format(facts=facts)
            context.append(line)
        for amount in ambiguous_amounts(turn.message):
            context.append(TEXTS["ambiguous_amount"].format(amount=amount))
        context.append(TEXTS["reply_in"].format(language=TEXTS["languages"][language]))
        turn.context.extend(context)

    def finish(self, turn: Turn, reply: str) -> str:
        products: list[Product] = turn.notes.get("products", [])
        if not products or not turn.notes.get("asks_price"):
            return reply
        figures = re.sub(r"[٬,\s.]", "", fold_digits(reply))
        missing = [p for p in products if str(p.price_toman) not in figures]
        if not missing:
            return reply
        language = "fa" if turn.notes.get("language") == "fa" else "en"
        template = TEXTS["grounded_price"][language]
        lines = [
            template.format(name_fa=p.name_fa, name_en=p.name_en, price=format_toman(p.price_toman, language))
            for p in missing
        ]
        return f"{reply.rstrip()}\n\n" + "\n".join(lines)
