"""The ledger's single writer: concurrent turns share commits, a bad write fails alone, and a
write whose waiter left is committed all the same. On SQLite (writes on the loop) and on
PostgreSQL (a writer thread)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.db import open_database
from core.engine import TurnRequest
from core.ledger import Call, Conversation
from core.runtime import Runtime
from core.settings import Settings
from core.writer import Writer
from tests.fakeopenai import FakeOpenAI

pytestmark = pytest.mark.anyio


def _insert(name: str):  # type: ignore[no-untyped-def]
    def write(connection: Connection) -> str:
        connection.execute(
            text(
                "INSERT INTO strategy_state (bot, strategy, rollout, updated_at)"
                " VALUES (:b, 'prompt', 0, CURRENT_TIMESTAMP)"
            ),
            {"b": name},
        )
        return name

    return write


def _bots(url: str) -> set[str]:
    database = open_database(url, upgrade=False)
    with database.engine.connect() as connection:
        found = {row[0] for row in connection.execute(text("SELECT bot FROM strategy_state"))}
    database.dispose()
    return found


@pytest.mark.parametrize("inline", [True, False], ids=["on the loop", "a thread"])
async def test_concurrent_writes_share_commits_and_a_bad_one_fails_alone(database_url: str, inline: bool) -> None:
    database = open_database(database_url)
    writer = Writer(database, inline=inline)
    names = [f"bot{i}" for i in range(40)]
    # bot7 twice: its second write breaks the primary key, and only it fails
    futures = [writer.submit(_insert(name)) for name in [*names, "bot7"]]
    results = await asyncio.gather(*futures, return_exceptions=True)
    writer.close()
    assert results[:40] == names
    assert isinstance(results[40], IntegrityError)
    assert _bots(database_url) == set(names)
    # group commit: fewer transactions than writes (the failed batch was retried write by write)
    assert writer.writes == 40
    database.dispose()


async def test_a_write_whose_waiter_was_cancelled_is_committed(database_url: str) -> None:
    database = open_database(database_url)
    writer = Writer(database, inline=False)

    async def wait_for_it() -> None:
        await writer.submit(_insert("left"))

    task = asyncio.ensure_future(wait_for_it())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    writer.close()  # drains the queue
    assert _bots(database_url) == {"left"}
    database.dispose()


async def test_a_burst_of_turns_commits_in_fewer_transactions_than_rows(
    settings: Settings, load_runtime, fake: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    # the test server's listen backlog is small: a wide burst would wait on TCP retries
    runtime: Runtime = load_runtime(settings.model_copy(update={"database_url": database_url, "request_timeout": 10.0}))
    engine = runtime.engine()
    replies = await asyncio.gather(*(engine.turn(TurnRequest(bot="helpdesk", message=f"q{i}")) for i in range(12)))
    engine.writer.close()
    with runtime.database.session() as session:
        rows = list(session.exec(select(Call)))
        conversations = list(session.exec(select(Conversation)))
    # every turn: its row (opened, then settled), its conversation, each reply's cost on its row
    assert len(rows) == 12 == len(conversations)
    assert {r.status for r in rows} == {"ok"}
    assert sorted(r.cost_nanousd for r in rows) == sorted(int(x.cost_usd.scaleb(9)) for x in replies)
    assert engine.writer.writes == 24  # two writes a turn
    assert engine.writer.batches < engine.writer.writes  # and commits shared between turns


async def test_a_write_that_comes_while_the_writer_closes_is_written(database_url: str) -> None:
    database = open_database(database_url)
    writer = Writer(database, inline=False)
    await writer.submit(_insert("first"))
    closing = asyncio.ensure_future(asyncio.to_thread(writer.close))
    late = [writer.submit(_insert(f"late{i}")) for i in range(20)]
    await closing
    assert await asyncio.gather(*late) == [f"late{i}" for i in range(20)]
    writer.close()
    assert _bots(database_url) == {"first", *(f"late{i}" for i in range(20))}
    database.dispose()


@pytest.mark.postgres
async def test_a_connection_the_server_dropped_is_replaced(postgres_url: str) -> None:
    database = open_database(postgres_url)
    writer = Writer(database, inline=False)
    await writer.submit(_insert("before"))
    # the server ends the writer's session (a restart, an idle timeout)
    with database.engine.connect() as admin:
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        admin.commit()
    assert await writer.submit(_insert("after")) == "after"
    writer.close()
    assert _bots(postgres_url) == {"before", "after"}
    database.dispose()
