"""/v1/webhooks over a real outbox, deliveries to a real receiver, and GET /events resumption."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from gpuhub import GPUHubClient
from gpuhub.api import create_app
from gpuhub.webhooks import Outbox, verify

from .conftest import API_KEY, AUTH

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

if TYPE_CHECKING:
    from conftest import Receiver

LISTING = {"gpu_model": "NVIDIA A100", "capacity": 80, "price": "3600000000000", "unit": "HOUR"}


@pytest.fixture
def hooks(market: GPUHubClient) -> TestClient:
    """The API over ``market`` with an in-memory webhook outbox (no delivery running)."""
    outbox = Outbox(retry_first=0.05, allow_private=True)
    return TestClient(create_app(market, api_key=API_KEY, webhooks=outbox))


def wait_until(done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_register_list_and_delete(hooks: TestClient) -> None:
    """POST registers and returns the secret once; GET lists without it; DELETE forgets."""
    created = hooks.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["RentalStarted"]},
        headers=AUTH,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["RentalStarted"]
    listed = hooks.get("/v1/webhooks", headers=AUTH).json()
    assert [w["id"] for w in listed] == [body["id"]] and "secret" not in listed[0]
    secret = hooks.get(f"/v1/webhooks/{body['id']}/secret", headers=AUTH).json()["secret"]
    assert secret == body["secret"]
    assert hooks.delete(f"/v1/webhooks/{body['id']}", headers=AUTH).status_code == 204
    assert hooks.get(f"/v1/webhooks/{body['id']}", headers=AUTH).status_code == 404


def test_webhooks_need_the_api_key(hooks: TestClient) -> None:
    """Every /v1/webhooks route refuses a request without the API key."""
    assert hooks.get("/v1/webhooks").status_code == 401
    answer = hooks.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/"})
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "http://127.0.0.1:9/", "event_types": ["RentalBegun"]}, "event_types"),
        ({"url": "http://127.0.0.1:9/", "secret": "whsec_!!"}, "secret"),
    ],
)
def test_bad_registrations_are_422(hooks: TestClient, body: dict[str, object], field: str) -> None:
    """A bad URL, event name or secret is a 422 naming the field."""
    answer = hooks.post("/v1/webhooks", json=body, headers=AUTH)
    assert answer.status_code == 422 and answer.json()["fields"]["field"] == field


MALFORMED = {
    "a space": ("http://hooks.example/a b", "space"),
    "an unclosed IPv6 bracket": ("http://[::1", "not a valid URL"),
    "a port that is not a number": ("http://hooks.example:http/", "port"),
    "a port past 65535": ("http://hooks.example:70000/", "port"),
    "port 0": ("http://hooks.example:0/", "port"),
    "no host": ("http:///hook", "host"),
    "another scheme": ("ftp://hooks.example/", "http:// or https://"),
    "a password": ("http://user:pass@hooks.example/", "password"),
    "a control character": ("http://hooks.example/\x00", "control"),
}


@pytest.mark.parametrize(("url", "says"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_urls_are_422(hooks: TestClient, url: str, says: str) -> None:
    """A URL that cannot be delivered to is a 422 on the url field that says what is wrong."""
    answer = hooks.post("/v1/webhooks", json={"url": url}, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["fields"]["field"] == "url" and says in answer.json()["message"]
    assert hooks.get("/v1/webhooks", headers=AUTH).json() == []


INTERNAL = {
    "loopback ssh": ("http://127.0.0.1:22/", "loopback"),
    "cloud metadata": ("http://169.254.169.254/latest/meta-data/", "link-local"),
    "localhost": ("http://localhost:8080/hook", "loopback"),
    "private network": ("https://10.1.2.3/hook", "private"),
    "home network": ("http://192.168.1.1/", "private"),
    "shared address space": ("http://100.64.0.1/", "not a public address"),
    "unspecified": ("http://0.0.0.0:8000/", "unspecified"),
    "multicast": ("http://224.0.0.1/", "multicast"),
    "reserved": ("http://240.0.0.1/", "reserved"),
    "broadcast": ("http://255.255.255.255/", "reserved"),
    "IPv6 loopback": ("http://[::1]:8000/", "loopback"),
    "IPv6 link-local": ("http://[fe80::1]/", "link-local"),
    "IPv6 unique local": ("http://[fd00::1]/", "private"),
    "IPv4-mapped loopback": ("http://[::ffff:127.0.0.1]/", "loopback"),
    "IPv4-mapped metadata": ("http://[::ffff:a9fe:a9fe]/", "link-local"),
    "NAT64 metadata": ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
    "6to4 loopback": ("http://[2002:7f00:1::]/", "loopback"),
    "decimal IPv4": ("http://2130706433/", "four decimal numbers"),
    "hexadecimal IPv4": ("http://0x7f000001/", "four decimal numbers"),
    "octal IPv4": ("http://0177.0.0.1/", "four decimal numbers"),
    "short IPv4": ("http://127.1/", "four decimal numbers"),
}


@pytest.mark.parametrize(("url", "says"), INTERNAL.values(), ids=INTERNAL.keys())
def test_internal_targets_are_422(market: GPUHubClient, url: str, says: str) -> None:
    """A URL whose host is (or resolves to) a private, loopback, link-local, multicast,
    unspecified or reserved address is refused, however the address is spelled."""
    http = TestClient(create_app(market, api_key=API_KEY, webhooks=Outbox()))
    answer = http.post("/v1/webhooks", json={"url": url}, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["fields"]["field"] == "url" and says in answer.json()["message"]


def test_a_host_that_does_not_resolve_is_422(hooks: TestClient) -> None:
    """A host name that does not resolve is refused at registration, naming the host."""
    answer = hooks.post("/v1/webhooks", json={"url": "https://no-such-host.invalid/"}, headers=AUTH)
    assert answer.status_code == 422
    assert "no-such-host.invalid" in answer.json()["message"]


def test_health_reports_the_dispatcher(market: GPUHubClient) -> None:
    """While the app runs with an endpoint, /health shows the webhook dispatcher: alive,
    restarts, pending."""
    app = create_app(market, api_key=API_KEY, webhooks=Outbox(allow_private=True))
    with TestClient(app) as http:
        http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=AUTH)
        webhooks = http.get("/health").json()["webhooks"]
    assert webhooks == {
        "alive": True,
        "restarts": 0,
        "pending": 0,
        "last_error": None,
        "last_error_at": None,
    }


def test_health_is_degraded_while_the_dispatcher_does_not_run(hooks: TestClient) -> None:
    """An app whose webhook dispatcher is not running while an endpoint waits (here: the app
    was never started) says so in /health."""
    hooks.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=AUTH)
    body = hooks.get("/health").json()
    assert body["status"] == "degraded" and body["webhooks"]["alive"] is False


def test_the_dispatcher_waits_for_the_first_endpoint(market: GPUHubClient) -> None:
    """A running app with no webhook endpoint runs no dispatcher (nothing follows the chain for
    webhooks) and is healthy; the first endpoint starts it."""
    app = create_app(market, api_key=API_KEY, webhooks=Outbox(allow_private=True))
    with TestClient(app) as http:
        idle = http.get("/health").json()
        http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=AUTH)
        started = http.get("/health").json()
    assert (idle["status"], idle["webhooks"]["alive"]) == ("ok", False)
    assert (started["status"], started["webhooks"]["alive"]) == ("ok", True)


def test_app_without_outbox_has_no_webhook_routes(http: TestClient) -> None:
    """Without an outbox the app has no /v1/webhooks routes."""
    assert http.get("/v1/webhooks", headers=AUTH).status_code == 404


def test_delivery_through_the_running_app(market: GPUHubClient, receiver: Receiver) -> None:
    """While the app runs, an event reaches a registered receiver, signed; failures show."""
    app = create_app(
        market,
        api_key=API_KEY,
        webhooks=Outbox(retry_first=0.05, retry_max=0.1, allow_private=True),
    )
    receiver.script = [500]
    with TestClient(app) as http:
        hook = http.post("/v1/webhooks", json={"url": receiver.url}, headers=AUTH).json()
        http.post("/v1/listings", json=LISTING, headers=AUTH)
        wait_until(lambda: len(receiver.received) == 2)
        wait_until(
            lambda: http.get(f"/v1/webhooks/{hook['id']}", headers=AUTH).json()["pending"] == 0
        )
        attempts = http.get(f"/v1/webhooks/{hook['id']}/attempts", headers=AUTH).json()
    assert [(a["status"], a["error"]) for a in attempts] == [(500, "HTTP 500"), (204, None)]
    headers, body = receiver.received[-1]
    payload = verify(body, headers, hook["secret"])
    assert payload["type"] == "ListingCreated" and payload["data"]["args"]["capacity"] == 80


def sse_events(text: str) -> list[tuple[str, str, dict[str, object]]]:
    """(id, event name, data) of each event in a Server-Sent Events body."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields and "id" in fields:
            found.append((fields["id"], fields["event"], json.loads(fields["data"])))
    return found


