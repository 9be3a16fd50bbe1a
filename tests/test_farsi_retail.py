"""The Farsi retail bot: normalized lookups, grounded prices, the customer's language."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from bots.catalog import Catalog
from bots.farsi_retail import is_finglish
from bots.price_guard import PriceGuard
from bots.toman import ambiguous_amounts, delivery_date, format_toman, jalali
from core.engine import TurnRequest
from core.language import persian
from core.ledger import Message
from core.settings import Settings
from tests.conftest import SHIPPED_PROFILES
from tests.fakeopenai import FakeOpenAI

CATALOG = Catalog.shipped()
DATA = Path(__file__).parent / "data"


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
async def test_a_wrong_price_from_the_model_is_corrected_in_place(
    retail_settings: Settings, fake: FakeOpenAI, load_runtime
) -> None:
    from tests.fakeopenai import Reply

    fake.script(Reply(text="قیمت A55 حدود ۱۸ میلیون تومان است."))
    result = await load_runtime(retail_settings).engine().turn(TurnRequest(bot="farsi_retail", message="A55 چنده؟"))
    assert result.reply == "قیمت A55 حدود ۲۱٬۹۰۰٬۰۰۰ تومان است."  # one price, the catalog's: no contradiction


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
    message = "شماره من ۰۹۱۲۳۴۵۶۷۸۹ و کارت ۶۰۳۷۹۹۷۵۱۲۳۴۵۶۷۰ و کد ملی ۰۰۸۴۵۷۵۹۴۸ و شبا IR820540102680020817909002"
    result = await runtime.engine().turn(TurnRequest(bot="farsi_retail", message=message))
    with runtime.database.session() as session:
        stored = session.exec(select(Message).where(Message.conversation_id == result.conversation_id)).first()
    assert stored.content == "شماره من [phone] و کارت [card_number] و کد ملی [iran_national_id] و شبا [iban]"
    assert not re.search(r"\d{6}", stored.content)


# -- the price guard, on replies a model might write ------------------------------------

GUARD = PriceGuard.shipped()


@pytest.mark.parametrize(
    ("reply", "language", "asked", "expected"),
    [
        # tenfold (rials for toman), mixed separators, ASCII digits in Persian, decimal millions, words
        ("قیمت گلکسی A55 برابر ۲۱۹٬۰۰۰٬۰۰۰ تومان است.", "fa", [], "قیمت گلکسی A55 برابر ۲۱٬۹۰۰٬۰۰۰ تومان است."),
        ("گلکسی A55 الان ۲۱٬۹۰۰,۰۰۰ تومان است.", "fa", [], "گلکسی A55 الان ۲۱٬۹۰۰٬۰۰۰ تومان است."),
        ("ردمی نوت ۱۳ قیمتش 11,300,000 تومانه.", "fa", [], "ردمی نوت ۱۳ قیمتش ۱۱٬۳۰۰٬۰۰۰ تومانه."),
        ("آیفون ۱۳ اپل ۴۱٫۲ میلیون تومان قیمت داره.", "fa", [], "آیفون ۱۳ اپل ۴۱٬۲۰۰٬۰۰۰ تومان قیمت داره."),
        (
            "تلویزیون سامسونگ CU7000 قیمتش ۳۶ میلیون و ۵۰۰ هزار تومانه.",
            "fa",
            [],
            "تلویزیون سامسونگ CU7000 قیمتش ۳۶٬۵۰۰٬۰۰۰ تومانه.",
        ),
        ("The Galaxy S24 Ultra is 79.9 million toman.", "en", [], "The Galaxy S24 Ultra is 79,900,000 toman."),
        ("The Galaxy S24 Ultra is 799,000,000 rials.", "en", [], "The Galaxy S24 Ultra is 79,900,000 toman."),
        # a price with no product named in the reply is the asked product's
        ("It is 15,000,000 toman.", "en", ["SM-A556-256"], "It is 21,900,000 toman."),
        # right and well written: untouched
        ("The JBL Go 3 is 2,350,000 toman.", "en", [], "The JBL Go 3 is 2,350,000 toman."),
        # a budget is no price
        (
            "برای بودجه زیر ۱۰ میلیون، گلکسی A15 با ۸٬۷۹۰٬۰۰۰ تومان خوبه.",
            "fa",
            [],
            "برای بودجه زیر ۱۰ میلیون، گلکسی A15 با ۸٬۷۹۰٬۰۰۰ تومان خوبه.",
        ),
        # sizes are no prices
        (
            "کولر گازی گری ۱۸۰۰۰ BTU قیمتش ۴۲٬۵۰۰٬۰۰۰ تومان است.",
            "fa",
            [],
            "کولر گازی گری ۱۸۰۰۰ BTU قیمتش ۴۲٬۵۰۰٬۰۰۰ تومان است.",
        ),
    ],
)
def test_every_figure_becomes_the_catalogs(reply: str, language: str, asked: list[str], expected: str) -> None:
    products = [p for p in CATALOG.products if p.sku in asked]
    assert GUARD.check(reply, language=language, asked=products).text == expected


def test_a_price_for_a_product_we_do_not_sell_goes() -> None:
    guarded = GUARD.check("آیفون ۱۶ قیمتش ۹۵ میلیون تومانه. آیفون ۱۵ هم داریم.", language="fa", asked=[])
    assert "۹۵" not in guarded.text
    assert guarded.removed == ["iphone 16"]
    mixed = GUARD.check("Pixel 8 is 38,000,000 toman and iPhone 15 is 60,000,000 toman.", language="en", asked=[])
    assert "38,000,000" not in mixed.text
    assert "62,500,000 toman" in mixed.text


@pytest.mark.anyio
async def test_the_model_reads_normalized_persian_and_the_transcript_keeps_the_original(
    retail_settings: Settings, fake: FakeOpenAI, load_runtime
) -> None:
    runtime = load_runtime(retail_settings)
    message = "قيمت گوشي نوكيا ١٠٥ چقدره؟ موجودي داريد؟"  # Arabic ي and ك, Arabic-Indic digits
    result = await runtime.engine().turn(TurnRequest(bot="farsi_retail", message=message))
    sent = fake.chat_requests()[-1]["messages"][-1]["content"]
    assert "ي" not in sent  # Arabic yeh and kaf became Persian
    assert "ك" not in sent
    assert sent.endswith("موجودی دارید؟")
    assert "١٠٥" in sent  # digits as written
    with runtime.database.session() as session:
        stored = session.exec(select(Message).where(Message.conversation_id == result.conversation_id)).first()
    assert stored is not None
    assert stored.content == message


def test_long_persian_is_normalized_in_chunks_to_the_end() -> None:
    text = "قيمت گوشي نوكيا ١٠٥ چقدره؟ " + "سلاممممممم " * 1000 + "موجودي داريد؟"  # 11,000+ chars
    out = persian(text)
    assert out.endswith("موجودی دارید؟")  # never truncated
    assert "ي" not in out
    assert "١٠٥" in out


def test_delivery_skips_fridays_and_iranian_holidays() -> None:
    # Esfand 1404: Thursday 19 March 2026, then Friday, then Nowruz (21-24 March) and more holidays
    assert delivery_date(date(2026, 3, 19), 1) == date(2026, 3, 25)
    assert delivery_date(date(2026, 11, 24), 2) == date(2026, 11, 26)  # Tue -> Thu


def test_finglish_is_recognized_and_answered_in_persian() -> None:
    assert is_finglish("salam, ghimate iphone 13 chande?")
    assert not is_finglish("How much is the iPhone 13?")
    assert [p.sku for p in CATALOG.find("salam, ghimat galaxya55 chand?")] == ["SM-A556-256"]


def test_the_dev_split_meets_the_bar() -> None:
    import json
    import sys

    sys.path.insert(0, str(DATA.parent.parent))
    from bench.retail import reformatted

    rows = [json.loads(line) for line in (DATA / "retail_dev.jsonl").read_text("utf-8").splitlines() if line.strip()]
    messages = [r for r in rows if r["kind"] == "message"]
    found = [sorted(p.sku for p in CATALOG.find(r["text"])) == sorted(r["skus"]) for r in messages]
    assert sum(found) / len(messages) >= 0.95
    # products the shop lacks are reported (a size, an accessory, a version or line we do not sell)
    lacking = [r for r in messages if r.get("unknown")]
    reported = [
        len(CATALOG.lookup(r["text"]).unknown) + len(CATALOG.lookup(r["text"]).near_misses) >= len(r["unknown"])
        for r in lacking
    ]
    assert sum(reported) / len(lacking) >= 0.95
    replies = [r for r in rows if r["kind"] == "reply"]
    wrong = []
    for row in replies:
        asked = CATALOG.find(row["customer"])
        text = GUARD.check(row["reply"], language=row["lang"], asked=asked).text
        ok = True
        for price in row["prices"]:
            product = CATALOG.by_sku(price["sku"]) if price["sku"] else None
            if product is not None:
                ok &= format_toman(product.price_toman, row["lang"]).casefold() in text.casefold()
            elif price["stated"] in row["reply"]:
                ok &= price["stated"] not in text  # an invented price never survives
        if row["type"] == "correct":  # left alone, or only rewritten into the catalog's format
            ok &= text in (row["reply"], reformatted(GUARD, CATALOG, row))
        if not ok:
            wrong.append(row["id"])
    assert wrong == []  # "نسخه اسلیمش" after a PlayStation 5 Pro we lack is the Slim we sell (R-r19, M3-r17)


def test_every_dev_price_question_ends_with_the_catalog_price_whatever_the_model_says() -> None:
    """Through the bot's own prepare() and finish() around a careless model (no price at all;
    no product named and ten times the price): bench/retail.py's "price questions answered"."""
    import json
    import sys

    sys.path.insert(0, str(DATA.parent.parent))
    from bench.retail import answered
    from bots.farsi_retail import FarsiRetailBot
    from core.profiles import parse_profile

    bot = FarsiRetailBot()
    shipped = SHIPPED_PROFILES / "farsi_retail.yaml"
    profile = parse_profile(shipped.read_bytes(), str(shipped))
    rows = [json.loads(line) for line in (DATA / "retail_dev.jsonl").read_text("utf-8").splitlines() if line.strip()]
    questions = [r for r in rows if r["kind"] == "message" and r.get("asks_price") and r["skus"]]
    missed = [r["id"] for r in questions if not answered(bot, profile, r)[0]]
    assert len(questions) >= 400
    assert len(missed) / len(questions) <= 0.02, missed


