"""One ``/metrics`` endpoint for the worker: the Temporal SDK's metrics and roomkeeper's; beside it,
``/healthz`` and ``/readyz`` for probes (``roomkeeper.health``).

The SDK's Rust core exports its metrics (task latencies, slots, failures, and anything recorded with
a workflow's or activity's meter) on a private loopback port. Each scrape of this endpoint answers with
that exporter's text *verbatim*, followed by roomkeeper's prometheus-client registry. Both are the
Prometheus text format 0.0.4, where an exposition may hold any number of families as long as no family
name appears twice; roomkeeper's names all start with ``roomkeeper_`` and the SDK's with ``temporal_``,
and a family of ours that ever clashed would be left out (and logged) rather than break the scrape.

Nothing is parsed and serialised again, so every SDK metric keeps exactly the name, labels, values and
help the SDK gives it. (Re-parsing it with prometheus-client's parser, as this module used to, renamed
families and could add ``_created`` samples the SDK never exported.)
"""

from __future__ import annotations

import gzip
import logging
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import httpx
from prometheus_client import REGISTRY, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

log = logging.getLogger(__name__)

# No ``*_created`` series: in the text format each is a gauge family of its own
# (``roomkeeper_rooms_created_created``), which nothing reads and every metric list would have to skip.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: What both parts are; served whatever the scraper asks for, because the SDK's part exists only in
#: this format (Prometheus accepts it alongside OpenMetrics).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

_TYPE_LINE = re.compile(rb"^# TYPE (\S+) ", re.MULTILINE)
_HELP_LINE = re.compile(rb"^(?=# HELP )", re.MULTILINE)


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a server that cannot be given port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def family_names(exposition: bytes) -> list[str]:
    """The metric family names a text exposition declares (its ``# TYPE`` lines), in order."""
    return [match.group(1).decode() for match in _TYPE_LINE.finditer(exposition)]


def merge(sdk: bytes, ours: bytes) -> tuple[bytes, list[str]]:
    """``sdk`` byte for byte, then ``ours`` without any family ``sdk`` already declares.

    ``ours`` must be prometheus-client's output, where every family starts with a ``# HELP`` line.
    Returns the exposition and the names of the families of ours that were left out.
    """
    taken = set(family_names(sdk))
    dropped: list[str] = []
    if taken & set(family_names(ours)):
        kept = []
        for block in _HELP_LINE.split(ours):
            names = family_names(block)
            if names and names[0] in taken:
                dropped.append(names[0])
            else:
                kept.append(block)
        ours = b"".join(kept)
    if sdk and not sdk.endswith(b"\n"):
        sdk += b"\n"
    return sdk + ours, dropped


class Probes(Protocol):
    """What ``/healthz`` and ``/readyz`` ask: each a verdict and, when it is no, why."""

    def live(self) -> tuple[bool, str]: ...

    def ready(self) -> tuple[bool, str]: ...


#: The paths served; anything else is a 404, so a typo in a scrape or probe config shows at once.
METRICS_PATH = "/metrics"
LIVE_PATH = "/healthz"
READY_PATH = "/readyz"


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        probes = self.server.metrics.probes
        if path == METRICS_PATH:
            self._metrics()
        elif path in (LIVE_PATH, READY_PATH) and probes is not None:
            ok, why = probes.live() if path == LIVE_PATH else probes.ready()
            self._text(200 if ok else 503, why + "\n")
        else:
            self._text(404, f"not found: try {METRICS_PATH}, {LIVE_PATH} or {READY_PATH}\n")

    def _metrics(self) -> None:
        body = self.server.metrics.exposition()
        gzipped = "gzip" in self.headers.get("Accept-Encoding", "")
        if gzipped:
            body = gzip.compress(body)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _text(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: one stderr line per scrape would drown the worker's own log."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], metrics: MetricsServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.metrics = metrics
        super().__init__(address, _Handler)


class MetricsServer:
    """Serves the SDK exporter's text at ``sdk_metrics_url`` verbatim, then ``registry``'s, at
    ``/metrics`` on ``host:port`` (port 0 binds a free port, see ``port``), and ``probes``' verdicts at
    ``/healthz`` and ``/readyz`` once they are set."""

    def __init__(
        self,
        port: int,
        sdk_metrics_url: str | None = None,
        host: str = "127.0.0.1",
        registry: Collector = REGISTRY,
        probes: Probes | None = None,
    ) -> None:
        #: Answers /healthz and /readyz (404 while None); may be set after the server starts.
        self.probes = probes
        self._address = (host, port)
        self._sdk_metrics_url = sdk_metrics_url
        self._registry = registry
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._reported_clashes: set[str] = set()

    @property
    def sdk_metrics_url(self) -> str | None:
        """Where the SDK's own exporter serves (loopback only)."""
        return self._sdk_metrics_url

    @property
    def address(self) -> tuple[str, int]:
        """The host and port it listens on (the port chosen by the OS when asked for port 0)."""
        if self._server is None:
            raise RuntimeError("the metrics server is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self.address[1]

    def start(self) -> None:
        """Listen and serve in a daemon thread; raises ``OSError`` if the address is taken."""
        self._server = _HTTPServer(self._address, self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def sdk_exposition(self) -> bytes:
        """The SDK exporter's text as it serves it; empty (and a warning) when it cannot be read."""
        if self._sdk_metrics_url is None:
            return b""
        try:
            response = httpx.get(self._sdk_metrics_url, timeout=2.0)
            response.raise_for_status()
        except httpx.HTTPError as error:
            log.warning("Temporal SDK metrics unavailable at %s: %s", self._sdk_metrics_url, error)
            return b""
        return response.content

    def exposition(self) -> bytes:
        """One scrape's answer: the SDK's families, then roomkeeper's."""
        body, dropped = merge(self.sdk_exposition(), generate_latest(self._registry))
        for name in set(dropped) - self._reported_clashes:
            # Logged once: the clash is a programming error that every scrape would repeat.
            log.error("metric family %s is exported by the Temporal SDK too; roomkeeper's is left out", name)
            self._reported_clashes.add(name)
        return body


def start_observability(port: int, host: str) -> tuple[Runtime, MetricsServer]:
    """A Temporal runtime exporting SDK (and workflow) metrics privately, and the one public endpoint
    on ``host:port`` serving them with roomkeeper's.

    The SDK core's own log lines (connection retries, say) are forwarded to the ``temporalio.core``
    logger, so they come out in the process's log format instead of raw on stderr.
    """
    sdk_port = free_loopback_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
            metrics=PrometheusConfig(
                bind_address=f"127.0.0.1:{sdk_port}",
                # Counters end in _total, as the exposition format's convention (and Temporal's
                # dashboards) have them, and as this endpoint has always served them.
                counters_total_suffix=True,
                durations_as_seconds=True,
            ),
        )
    )
    server = MetricsServer(port, sdk_metrics_url=f"http://127.0.0.1:{sdk_port}/metrics", host=host)
    server.start()
    return runtime, server
