"""Fine-tuning jobs end to end against the test server's files and fine-tuning endpoints."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from core import strategy as strategies
from core.engine import TurnRequest
from core.errors import InvalidInput
from core.finetune.jobs import FineTuning
from core.reports import compare
from core.settings import Settings
from tests.conftest import HELPDESK, write_profile
from tests.fakeopenai import FakeOpenAI, count_prompt

UNTRAINED = HELPDESK.replace("    model: ft:gpt-4o-mini-2024-07-18:acme:helpdesk:abc123\n", "")


def example(i: int) -> str:
    return json.dumps(
        {
            "messages": [
                {"role": "system", "content": "You are Acme's helpdesk."},
                {"role": "user", "content": f"My printer shows error E{i:02d}."},
                {
                    "role": "assistant",
                    "content": f"Error E{i:02d}: turn the printer off, wait ten seconds, turn it on.",
                },
            ]
        }
    )


@pytest.fixture
def tuning_settings(settings: Settings, profiles_dir: Path, tmp_path: Path) -> Settings:
    write_profile(profiles_dir, UNTRAINED, "helpdesk.yaml")
    folder = tmp_path / "training" / "helpdesk"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_text("\n".join(example(i) for i in range(40)) + "\n", encoding="utf-8")
    (folder / "eval.jsonl").write_text("\n".join(example(i) for i in range(40, 50)) + "\n", encoding="utf-8")
    return settings.model_copy(update={"training_dir": tmp_path / "training"})


@pytest.fixture
def tuning_env(tuning_settings: Settings, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's environment for the same setup."""
    env = {
        "DOMAINBOTS_DATABASE_URL": tuning_settings.database_url,
        "DOMAINBOTS_PROFILES_DIR": str(tuning_settings.profiles_dir),
        "DOMAINBOTS_TRAINING_DIR": str(tuning_settings.training_dir),
        "DOMAINBOTS_PROVIDER": "openai",
        "OPENAI_API_KEY": "k",
        "OPENAI_BASE_URL": fake.base_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)


pytestmark = pytest.mark.anyio


async def test_launch_succeed_register_switch_and_serve(tuning_settings: Settings, fake: FakeOpenAI, load_runtime):
    runtime = load_runtime(tuning_settings)
    tuning = FineTuning(runtime, tuning_settings.training_dir)
    steps: list[str] = []
    job = tuning.launch("helpdesk", on_step=steps.append)  # what a terminal's progress bar shows
    assert steps == ["validating the sets", "uploading the training set", "uploading the evaluation set",
                     "creating the job"]  # fmt: skip
    assert job.status == "validating_files"
    created = next(r.body for r in fake.requests if r.path == "/v1/fine_tuning/jobs")
    assert (created["model"], created["suffix"]) == ("gpt-4o-mini-2024-07-18", "helpdesk")
    assert created["validation_file"]
    assert created["training_file"] in fake.files
    assert len(fake.files) == 2

    statuses = [tuning.refresh(job.id).job.status for _ in range(3)]
    assert statuses == ["queued", "running", "succeeded"]
    view = tuning.refresh(job.id)
    finished = view.job
    assert "Job succeeded" in view.events
    assert finished.registered
    assert finished.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:fake-org:helpdesk:")
    # 40 examples -> 3 epochs, counted by the test server itself
    billed = 3 * sum(count_prompt("gpt-4o-mini-2024-07-18", json.loads(example(i))["messages"]) for i in range(40))
    assert finished.trained_tokens == billed
    assert finished.cost_usd == Decimal(billed) * Decimal(3) / 10**6  # $3 per 1M training tokens
    assert finished.price_version == "ft:gpt-4o-mini-2024-07-18@2024-07-23"

    profile = runtime.profiles.get("helpdesk")
    with runtime.database.session() as session:
        strategies.switch(session, profile, strategy="finetuned", rollout=None, actor="test")
        trail = strategies.audit(session, "helpdesk")
    assert any(f"job {job.id}" in entry.actor for entry in trail)
    result = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="E07 again"))
    assert (result.strategy, result.model) == ("finetuned", finished.fine_tuned_model)
    assert fake.chat_requests()[-1]["model"] == finished.fine_tuned_model
    # billed at the fine-tuned tier: $0.30/M in, $1.20/M out
    usage = result.usage
    assert (
        result.cost_usd == (usage.prompt_tokens * Decimal("0.30") + usage.completion_tokens * Decimal("1.20")) / 10**6
    )

    # The comparison books the training next to inference, amortized over the fine-tune's conversations.
    second = await runtime.engine().turn(TurnRequest(bot="helpdesk", message="and E08"))
    with runtime.database.session() as session:
        [tuned] = [s for s in compare(session, "helpdesk") if s.strategy == "finetuned"]
    assert tuned.conversations == 2
    assert tuned.training_usd == finished.cost_usd
    expected = (result.cost_usd + second.cost_usd + finished.cost_usd) / 2
    assert abs(tuned.cost_per_conversation_with_training_usd - expected) < Decimal("1e-12")


