"""Running the API for many users: request ids, rate limits, metrics, the docs' own files."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gpuhub import GPUHubClient, MarketIndex
from gpuhub.api import create_app
from gpuhub.api._observe import RequestIdFilter
from gpuhub.chain import AnvilNode


def test_every_answer_carries_a_request_id(http: TestClient) -> None:
    """Answers carry a fresh X-Request-ID; a client's own short id is kept, a hostile one is
    replaced."""
    fresh = http.get("/v1/listings/0").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert (
        http.get("/health", headers={"X-Request-ID": "lb-7.abc_1"}).headers["x-request-id"]
        == "lb-7.abc_1"
    )
    hostile = http.get("/health", headers={"X-Request-ID": "a b\tc" + "x" * 100})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])


def test_log_lines_carry_the_request_id(
    market: GPUHubClient, caplog: pytest.LogCaptureFixture
) -> None:
    """With request logging on, the line of a request names the id its answer carries."""
    caplog.handler.addFilter(RequestIdFilter())
    http = TestClient(create_app(market, log_requests=True))
    with caplog.at_level(logging.INFO, logger="gpuhub.api.access"):
        answer = http.get("/v1/listings/7")
    (record,) = [r for r in caplog.records if r.name == "gpuhub.api.access"]
    assert record.request_id == answer.headers["x-request-id"]  # type: ignore[attr-defined]
    assert '"GET /v1/listings/7" 404' in record.getMessage()


def test_a_path_writes_no_line_or_escape_into_the_log(
    market: GPUHubClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A request line with %0a (a forged log line) or %1b (a terminal escape) is logged as sent,
    percent-encoded: one line, no control character."""
    http = TestClient(create_app(market, log_requests=True))
    forged = "/x%0aINFO:%20%5Badmin%5D%20%22POST%20/v1/withdraw%22%20200%1b%5b2J"
    with caplog.at_level(logging.INFO, logger="gpuhub.api.access"):
        http.get(forged)
    (record,) = [r for r in caplog.records if r.name == "gpuhub.api.access"]
    line = record.getMessage()
    assert "\n" not in line and "\x1b" not in line
    assert "/x%0aINFO" in line


def test_metrics_count_unknown_methods_as_one(market: GPUHubClient) -> None:
    """Methods beyond the HTTP verbs count under "other": made-up methods add no series."""
    app = create_app(market)
    http = TestClient(app)
    for index in range(20):
        http.request(f"M{index}XXXX", "/nothing")
    text = http.get("/metrics").text
    assert "M0XXXX" not in text and "M19XXXX" not in text
    assert (
        _sample(text, "gpuhub_http_requests_total", method="other", route="unmatched", status="404")
        == 20
    )


def test_rate_limit_answers_429_then_recovers(market: GPUHubClient) -> None:
    """Past the limit a client gets 429 with Retry-After; after that many seconds it is served
    again."""
    # a window of a few seconds: four requests land in it even on a loaded machine
    http = TestClient(create_app(market, rate_limit="3/4 seconds"))
    answers = [http.get("/getlistingcount") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["error"] == "RateLimited"
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 5
    time.sleep(retry + 0.1)
    assert http.get("/getlistingcount").status_code == 200


def test_rate_limit_that_does_not_parse(market: GPUHubClient) -> None:
    """A rate limit in no known notation is refused when the app is built."""
    with pytest.raises(ValueError, match="20/second"):
        create_app(market, rate_limit="lots")


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the Prometheus text ``text``."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line))
        if line.split("{")[0].split(" ")[0] == name and found == labels:
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_count_requests_by_route_and_status(market: GPUHubClient) -> None:
    """/metrics counts answers by route template and status and times them; 429s are counted,
    and another client is not held by the first one's limit."""
    app = create_app(market, rate_limit="5/minute")  # a minute: a loaded machine is slow
    http = TestClient(app)
    for listing_id in (3, 4):
        http.get(f"/v1/listings/{listing_id}")
    for _ in range(4):
        http.get("/getlistingcount")
    text = TestClient(app, client=("192.0.2.1", 50000)).get("/metrics").text
    route = "/v1/listings/{listing_id}"
    assert _sample(text, "gpuhub_http_requests_total", method="GET", route=route, status="404") == 2
    assert _sample(text, "gpuhub_http_request_duration_seconds_count", method="GET", route=route)
    assert _sample(text, "gpuhub_rate_limited_requests_total") == 1


def test_metrics_show_the_index_lag(market: GPUHubClient, tmp_path: Path) -> None:
    """With an index, /metrics shows how many blocks it is behind the chain's head."""
    with MarketIndex(market, f"sqlite:///{tmp_path / 'index.db'}") as index:
        index.sync()
        market.create_listing(gpu_model="T4", capacity=16, price=1)
        market.create_listing(gpu_model="T4", capacity=16, price=2)
        text = TestClient(create_app(market, index=index)).get("/metrics").text
    assert _sample(text, "gpuhub_index_lag_blocks") == 2


@pytest.mark.anvil
def test_metrics_count_node_errors(anvil_node: AnvilNode) -> None:
    """A node that stopped answering is counted as a node error, by the error's name."""
    with AnvilNode() as node:
        market = GPUHubClient.deploy(node.web3())
        http = TestClient(create_app(market))
    assert http.get("/health").status_code == 503
    text = http.get("/metrics").text
    assert _sample(text, "gpuhub_node_errors_total", error="ConnectionFailed") == 1


def test_docs_load_only_the_packages_own_files(http: TestClient) -> None:
    """/docs and /redoc reference no other host, and the viewers they load are served."""
    for page in ("/docs", "/redoc"):
        answer = http.get(page)
        assert answer.status_code == 200
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        sources = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
        assert sources and not [s for s in sources if "//" in s]
        for source in sources:
            assert http.get("/" + source).status_code == 200, source
    assert (
        "javascript" in http.get("/static/vendor/redoc/redoc.standalone.js").headers["content-type"]
    )


def test_clients_are_counted_by_address_ipv6_by_its_64() -> None:
    """A client is its address; IPv6 addresses of one /64 are one client, an IPv4-mapped
    address is its IPv4 address."""
    from gpuhub.api._ratelimit import client_key

    def key(host: str) -> str:
        return client_key({"client": (host, 1)})

    assert key("2001:db8::1") == key("2001:db8::ffff:1234") != key("2001:db8:0:1::1")
    assert key("::ffff:192.0.2.7") == key("192.0.2.7") == "192.0.2.7"
    assert key("192.0.2.7") != key("192.0.2.8")
