"""The README's examples are tested code: its SDK script runs against our server."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal

from tests.apiserver import ApiServer
from tests.conftest import ROOT
from tests.fakeopenai import FakeOpenAI


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_the_readme_sdk_script_chats_and_prints_the_cost(api: ApiServer, fake: FakeOpenAI) -> None:
    [script] = python_blocks()
    # The README talks to the shipped medical bot on the default port with a placeholder key.
    script = script.replace("http://127.0.0.1:8000/v1", api.v1).replace('"dbk_..."', repr(api.chat_key))
    script = script.replace('model="medical"', 'model="helpdesk"')
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "echo: I have a mild headache"
    cost = re.fullmatch(r"\d+ tokens, \$([0-9.]+) on the prompt strategy", lines[1])
    assert cost, lines[1]
    assert Decimal(cost.group(1)) > 0
    assert lines[2].startswith("conversation: ")
