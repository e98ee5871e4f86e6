"""What deploy/ and docs/operations.md say about metrics, read the way the tests compare them.

docs/operations.md's metrics tables are the one written list of metric names (with what each means and
what to alert on); the dashboard and the alert rules use names; a live worker exports them. The tests
check the three against each other, so none can drift.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
SCRAPE_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "roomkeeper.json"
OPERATIONS = ROOT / "docs" / "operations.md"

#: A metric name in PromQL or in a table cell: ours and the Temporal SDK's.
_METRIC = re.compile(r"\b((?:roomkeeper|temporal)_[a-z0-9_]+)")
#: The first cell of a metrics table row: `name` or `name{labels}`.
_DOCUMENTED = re.compile(r"^\| `((?:roomkeeper|temporal)_[a-z0-9_]+)(?:\{[^`]*\})?` \|", re.MULTILINE)
#: Suffixes a family's samples carry beyond the family's name.
SAMPLE_SUFFIXES = ("_bucket", "_count", "_sum")


def alert_rules() -> list[dict[str, object]]:
    """Every rule of deploy/prometheus/alerts.yml."""
    loaded = yaml.safe_load(RULES.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def rule_expressions() -> list[str]:
    return [str(rule["expr"]) for rule in alert_rules()]


def dashboard_expressions() -> list[str]:
    """Every query of the Grafana dashboard, and of its template variables."""
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            queries.append(query["query"])
    return queries


def metric_names(expressions: list[str]) -> set[str]:
    """The roomkeeper_ and temporal_ metric names the expressions select."""
    return {name for expression in expressions for name in _METRIC.findall(expression)}


def family_of(sample_name: str) -> str:
    """The family a sample name belongs to (``x_bucket`` → ``x``); counters keep their ``_total``."""
    for suffix in SAMPLE_SUFFIXES:
        if sample_name.endswith(suffix):
            return sample_name.removesuffix(suffix)
    return sample_name


def documented_metrics() -> set[str]:
    """The family names docs/operations.md's metrics tables list."""
    return set(_DOCUMENTED.findall(OPERATIONS.read_text()))
