"""The ledger on SQLite and on a real PostgreSQL: migrations, exact sums, SQL aggregation."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlmodel import select

from core import strategy as strategies
from core.db import Database, open_database
from core.engine import TurnRequest
from core.errors import DatabaseUnavailable
from core.hooks import available_bots
from core.ledger import Call, Conversation, StrategySwitch
from core.pricing import PriceTable, from_nanos, to_nanos
from core.profiles import load_profiles
from core.reports import CostFilter, costs
from core.settings import Settings
from core.store import Store
from core.usage import Usage
from tests.fakeopenai import FakeOpenAI

TABLES = {"conversations", "messages", "calls", "strategy_state", "strategy_switches", "alembic_version"}


def test_migrations_create_the_schema_and_are_idempotent(database_url: str) -> None:
    database = open_database(database_url)
    assert set(inspect(database.engine).get_table_names()) >= TABLES
    assert database.current_revision() == Database.head_revision()
    database.upgrade()  # a second time is a no-op
    database.dispose()


def test_concurrent_starts_do_not_race(database_url: str) -> None:
    """Several processes bring one fresh database up at once, as workers starting together do."""
    env = {"DOMAINBOTS_DATABASE_URL": database_url, "PATH": ""}
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).with_name("domainbots")), "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, results
    assert Database(database_url).current_revision() == Database.head_revision()


def _call(conversation: str, bot: str, strategy: str, model: str, usage: Usage, when: datetime, status="ok") -> Call:
    price = PriceTable.load().price(model, when.date())
    return Call(
        conversation_id=conversation,
        bot=bot,
        strategy=strategy,
        provider="openai",
        model=model,
        profile_version="test",
        prompt_tokens=usage.prompt_tokens,
        cached_tokens=usage.cached_tokens,
        completion_tokens=usage.completion_tokens,
        cost_nanousd=to_nanos(price.cost(usage)),
        price_version=price.version,
        status=status,
        usage_source="reported",
        created_at=when,
    )


def test_cost_report_sums_exactly_in_sql(database_url: str) -> None:
    database = open_database(database_url)
    rng = random.Random(7)
    day1 = datetime(2025, 3, 1, 23, 59, tzinfo=UTC)
    day2 = day1 + timedelta(minutes=2)  # the next UTC day
    rows: list[Call] = []
    with database.session() as session:
        for i, (bot, strategy, model) in enumerate(
            [("medical", "prompt", "gpt-4o-mini"), ("medical", "finetuned", "ft:gpt-4o-mini-2024-07-18:a::x")] * 3
            + [("writing", "prompt", "gpt-4o-2024-08-06")] * 2
        ):
            conv = Conversation(id=f"c{i}", bot=bot, strategy=strategy)
            session.add(conv)
            session.flush()
            for _ in range(60):
                prompt = rng.randint(0, 5000)
                usage = Usage(prompt, rng.randint(0, prompt), rng.randint(0, 800))
                rows.append(_call(conv.id, bot, strategy, model, usage, rng.choice([day1, day2])))
        rows.append(_call("c0", "medical", "prompt", "gpt-4o-mini", Usage(), day1, status="error"))
        session.add_all(rows)
        session.commit()

        by_strategy = costs(session, "strategy", CostFilter(bot="medical"))
        assert [r.key for r in by_strategy.rows] == ["finetuned", "prompt"]
        for row in by_strategy.rows:
            mine = [c for c in rows if c.bot == "medical" and c.strategy == row.key]
            assert row.calls == len(mine)
            assert row.cost_usd == from_nanos(sum(c.cost_nanousd for c in mine))
            assert row.prompt_tokens == sum(c.prompt_tokens for c in mine)
            assert row.cached_tokens == sum(c.cached_tokens for c in mine)
        assert by_strategy.rows[1].errors == 1

        everything = costs(session, "bot")
        assert everything.total_usd == from_nanos(sum(c.cost_nanousd for c in rows))
        assert sum(r.calls for r in everything.rows) == len(rows)

        by_day = costs(session, "day")
        assert [r.key for r in by_day.rows] == ["2025-03-01", "2025-03-02"]
        assert sum(r.calls for r in by_day.rows) == len(rows)
        only_day2 = costs(session, "model", CostFilter(since=date(2025, 3, 2), until=date(2025, 3, 2)))
        assert sum(r.calls for r in only_day2.rows) == sum(1 for c in rows if c.created_at == day2)

        by_conversation = costs(session, "conversation", CostFilter(strategy="prompt", bot="writing"))
        assert [r.key for r in by_conversation.rows] == ["c6", "c7"]
    database.dispose()


def test_strategy_switches_are_audited(database_url: str, profiles_dir: Path) -> None:
    database = open_database(database_url)
    profile = load_profiles(profiles_dir, PriceTable.load(), available_bots()).get("helpdesk")
    with database.session() as session:
        assert strategies.current(session, profile).strategy == "prompt"
        strategies.switch(session, profile, strategy="finetuned", rollout=None, actor="alice")
        strategies.switch(session, profile, strategy=None, rollout=0.25, actor="bob")
        state = strategies.current(session, profile)
        assert (state.strategy, state.rollout) == ("finetuned", 0.25)
        trail = [(s.actor, s.from_strategy, s.to_strategy, s.to_rollout) for s in strategies.audit(session, "helpdesk")]
        assert trail == [("bob", "finetuned", "finetuned", 0.25), ("alice", "prompt", "finetuned", 0.0)]
        with pytest.raises(Exception, match="rollout is a share of new conversations from 0 to 1"):
            strategies.switch(session, profile, strategy=None, rollout=1.5, actor="x")
        assert len(session.exec(select(StrategySwitch)).all()) == 2
    database.dispose()


@pytest.mark.anyio
async def test_a_conversation_on_this_database(database_url: str, settings: Settings, fake: FakeOpenAI, load_runtime):
    runtime = load_runtime(settings.model_copy(update={"database_url": database_url}))
    engine = runtime.engine()
    first = await engine.turn(TurnRequest(bot="helpdesk", message="hello"))
    second = await engine.turn(TurnRequest(bot="helpdesk", message="again", conversation_id=first.conversation_id))
    with runtime.database.session() as session:
        rows = session.exec(select(Call).order_by(Call.id)).all()
        report = costs(session, "conversation")
    assert [r.conversation_id for r in rows] == [first.conversation_id] * 2
    assert report.total_usd == first.cost_usd + second.cost_usd


def test_an_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(
        DatabaseUnavailable, match=r"cannot open the database postgresql\+psycopg://u:\*\*\*@127\.0\.0\.1:1/x"
    ):
        open_database("postgresql+psycopg://u:secret@127.0.0.1:1/x")


def test_the_migrations_build_what_the_models_declare(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    database = open_database(database_url)
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    database.dispose()
    assert differences == []


def _indexes(database: Database, table: str) -> dict[str, dict[str, Any]]:
    return {ix["name"]: ix for ix in inspect(database.engine).get_indexes(table)}


def _where(index: dict[str, Any]) -> str | None:
    options = index.get("dialect_options", {})
    where = options.get("sqlite_where", options.get("postgresql_where"))
    return None if where is None else str(where)


def test_the_turn_writes_two_indexes_fewer_and_the_downgrade_restores_them(database_url: str) -> None:
    """0011: no index of the owner's own (the transcript index leads with it); the status index
    keeps pending rows only. Autogenerate does not compare an index's WHERE: this test does."""
    from alembic import command

    from core.db import _alembic_config

    database = open_database(database_url)
    conversations, calls = _indexes(database, "conversations"), _indexes(database, "calls")
    assert "ix_conversations_owner" not in conversations
    assert conversations["ix_conversations_transcript"]["column_names"][0] == "owner"
    status = calls["ix_calls_status_created"]
    assert status["column_names"] == ["status", "created_at"]
    assert "pending" in (_where(status) or "")

    # what looks calls up by status (start-up's settling) and conversations by owner still finds an index
    cutoff = datetime.now(UTC)
    with database.session() as session:
        session.add(Conversation(id="c1", bot="medical", strategy="prompt", owner="k1"))
        session.flush()
        session.add_all(
            [
                _call("c1", "medical", "prompt", "gpt-4o-mini", Usage(10), cutoff - timedelta(hours=1), status=s)
                for s in ("pending", "ok", "error")
            ]
        )
        session.commit()
    assert [c.status for c in Store(database).pending(older_than=cutoff)] == ["pending"]
    if database.is_sqlite:
        with database.engine.connect() as connection:
            plans = {
                sql: " ".join(row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (value,)))
                for sql, value in [
                    ("SELECT * FROM calls WHERE status = ? AND created_at < '9'", "pending"),
                    ("SELECT * FROM conversations WHERE owner = ?", "k1"),
                ]
            }
        calls_plan, owner_plan = plans.values()
        assert "INDEX ix_calls_status_created (status=? AND created_at<?)" in calls_plan, plans
        assert "INDEX ix_conversations_transcript (owner=?)" in owner_plan, plans

    config = _alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    assert database.current_revision() == "0010"
    conversations, calls = _indexes(database, "conversations"), _indexes(database, "calls")
    assert conversations["ix_conversations_owner"]["column_names"] == ["owner"]
    assert calls["ix_calls_status_created"]["column_names"] == ["status", "created_at"]
    assert _where(calls["ix_calls_status_created"]) is None
    database.upgrade()
    assert "pending" in (_where(_indexes(database, "calls")["ix_calls_status_created"]) or "")
    database.dispose()
