"""The Farsi retail behaviour: answers grounded in the catalog, in the customer's language.

prepare(): the model reads the customer's text normalized (NFKC, hazm in its safe
settings: Persian letters, presentation forms resolved; digits, codes, URLs as written,
never truncated), while the stored transcript keeps what the customer wrote. The
products the message names go into the prompt as the sole source of prices, stock and
warranty; every product it names that the catalog lacks gets its own "not available"
line; colloquial amounts ("۵۰ تومن") are questioned; Finglish is answered in Persian.

finish(): the price guard (bots/price_guard.py) makes every money figure in the reply
the catalog's, in place, or removes it with a "not sold here" line; a price question
about a catalog product the reply left unpriced ends with the catalog's price.

Profile options: ``reply_languages`` (default [fa, en]; add ar to answer Arabic in
Arabic) and ``delivery_days`` (working days to deliver, default 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from importlib.resources import files

import yaml

from bots.catalog import Catalog, Product
from bots.price_guard import PriceGuard
from bots.toman import ambiguous_amounts, delivery_date, format_toman, jalali, persian_digits, tehran_today
from core.hooks import PassThrough, Turn
from core.language import detect, fold_digits, persian, warm_up

TEXTS = yaml.safe_load(files("bots").joinpath("data/farsi_retail.yaml").read_text(encoding="utf-8"))
_ASKS_PRICE = re.compile("|".join(TEXTS["asks_price"]), re.IGNORECASE)
_ASKS_ITEM = re.compile("|".join(TEXTS["asks_item"]), re.IGNORECASE)
_FINGLISH = frozenset(TEXTS["finglish_markers"])


def is_finglish(text: str) -> bool:
    """Persian written in Latin letters: two or more Finglish words and no Persian script."""
    words = re.findall(r"[a-z]+", text.lower())
    return sum(w in _FINGLISH for w in words) >= 2 and not re.search(r"[\u0600-\u06ff]", text)


def asks_for_price(normalized: str) -> bool:
    """Whether a customer's message (normalized: Persian letters, any digits) asks a price."""
    return bool(_ASKS_PRICE.search(fold_digits(normalized)))


class FarsiRetailBot(PassThrough):
    def __init__(self, today: Callable[[], date] = tehran_today) -> None:
        warm_up()  # hazm's Normalizer and the detector: once, at start-up
        self.catalog = Catalog.shipped()
        self.prices = PriceGuard(self.catalog)
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
        language = "fa" if is_finglish(turn.message) else turn.language
        language = language if language in allowed else "fa"
        turn.prompt_message = persian(turn.message)  # what the model reads; the transcript keeps the original
        lookup = self.catalog.lookup(turn.message)
        asks_price = asks_for_price(turn.prompt_message)
        asks = asks_price or bool(_ASKS_ITEM.search(turn.prompt_message))
        turn.notes.update(products=lookup.products, asks_price=asks_price, language=language)
        facts_language = "fa" if language == "fa" else "en"
        days = int(options.get("delivery_days", 2))
        context: list[str] = []
        if lookup.products:
            header = TEXTS["facts_header"][facts_language]
            context.append("\n".join([header, *(self._fact(p, facts_language, days) for p in lookup.products)]))
        for asked, closest in lookup.near_misses:
            context.append(TEXTS["near_miss"].format(asked=asked, fact=self._fact(closest, facts_language, days)))
        for name in lookup.unknown:
            context.append(TEXTS["unknown_product"].format(name=name))
        if asks and not lookup.products and not lookup.near_misses and not lookup.unknown:
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

    def reply_checks(self, message: str, reply: str, guard_reason: str | None, reference: str) -> dict[str, bool]:
        """What `domainbots eval` asserts of a reply (core.evaluation.ReplyChecks): asked for a
        price, the customer gets each product's catalog price; the model's own figures needed no
        correcting by the guard; the reply speaks the customer's language."""
        language = detect(message)
        checks = {
            "model's prices right": not (guard_reason or "").startswith("prices"),
            "customer's language": detect(reply, default=language) == language,
        }
        if asks_for_price(persian(message)):
            stated = {figure.toman for figure in self.prices.figures(reply)}
            checks["catalog prices given"] = all(p.price_toman in stated for p in self.catalog.lookup(message).products)
        return checks

    def finish(self, turn: Turn, reply: str) -> str:
        products: list[Product] = turn.notes.get("products", [])
        language = turn.notes.get("language") or "fa"
        guarded = self.prices.check(reply, language=language, asked=products)
        text = guarded.text
        lines = [TEXTS["not_sold"].get(language, TEXTS["not_sold"]["en"]).format(name=n) for n in guarded.removed]
        if turn.notes.get("asks_price") or guarded.untied:  # the model spoke of prices: give them
            template = TEXTS["grounded_price"]["fa" if language == "fa" else "en"]
            lines += [
                template.format(name_fa=p.name_fa, name_en=p.name_en, price=format_toman(p.price_toman, language))
                for p in products
                if p not in guarded.priced
            ]
        if guarded.corrected or guarded.removed or guarded.untied:
            turn.guard_reason = (
                f"prices: {len(guarded.corrected)} corrected, {len(guarded.removed)} removed, {guarded.untied} untied"
            )
        return f"{text.rstrip()}\n\n" + "\n".join(lines) if lines else text
