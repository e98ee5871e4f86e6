"""The metrics server on its own: a stand-in SDK exporter over real HTTP, and a registry of our own.

The endpoint must pass the SDK's text through byte for byte, add roomkeeper's families after it, never
declare a family twice, and keep serving ours when the SDK's exporter cannot be read.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from roomkeeper.metrics_server import CONTENT_TYPE, MetricsServer, family_names, merge
from roomkeeper.serving import serve_in_thread

#: As the SDK's exporter writes it: integer values, its own label order, no trailing newline.
SDK_TEXT = (
    b"# HELP temporal_request_total Count of client request successes by rpc name\n"
    b"# TYPE temporal_request_total counter\n"
    b'temporal_request_total{operation="StartWorkflowExecution",service_name="temporal-core-sdk"} 3\n'
    b"# HELP temporal_num_pollers Current number of active pollers per queue type\n"
    b"# TYPE temporal_num_pollers gauge\n"
    b'temporal_num_pollers{poller_type="workflow_task",task_queue="q"} 5'
)


@pytest.fixture
def sdk_exporter() -> Iterator[str]:
    async def metrics(_: Request) -> Response:
        return Response(SDK_TEXT, media_type="text/plain; version=0.0.4")

    server = serve_in_thread(Starlette(routes=[Route("/metrics", metrics)]))
    try:
        yield f"{server.url}/metrics"
    finally:
        server.stop()


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("roomkeeper_rooms_created", "Rooms.", ["adopted"], registry=registry).labels("false").inc()
    Gauge("roomkeeper_meetings", "Meetings.", ["phase"], registry=registry).labels("open").set(2)
    return registry


@pytest.fixture
def running(sdk_exporter: str, registry: CollectorRegistry) -> Iterator[MetricsServer]:
    server = MetricsServer(0, sdk_metrics_url=sdk_exporter, host="127.0.0.1", registry=registry)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_sdk_text_comes_first_byte_for_byte_then_ours(running: MetricsServer) -> None:
    response = httpx.get(f"http://127.0.0.1:{running.port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    assert response.content.startswith(SDK_TEXT + b"\n")  # a newline is added only where it was missing
    assert family_names(response.content) == [
        "temporal_request_total",
        "temporal_num_pollers",
        "roomkeeper_rooms_created_total",
        "roomkeeper_meetings",
    ]
    assert b'roomkeeper_meetings{phase="open"} 2.0\n' in response.content


def test_gzip_when_the_scraper_asks_for_it(running: MetricsServer) -> None:
    url = f"http://127.0.0.1:{running.port}/metrics"
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        compressed = b"".join(response.iter_raw())
    assert gzip.decompress(compressed).startswith(SDK_TEXT)


def test_a_family_of_ours_the_sdk_also_declares_is_left_out_and_logged_once(
    sdk_exporter: str, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    Gauge("temporal_num_pollers", "A clash.", registry=registry).set(1)
    server = MetricsServer(0, sdk_metrics_url=sdk_exporter, host="127.0.0.1", registry=registry)
    server.start()
    try:
        with caplog.at_level(logging.ERROR, logger="roomkeeper.metrics_server"):
            bodies = [httpx.get(f"http://127.0.0.1:{server.port}/metrics").content for _ in range(2)]
    finally:
        server.stop()
    for body in bodies:
        names = family_names(body)
        assert names.count("temporal_num_pollers") == 1 and "roomkeeper_meetings" in names
        assert body.startswith(SDK_TEXT)  # the SDK's copy is the one kept
    clashes = [r.getMessage() for r in caplog.records if "temporal_num_pollers" in r.getMessage()]
    assert len(clashes) == 1, clashes


def test_ours_are_served_when_the_sdk_exporter_is_down(
    registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = "http://127.0.0.1:9/metrics"  # the discard port: nothing listens
    server = MetricsServer(0, sdk_metrics_url=nowhere, host="127.0.0.1", registry=registry)
    server.start()
    try:
        with caplog.at_level(logging.WARNING, logger="roomkeeper.metrics_server"):
            body = httpx.get(f"http://127.0.0.1:{server.port}/metrics").content
    finally:
        server.stop()
    assert family_names(body)[-1] == "roomkeeper_meetings"
    assert not any(name.startswith("temporal_") for name in family_names(body))
    assert any("Temporal SDK metrics unavailable" in r.getMessage() for r in caplog.records)


def test_it_listens_only_where_it_is_told(registry: CollectorRegistry) -> None:
    server = MetricsServer(0, host="127.0.0.1", registry=registry)
    server.start()
    try:
        assert server.address == ("127.0.0.1", server.port)
    finally:
        server.stop()
    server.stop()  # idempotent


def test_merge_adds_a_newline_only_where_one_is_missing() -> None:
    ours = b"# HELP roomkeeper_x X.\n# TYPE roomkeeper_x gauge\nroomkeeper_x 1.0\n"
    assert merge(b"", ours) == (ours, [])
    assert merge(b"# TYPE a gauge\na 1\n", ours)[0] == b"# TYPE a gauge\na 1\n" + ours
    assert merge(b"# TYPE a gauge\na 1", ours)[0] == b"# TYPE a gauge\na 1\n" + ours
