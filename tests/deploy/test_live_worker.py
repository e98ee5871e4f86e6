"""A real ``roomkeeper worker`` process, scraped by a real Prometheus, read as an operator would.

One worker subprocess (JSON logs, metrics on loopback) runs one meeting on the emulator, whose first
CreateRoom answers 503 once, and one workflow task fails on purpose (a workflow type the worker does
not have), so every family the dashboard and the alert rules use has samples. Prometheus (Debian's
``prometheus`` package, installed by ``make``) scrapes it every second with deploy/prometheus's alert
rules loaded. The tests then ask: does Prometheus answer a roomkeeper query, do the rules evaluate on
real data, is every metric the dashboard and rules use exported and documented, do the probes answer,
and is the log one JSON object a line with the lifecycle's fields and no traceback or secret.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import yaml
from temporalio.testing import WorkflowEnvironment

from emulator.credentials import TEST_AUTH_TOKEN
from roomkeeper.metrics_server import family_names
from tests.deploy import catalogue
from tests.support import running_emulator, wait_until
from tests.task_failures import BENIGN_TASK_FAILURE_CAUSES, TERMINATED_MID_TASK, failed_workflow_tasks
from tests.test_cli import free_port
from tests.test_shutdown import worker_env
from workflows.meeting import MeetingWorkflow, search_attributes_for
from workflows.meeting_input import MeetingSpec
from workflows.meeting_state import MeetingInput
from workflows.reconciler import reconciler_id

pytestmark = pytest.mark.slow  # the module's worker, meeting and Prometheus take ~15 s; its tests are quick

#: A workflow type no worker registers: its first task fails, which the SDK counts.
UNKNOWN_WORKFLOW = "NoSuchWorkflow"
#: Series Prometheus makes itself, not the worker.
PROMETHEUS_OWN = {"up"}


@dataclass
class LiveWorker:
    """What the worker and Prometheus showed while the worker ran, and its log once it stopped."""

    exposition: str
    probes: dict[str, tuple[int, str]]
    log_lines: list[str]
    exit_code: int
    task_queue: str
    meeting_id: str
    room_sid: str
    #: Prometheus keeps running (and keeps what it scraped) until the module ends; None: not installed.
    prometheus_url: str | None
    prometheus_skip: str
    #: When the worker was still up: queries ask Prometheus about this moment.
    scraped_at: float
    rules: list[dict[str, object]]


def _prometheus_config(directory: Path, target: str) -> Path:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(catalogue.RULES)],
        # The job name the rules select (up{job="roomkeeper-worker"}), as in deploy/prometheus.
        "scrape_configs": [{"job_name": "roomkeeper-worker", "static_configs": [{"targets": [target]}]}],
    }
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A Prometheus server on a free loopback port, configured later by ``Prometheus.start``."""
    running = Prometheus(shutil.which("prometheus"), tmp_path_factory.mktemp("prometheus"))
    try:
        yield running
    finally:
        running.stop()


class Prometheus:
    def __init__(self, binary: str | None, directory: Path) -> None:
        self.binary, self.directory = binary, directory
        self.process: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self.why_not = (
            ""
            if binary
            else ("prometheus is not installed (Debian: apt-get install prometheus; `make test` installs it)")
        )

    def start(self, target: str) -> None:
        if self.binary is None:
            return
        port = free_port()
        log = self.directory / "prometheus.log"
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={_prometheus_config(self.directory, target)}",
                    f"--storage.tsdb.path={self.directory / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        url = self.url = f"http://127.0.0.1:{port}"
        process = self.process
        wait_until(
            lambda: process.poll() is not None or _get(f"{url}/-/ready") == 200,
            timeout=30,
            what="Prometheus to be ready",
        )
        assert process.poll() is None, log.read_text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest_asyncio.fixture(scope="module")
