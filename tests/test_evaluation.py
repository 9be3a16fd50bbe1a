"""`domainbots eval`: a held-out set through each strategy, scored, priced and ledgered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from api.cli import cli
from core.db import open_database
from core.evaluation import overlap_f1
from core.ledger import Conversation
from tests.conftest import HELPDESK, write_profile
from tests.fakeopenai import FakeOpenAI


def test_overlap_f1() -> None:
    assert overlap_f1("the printer is jammed", "the printer is jammed") == 1.0
    assert overlap_f1("nothing alike", "the printer is jammed") == 0.0
    assert overlap_f1("the printer", "the printer is jammed") == pytest.approx(2 * 1.0 * 0.5 / 1.5)


@pytest.fixture
def eval_env(fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_profile(tmp_path / "profiles", HELPDESK)
    folder = tmp_path / "training" / "helpdesk"
    folder.mkdir(parents=True)
    cases = [("printer jammed", "echo: printer jammed"), ("toner low", "replace the toner cartridge")]
    lines = [
        json.dumps({"messages": [{"role": "user", "content": u}, {"role": "assistant", "content": a}]})
        for u, a in cases
    ]
    (folder / "eval.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        "DOMAINBOTS_DATABASE_URL": f"sqlite:///{tmp_path}/eval.db",
        "DOMAINBOTS_PROFILES_DIR": str(tmp_path / "profiles"),
        "DOMAINBOTS_TRAINING_DIR": str(tmp_path / "training"),
        "DOMAINBOTS_PROVIDER": "openai",
        "OPENAI_API_KEY": "k",
        "OPENAI_BASE_URL": fake.base_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def test_eval_runs_each_strategy_side_by_side(eval_env: Path, fake: FakeOpenAI) -> None:
    result = CliRunner().invoke(cli, ["eval", "helpdesk", "--json"])
    assert result.exit_code == 0, result.stderr
    by = {r["strategy"]: r for r in json.loads(result.stdout)["results"]}
    assert set(by) == {"prompt", "finetuned"}
    for r in by.values():
        assert (r["examples"], r["errors"]) == (2, 0)
        # the test server echoes: the first case matches its reference exactly, the second shares "toner"
        second = overlap_f1("echo: toner low", "replace the toner cartridge")
        assert r["score"] == pytest.approx((1.0 + second) / 2, abs=1e-4)
    assert float(by["finetuned"]["cost_usd"]) > float(by["prompt"]["cost_usd"])  # fine-tuned rates cost more
    models = {r["model"] for r in fake.chat_requests()}
    assert models == {"gpt-4o-mini", "ft:gpt-4o-mini-2024-07-18:acme:helpdesk:abc123"}
    database = open_database(f"sqlite:///{eval_env}/eval.db")
    with database.session() as session:
        owners = {c.owner for c in session.exec(select(Conversation))}
    assert owners == {"eval"}
    table = CliRunner().invoke(cli, ["eval", "helpdesk", "--strategy", "prompt", "--limit", "1"]).stdout
    assert "overlap F1" in table


def test_eval_without_a_set_or_a_model_says_so(eval_env: Path) -> None:
    (eval_env / "training" / "helpdesk" / "eval.jsonl").unlink()
    result = CliRunner().invoke(cli, ["eval", "helpdesk"])
    assert result.exit_code == 1
    assert "no evaluation set at" in result.stderr
