"""Keep the Dockerfile, compose file and Kubernetes manifests true without a container engine:
every command they run must parse with the real CLI, every OWNERMAP_* variable must be a setting,
and the image must keep its promises (non-root, health check, all interfaces, same install)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from ownermap.cli import main
from ownermap.settings import Settings
from tests.conftest import REPO_ROOT

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((REPO_ROOT / "deploy/compose/docker-compose.yaml").read_text())
COLLECTOR = yaml.safe_load((REPO_ROOT / "deploy/compose/otel-collector.yaml").read_text())
KUBERNETES = [d for d in yaml.safe_load_all((REPO_ROOT / "deploy/kubernetes/ownermap.yaml").read_text()) if d]


def _parses(args: list[str]) -> None:
    """The CLI accepts these arguments: known (sub)commands, known options, valid values."""
    command: click.Command = main
    # Contexts chained as in a real run, so the commands see main's context settings.
    ctx = click.Context(main, info_name="ownermap", **main.context_settings)
    rest = list(args)
    while isinstance(command, click.Group):
        assert rest, f"no command after {args}"
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"unknown command {rest[0]!r} in {args}"
        command, rest = sub, rest[1:]
        if isinstance(command, click.Group):
            ctx = click.Context(command, info_name=command.name, parent=ctx)
    command.make_context(command.name, rest, parent=ctx)  # raises click.UsageError on bad input


def _setting_names() -> set[str]:
    return {f"OWNERMAP_{name.upper()}" for name in Settings.model_fields}


def _containers() -> list[dict[str, Any]]:
    out = []
    for doc in KUBERNETES:
        spec = doc.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template", {})
        out.extend(template.get("spec", {}).get("containers", []))
    return out


def test_dockerfile_is_multi_stage_non_root_and_health_checked() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) >= 2
    assert re.search(r"^USER ownermap$", DOCKERFILE, re.M)
    assert "HEALTHCHECK" in DOCKERFILE and "/healthz" in DOCKERFILE
    assert "pip install --no-cache-dir '.[postgres,demo]'" in DOCKERFILE  # the same package install CI tests
    for port in ("4317", "4318", "8080"):
        assert f"0.0.0.0:{port}" in DOCKERFILE  # the image binds all interfaces


def test_dockerfile_environment_names_real_settings_and_copies_every_package() -> None:
    names = set(re.findall(r"(OWNERMAP_[A-Z_]+)=", DOCKERFILE))
    assert names and names <= _setting_names()
    packages = {p.parent.name for p in REPO_ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    for package in packages:
        assert re.search(rf"^COPY {package} \./{package}$", DOCKERFILE, re.M), package


def test_dockerfile_default_command_parses() -> None:
    cmd = re.search(r'^CMD \["(.+)"\]$', DOCKERFILE, re.M)
    assert cmd is not None
    _parses(cmd.group(1).split('", "'))


@pytest.mark.parametrize("service", sorted(COMPOSE["services"]))
def test_compose_commands_and_environment(service: str) -> None:
    spec = COMPOSE["services"][service]
    if spec.get("build"):
        _parses(spec["command"])
        assert set(spec.get("environment", {})) <= _setting_names()
        assert (Path(REPO_ROOT / "deploy/compose") / spec["build"] / "Dockerfile").resolve().is_file()


def test_compose_runs_two_ingest_replicas_and_one_api() -> None:
    roles = [s["command"][s["command"].index("--role") + 1] for s in COMPOSE["services"].values()
             if s.get("build")]
    assert sorted(roles) == ["api", "ingest", "ingest"]


def test_collector_routes_by_trace_id_to_every_ingest_replica() -> None:
    exporter = COLLECTOR["exporters"]["loadbalancing"]
    assert exporter["routing_key"] == "traceID"
    ingest = {name for name, s in COMPOSE["services"].items() if s.get("build") and "ingest" in s["command"]}
    assert {h.split(":")[0] for h in exporter["resolver"]["static"]["hostnames"]} == ingest
    assert COLLECTOR["service"]["pipelines"]["traces"]["exporters"] == ["loadbalancing"]


def test_kubernetes_containers_run_real_commands_with_real_settings() -> None:
    containers = _containers()
    assert {c["args"][0] for c in containers} == {"serve", "report"}
    for container in containers:
        _parses(container["args"])
        assert {e["name"] for e in container.get("env", [])} <= _setting_names()


def test_kubernetes_has_ingest_api_service_and_weekly_cronjob() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in KUBERNETES}
    assert {("Deployment", "ownermap-ingest"), ("Deployment", "ownermap-api"), ("Service", "ownermap"),
            ("CronJob", "ownermap-weekly-report")} <= kinds
    for doc in KUBERNETES:
        if doc["kind"] in ("Deployment",):
            probes = doc["spec"]["template"]["spec"]["containers"][0]
            assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_a_bad_command_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        _parses(["serve", "--role", "both"])
    with pytest.raises(AssertionError):
        _parses(["serv"])
