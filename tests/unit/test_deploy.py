"""The deployment files parse and agree with the app (docker cannot run here; kubectl
neither): ports, probes, environment names, selectors, the drain timing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SERVER = ROOT / "handlers" / "server.py"


def known_env() -> set[str]:
    """Every environment variable the app reads (config.py and the engine's DATABASE_URL)."""
    source = (ROOT / "bot" / "config.py").read_text()
    return set(re.findall(r'env(?:\.get\(|\[)"([A-Z_]+)"', source))


def routes() -> set[str]:
    return set(re.findall(r'add_(?:get|post)\("([^"]+)"', SERVER.read_text()))


def k8s() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[doc["kind"]] = doc
    return docs


def test_compose_runs_postgres_two_replicas_and_a_proxy() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    replicas = [s for name, s in services.items() if name.startswith("firstline-")]
    assert len(replicas) == 2
    for replica in replicas:
        env = replica["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert set(env) <= known_env()
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "/healthz" in " ".join(replica["healthcheck"]["test"])
        grace = int(replica["stop_grace_period"].rstrip("s"))
        assert grace > float(env["FIRSTLINE_DRAIN_SECONDS"]) + 30 + 10 + 20
    assert services["migrate"]["command"] == ["migrate"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "firstline-1:3000" in caddy and "firstline-2:3000" in caddy
    assert "health_uri /healthz" in caddy
    assert services["proxy"]["volumes"][0].startswith("./deploy/Caddyfile:")
    env_example = (ROOT / "deploy" / "env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z_]+)=", env_example, re.M)) - {"POSTGRES_PASSWORD"}
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} <= names <= known_env()


def test_kubernetes_manifests_agree_with_each_other_and_the_app() -> None:
    docs = k8s()
    assert {"Deployment", "Service", "Secret", "ConfigMap", "Job", "PodDisruptionBudget"} <= set(
        docs
    )
    deployment, service, pdb = docs["Deployment"], docs["Service"], docs["PodDisruptionBudget"]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < spec["replicas"]

    [container] = spec["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = docs["ConfigMap"]["data"]
    assert ports["http"] == int(config["PORT"])
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert {"/healthz", "/livez", "/slack/events"} <= routes()
    sources = {next(iter(s)): next(iter(s.values()))["name"] for s in container["envFrom"]}
    assert sources == {"configMapRef": "firstline", "secretRef": "firstline"}
    secret = docs["Secret"]
    assert secret["metadata"]["name"] == "firstline"
    assert set(secret["stringData"]) | set(config) <= known_env()
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL"} <= set(secret["stringData"])
    settings = Settings.from_env({**config, **secret["stringData"]})  # values the app accepts
    grace = spec["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > settings.drain_seconds + 30 + 10 + 20  # drain, in flight, loops, outbox

    job = docs["Job"]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"] == ["migrate"]
    assert job["containers"][0]["envFrom"][0]["secretRef"]["name"] == "firstline"
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "secret.example.yaml" not in kustomization["resources"]
    for resource in kustomization["resources"]:
        assert (K8S / resource).exists()


def test_drain_and_lease_settings_say_what_is_wrong() -> None:
    assert Settings.from_env({}).outbox_lease_seconds == 15
    assert Settings.from_env({"FIRSTLINE_DRAIN_SECONDS": "0.5"}).drain_seconds == 0.5
    for name, value, hint in (
        ("FIRSTLINE_OUTBOX_LEASE", "1", "at least 2"),
        ("FIRSTLINE_OUTBOX_LEASE", "1m", "whole seconds"),
        ("FIRSTLINE_DRAIN_SECONDS", "soon", "FIRSTLINE_DRAIN_SECONDS=5"),
        ("FIRSTLINE_DRAIN_SECONDS", "-1", "between 0 and 300"),
    ):
        try:
            Settings.from_env({name: value})
        except ConfigurationError as error:
            assert hint in error.message and value in error.message
        else:
            raise AssertionError(f"{name}={value} was accepted")