def test_a_figure_that_may_be_nobodys_price_goes_and_each_asked_price_is_given() -> None:
    a55, a35 = CATALOG.by_sku("SM-A556-256"), CATALOG.by_sku("SM-A356-128")
    assert a55 is not None
    assert a35 is not None
    # two products asked about, a reply that names neither and quotes a figure that is neither's
    guarded = GUARD.check("قیمتش ۲۱۹٬۰۰۰٬۰۰۰ تومانه. هر دو موجودن.", language="fa", asked=[a55, a35])
    assert "۲۱۹٬۰۰۰٬۰۰۰" not in guarded.text
    assert "هر دو موجودن" in guarded.text
    assert guarded.untied == 1
    # a figure equal to one of them is that one's price, kept
    kept = GUARD.check(f"قیمتش {format_toman(a35.price_toman, 'fa')} است.", language="fa", asked=[a55, a35])
    assert kept.untied == 0
    assert a35 in kept.priced


@pytest.mark.parametrize(
    ("message", "asks"),
    [
        ("قيمتش؟", True),  # Arabic letters
        ("gheymat harduto begid", True),
        ("kodoom arzoontare?", True),
        ("which one is cheaper?", True),
        ("تخفیف عمده دارین؟", True),
        ("Is it still 10.9 million?", True),
        ("a55 mojoode?", False),
        ("گارانتیش چند ماهه؟", True),  # "چند" asks a number: the price words are a wide net on purpose
        ("ارسال به شیراز دارید؟", False),
    ],
)
def test_price_questions_are_read_on_normalized_text(message: str, asks: bool) -> None:
    from bots.farsi_retail import asks_for_price

    assert asks_for_price(persian(message)) is asks