async def live(
    temporal_env: WorkflowEnvironment, prometheus: Prometheus, tmp_path_factory: pytest.TempPathFactory
) -> LiveWorker:
    started = datetime.now(UTC) - timedelta(seconds=1)
    workdir = tmp_path_factory.mktemp("live-worker")
    task_queue = f"live-{uuid.uuid4()}"
    log_path = workdir / "worker.log"
    with running_emulator() as emulator, log_path.open("w") as log_file:
        env = worker_env(temporal_env, emulator, task_queue) | {"ROOMKEEPER_LOG_FORMAT": "json"}
        metrics_url = f"http://127.0.0.1:{env['ROOMKEEPER_METRICS_PORT']}"
        # Its log goes to a file, not a pipe: nothing reads a pipe while the worker runs.
        worker = subprocess.Popen(  # noqa: ASYNC220 - started once, never awaited on
            [sys.executable, "-m", "roomkeeper.cli", "worker"],
            env=env,
            cwd=workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(
                lambda: worker.poll() is not None or _get(f"{metrics_url}/readyz") == 200,
                timeout=60,
                what="the worker to be ready",
            )
            assert worker.poll() is None, log_path.read_text()
            meeting_id, room_sid = await _run_a_meeting_through_a_503(temporal_env, emulator.url, task_queue)
            await _fail_one_workflow_task(temporal_env, task_queue, metrics_url)
            prometheus.start(metrics_url.removeprefix("http://"))
            rules: list[dict[str, object]] = []
            if prometheus.url is not None:
                url = prometheus.url
                wait_until(lambda: _scraped(url), timeout=30, what="Prometheus to scrape the worker")
                since = datetime.now(UTC)
                rules = wait_until(lambda: _rules_evaluated_since(url, since), timeout=30, what="the rules")
            scraped_at = time.time()
            probes = {path: _probe(f"{metrics_url}{path}") for path in ("/healthz", "/readyz", "/nothing")}
            exposition = _probe(f"{metrics_url}/metrics")[1]
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            finally:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
                await _terminate(temporal_env, reconciler_id(task_queue))
    # The reconciler is terminated on purpose above; a task it had in flight then fails with
    # FORCE_CLOSE_COMMAND (whether one was in flight depends on timing).
    problems = await failed_workflow_tasks(
        temporal_env.client, started, BENIGN_TASK_FAILURE_CAUSES | {TERMINATED_MID_TASK}
    )
    assert [p for p in problems if not p.startswith(UNKNOWN_WORKFLOW)] == []
    return LiveWorker(
        exposition=exposition,
        probes=probes,
        log_lines=log_path.read_text().splitlines(),
        exit_code=worker.returncode,
        task_queue=task_queue,
        meeting_id=meeting_id,
        room_sid=room_sid,
        prometheus_url=prometheus.url,
        prometheus_skip=prometheus.why_not,
        scraped_at=scraped_at,
        rules=rules,
    )


async def _run_a_meeting_through_a_503(
    env: WorkflowEnvironment, emulator_url: str, task_queue: str
) -> tuple[str, str]:
    """A three-second meeting whose first CreateRoom attempt gets a 503; its id and room."""
    plan = {
        "rate": 1.0,
        "statuses": [503],
        "operations": ["CreateRoom"],
        "limit": 1,
        "retry_after_seconds": 1,
    }
    async with httpx.AsyncClient() as http:
        (await http.post(f"{emulator_url}/emulator/faults", json=plan)).raise_for_status()
    now = datetime.now(UTC)
    spec = MeetingSpec(
        meeting_id=f"live-{uuid.uuid4().hex[:8]}", start_time=now, end_time=now + timedelta(seconds=3)
    )
    summary = await env.client.execute_workflow(
        MeetingWorkflow.run,
        MeetingInput(spec),
        id=f"meeting-{spec.meeting_id}",
        task_queue=task_queue,
        search_attributes=search_attributes_for(spec),
        execution_timeout=timedelta(seconds=60),
    )
    assert summary.ended_by == "schedule" and summary.room_sid
    return spec.meeting_id, summary.room_sid


async def _fail_one_workflow_task(env: WorkflowEnvironment, task_queue: str, metrics_url: str) -> None:
    """Start a workflow of a type the worker lacks, wait for the SDK to count its failed task, stop it."""
    unknown = await env.client.start_workflow(
        UNKNOWN_WORKFLOW, id=f"{UNKNOWN_WORKFLOW}-{uuid.uuid4()}", task_queue=task_queue
    )
    wait_until(
        lambda: "temporal_workflow_task_execution_failed_total{" in httpx.get(f"{metrics_url}/metrics").text,
        timeout=30,
        what="the failed workflow task to be counted",
    )
    await unknown.terminate(reason="test over")


def _probe(url: str) -> tuple[int, str]:
    response = httpx.get(url, timeout=5)
    return response.status_code, response.text


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def _scraped(prometheus_url: str) -> bool:
    query = {"query": 'up{job="roomkeeper-worker"} == 1 and on() count(roomkeeper_rooms_created_total) > 0'}
    response = httpx.get(f"{prometheus_url}/api/v1/query", params=query).json()
    return bool(response["data"]["result"])


def _rules_evaluated_since(prometheus_url: str, since: datetime) -> list[dict[str, object]]:
    """Every rule, once each has been evaluated after ``since`` (empty until then)."""
    groups = httpx.get(f"{prometheus_url}/api/v1/rules").json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    evaluated = all(datetime.fromisoformat(rule["lastEvaluation"]) > since for rule in rules)
    return rules if rules and evaluated else []


async def _terminate(env: WorkflowEnvironment, workflow_id: str) -> None:
    try:
        await env.client.get_workflow_handle(workflow_id).terminate(reason="test over")
    except Exception:  # already gone
        return


def _query(live: LiveWorker, promql: str) -> list[dict[str, object]]:
    """``promql`` evaluated by Prometheus as of the moment the worker was last seen up."""
    if live.prometheus_url is None:
        pytest.skip(live.prometheus_skip)
    response = httpx.get(
        f"{live.prometheus_url}/api/v1/query", params={"query": promql, "time": f"{live.scraped_at:.3f}"}
    )
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, object]] = body["data"]["result"]
    return result


