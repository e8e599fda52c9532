"""What can be checked of deploy/ without a container engine or Kubernetes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gateway.settings import Settings

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"


def test_compose_and_chart_metadata_parse() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert {"postgres", "migrate", "api", "worker"} <= set(compose["services"])
    assert compose["services"]["worker"]["command"] == ["kv-gateway", "worker"]
    chart = yaml.safe_load((DEPLOY / "helm/kv-gateway/Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    values = yaml.safe_load((DEPLOY / "helm/kv-gateway/values.yaml").read_text())
    assert values["config"]["KVGW_DELIVERY_WORKER_IN_PROCESS"] == "false"


def test_every_setting_named_in_deploy_exists() -> None:
    known = {f"KVGW_{name.upper()}" for name in Settings.model_fields}
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            for name in set(re.findall(r"KVGW_[A-Z_]+", path.read_text())):
                assert name in known, f"{path.name} names {name}, which the gateway does not read"


def test_the_image_ships_the_compiled_profiles() -> None:
    assert "COPY profiles/compiled" in (DEPLOY / "Dockerfile").read_text()
    assert (ROOT / "profiles/compiled").is_dir()
