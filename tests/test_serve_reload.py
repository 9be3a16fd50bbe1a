"""`domainbots serve --workers 2`: a profile broken on disk takes nothing down; SIGHUP re-validates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from api.cli import cli
from core import keys
from core.db import open_database
from tests.conftest import HELPDESK, write_profile
from tests.fakeopenai import FakeOpenAI
from tests.test_workers import free_port


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _title(url: str, key: str) -> str:
    return httpx.get(f"{url}/v1/bots/helpdesk", headers={"Authorization": f"Bearer {key}"}, timeout=5).json()["title"]


# Generous: a worker imports the whole stack (hazm, numpy, the bots) before it serves, which on a
# loaded 2-core CI machine took over a minute; a deadline, not a timing.
def _wait(predicate, what: str, seconds: float = 180, log: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    tail = "" if log is None else "; the server's log ends:\n" + "\n".join(log.read_text().splitlines()[-15:])
    raise AssertionError(f"timed out waiting for {what}{tail}")


@pytest.fixture
def server(tmp_path: Path, fake: FakeOpenAI) -> Iterator[dict]:
    profiles = tmp_path / "profiles"
    write_profile(profiles, HELPDESK)
    url = f"sqlite:///{tmp_path}/serve.db"
    key = keys.create(open_database(url), "admin", "admin").secret
    port = free_port()
    env = {**os.environ, "DOMAINBOTS_DATABASE_URL": url, "DOMAINBOTS_PROFILES_DIR": str(profiles),
           "DOMAINBOTS_PROVIDER": "openai", "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": fake.base_url}  # fmt: skip
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    exe = str(Path(sys.executable).with_name("domainbots"))
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--workers", "2"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: len(_children(proc.pid)) >= 2 and _title(base, key) == "Test helpdesk", "two workers",
              log=tmp_path / "serve.log")  # fmt: skip
        yield {"url": base, "key": key, "proc": proc, "profiles": profiles, "log": tmp_path / "serve.log"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_a_broken_profile_and_a_crashed_worker_take_nothing_down(server: dict) -> None:
    url, key, proc = server["url"], server["key"], server["proc"]
    profile = server["profiles"] / "helpdesk.yaml"
    profile.write_text(profile.read_text().replace("bot: plain", "bot: nosuchbehaviour"))
    # a worker dies; its replacement loads the validated copy, not the broken file
    workers = [pid for pid in _children(proc.pid) if Path(f"/proc/{pid}/cmdline").read_bytes().count(b"spawn")]
    os.kill(workers[0], signal.SIGKILL)
    _wait(
        lambda: workers[0] not in _children(proc.pid) and len(_children(proc.pid)) >= 2,
        "a replacement worker",
        log=server["log"],
    )
    for _ in range(10):
        assert _title(url, key) == "Test helpdesk"
    # SIGHUP with the broken file: refused, the last good set stays in service
    os.kill(proc.pid, signal.SIGHUP)
    _wait(lambda: "profiles not reloaded" in server["log"].read_text(), "the refusal in the log", log=server["log"])
    assert proc.poll() is None
    assert _title(url, key) == "Test helpdesk"
    # fixed and changed: SIGHUP brings the new profile to every worker
    profile.write_text(profile.read_text().replace("bot: nosuchbehaviour", "bot: plain").replace(
        "title: Test helpdesk", "title: Renamed helpdesk"))  # fmt: skip
    os.kill(proc.pid, signal.SIGHUP)
    _wait(
        lambda: all(_title(url, key) == "Renamed helpdesk" for _ in range(6)),
        "the new profile everywhere",
        log=server["log"],
    )


def test_profiles_check_names_the_file_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    write_profile(folder, HELPDESK)
    ok = CliRunner().invoke(cli, ["profiles", "check", str(folder)])
    assert ok.exit_code == 0, ok.stderr
    assert "1 profiles valid" in ok.stdout
    (folder / "helpdesk.yaml").write_text(HELPDESK.replace("model: gpt-4o-mini", "model: gpt-nonexistent-9"))
    bad = CliRunner().invoke(cli, ["profiles", "check", str(folder)])
    assert bad.exit_code == 1
    assert "helpdesk.yaml" in bad.stderr
    assert "strategies.prompt.model" in bad.stderr
