"""The `domainbots` command line: SPEC 7 shapes, and one clear line for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from api.cli import cli
from tests.conftest import HELPDESK, write_profile
from tests.fakeopenai import FakeOpenAI, Reply


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def one_clear_line(result: Result, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_price_json_is_exact() -> None:
    result = run("price", "ft:gpt-4o-mini-2024-07-18:acme::x1", "--input", "1000", "--cached", "500",
                 "--output", "200", "--json")  # fmt: skip
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert {k: doc[k] for k in ("model", "input_tokens", "cached_tokens", "output_tokens", "cost_usd")} == {
        "model": "ft:gpt-4o-mini-2024-07-18:acme::x1",
        "input_tokens": 1000,
        "cached_tokens": 500,
        "output_tokens": 200,
        "cost_usd": "0.000465",
    }


def test_price_as_of_and_text_output() -> None:
    result = run("price", "gpt-3.5-turbo", "--input", "1000", "--output", "1000", "--as-of", "2023-09-01")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "gpt-3.5-turbo: $0.0035"
    assert "priced as gpt-3.5-turbo-0613" in result.stdout


def test_the_projection_people_quote() -> None:
    args = ["project", "--model", "gpt-3.5-turbo", "--model", "ft:gpt-3.5-turbo", "--chats-per-day", "10000",
            "--input-tokens", "1000", "--output-tokens", "1000", "--as-of", "2023-09-01"]  # fmt: skip
    table = run(*args)
    assert table.exit_code == 0
    assert "$35.00" in table.stdout
    assert "$280.00" in table.stdout
    assert "8.00x" in table.stdout
    doc = json.loads(run(*args, "--json").stdout)
    base, tuned = doc["scenarios"]
    assert (base["per_day_usd"], tuned["per_day_usd"]) == ("35.00", "280.00")
    assert (base["per_month_usd"], tuned["per_month_usd"]) == ("1050.00", "8400.00")
    assert base["training_usd"] is None


def test_projection_amortizes_training_over_the_period() -> None:
    args = ["project", "--model", "ft:gpt-3.5-turbo", "--chats-per-day", "10000", "--input-tokens", "1000",
            "--output-tokens", "1000", "--as-of", "2023-09-01", "--training-tokens", "3000000", "--days", "30",
            "--json"]  # fmt: skip
    [scenario] = json.loads(run(*args).stdout)["scenarios"]
    assert scenario["training_usd"] == "24.00"  # 3M tokens at $8/M, shown apart
    assert scenario["per_chat_usd"] == "0.028"
    assert scenario["per_chat_with_training_usd"] == "0.02808"  # + $24 / 300,000 chats


def test_tokens_json_and_stdin() -> None:
    doc = json.loads(run("tokens", "--model", "gpt-4", "hello world", "--json").stdout)
    assert doc == {"model": "gpt-4", "encoding": "cl100k_base", "tokens": 2}
    assert run("tokens", "-", input="hello world").stdout.strip() == "2"


def test_chat_turn_shows_up_in_costs_by_strategy(cli_env: dict, fake: FakeOpenAI) -> None:
    turn = run("chat", "medical", "--message", "I have a mild headache", "--json")
    assert turn.exit_code == 0, turn.stderr
    doc = json.loads(turn.stdout)
    assert doc["reply"] == "echo: I have a mild headache\n\nThis is general information, not medical advice."
    assert doc["strategy"] == "prompt"
    assert doc["usage"]["prompt_tokens"] > 0
    report = json.loads(run("costs", "--by", "strategy", "--format", "json").stdout)
    [row] = report["rows"]
    assert row["strategy"] == "prompt"
    assert row["calls"] == 2  # the model call and the (free) moderation beside it
    assert row["prompt_tokens"] == doc["usage"]["prompt_tokens"]
    assert row["completion_tokens"] == doc["usage"]["completion_tokens"]
    assert row["cost_usd"] == doc["cost_usd"] == report["total_usd"]
    csv_lines = run("costs", "--by", "strategy", "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == "strategy,calls,errors,prompt_tokens,cached_tokens,completion_tokens,cost_usd"
    assert csv_lines[1].startswith("prompt,2,0,")
    table = run("costs", "--by", "bot").stdout
    assert "medical" in table
    assert "total" in table


def test_chat_streams_and_prints_a_summary(cli_env: dict, fake: FakeOpenAI) -> None:
    result = run("chat", "writing", "--message", "give me three openings")
    assert result.exit_code == 0
    assert result.stdout.strip() == "echo: give me three openings"
    assert "· prompt · gpt-4o-mini ·" in result.stderr
    assert "$0.0000" in result.stderr


def test_chat_repl_keeps_one_conversation(cli_env: dict, fake: FakeOpenAI) -> None:
    result = run("chat", "writing", "--no-stream", input="first line\n\nsecond line\nexit\n")
    assert result.exit_code == 0, result.stderr
    assert "echo: first line" in result.stdout
    assert "echo: second line" in result.stdout
    second_request = fake.chat_requests()[1]["messages"]
    assert [m["content"] for m in second_request[-3:]] == ["first line", "echo: first line", "second line"]


def test_a_provider_failure_is_one_line_and_a_ledger_row(cli_env: dict, fake: FakeOpenAI) -> None:
    fake.script(*[Reply(status=500, error_message="model overloaded")] * 3)
    line = one_clear_line(run("chat", "medical", "--message", "hello", "--no-stream"))
    assert "answered 500" in line
    doc = json.loads(run("costs", "--format", "json").stdout)
    assert doc["rows"][0]["errors"] == 3  # the first try and two retries, each a row
    assert doc["total_usd"] == "0.00"


def test_unknown_bot_exits_2_and_lists_the_bots(cli_env: dict) -> None:
    line = one_clear_line(run("chat", "dentist", "--message", "hi"), exit_code=2)
    assert line == "error: unknown bot 'dentist'; the bots are: farsi_retail, medical, writing"


@pytest.mark.parametrize(
    ("message", "expected"),
    [("   ", "the message is empty"), ("x" * 4001, "4,001 characters; bot 'medical' accepts at most 4,000")],
)
def test_bad_messages(cli_env: dict, fake: FakeOpenAI, message: str, expected: str) -> None:
    assert expected in one_clear_line(run("chat", "medical", "--message", message))
    assert fake.chat_requests() == []


def test_a_model_with_no_price() -> None:
    line = one_clear_line(run("price", "llama-3-70b", "--input", "1", "--output", "1"))
    assert "no published price for model 'llama-3-70b'" in line


def test_an_unreachable_database(cli_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMAINBOTS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert "cannot open the database" in one_clear_line(run("costs"))


def test_a_profile_that_does_not_validate(cli_env: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile(tmp_path / "bad", HELPDESK.replace("temperature: 0.2", "temperature: hot"), "helpdesk.yaml")
    monkeypatch.setenv("DOMAINBOTS_PROFILES_DIR", str(tmp_path / "bad"))
    line = one_clear_line(run("bots"))
    assert "helpdesk.yaml: strategies.prompt.temperature: input should be a valid number" in line


def test_debug_shows_the_traceback(cli_env: dict) -> None:
    with pytest.raises(Exception, match="unknown bot"):
        run("--debug", "chat", "dentist", "--message", "hi")


def test_no_provider_configured_says_what_to_set(cli_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("DOMAINBOTS_PROVIDER", "openai")
    assert "needs OPENAI_API_KEY" in one_clear_line(run("chat", "medical", "--message", "hi"))


def test_strategy_show_switch_and_audit(cli_env: dict) -> None:
    assert "medical: prompt (gpt-4o-mini)" in run("strategy", "medical").stdout
    line = one_clear_line(run("strategy", "medical", "finetuned"))
    assert "no fine-tuned model yet: train one with `domainbots finetune launch medical`" in line
    assert "rollout is a share" in one_clear_line(run("strategy", "medical", "prompt", "--rollout", "2"))
    bots = json.loads(run("bots", "--json").stdout)["bots"]
    assert {b["bot"]: b["strategy"] for b in bots} == {
        "farsi_retail": "prompt",
        "medical": "prompt",
        "writing": "prompt",
    }
    assert "has never been switched" in run("strategy", "medical", "--audit").stdout


def test_strategy_switch_is_audited(cli_env: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_profile(tmp_path / "p", HELPDESK)
    monkeypatch.setenv("DOMAINBOTS_PROFILES_DIR", str(tmp_path / "p"))
    doc = json.loads(run("strategy", "helpdesk", "finetuned", "--rollout", "0.2", "--json").stdout)
    assert (doc["strategy"], doc["rollout"]) == ("finetuned", 0.2)
    audit = json.loads(run("strategy", "helpdesk", "--audit", "--json").stdout)["switches"]
    assert [(s["from"], s["to"], s["to_rollout"]) for s in audit] == [("prompt", "finetuned", 0.2)]
    assert audit[0]["actor"].startswith("cli:")


def test_the_installed_console_script_end_to_end(cli_env: dict, fake: FakeOpenAI) -> None:
    """The real `domainbots` executable, as a user runs it."""
    exe = str(Path(sys.executable).with_name("domainbots"))
    chat = subprocess.run([exe, "chat", "farsi_retail", "--message", "قیمت گوشی A55 چنده؟"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    assert "قیمت گوشی A55 چنده؟" in chat.stdout
    costs = subprocess.run([exe, "costs", "--by", "strategy"], capture_output=True, text=True, timeout=60)
    assert costs.returncode == 0
    assert costs.stdout.splitlines()[2].split()[:3] == ["prompt", "1", "0"]


def test_keys_create_list_revoke(cli_env: dict) -> None:
    created = run("keys", "create", "--name", "web", "--scope", "chat")
    assert created.exit_code == 0
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("dbk_")
    assert "shown only now" in created.stderr
    listed = json.loads(run("keys", "list", "--json").stdout)["keys"]
    assert [(k["name"], k["scope"], k["revoked_at"]) for k in listed] == [("web", "chat", None)]
    assert secret not in run("keys", "list").stdout
    assert "already named 'web'" in one_clear_line(run("keys", "create", "--name", "web", "--scope", "admin"))
    assert run("keys", "revoke", "web").exit_code == 0
    assert json.loads(run("keys", "list", "--json").stdout)["keys"][0]["revoked_at"] is not None
    assert "no active key named 'web'" in one_clear_line(run("keys", "revoke", "web"))


def test_serve_refuses_to_start_on_a_bad_profile(cli_env: dict, tmp_path: Path, monkeypatch) -> None:
    write_profile(tmp_path / "bad", HELPDESK.replace("name: helpdesk", "name: Help!"), "helpdesk.yaml")
    monkeypatch.setenv("DOMAINBOTS_PROFILES_DIR", str(tmp_path / "bad"))
    assert "name: string should match pattern" in one_clear_line(run("serve", "--port", "0"))


def test_serve_refuses_to_start_with_a_missing_local_model(cli_env: dict, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("DOMAINBOTS_PROVIDER", "auto")
    monkeypatch.setenv("DOMAINBOTS_LOCAL_MODEL", str(tmp_path / "missing.gguf"))
    line = one_clear_line(run("serve", "--port", "0"))
    assert "missing.gguf: no such file" in line


def test_a_file_that_is_not_gguf_is_refused(cli_env: dict, monkeypatch, tmp_path: Path) -> None:
    (tmp_path / "notes.gguf").write_text("not a model")
    monkeypatch.setenv("DOMAINBOTS_PROVIDER", "local")
    monkeypatch.setenv("DOMAINBOTS_LOCAL_MODEL", str(tmp_path / "notes.gguf"))
    assert "not a GGUF file" in one_clear_line(run("chat", "medical", "--message", "hi"))


def test_report_gives_a_verdict(cli_env: dict, fake: FakeOpenAI) -> None:
    assert run("chat", "medical", "--message", "I have a mild cold", "--json").exit_code == 0
    doc = json.loads(run("report", "medical", "--json").stdout)
    assert doc["bot"] == "medical"
    assert doc["verdict"]["winner"] == "not enough data"
    assert "verdict: not enough data" in run("report", "medical").stdout


def test_costs_takes_json_like_every_command(cli_env: dict, fake: FakeOpenAI) -> None:
    run("chat", "medical", "--message", "I have a mild cold", "--json")
    doc = json.loads(run("costs", "--json").stdout)
    assert doc["total_usd"] == json.loads(run("costs", "--format", "json").stdout)["total_usd"]


def test_the_default_database_is_one_place_and_dotenv_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import Settings

    monkeypatch.delenv("DOMAINBOTS_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert Settings().database_url == f"sqlite:///{tmp_path / 'data' / 'domainbots' / 'domainbots.db'}"
    (tmp_path / ".env").write_text("DOMAINBOTS_REQUEST_TIMEOUT=7\n")
    assert Settings().request_timeout == 7
