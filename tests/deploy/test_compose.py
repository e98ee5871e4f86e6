"""deploy/compose against docker-compose's own validation and against the code it runs.

``docker-compose config`` (Debian's docker-compose, installed by ``make``) proves the file is valid
compose; the rest reads it (anchors resolved by YAML) and checks that every name it gives the code is
one the code reads: settings variables and secret files, ports, probe paths, search attributes, and the
Prometheus scrape targets.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from common import search_attributes
from common.settings import SECRETS_DIR_VARIABLE, ConfigurationError, load_settings, variable_names
from roomkeeper.metrics_server import LIVE_PATH, METRICS_PATH, READY_PATH
from tests.deploy import catalogue

COMPOSE = catalogue.DEPLOY / "compose" / "compose.yaml"
ROOMKEEPER_SERVICES = ("worker-1", "worker-2", "gateway")
WORKERS = ("worker-1", "worker-2")
#: What compose needs from deploy/compose/.env (placeholders here).
DOT_ENV = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "ROOMKEEPER_PUBLIC_URL": "https://rooms.example.com",
    "POSTGRES_PASSWORD": "not-a-secret",
}
OUR_PREFIXES = ("TWILIO_", "ROOMKEEPER_", "TEMPORAL_", "CALCOM_")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in service["environment"].items()}


def test_docker_compose_accepts_it() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "docker-compose is not installed (Debian: apt-get install docker-compose; `make test` does it)"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUR_PREFIXES)} | DOT_ENV

    def config(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
        command = [binary, "-f", str(COMPOSE), "config"]
        return subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=60, check=False
        )

    checked = config(env)
    assert checked.returncode == 0, checked.stderr
    resolved = yaml.safe_load(checked.stdout)
    assert set(resolved["services"]) >= {
        *ROOMKEEPER_SERVICES,
        "temporal",
        "temporal-ui",
        "prometheus",
        "grafana",
    }
    # Without the .env values, compose refuses with the variable's name rather than starting half-set.
    refused = config({k: v for k, v in env.items() if k != "TWILIO_ACCOUNT_SID"})
    assert refused.returncode != 0 and "TWILIO_ACCOUNT_SID" in refused.stderr + refused.stdout


def test_the_topology_is_all_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    temporal = {"postgresql", "temporal", "temporal-ui", "temporal-setup"}
    assert set(services) == temporal | {*ROOMKEEPER_SERVICES, "prometheus", "grafana"}
    assert services["temporal"]["environment"]["DB"] == "postgres12"  # advanced visibility in PostgreSQL
    for name in WORKERS:
        assert services[name]["command"] == ["worker"]
    assert services["gateway"]["command"][0] == "gateway"


def test_every_variable_and_secret_is_one_the_settings_read(compose: dict[str, Any], tmp_path: Path) -> None:
    # ROOMKEEPER_SECRETS_DIR is read before the settings, to find their files.
    variables = set(variable_names().values()) | {SECRETS_DIR_VARIABLE}
    secret_files = {name.lower() for name in variable_names().values()}
    for name in ROOMKEEPER_SERVICES:
        service = compose["services"][name]
        ours = {v for v in _env(service) if v.startswith(OUR_PREFIXES)}
        assert ours <= variables, (name, sorted(ours - variables))
        assert set(service["secrets"]) <= secret_files, (name, service["secrets"])
        assert set(service["secrets"]) <= set(compose["secrets"])
        assert _env(service)["ROOMKEEPER_SECRETS_DIR"] == "/run/secrets"  # where compose mounts them


@pytest.mark.parametrize("name", ROOMKEEPER_SERVICES)
def test_each_service_s_settings_load_as_the_code_reads_them(
    compose: dict[str, Any], name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = compose["services"][name]
    for variable in [v for v in os.environ if v.startswith(OUR_PREFIXES)]:
        monkeypatch.delenv(variable)
    for variable, value in _env(service).items():
        monkeypatch.setenv(variable, re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: DOT_ENV[m.group(1)], value))
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    # Shapes the settings check; every other secret file holds any text.
    placeholders = {
        "twilio_api_key": "SK" + "1" * 32,
        "roomkeeper_secret_key": Fernet.generate_key().decode(),
    }
    for secret in service["secrets"]:
        (secrets / secret).write_text(placeholders.get(secret, "placeholder-value"))
    monkeypatch.setenv("ROOMKEEPER_SECRETS_DIR", str(secrets))
    try:
        settings = load_settings(env_file=None)
    except ConfigurationError as error:
        pytest.fail(f"{name}: {error}")
    if name in WORKERS:
        settings.twilio_credentials()  # what `roomkeeper worker` insists on before it starts
        assert settings.metrics_host == "0.0.0.0"  # reachable by Prometheus from its own container
    else:
        assert settings.twilio_auth_token is not None  # what `roomkeeper gateway` insists on
    assert settings.public_url.startswith("https://")


def test_ports_probes_and_scrape_targets_match(compose: dict[str, Any]) -> None:
    services = compose["services"]
    scrape = yaml.safe_load(catalogue.SCRAPE_CONFIG.read_text())
    workers_job = next(job for job in scrape["scrape_configs"] if job["job_name"] == "roomkeeper-worker")
    targets = {target for group in workers_job["static_configs"] for target in group["targets"]}
    assert workers_job.get("metrics_path", METRICS_PATH) == METRICS_PATH
    expected = set()
    for name in WORKERS:
        port = _env(services[name])["ROOMKEEPER_METRICS_PORT"]
        expected.add(f"{name}:{port}")
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{port}{READY_PATH}" in probe
    assert targets == expected
    gateway = services["gateway"]
    port = gateway["command"][gateway["command"].index("--port") + 1]
    assert gateway["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert f"127.0.0.1:{port}{LIVE_PATH}" in " ".join(gateway["healthcheck"]["test"])
    temporal_targets = [job for job in scrape["scrape_configs"] if job["job_name"] == "temporal-server"]
    endpoint_port = services["temporal"]["environment"]["PROMETHEUS_ENDPOINT"].rsplit(":", 1)[1]
    assert temporal_targets[0]["static_configs"][0]["targets"] == [f"temporal:{endpoint_port}"]


def test_the_search_attributes_registered_are_the_code_s(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["temporal-setup"]["command"])
    registered = dict(re.findall(r"--name (\w+) --type (\w+)", command))
    assert registered == {key.name: key.indexed_value_type.name.title() for key in search_attributes.ALL}


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    here = COMPOSE.parent
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (here / source).exists(), volume
    assert (here / "../prometheus/alerts.yml").exists()
    assert (here / "../grafana/provisioning/dashboards/roomkeeper.yml").exists()
