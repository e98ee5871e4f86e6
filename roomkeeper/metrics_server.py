"""One ``/metrics`` endpoint for the worker: roomkeeper's prometheus-client metrics plus the Temporal
SDK's, which the SDK's Rust core exports on a private loopback port and this server re-serves."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

import httpx
from prometheus_client import REGISTRY, start_http_server
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

log = logging.getLogger(__name__)


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SdkMetricsCollector(Collector):
    """Scrapes the SDK's exporter at collection time and yields its families unchanged."""

    def __init__(self, url: str) -> None:
        self._url = url

    def collect(self) -> Iterator[Metric]:
        try:
            text = httpx.get(self._url, timeout=2.0).text
        except httpx.HTTPError as error:
            log.warning("Temporal SDK metrics unavailable at %s: %s", self._url, error)
            return
        yield from text_string_to_metric_families(text)


class MetricsServer:
    def __init__(self, port: int, sdk_metrics_url: str | None = None, host: str = "0.0.0.0") -> None:
        self._port = port
        self._host = host
        self._collector = SdkMetricsCollector(sdk_metrics_url) if sdk_metrics_url else None
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._collector is not None:
            REGISTRY.register(self._collector)
        self._server, self._thread = start_http_server(self._port, addr=self._host)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._collector is not None:
            REGISTRY.unregister(self._collector)


def start_observability(port: int, host: str = "0.0.0.0") -> tuple[Runtime, MetricsServer]:
    """A Temporal runtime exporting SDK (and workflow) metrics privately, and the one public endpoint."""
    sdk_port = free_loopback_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"127.0.0.1:{sdk_port}",
                durations_as_seconds=True,
            )
        )
    )
    server = MetricsServer(port, sdk_metrics_url=f"http://127.0.0.1:{sdk_port}/metrics", host=host)
    server.start()
    return runtime, server