# ------------------------------------------------------------------------------- Prometheus


def _values(result: list[dict[str, object]]) -> list[str]:
    return [str(sample["value"][1]) for sample in result]  # type: ignore[index]


def test_prometheus_scrapes_the_worker_and_answers_a_roomkeeper_query(live: LiveWorker) -> None:
    created = _query(live, f'roomkeeper_rooms_created_total{{task_queue="{live.task_queue}"}}')
    assert _values(created) == ["1"]
    assert _values(_query(live, 'up{job="roomkeeper-worker"}')) == ["1"]
    buckets = f'roomkeeper_room_open_lead_seconds_bucket{{task_queue="{live.task_queue}"}}'
    lead = _query(live, f"histogram_quantile(0.5, {buckets})")
    assert len(lead) == 1 and float(_values(lead)[0]) <= 60  # opened at once (the window began now)


def test_the_alert_rules_evaluate_on_the_real_server(live: LiveWorker) -> None:
    if live.prometheus_url is None:
        pytest.skip(live.prometheus_skip)
    rules = {str(rule["name"]): rule for rule in live.rules}
    assert set(rules) == {str(rule["alert"]) for rule in catalogue.alert_rules()}
    broken = {name: rule.get("lastError") for name, rule in rules.items() if rule["health"] != "ok"}
    assert broken == {}
    # A healthy worker that failed one task on purpose: only the task-failure alert may be on its way.
    active = {name for name, rule in rules.items() if rule["state"] != "inactive"}
    assert active <= {"RoomkeeperWorkflowTaskFailures"}, active


# ------------------------------------------------------------------------- the metric names


def _exported(live: LiveWorker) -> tuple[set[str], set[str]]:
    """Sample names with at least one sample, and every declared family name."""
    samples = {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in live.exposition.splitlines()
        if line and not line.startswith("#")
    }
    return samples, set(family_names(live.exposition.encode()))