async def test_a_failed_job_shows_the_providers_error(tuning_settings: Settings, fake: FakeOpenAI, load_runtime):
    fake.fine_tune_outcome = "failed"
    tuning = FineTuning(load_runtime(tuning_settings), tuning_settings.training_dir)
    job = tuning.launch("helpdesk", epochs=2)
    assert next(r.body for r in fake.requests if r.path == "/v1/fine_tuning/jobs")["hyperparameters"] == {"n_epochs": 2}
    for _ in range(3):
        view = tuning.refresh(job.id)
    assert view.job.status == "failed"
    assert view.job.error == "invalid_training_file: Training file has 3 invalid lines"
    assert not view.job.registered
    assert view.job.cost_usd == 0


async def test_launch_refuses_missing_and_broken_training_sets(
    tuning_settings: Settings, fake: FakeOpenAI, load_runtime
) -> None:
    runtime = load_runtime(tuning_settings)
    with pytest.raises(InvalidInput, match="no training set at"):
        FineTuning(runtime, tuning_settings.training_dir / "elsewhere").launch("helpdesk")
    (tuning_settings.training_dir / "helpdesk" / "train.jsonl").write_text('{"messages": []}\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="has 1 errors; `domainbots finetune validate"):
        FineTuning(runtime, tuning_settings.training_dir).launch("helpdesk")
    assert fake.files == {}  # nothing was uploaded


def test_the_cli_launches_follows_and_lists(tuning_env: None) -> None:
    runner = CliRunner()
    launched = json.loads(runner.invoke(cli, ["finetune", "launch", "helpdesk", "--json"]).stdout)
    # --watch refreshes until the job has finished (the fake moves it a status per read)
    status = runner.invoke(cli, ["finetune", "status", launched["id"], "--watch", "--interval", "0", "--json"])
    assert status.exit_code == 0, status.stderr
    [job] = json.loads(status.stdout)["jobs"]
    assert (job["id"], job["status"], job["registered"]) == (launched["id"], "succeeded", True)
    assert Decimal(job["training_cost_usd"]) > 0
    listing = runner.invoke(cli, ["finetune", "jobs"]).stdout
    assert launched["id"] in listing
    assert "succeeded" in listing
    assert "no unfinished jobs" in runner.invoke(cli, ["finetune", "status"]).stdout
    shown = json.loads(runner.invoke(cli, ["bots", "--json"]).stdout)["bots"][0]
    assert shown["models"]["finetuned"] == job["fine_tuned_model"]
    assert runner.invoke(cli, ["strategy", "helpdesk", "finetuned"]).exit_code == 0
    assert runner.invoke(cli, ["chat", "helpdesk", "--message", "E01?"]).exit_code == 0
    compared = json.loads(runner.invoke(cli, ["compare", "helpdesk", "--json"]).stdout)
    [tuned] = compared["strategies"]
    assert tuned["training_usd"] == job["training_cost_usd"]
    assert "per conv + training" in runner.invoke(cli, ["compare", "helpdesk"]).stdout


async def test_export_builds_a_valid_set_from_liked_conversations(
    tuning_settings: Settings, fake: FakeOpenAI, load_runtime, tmp_path: Path
) -> None:
    from sqlmodel import Session

    from core.finetune.dataset import validate
    from core.finetune.export import export
    from core.ledger import Feedback

    runtime = load_runtime(tuning_settings)
    engine = runtime.engine()
    liked = await engine.turn(TurnRequest(bot="helpdesk", message="Paper jam in tray 2"))
    await engine.turn(TurnRequest(bot="helpdesk", message="And tray 3?", conversation_id=liked.conversation_id))
    disliked = await engine.turn(TurnRequest(bot="helpdesk", message="Toner is low"))
    with Session(runtime.database.engine) as session:
        session.add(Feedback(conversation_id=liked.conversation_id, rating=1))
        session.add(Feedback(conversation_id=disliked.conversation_id, rating=-1))
        session.commit()
    profile = runtime.profiles.get("helpdesk")
    [example] = export(runtime.database, profile)
    assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert example["messages"][0]["content"] == "You are Acme's helpdesk."
    seen: list[tuple[int, int]] = []
    assert len(export(runtime.database, profile, only_positive=False, on_progress=lambda *p: seen.append(p))) == 2
    assert seen == [(1, 2), (2, 2)]
    lines = [json.dumps(e) for e in export(runtime.database, profile, only_positive=False)]
    assert validate(lines, "gpt-4o-mini", runtime.prices).ok


def test_the_http_api_launches_and_follows_jobs(tuning_settings: Settings, fake: FakeOpenAI) -> None:
    import httpx

    from tests.apiserver import start

    server = start(tuning_settings)
    try:
        admin = server.headers(server.admin_key)
        assert httpx.get(f"{server.v1}/finetune/jobs", headers=server.headers()).status_code == 403
        launched = httpx.post(f"{server.v1}/bots/helpdesk/finetune", json={"epochs": 2}, headers=admin)
        assert launched.status_code == 202, launched.text
        job_id = launched.json()["id"]
        for _ in range(3):
            job = httpx.get(f"{server.v1}/finetune/jobs/{job_id}", headers=admin).json()
        assert (job["status"], job["registered"]) == ("succeeded", True)
        assert "Job succeeded" in job["events"]
        assert [j["id"] for j in httpx.get(f"{server.v1}/finetune/jobs", headers=admin).json()] == [job_id]
        switched = httpx.put(f"{server.v1}/bots/helpdesk/strategy", json={"strategy": "finetuned"}, headers=admin)
        assert switched.json()["models"]["finetuned"] == job["fine_tuned_model"]
        missing = httpx.get(f"{server.v1}/finetune/jobs/ftjob-nope", headers=admin)
        assert missing.status_code == 404
    finally:
        server.stop()


def test_cancel_and_register_rollback(tuning_env: None) -> None:
    runner = CliRunner()
    launched = json.loads(runner.invoke(cli, ["finetune", "launch", "helpdesk", "--json"]).stdout)
    cancelled = runner.invoke(cli, ["finetune", "cancel", launched["id"]])
    assert "cancelled" in cancelled.stdout
    assert json.loads(runner.invoke(cli, ["finetune", "jobs", "--json"]).stdout)["jobs"][0]["status"] == "cancelled"

    first = "ft:gpt-4o-mini-2024-07-18:acme:helpdesk:one"
    second = "ft:gpt-4o-mini-2024-07-18:acme:helpdesk:two"
    assert runner.invoke(cli, ["finetune", "register", "helpdesk", first]).exit_code == 0
    assert runner.invoke(cli, ["finetune", "register", "helpdesk", second]).exit_code == 0
    assert runner.invoke(cli, ["strategy", "helpdesk", "finetuned"]).exit_code == 0
    rolled_back = runner.invoke(cli, ["finetune", "register", "helpdesk", first])
    assert f"serves {first}" in rolled_back.stdout
    refused = runner.invoke(cli, ["finetune", "register", "helpdesk", "--clear"])
    assert refused.exit_code == 1
    assert "switch it to prompt first" in refused.stderr
    audit = json.loads(runner.invoke(cli, ["strategy", "helpdesk", "--audit", "--json"]).stdout)["switches"]
    assert any(f"-> {first}" in s["actor"] for s in audit)
    assert "no published price" in runner.invoke(cli, ["finetune", "register", "helpdesk", "llama-3"]).stderr
