"""deploy/k8s validated offline against the Kubernetes API schemas (``kubernetes-validate``, a dev
dependency that ships them) and cross-checked against the code: every variable a Deployment sets is one
the settings read, the settings load from them, and probes, ports and selectors line up."""

from __future__ import annotations

import os
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cryptography.fernet import Fernet

from common.settings import ConfigurationError, load_settings, variable_names
from roomkeeper.metrics_server import LIVE_PATH, METRICS_PATH, READY_PATH
from tests.deploy import catalogue

K8S = catalogue.DEPLOY / "k8s"
#: The oldest Kubernetes release still supported upstream when this was written.
KUBERNETES_VERSION = "1.30.0"
OUR_PREFIXES = ("TWILIO_", "ROOMKEEPER_", "TEMPORAL_", "CALCOM_")

Resource = dict[str, Any]


def _resources() -> list[Resource]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


RESOURCES = _resources()


def _find(kind: str, name: str) -> Resource:
    return next(r for r in RESOURCES if r["kind"] == kind and r["metadata"]["name"] == name)


def _container(deployment: str) -> Resource:
    containers: list[Resource] = _find("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _environment(deployment: str) -> dict[str, str]:
    """What the container's environment holds: its ConfigMaps and Secrets, then its own env."""
    container = _container(deployment)
    found: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            found |= _find("ConfigMap", source["configMapRef"]["name"])["data"]
        elif source["secretRef"].get("optional"):
            # Created by the operator when wanted (e.g. lifecycle events): not part of what must load.
            assert not any(r["metadata"]["name"] == source["secretRef"]["name"] for r in RESOURCES)
        else:
            found |= _find("Secret", source["secretRef"]["name"])["stringData"]
    found |= {item["name"]: item["value"] for item in container.get("env", [])}
    return {name: str(value) for name, value in found.items()}


@pytest.mark.parametrize(
    "resource", RESOURCES, ids=[f"{r['kind']}/{r['metadata']['name']}" for r in RESOURCES]
)
def test_each_resource_is_valid_against_the_kubernetes_schema(resource: Resource) -> None:
    try:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(
            f"{resource['kind']}/{resource['metadata']['name']}: {error.message} at {list(error.path)}"
        )


def test_the_topology_is_all_there() -> None:
    kinds = {(r["kind"], r["metadata"]["name"]) for r in RESOURCES}
    assert {
        ("Deployment", "roomkeeper-worker"),
        ("Deployment", "roomkeeper-gateway"),
        ("Service", "roomkeeper-gateway"),
        ("PodDisruptionBudget", "roomkeeper-worker"),
        ("HorizontalPodAutoscaler", "roomkeeper-worker"),
    } <= kinds
    assert any(kind == "Secret" for kind, _ in kinds)


def test_every_variable_is_one_the_settings_read() -> None:
    variables = set(variable_names().values())
    for resource in RESOURCES:
        keys = set(resource.get("data", {})) | set(resource.get("stringData", {}))
        if resource["kind"] in ("ConfigMap", "Secret"):
            assert keys <= variables, (resource["metadata"]["name"], sorted(keys - variables))
    for deployment in ("roomkeeper-worker", "roomkeeper-gateway"):
        ours = {name for name in _environment(deployment) if name.startswith(OUR_PREFIXES)}
        assert ours <= variables, sorted(ours - variables)


@pytest.mark.parametrize("deployment", ["roomkeeper-worker", "roomkeeper-gateway"])
def test_the_settings_load_from_what_each_deployment_sets(
    deployment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in [v for v in os.environ if v.startswith(OUR_PREFIXES)]:
        monkeypatch.delenv(variable)
    for variable, value in _environment(deployment).items():
        monkeypatch.setenv(variable, value)
    if "ROOMKEEPER_SECRET_KEY" in os.environ:
        # The manifest holds a placeholder for the operator's key; the settings check a key's shape.
        monkeypatch.setenv("ROOMKEEPER_SECRET_KEY", Fernet.generate_key().decode())
    try:
        settings = load_settings(env_file=None)
    except ConfigurationError as error:
        pytest.fail(f"{deployment}: {error}")
    if deployment == "roomkeeper-worker":
        settings.twilio_credentials()  # what `roomkeeper worker` insists on
        assert settings.twilio_api_key is not None  # REST calls with an API key, not the auth token
    else:
        assert settings.twilio_auth_token is not None  # the gateway checks signatures with it
    assert settings.public_url.startswith("https://")


def test_worker_probes_metrics_and_scaling_line_up() -> None:
    worker = _find("Deployment", "roomkeeper-worker")
    container = _container("roomkeeper-worker")
    port = int(_environment("roomkeeper-worker")["ROOMKEEPER_METRICS_PORT"])
    assert _environment("roomkeeper-worker")["ROOMKEEPER_METRICS_HOST"] == "0.0.0.0"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": port}
    assert container["readinessProbe"]["httpGet"] == {"path": READY_PATH, "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": LIVE_PATH, "port": "metrics"}
    annotations = worker["spec"]["template"]["metadata"]["annotations"]
    assert (
        annotations["prometheus.io/port"] == str(port) and annotations["prometheus.io/path"] == METRICS_PATH
    )
    assert container["args"] == ["worker"]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    labels = worker["spec"]["template"]["metadata"]["labels"]
    assert worker["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pdb = _find("PodDisruptionBudget", "roomkeeper-worker")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = _find("HorizontalPodAutoscaler", "roomkeeper-worker")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "roomkeeper-worker",
    }
    # Room for a running Twilio call (30 s, roomkeeper.worker.GRACEFUL_SHUTDOWN) after SIGTERM.
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 30


def test_gateway_port_probes_and_service_line_up() -> None:
    container = _container("roomkeeper-gateway")
    args = container["args"]
    assert args[0] == "gateway"
    port = int(args[args.index("--port") + 1])
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": port}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": LIVE_PATH, "port": "http"}
    service = _find("Service", "roomkeeper-gateway")
    labels = _find("Deployment", "roomkeeper-gateway")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_pods_run_unprivileged() -> None:
    for deployment in ("roomkeeper-worker", "roomkeeper-gateway"):
        pod = _find("Deployment", deployment)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        # The image's user (Dockerfile: USER 10001).
        assert pod["securityContext"]["runAsUser"] == 10001
        assert "USER 10001" in (catalogue.ROOT / "Dockerfile").read_text()