def read_stream(
    http: TestClient, params: dict[str, object], **headers: str
) -> list[tuple[str, str, dict[str, object]]]:
    with http.stream("GET", "/events", params=params, headers=headers) as stream:
        assert stream.status_code == 200
        return sse_events("".join(stream.iter_text()))


def test_events_resume_after_last_event_id(http: TestClient) -> None:
    """With Last-Event-ID the stream continues right after that event, none repeated."""
    for _ in range(3):
        http.post("/v1/listings", json=LISTING, headers=AUTH)
    ((first_id, _, _),) = read_stream(http, {"from_block": 0, "max_events": 1})
    rest = read_stream(http, {"max_events": 2}, **{"Last-Event-ID": first_id})
    assert [data["args"]["listingId"] for _, _, data in rest] == [1, 2]  # type: ignore[index]
    assert first_id not in [i for i, _, _ in rest]


def test_events_filters(http: TestClient, market: GPUHubClient) -> None:
    """event, listing_id and account narrow the stream."""
    for _ in range(2):
        http.post("/v1/listings", json=LISTING, headers=AUTH)
    http.put("/v1/listings/1/availability", json={"available": False}, headers=AUTH)
    by_type = read_stream(http, {"from_block": 0, "event": "ListingStatusChanged", "max_events": 1})
    assert [name for _, name, _ in by_type] == ["ListingStatusChanged"]
    by_listing = read_stream(http, {"from_block": 0, "listing_id": 1, "max_events": 2})
    assert [d["args"]["listingId"] for _, _, d in by_listing] == [1, 1]  # type: ignore[index]
    by_account = read_stream(http, {"from_block": 0, "account": market.address, "max_events": 3})
    assert len(by_account) == 3


def test_bad_last_event_id_is_422(http: TestClient) -> None:
    """A Last-Event-ID that this stream never sent is a 422, not a broken stream."""
    answer = http.get("/events", headers={"Last-Event-ID": "yesterday"})
    assert answer.status_code == 422 and answer.json()["fields"]["field"] == "Last-Event-ID"