@pytest.mark.parametrize(
    ("message", "skus", "unknown"),
    [
        # a second mention that leaves out what the first said: a version, a number, a version and a number
        ("PS5 Pro or just the Slim?", ["SNY-PS5-SLIM"], ["ps5 pro"]),
        ("iPhone 15 Pro Max, else the 15 Pro", ["APL-IP15P-256"], ["iphone 15 pro max"]),
        ("آیفون ۱۵ پرو مکس دارید؟ اگه نه همون ۱۵ پرو رو قیمت بدید", ["APL-IP15P-256"], ["iphone 15 pro max"]),
        ("آیفون ۱۴ دارید؟ اگه نه، ۱۳ چند؟", ["APL-IP13-128"], ["iphone 14"]),
        ("قیمت آیفون ۱۵ چنده؟ همینو پروش چی؟", ["APL-IP15-128", "APL-IP15P-256"], []),
        ("s24 رو میخواستم ولی اولتراش چند درمیاد؟", ["SM-S921-256", "SM-S928-512"], []),
        ("قیمت s24 معمولی چنده؟ اولترا نمیخوام", ["SM-S921-256"], []),  # a version refused
        ("مکبوک ایر ام۲ چند؟ اگه ام۳ هم دارین بگین", ["APL-MBA-M2"], ["macbook air m3"]),
        ("شارژر ۲۵ وات سامسونگ چند؟ ۴۵ واتم دارین؟", ["SM-CHG-25W"], ["شارژر 45 وات samsung"]),
        # a line word only one product carries, beside a join or with its own number
        ("LOQ یا TUF؟", ["LEN-LOQ-15", "ASU-TUF-F15"], []),
        ("Mi Band 9 or Band 8", ["XMI-RSB8"], ["band 9"]),
        # scripts glued, a letter after the number, a brand taking the kind of the one before it
        ("گلکسیa35 قیمتش", ["SM-A356-128"], []),
        ("آنر ایکس۸ بی چنده؟", ["HUA-N12-128"], []),
        ("جاروبرقی بوش و پارس خزر رو قیمت بدین", ["BSH-VC-BGS", "PKH-VC-2000"], []),
        # products we lack: a code near ours, a brand's kind we do not carry, another type of our kind
        ("s23 fe darin?", [], ["s23 fe"]),
        ("یخچال ال جی دارین؟", [], ["lg refrigerator"]),
        ("یخچال اسنوا ساید بای ساید دارین؟", [], ["یخچال snowa ساید"]),
    ],
)
def test_mentions_follow_a_grammar(message: str, skus: list[str], unknown: list[str]) -> None:
    lookup = CATALOG.lookup(message)
    assert [p.sku for p in lookup.products] == skus
    assert lookup.unknown == unknown


