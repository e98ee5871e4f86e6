"""deploy/prometheus with promtool (Debian's ``prometheus`` package, installed by ``make``): the scrape
config and the rules are valid, every alert is unit-tested with synthetic series, and every alert has
its runbook in docs/operations.md."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.deploy import catalogue


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus; `make test` does it)")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_scrape_config_and_its_rules() -> None:
    checked = _promtool("check", "config", str(catalogue.SCRAPE_CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_accepts_the_rules() -> None:
    checked = _promtool("check", "rules", str(catalogue.RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(catalogue.alert_rules())} rules found" in checked.stdout


def test_every_alert_passes_its_unit_tests() -> None:
    checked = _promtool("test", "rules", str(catalogue.RULE_TESTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_is_tested_firing_and_has_a_runbook() -> None:
    alerts = [str(rule["alert"]) for rule in catalogue.alert_rules()]
    tests = yaml.safe_load(catalogue.RULE_TESTS.read_text())["tests"]
    fired = {
        case["alertname"] for test in tests for case in test.get("alert_rule_test", []) if case["exp_alerts"]
    }
    assert sorted(set(alerts) - fired) == [], "alerts never shown to fire"
    runbooks = set(re.findall(r"^### (Roomkeeper\w+)$", catalogue.OPERATIONS.read_text(), re.MULTILINE))
    assert sorted(set(alerts) - runbooks) == [], "alerts without a runbook section"
    for rule in catalogue.alert_rules():
        annotations = rule["annotations"]
        assert annotations["runbook"] == f"docs/operations.md#{str(rule['alert']).lower()}"  # type: ignore[index]
        assert rule["labels"]["severity"] in ("page", "ticket")  # type: ignore[index]


def test_the_dashboard_is_a_provisionable_grafana_dashboard() -> None:
    dashboard = json.loads(catalogue.DASHBOARD.read_text())
    assert dashboard["uid"] == "roomkeeper" and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
    provider = yaml.safe_load(
        (catalogue.DEPLOY / "grafana" / "provisioning" / "dashboards" / "roomkeeper.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
