"""/dashboard in a real headless Chromium: who may see it, and that its numbers are the ledger's.

Traffic goes through the real API to the fake OpenAI server on both strategies, with feedback
and an evaluation call beside it; the page is then read in the browser and checked against
sums taken straight from the calls table.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlmodel import select

from core.ledger import ApiKey, Call, utcnow
from core.money import usd
from core.settings import Settings
from tests.apiserver import ApiServer
from tests.apiserver import start as start_api

CHROMIUM = os.environ.get("DOMAINBOTS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `apt-get install chromium` (scripts/dev test does it) "
            "or point DOMAINBOTS_CHROMIUM at one"
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def api(settings: Settings, database_url: str) -> Iterator[ApiServer]:
    """The API on SQLite and on PostgreSQL: the page's SQL (days in UTC) differs between them."""
    server = start_api(settings.model_copy(update={"database_url": database_url}))
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def _traffic(api: ApiServer) -> None:
    chat = f"{api.v1}/bots/helpdesk/chat"
    prompt = [httpx.post(chat, json={"message": f"printer {i}"}, headers=api.headers()).json() for i in range(3)]
    admin = api.headers(api.admin_key)
    httpx.put(f"{api.v1}/bots/helpdesk/strategy", json={"strategy": "finetuned"}, headers=admin).raise_for_status()
    tuned = [httpx.post(chat, json={"message": f"scanner {i}"}, headers=api.headers()).json() for i in range(2)]
    for reply, rating in [(prompt[0], 1), (prompt[1], -1), (tuned[0], 1), (tuned[1], 1)]:
        feedback = f"{api.v1}/conversations/{reply['conversation_id']}/feedback"
        r = httpx.post(feedback, json={"rating": rating}, headers=api.headers())
        assert r.status_code == 201
    with api.runtime.database.session() as session:  # an evaluation run's call: not production spend
        session.add(Call(bot="helpdesk", strategy="prompt", provider="openai", model="gpt-4o-mini",
                         profile_version="x", cost_nanousd=9_000_000_000, status="ok", source="eval",
                         usage_source="reported", created_at=utcnow()))  # fmt: skip
        session.commit()


def _ledger(api: ApiServer) -> list[Call]:
    with api.runtime.database.session() as session:
        return list(session.exec(select(Call).where(Call.source == "production")))


def _sign_in(page: Page, api: ApiServer, key: str) -> None:
    page.goto(f"{api.base_url}/dashboard")
    page.fill("#key", key)
    page.click("button[type=submit]")


def test_an_admin_sees_the_ledgers_numbers_and_drawn_charts(api: ApiServer, page: Page) -> None:
    _traffic(api)
    _sign_in(page, api, api.admin_key)
    assert page.locator("#spend svg").count() == 1

    calls = _ledger(api)
    total = sum((c.cost_usd for c in calls), Decimal(0))
    assert total > 0
    assert page.inner_text("#total-spend") == usd(total)  # the eval call's $9 is not in it

    bot = page.locator("#bot-helpdesk")
    assert bot.locator("tr.strategy").count() == 2
    for strategy in ("prompt", "finetuned"):
        mine = [c for c in calls if c.strategy == strategy]
        conversations = len({c.conversation_id for c in mine})
        row = bot.locator(f"tr[data-strategy={strategy}]")
        assert int(row.locator(".conversations").inner_text()) == conversations
        per = Decimal(row.locator(".per-conversation").get_attribute("data-usd") or "nan")
        assert (per * conversations).quantize(Decimal("1e-9")) == sum((c.cost_usd for c in mine), Decimal(0))
    assert bot.locator("tr[data-strategy=prompt] .liked").inner_text() == "1 / 2"
    assert bot.locator("tr[data-strategy=finetuned] .liked").inner_text() == "2 / 2"
    assert bot.locator(".winner").inner_text() == "not enough data"  # 3 and 2 conversations: below the minimum

    # drawn charts: a bar per day and series with spend, one cost bar and one rate dot per strategy
    assert page.locator("rect.spend").count() >= 2
    assert page.locator("#cost-per-conversation rect.bar").count() == 2
    assert page.locator("#like-rate circle.rate").count() == 2
    assert page.locator("tr.conversation").count() == 5

    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == ("domainbots_session", True, "Strict")
    assert api.admin_key not in cookie["value"]


def test_a_chat_key_or_no_key_sees_nothing(api: ApiServer, page: Page) -> None:
    _traffic(api)
    page.goto(f"{api.base_url}/dashboard")
    assert page.locator("#signin").count() == 1
    assert page.locator("#spend, #verdicts, #recent").count() == 0

    _sign_in(page, api, api.chat_key)
    assert "needs an admin key" in page.inner_text("[role=alert]")
    assert page.locator("#spend, #verdicts, #recent").count() == 0
    assert page.context.cookies() == []

    _sign_in(page, api, "dbk_nothere_secret")
    assert "not valid" in page.inner_text("[role=alert]")
    assert page.context.cookies() == []


def test_sign_out_and_revoking_the_key_end_the_session(api: ApiServer, page: Page) -> None:
    # each step waits for the page it leads to (a form post navigates; count() alone would race it)
    _sign_in(page, api, api.admin_key)
    expect(page.locator("#spend")).to_have_count(1)
    page.click("header button[type=submit]")
    expect(page.locator("#signin")).to_have_count(1)
    assert page.context.cookies() == []

    _sign_in(page, api, api.admin_key)
    expect(page.locator("#spend")).to_have_count(1)
    with api.runtime.database.session() as session:
        key = session.exec(select(ApiKey).where(ApiKey.name == "test-admin")).one()
        key.revoked_at = utcnow()
        session.add(key)
        session.commit()
    page.reload()
    expect(page.locator("#signin")).to_have_count(1)


def test_a_forged_cookie_is_refused(api: ApiServer) -> None:
    r = httpx.get(f"{api.base_url}/dashboard", cookies={"domainbots_session": "deadbeef.99999999999.00"})
    assert r.status_code == 200
    assert 'id="signin"' in r.text
    assert 'id="spend"' not in r.text


def test_odd_cookies_and_windows_get_clear_answers(api: ApiServer) -> None:
    from api.dashboard import session

    huge = httpx.get(f"{api.base_url}/dashboard", cookies={"domainbots_session": "ab12." + "9" * 5000 + ".00"})
    assert huge.status_code == 200
    assert 'id="signin"' in huge.text
    with api.runtime.database.session() as db:
        admin = db.exec(select(ApiKey).where(ApiKey.name == "test-admin")).one()
    cookies = {"domainbots_session": session.token_for(admin)}
    assert 'id="spend"' in httpx.get(f"{api.base_url}/dashboard", cookies=cookies).text
    for params in ({"since": "2020-01-01", "until": "2026-01-01"}, {"until": "9999-12-31"}, {"since": "2026-02-01",
                   "until": "2026-01-01"}):  # fmt: skip
        r = httpx.get(f"{api.base_url}/dashboard", params=params, cookies=cookies)
        assert r.status_code == 422, params
        assert "give a window of 1 to 366 days" in r.text
    # a session whose expiry lies beyond what a sign-in gives is no session
    forged = session.token_for(admin, now=10**10)
    assert 'id="signin"' in httpx.get(f"{api.base_url}/dashboard", cookies={"domainbots_session": forged}).text
