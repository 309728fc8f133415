"""What the server tells its operator: a request id on every answer and log line, and metrics.

Every request gets an id: the client's ``X-Request-ID`` when it is a short token of letters,
digits, ``-``, ``_`` and ``.`` (a proxy's id is kept, so one id follows a request through both
logs), else a new one. It is answered in ``X-Request-ID``, and every log record written while
the request runs carries it (:class:`RequestIdFilter` adds ``record.request_id``).

:class:`Metrics` keeps the counters ``GET /metrics`` answers in Prometheus' text format
(prometheus_client): requests by route template, method and status, their latencies, requests
refused by the rate limit, errors of the Ethereum node, and the index's lag behind the chain
(read when scraped). Under several workers (``gpuhub serve --workers``) each process writes its
counts to ``$PROMETHEUS_MULTIPROC_DIR`` and any worker answers the sum.
"""

import logging
import os
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from ._limits import ASGIApp, Message, Receive, Scope, Send

#: the id of the request being answered, for log records (empty outside a request).
REQUEST_ID: ContextVar[str] = ContextVar("gpuhub_request_id", default="")
#: a client's own request id is kept when it matches this (else a new one is made).
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
#: latency buckets, in seconds: reads answer in milliseconds, writes wait for a block.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

access_log = logging.getLogger("gpuhub.api.access")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (the request being answered, or ``-``) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class Metrics:
    """The server's Prometheus metrics, in a registry of its own (one per app)."""

    def __init__(self, index: Any = None, client: Any = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gpuhub_http_requests",
            "HTTP requests answered, by route template, method and status",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "gpuhub_http_request_duration_seconds",
            "seconds from a request's arrival to the end of its answer",
            ("route", "method"),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.limited = Counter(
            "gpuhub_rate_limited_requests",
            "requests answered 429 by the per-client rate limit",
            registry=self.registry,
        )
        self.node_errors = Counter(
            "gpuhub_node_errors",
            "requests the Ethereum node failed (unreachable, refused, malformed answers), by error",
            ("error",),
            registry=self.registry,
        )
        self._index = index
        self._client = client
        self.registry.register(_IndexLag(self))

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format: this process's, or every worker's."""
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory:
            return bytes(generate_latest(self.registry))
        every = CollectorRegistry()
        MultiProcessCollector(every, path=directory)  # type: ignore[no-untyped-call]
        every.register(_IndexLag(self))
        return bytes(generate_latest(every))

    def index_lag(self) -> int | None:
        """Blocks between the chain's head and the last block the index holds (None: no index,
        or the node or the database cannot say)."""
        if self._index is None or self._client is None:
            return None
        from ..exceptions import GPUHubError

        try:
            return max(int(self._client.block_number()) - int(self._index.synced_block), 0)
        except GPUHubError as err:
            self.node_errors.labels(type(err).__name__).inc()
            return None
        except Exception:  # the database: reported by its absence, never by a failed scrape
            logging.getLogger("gpuhub.api").warning("index lag unreadable", exc_info=True)
            return None


class _IndexLag:
    """A collector that reads the index's lag when scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[GaugeMetricFamily]:
        return [self._family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        lag = self._metrics.index_lag()
        if lag is not None:
            family.add_metric([], lag)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "gpuhub_index_lag_blocks", "blocks the market index is behind the chain's head"
        )


class RequestContext:
    """ASGI middleware: the request id, the metrics of every answer, and (``log_requests``) one
    log line per request with its id, status and time."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, log_requests: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _ACCEPTED_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            method = _method(scope)
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(elapsed)
            if self.log_requests:
                client = scope.get("client") or ("-", 0)
                access_log.info(
                    '%s "%s %s" %d %.1fms',
                    client[0],
                    method,
                    printable_path(scope),
                    status,
                    elapsed * 1000,
                )
            REQUEST_ID.reset(token)


#: the methods counted by name; any other token a client sends counts as "other" (uvicorn takes
#: any token up to 64 KiB as a method: each would be a new series, kept for good).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(scope: MutableMapping[str, Any]) -> str:
    method = scope.get("method", "")
    return method if method in METHODS else "other"


def printable_path(scope: MutableMapping[str, Any]) -> str:
    """The request's path as the client sent it (percent-encoded: ``%0a`` stays three
    characters), so no path writes a line or a terminal escape into the log."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", ""))
    return urllib.parse.quote(path, safe="/%:@!$&'()*+,;=-._~")[:2048]


def _route(scope: MutableMapping[str, Any]) -> str:
    """The matched route's template (``/v1/listings/{listing_id}``), so every id counts under one
    label; requests that matched none share one."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            try:
                return str(value.decode("ascii"))
            except UnicodeDecodeError:
                return None
    return None


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging configuration, with gpuhub's records (the per-request lines of
    ``gpuhub.api.access`` among them) printed with their request id."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": RequestIdFilter}}
    config["formatters"]["gpuhub"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s [%(request_id)s] %(message)s",
    }
    config["handlers"]["gpuhub"] = {
        "formatter": "gpuhub",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["request_id"],
    }
    config["loggers"]["gpuhub"] = {
        "handlers": ["gpuhub"],
        "level": level.upper(),
        "propagate": False,
    }
    return config