def test_other_costs_stay_and_a_leading_currency_is_not_doubled() -> None:
    router = CATALOG.by_sku("TPL-AX23")
    assert router is not None
    reply = "روتر Archer AX23 قیمتش ۵٬۰۰۰٬۰۰۰ تومانه و هزینه ارسال به مشهد ۸۵ هزار تومان."
    text = GUARD.check(reply, language="fa", asked=[router]).text
    assert "۳٬۹۵۰٬۰۰۰ تومانه" in text  # the router's price corrected
    assert "هزینه ارسال به مشهد ۸۵ هزار تومان" in text  # the shipping fee is no product's price
    phone = CATALOG.by_sku("NOK-105-4G")
    assert phone is not None
    english = GUARD.check("Nokia 105 4G: Toman 1450000, in stock.", language="en", asked=[phone]).text
    assert english == "Nokia 105 4G: 1,450,000 toman, in stock."


@pytest.mark.parametrize(
    ("message", "skus", "unknown"),
    [
        # a size we lack beside a product that comes in another: the product is not what is asked
        ("آیفون ۱۵ ۲۵۶ گیگ دارین؟", [], ["iphone 15 256 گیگ"]),
        ("فلش ۱۲۸ کینگستون هست؟", [], ["kingston 128"]),
        ("شارژر ۴۵ وات سامسونگ دارین؟ اگه نه همون ۲۵ وات چنده", ["SM-CHG-25W"], ["samsung 45 وات"]),
        # a size later in the message: its own finds the product again, another is one more we lack
        ("a15 256 gig darid? 128 chande?", ["SM-A156-128"], ["a15 256 gig"]),
        ("اس اس دی سن دیسک ۱ ترا چند؟ ۲ تراش چی؟", ["SDK-SSD-1T"], ["اس اس دی sandisk 2 تراش"]),
        ("پاوربانک انکر ۲۰ هزار قیمت؟ ۱۰ هزارشم دارین؟", ["ANK-PB-20K"], ["پاوربانک anker 10 هزارشم"]),
        ("tcl 18000 darid? 12000 chand?", ["TCL-AC-12K"], ["tcl 18000"]),
        (
            "تلویزیون ۵۵ اینچ سامسونگ CU7000 چند؟ ۶۵ اینچش هم دارین؟",
            ["SM-TV55-CU7"],
            ["تلویزیون 65 اینچ samsung cu7000"],
        ),
        # a size we sell, memory, a price: nothing lacking
        ("آیفون ۱۵ ۱۲۸ گیگ چنده", ["APL-IP15-128"], []),
        ("لپ تاپ ایسوس ویووبوک ۱۵ با ۸ گیگ رم", ["ASU-VB15-I5"], []),
        ("لباسشویی اسنوا ۸ کیلویی", ["SNW-WM-8KG"], []),
        # a thing we do not sell, for a product we do: the product is not asked about
        ("قاب آیفون ۱۵ و گلس دارین؟", [], ["قاب iphone 15", "گلس"]),
        ("دسته اضافه پلی استیشن ۵ دارین؟ دوال سنس چنده؟", [], ["دسته playstation 5", "dualsense"]),
        ("iphone 15 case?", [], ["case iphone 15"]),
        ("پرینتر کانن g3410 موجود هست؟ جوهرشم جدا میفروشین؟", ["CAN-G3410"], ["جوهر"]),
        # a line and a version with no number; a shop brand and a line of it we lack; an edition we lack
        ("AirPods Max price pls", [], ["airpods max"]),
        ("اسپرسو ساز دلونگی magnifica s چقدر؟ دلونگی ددیکا هم دارین؟", ["DLN-ECAM-22"], ["delonghi dedica"]),
        ("PS5 digital edition price? or do you only have the disc one?", ["SNY-PS5-SLIM"], ["ps5 digital"]),
        ("archer ax55 darid? ya faghat ax23?", ["TPL-AX23"], ["archer ax55"]),
        # a line named after a product takes its line; a brand names its one line product; a size between joins
        ("اپل واچ اولترا ۲ قیمت؟ سری ۹ چی؟", ["APL-AW9-41"], ["apple watch ultra 2"]),
        ("لنوو لوک با ایسوس تاف کدوم بهتره؟", ["LEN-LOQ-15", "ASU-TUF-F15"], []),
        ("لباسشویی اسنوا ۸ کیلویی رو با ال جی مقایسه کنید", ["SNW-WM-8KG", "LG-WM-V5"], []),
        ("۵ دستگاه لپ‌تاپ لنوو آیدیاپد ۳ و ۵ دستگاه اچ‌پی ۲۵۰", ["LEN-IP3-15", "HP-250-G9"], []),
    ],
)
def test_sizes_accessories_and_lines_we_lack(message: str, skus: list[str], unknown: list[str]) -> None:
    lookup = CATALOG.lookup(message)
    assert [p.sku for p in lookup.products] == skus
    assert lookup.unknown == unknown


def test_a_model_number_written_bare_is_no_price() -> None:
    reply = "کولر گازی ۱۸۰۰۰ اینورتر گری: ۴۲,۵۰۰,۰۰۰ تومان، با ۳۰ ماه گارانتی."
    text = GUARD.check(reply, language="fa", asked=[]).text
    assert text == "کولر گازی ۱۸۰۰۰ اینورتر گری: ۴۲٬۵۰۰٬۰۰۰ تومان، با ۳۰ ماه گارانتی."
    # a bare figure that is no catalog number is still read as a price and made the catalog's
    assert "۶۲٬۵۰۰٬۰۰۰ تومان" in GUARD.check("قیمت آیفون ۱۵: 61900000", language="fa", asked=[]).text


def test_a_price_for_a_version_we_lack_goes() -> None:
    text = GUARD.check("The AirPods Max are 38,000,000 toman, available in silver.", language="en", asked=[]).text
    assert "38,000,000" not in text
