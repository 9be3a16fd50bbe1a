from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from core.runtime import Runtime
from core.settings import Settings
from tests.apiserver import ApiServer
from tests.apiserver import start as start_api
from tests.fakeopenai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_PROFILES = ROOT / "profiles"
PG_ADMIN_URL = os.environ.get("DOMAINBOTS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")

HELPDESK = """
name: helpdesk
title: Test helpdesk
bot: plain
language: en
default_strategy: prompt
strategies:
  prompt:
    model: gpt-4o-mini
    system_prompt: You are a helpdesk.
    examples:
      - {user: "Printer jammed", assistant: "Open tray 2 and remove the paper."}
    temperature: 0.2
    max_output_tokens: 100
  finetuned:
    model: ft:gpt-4o-mini-2024-07-18:acme:helpdesk:abc123
    system_prompt: You are Acme's helpdesk.
history_tokens: 3000
max_message_chars: 200
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards. No PostgreSQL is a failure, not a skip."""
    name = f"domainbots_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); start it "
            "(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) "
            "or point DOMAINBOTS_TEST_POSTGRES at one"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    return request.getfixturevalue("postgres_url")


def write_profile(directory: Path, text: str, filename: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    body = textwrap.dedent(text).lstrip()
    name = filename or body.split("\n", 1)[0].split(":", 1)[1].strip() + ".yaml"
    path = directory / name
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def profiles_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "profiles"
    write_profile(directory, HELPDESK)
    return directory


@pytest.fixture
def settings(fake: FakeOpenAI, tmp_path: Path, profiles_dir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/domainbots.db",
        profiles_dir=profiles_dir,
        provider="openai",
        openai_api_key="test-key",
        openai_base_url=fake.base_url,
        request_timeout=1.0,
        max_retries=2,
    )


@pytest.fixture
async def load_runtime() -> AsyncIterator[Callable[..., Runtime]]:
    """Runtime.load, with every runtime closed in the test's own event loop afterwards."""
    loaded: list[Runtime] = []

    def load(settings: Settings | None = None) -> Runtime:
        loaded.append(Runtime.load(settings))
        return loaded[-1]

    yield load
    for rt in loaded:
        await rt.aclose()


@pytest.fixture
async def runtime(settings: Settings, load_runtime: Callable[..., Runtime]) -> Runtime:
    return load_runtime(settings)


@pytest.fixture
def cli_env(fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for the command line: the shipped profiles, a fresh SQLite, the fake server."""
    env = {
        "DOMAINBOTS_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "DOMAINBOTS_PROFILES_DIR": str(SHIPPED_PROFILES),
        "DOMAINBOTS_PROVIDER": "openai",
        "DOMAINBOTS_REQUEST_TIMEOUT": "2",
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake.base_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def api(settings: Settings) -> Iterator[ApiServer]:
    server = start_api(settings)
    yield server
    server.stop()
