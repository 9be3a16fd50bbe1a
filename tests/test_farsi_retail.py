"""The Farsi retail bot: normalized lookups, grounded prices, the customer's language."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from bots.catalog import Catalog
from bots.toman import ambiguous_amounts, delivery_date, format_toman, jalali
from core.engine import TurnRequest
from core.ledger import Message
from core.settings import Settings
from tests.conftest import SHIPPED_PROFILES
from tests.fakeopenai import FakeOpenAI

CATALOG = Catalog.shipped()


def test_the_catalog_is_a_real_shops() -> None:
    products = CATALOG.products
    assert len(products) >= 60
    assert len({p.sku for p in products}) == len(products)
    assert all(isinstance(p.price_toman, int) and p.price_toman > 0 for p in products)
    assert all(p.name_fa and p.name_en and p.brand_fa and p.brand_en for p in products)


@pytest.mark.parametrize(
    ("message", "skus"),
    [
        ("سلام، گوشی سامسونگ A55 دارید؟ قیمتش چنده؟", ["SM-A556-256"]),
        ("قيمت گلکسي A55 چنده؟", ["SM-A556-256"]),  # Arabic ي and ک variants
        ("قیمت گلکسی A۵۵", ["SM-A556-256"]),  # Persian digits
        ("قیمت گلکسی A٥٥", ["SM-A556-256"]),  # Arabic-Indic digits
        ("مک‌بوک ایر موجوده؟", ["APL-MBA-M2"]),  # with ZWNJ
        ("مک بوک ایر موجوده؟", ["APL-MBA-M2"]),  # with a space
        ("Is the Galaxy S24 Ultra in stock?", ["SM-S928-512"]),  # not also the S24
        ("قیمت S24 و آیفون ۱۵ پرو", ["SM-S921-256", "APL-IP15P-256"]),
        ("sm-a556-256", ["SM-A556-256"]),  # by SKU
        ("jbl flip 6", ["JBL-FLIP6"]),
        ("Do you have the iPhone 13 mini?", []),  # a variant we do not sell
        ("قیمت نان سنگک چنده؟", []),
    ],
)
def test_lookup(message: str, skus: list[str]) -> None:
    assert [p.sku for p in CATALOG.find(message)] == skus


def test_near_misses_name_the_closest_product() -> None:
    lookup = CATALOG.lookup("Do you have the iPhone 13 mini?")
    assert [(asked, p.sku) for asked, p in lookup.near_misses] == [("iphone 13 mini", "APL-IP13-128")]


def test_prices_and_dates_as_a_shop_writes_them() -> None:
    assert format_toman(12_500_000) == "۱۲٬۵۰۰٬۰۰۰ تومان"
    assert format_toman(12_500_000, "en") == "12,500,000 toman"
    wednesday = date(2026, 11, 25)
    assert delivery_date(wednesday, 2) == date(2026, 11, 28)  # Friday is not a working day
    assert jalali(date(2026, 11, 28)) == "شنبه ۰۷ آذر ۱۴۰۵"
    assert jalali(date(2026, 3, 21)).endswith("۰۱ فروردین ۱۴۰۵")


@pytest.mark.parametrize(
    ("text", "found"),
    [("۵۰ تومن دارم", ["50 تومن"]), ("۵۰ هزار تومن", []), ("21,900,000 تومان", []), ("زیر ۲۰ میلیون", [])],
)
def test_colloquial_amounts_are_flagged(text: str, found: list[str]) -> None:
    assert ambiguous_amounts(text) == found


# -- through the engine ----------------------------------------------------------------


@pytest.fixture
def retail_settings(fake: FakeOpenAI, tmp_path: Path) -> Settings:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    text = (SHIPPED_PROFILES / "farsi_retail.yaml").read_text(encoding="utf-8")
    trained = text.replace(
        "  finetuned:\n", "  finetuned:\n    model: ft:gpt-4o-mini-2024-07-18:acme:farsi-retail:R7x9\n"
    )
    (profiles / "farsi_retail.yaml").write_text(trained, encoding="utf-8")
    return Settings(
        database_url=f"sqlite:///{tmp_path}/retail.db",
        profiles_dir=profiles,
        provider="openai",
        openai_api_key="k",
        openai_base_url=fake.base_url,
    )


def system_prompt(fake: FakeOpenAI) -> str:
    return fake.chat_requests()[-1]["messages"][0]["content"]


@pytest.mark.anyio
@pytest.mark.parametrize("strategy", ["prompt", "finetuned"])
async def test_a_persian_price_question_gets_the_catalog_price(
    retail_settings: Settings, fake: FakeOpenAI, load_runtime, strategy: str
) -> None:
    engine = load_runtime(retail_settings).engine()
    result = await engine.turn(TurnRequest(bot="farsi_retail", message="قیمت گوشی A55 چنده؟", strategy=strategy))
    assert result.language == "fa"
    assert "قیمت ۲۱٬۹۰۰٬۰۰۰ تومان" in system_prompt(fake)  # only the asked product goes into the prompt
    assert "S24" not in system_prompt(fake)
    assert "۲۱٬۹۰۰٬۰۰۰ تومان" in result.reply  # whatever the model said


@pytest.mark.anyio
async def test_a_correct_price_from_the_model_is_not_repeated(
    retail_settings: Settings, fake: FakeOpenAI, load_runtime
) -> None:
    from tests.fakeopenai import Reply

    fake.script(Reply(text="بله، قیمت A55 برابر ۲۱٬۹۰۰٬۰۰۰ تومان است."))
    result = await load_runtime(retail_settings).engine().turn(TurnRequest(bot="farsi_retail", message="A55 چنده؟"))
    assert result.reply == "بله، قیمت A55 برابر ۲۱٬۹۰۰٬۰۰۰ تومان است."


@pytest.mark.anyio
async def test_a_wrong_price_from_the_model_is_followed_by_the_catalog_price(
    retail_settings: Settings, fake: FakeOpenAI, load_runtime
) -> None:
    from tests.fakeopenai import Reply

    fake.script(Reply(text="قیمت A55 حدود ۱۸ میلیون تومان است."))
    result = await load_runtime(retail_settings).engine().turn(TurnRequest(bot="farsi_retail", message="A55 چنده؟"))
    assert result.reply.endswith("قیمت گوشی سامسونگ گلکسی A55 ۲۵۶ گیگابایت طبق کاتالوگ: ۲۱٬۹۰۰٬۰۰۰ تومان")


@pytest.mark.anyio
async def test_a_product_not_in_the_catalog_is_said_to_be_unavailable(
    retail_settings: Settings, fake: FakeOpenAI, load_runtime
) -> None:
    await (
        load_runtime(retail_settings)
        .engine()
        .turn(TurnRequest(bot="farsi_retail", message="Do you have the iPhone 13 mini?"))
    )
    prompt = system_prompt(fake)
    assert "«iphone 13 mini», which is NOT in the catalog" in prompt
    assert "Reply in English." in prompt


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("message", "language", "directive"),
    [
        ("سلام، ارسال به شیراز چند روز طول میکشه؟", "fa", "Reply in Persian."),
        ("How long does delivery to Shiraz take?", "en", "Reply in English."),
        ("هل يوجد توصيل إلى شيراز؟", "ar", "Reply in Arabic."),
        ("کیا آپ شیراز میں ڈیلیور کرتے ہیں؟", "ur", "Reply in Persian."),  # Urdu is not in reply_languages
    ],
)
async def test_replies_in_the_customers_language(
    retail_settings: Settings, fake: FakeOpenAI, load_runtime, message: str, language: str, directive: str
) -> None:
    result = await load_runtime(retail_settings).engine().turn(TurnRequest(bot="farsi_retail", message=message))
    assert result.language == language
    assert system_prompt(fake).endswith(directive)


@pytest.mark.anyio
async def test_colloquial_amounts_are_confirmed_not_guessed(
    retail_settings: Settings, fake: FakeOpenAI, load_runtime
) -> None:
    await load_runtime(retail_settings).engine().turn(TurnRequest(bot="farsi_retail", message="هدفون ۵۰ تومنی دارید؟"))
    # "۵۰ تومنی" is read as fifty-thousand-ish already: no question needed
    assert "ask what amount they mean" not in system_prompt(fake)
    await load_runtime(retail_settings).engine().turn(TurnRequest(bot="farsi_retail", message="بودجه من ۵۰ تومن است"))
    assert "«50 تومن»" in system_prompt(fake)


@pytest.mark.anyio
async def test_persian_private_data_is_redacted_in_storage(
    retail_settings: Settings, fake: FakeOpenAI, load_runtime
) -> None:
    runtime = load_runtime(retail_settings)
    message = "شماره من ۰۹۱۲۳۴۵۶۷۸۹ و کارت ۶۰۳۷۹۹۷۵۱۲۳۴۵۶۷۸ و کد ملی ۰۰۸۴۵۷۵۹۴۸ و شبا IR820540102680020817909002"
    result = await runtime.engine().turn(TurnRequest(bot="farsi_retail", message=message))
    with runtime.database.session() as session:
        stored = session.exec(select(Message).where(Message.conversation_id == result.conversation_id)).first()
    assert stored.content == "شماره من [phone] و کارت [card_number] و کد ملی [iran_national_id] و شبا [iban]"
    assert not re.search(r"\d{6}", stored.content)
