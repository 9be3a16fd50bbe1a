"""The container files, checked as far as this machine can (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_the_image_runs_the_api_as_a_non_root_user_with_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile
    assert '"domainbots", "serve"' in dockerfile
    for copied in re.findall(r"^COPY (\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / copied).exists(), copied


def test_compose_runs_the_api_on_postgresql_with_a_named_volume() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    api, db = compose["services"]["api"], compose["services"]["db"]
    assert api["environment"]["DOMAINBOTS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pgdata" in compose["volumes"]
    assert any(v.startswith("pgdata:") for v in db["volumes"])