def test_every_metric_the_dashboard_and_the_rules_use_is_exported(live: LiveWorker) -> None:
    used = catalogue.metric_names(catalogue.dashboard_expressions() + catalogue.rule_expressions())
    samples, families = _exported(live)
    assert used, "no metric found in the dashboard and rules"
    # The SDK declares a family once it records a value, so its names must have samples (this worker
    # did everything the dashboard shows, a failed task included). Ours are declared from the start,
    # labelled ones without samples until they happen (no eviction or calendar here).
    sdk = {name for name in used if name.startswith("temporal_")}
    assert sorted(sdk - samples) == []
    ours = used - sdk
    assert sorted(n for n in ours if n not in samples and catalogue.family_of(n) not in families) == []


def test_every_exported_metric_of_ours_is_documented_and_every_documented_one_exported(
    live: LiveWorker,
) -> None:
    _, families = _exported(live)
    ours = {name for name in families if name.startswith("roomkeeper_")}
    documented = catalogue.documented_metrics()
    assert sorted(ours - documented) == [], "exported but not in docs/operations.md"
    assert sorted({n for n in documented if n.startswith("roomkeeper_")} - ours) == [], (
        "documented, not exported"
    )
    sdk_documented = {n for n in documented if n.startswith("temporal_")}
    assert sorted(sdk_documented - families) == [], "documented SDK metrics the worker does not export"
    used = catalogue.metric_names(catalogue.dashboard_expressions() + catalogue.rule_expressions())
    assert sorted({catalogue.family_of(n) for n in used} - documented) == [], "used but not documented"


def test_metric_names_follow_prometheus_conventions(live: LiveWorker) -> None:
    types = dict(re.findall(r"^# TYPE (roomkeeper_\S+) (\S+)$", live.exposition, re.MULTILINE))
    for name, kind in types.items():
        assert re.fullmatch(r"roomkeeper_[a-z][a-z0-9_]*", name), name
        assert (kind == "counter") == name.endswith("_total"), (name, kind)
        if kind == "histogram":
            assert name.endswith("_seconds"), name  # every histogram of ours is a duration


# ------------------------------------------------------------------------------------ probes


def test_the_probes_answer_beside_metrics(live: LiveWorker) -> None:
    assert live.probes["/healthz"] == (200, "ok\n")
    assert live.probes["/readyz"] == (200, "ok\n")
    assert live.probes["/nothing"][0] == 404


# --------------------------------------------------------------------------------------- log


def test_the_log_is_one_json_object_a_line_with_the_lifecycle_fields(live: LiveWorker) -> None:
    assert live.exit_code == 0, "\n".join(live.log_lines)
    entries = [json.loads(line) for line in live.log_lines]  # every line parses
    assert all({"time", "severity", "logger", "message"} <= set(entry) for entry in entries)
    ours = [e for e in entries if e.get("meeting_id") == live.meeting_id]
    steps = [e["step"] for e in ours if "step" in e]
    assert steps == ["meeting_scheduled", "room_opened", "room_completed", "meeting_completed"], steps
    for entry in ours:
        assert entry["workflow_id"] == f"meeting-{live.meeting_id}"
    assert all(e.get("room_sid") == live.room_sid for e in ours if e["step"] != "meeting_scheduled")


def test_an_expected_failure_is_one_line(live: LiveWorker) -> None:
    entries = [json.loads(line) for line in live.log_lines]
    retried = [e for e in entries if e["message"].startswith("Completing activity as failed")]
    assert len(retried) == 1, retried  # the one 503, retried by Temporal
    assert retried[0]["error_type"] == "TransientError"
    assert retried[0]["activity"] == "CreateRoom" and retried[0]["attempt"] == 1
    assert "HTTP 503" in retried[0]["message"] and "exception" not in retried[0]
    # The workflow type no worker has fails its task with the SDK's NotFoundError: one line too.
    missing = [e for e in entries if e["message"].startswith("Failed handling activation")]
    assert missing and all("NoSuchWorkflow is not registered" in e["message"] for e in missing)
    assert all(e["error_type"] == "NotFoundError" and "exception" not in e for e in missing)
    assert not any("Traceback" in e["message"] or "exception" in e for e in entries)


def test_no_secret_reaches_the_log(live: LiveWorker) -> None:
    text = "\n".join(live.log_lines)
    assert TEST_AUTH_TOKEN[:8] not in text
