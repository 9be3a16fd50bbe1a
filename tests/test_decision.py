"""The decision report: per strategy from the ledger (production only), and a verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlmodel import Session

from core.budget import month_to_date
from core.db import open_database
from core.decision import report, wilson
from core.ledger import Call, Conversation, Feedback, FineTuneJob
from core.reports import CostFilter, costs
from tests.apiserver import ApiServer
from tests.fakeopenai import FakeOpenAI

TODAY = datetime.now(UTC).date()


def _seed(session: Session, strategy: str, conversations: int, nanos_each: int, liked: int, disliked: int) -> None:
    for i in range(conversations):
        cid = f"{strategy[:2]}{i:030d}"
        session.add(Conversation(id=cid, bot="helpdesk", strategy=strategy))
        session.flush()
        session.add(
            Call(conversation_id=cid, bot="helpdesk", strategy=strategy, provider="openai", model="m",
                 profile_version="v", prompt_tokens=600 if strategy == "prompt" else 50, completion_tokens=80,
                 cost_nanousd=nanos_each, status="ok", usage_source="reported", latency_ms=100 + i)
        )  # fmt: skip
        if i < liked + disliked:
            session.add(Feedback(conversation_id=cid, rating=1 if i < liked else -1))
    session.commit()


def test_the_cheaper_strategy_wins_with_its_break_even(tmp_path) -> None:
    database = open_database(f"sqlite:///{tmp_path}/d.db")
    with database.session() as session:
        _seed(session, "prompt", 30, 100_000, liked=20, disliked=5)  # $0.0001 a conversation
        _seed(session, "finetuned", 30, 40_000, liked=21, disliked=4)  # $0.00004 a conversation
        session.add(FineTuneJob(id="ftjob-1", bot="helpdesk", base_model="m", training_file="f",
                                status="succeeded", cost_nanousd=900_000_000, registered=True))  # fmt: skip
        session.commit()
        doc = report(session, "helpdesk", TODAY - timedelta(days=29), TODAY)
    by = {s["strategy"]: s for s in doc["strategies"]}
    assert Decimal(by["prompt"]["cost_per_conversation_usd"]) * 30 == Decimal("0.003")  # to the nano-dollar
    assert by["finetuned"]["training_usd"] == "0.90"
    assert (by["finetuned"]["rated"], by["finetuned"]["liked"]) == (25, 21)
    # $0.90 of training at $0.00006 saved a conversation repays within 30 days at 500 a day
    assert doc["verdict"]["break_even_conversations_per_day"] == 500.0
    # with training amortized over only 30 conversations the prompt is cheaper so far
    assert doc["verdict"]["winner"] == "prompt"
    database.dispose()


def test_too_few_conversations_is_not_enough_data(tmp_path) -> None:
    database = open_database(f"sqlite:///{tmp_path}/d.db")
    with database.session() as session:
        _seed(session, "prompt", 5, 100_000, 1, 0)
        _seed(session, "finetuned", 5, 40_000, 1, 0)
        doc = report(session, "helpdesk", TODAY - timedelta(days=29), TODAY)
    assert doc["verdict"]["winner"] == "not enough data"
    database.dispose()


def test_wilson_interval() -> None:
    assert wilson(0, 0) is None
    low, high = wilson(20, 25) or (0, 0)
    assert 0.6 < low < 0.8 < high < 0.95


def test_evaluation_calls_stay_out_of_production_figures(tmp_path) -> None:
    database = open_database(f"sqlite:///{tmp_path}/d.db")
    with database.session() as session:
        _seed(session, "prompt", 2, 100_000, 0, 0)
        session.add(Conversation(id="e" * 32, bot="helpdesk", strategy="prompt", owner="eval"))
        session.flush()
        session.add(Call(conversation_id="e" * 32, bot="helpdesk", strategy="prompt", provider="openai", model="m",
                         profile_version="v", cost_nanousd=5_000_000, status="ok", usage_source="reported",
                         source="eval"))  # fmt: skip
        session.commit()
        assert costs(session, "bot").total_usd == Decimal("0.0002")
        assert costs(session, "bot", CostFilter(include_eval=True)).total_usd == Decimal("0.0052")
        assert month_to_date(session, "helpdesk") == Decimal("0.0002")
        doc = report(session, "helpdesk", TODAY - timedelta(days=29), TODAY)
    assert [s["conversations"] for s in doc["strategies"]] == [2]
    database.dispose()


def test_the_report_over_http(api: ApiServer, fake: FakeOpenAI) -> None:
    httpx.post(f"{api.v1}/bots/helpdesk/chat", json={"message": "hi"}, headers=api.headers())
    r = httpx.get(f"{api.v1}/bots/helpdesk/report", headers=api.headers(api.admin_key))
    assert r.status_code == 200
    doc = r.json()
    assert set(doc) == {"bot", "window", "strategies", "verdict"}
    assert doc["verdict"]["winner"] == "not enough data"
    assert httpx.get(f"{api.v1}/bots/helpdesk/report", headers=api.headers()).status_code == 403


def test_project_by_bot_uses_each_strategys_measured_profile(tmp_path, monkeypatch) -> None:
    """The seed question: a fine-tune with a 50-token prompt is cheaper per conversation than
    a 600-token prompt, however dearer its tokens; `project --bot` says so from the ledger."""
    import json

    from click.testing import CliRunner

    from api.cli import cli
    from tests.conftest import HELPDESK, write_profile

    url = f"sqlite:///{tmp_path}/d.db"
    database = open_database(url)
    with database.session() as session:
        _seed(session, "prompt", 30, 100_000, 0, 0)
        _seed(session, "finetuned", 30, 40_000, 0, 0)
        session.add(FineTuneJob(id="ftjob-1", bot="helpdesk", base_model="m", training_file="f",
                                status="succeeded", cost_nanousd=900_000_000, registered=True))  # fmt: skip
        session.commit()
    database.dispose()
    write_profile(tmp_path / "profiles", HELPDESK)
    monkeypatch.setenv("DOMAINBOTS_DATABASE_URL", url)
    monkeypatch.setenv("DOMAINBOTS_PROFILES_DIR", str(tmp_path / "profiles"))
    result = CliRunner().invoke(cli, ["project", "--bot", "helpdesk", "--chats-per-day", "1000", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    by = {s["strategy"]: s for s in doc["strategies"]}
    assert (by["prompt"]["prompt_tokens_per_conversation"], by["finetuned"]["prompt_tokens_per_conversation"]) == (
        600.0,
        50.0,
    )
    assert Decimal(by["prompt"]["per_day_usd"]) == Decimal("0.1")  # 1,000 x $0.0001
    assert Decimal(by["finetuned"]["per_period_usd"]) == Decimal("1.2")  # 30 days x 1,000 x $0.00004
    assert Decimal(by["finetuned"]["period_with_training_usd"]) == Decimal("2.1")
    assert doc["break_even_conversations_per_day"] == 500.0
    table = CliRunner().invoke(cli, ["project", "--bot", "helpdesk", "--chats-per-day", "1000"]).stdout
    assert "above 500.0 conversations a day" in table
    wrong = CliRunner().invoke(cli, ["project", "--bot", "helpdesk", "--model", "gpt-4o", "--chats-per-day", "5"])
    assert wrong.exit_code == 1
    assert "--bot projects from the ledger's measured costs: drop --model" in wrong.stderr
