"""The REST routes, auth, health and the event stream."""

from __future__ import annotations

from fastapi.testclient import TestClient

import gpuhub
from gpuhub import GPUHubClient, PriceUnit
from gpuhub.api import create_app
from gpuhub.api._deps import status_for

from .conftest import API_KEY, AUTH

LISTING = {
    "gpu_model": "NVIDIA H100",
    "capacity": 80,
    "price": "3600000000000",
    "unit": "HOUR",
    "max_duration": 10,
}


def test_create_get_update_remove(http: TestClient) -> None:
    """A listing's whole life through /v1/listings; wei amounts are decimal strings."""
    created = http.post("/v1/listings", json=LISTING, headers=AUTH)
    assert created.status_code == 201
    assert created.json()["price"] == "3600000000000" and created.json()["unit"] == "HOUR"
    assert http.get("/v1/listings/0").json() == created.json()
    updated = http.patch("/v1/listings/0", json={"price": "7"}, headers=AUTH)
    assert updated.json()["price"] == "7" and updated.json()["gpu_model"] == "NVIDIA H100"
    off = http.put("/v1/listings/0/availability", json={"available": False}, headers=AUTH)
    assert off.json()["status"] == "UNAVAILABLE"
    on = http.put("/v1/listings/0/availability", json={"available": True}, headers=AUTH)
    assert on.json()["is_available"] is True
    removed = http.delete("/v1/listings/0", headers=AUTH)
    assert removed.json()["status"] == "REMOVED"
    again = http.delete("/v1/listings/0", headers=AUTH)
    assert again.status_code == 409


def test_list_with_filters_and_paging(http: TestClient) -> None:
    """GET /v1/listings filters, converts units and pages."""
    for price, unit in (("60", "MINUTE"), ("3600", "HOUR"), ("100000", "DAY")):
        http.post(
            "/v1/listings",
            json={"gpu_model": "G", "capacity": 8, "price": price, "unit": unit},
            headers=AUTH,
        )
    everything = http.get("/v1/listings").json()
    assert everything["total"] == 3 and len(everything["items"]) == 3
    per_hour = http.get("/v1/listings", params={"max_price": "3600", "price_unit": "HOUR"}).json()
    assert [x["listing_id"] for x in per_hour["items"]] == [0, 1]
    page = http.get("/v1/listings", params={"offset": 1, "limit": 1}).json()
    assert [x["listing_id"] for x in page["items"]] == [1] and page["total"] == 3


def test_quote_rent_end_withdraw(http: TestClient, market: GPUHubClient) -> None:
    """Quote, rent, extend, end and withdraw through the API, as the server's account."""
    market.with_account(market.accounts[1]).create_listing(
        gpu_model="A100", capacity=80, price=3_600_000, unit=PriceUnit.HOUR, max_duration=10
    )
    assert http.get("/v1/listings/0/quote", params={"duration": 2}).json()["cost"] == "7200000"
    rented = http.post(
        "/v1/rentals", json={"listing_id": 0, "duration": 2, "max_total": "9000000"}, headers=AUTH
    )
    assert rented.status_code == 201, rented.text
    assert rented.json()["paid"] == "7200000" and rented.json()["status"] == "ACTIVE"
    assert http.get(f"/v1/balances/{market.address}").json()["withdrawable"] == "1800000"
    extended = http.post("/v1/rentals/0/extend", json={"extra": 1}, headers=AUTH)
    assert extended.json()["paid"] == "10800000"
    market.chain.advance_time(1800)
    ended = http.post("/v1/rentals/0/end", headers=AUTH)
    assert ended.json()["status"] == "ENDED_BY_RENTER"
    assert http.get("/v1/rentals/0").json() == ended.json()
    assert [
        r["rental_id"] for r in http.get("/v1/rentals", params={"renter": market.address}).json()
    ] == [0]
    withdrawn = http.post("/v1/withdraw", json={}, headers=AUTH)
    elapsed = ended.json()["end"] - ended.json()["start"]
    refund = 10_800_000 - 1_000 * elapsed  # 3,600,000 wei per hour is 1,000 per second
    assert int(withdrawn.json()["amount"]) == 1_800_000 + refund  # the excess and the refund
    assert http.post("/v1/withdraw", json={}, headers=AUTH).status_code == 409


def test_rental_errors(http: TestClient, market: GPUHubClient) -> None:
    """Rental errors map to 404, 403 and 409 with the Solidity error's name."""
    assert http.get("/v1/rentals/4").status_code == 404
    http.post("/v1/listings", json=LISTING, headers=AUTH)
    own = http.post("/v1/rentals", json={"listing_id": 0, "duration": 1}, headers=AUTH)
    assert (own.status_code, own.json()["error"]) == (403, "CannotRentOwnListing")
    too_long = http.get("/v1/listings/0/quote", params={"duration": 11})
    assert (too_long.status_code, too_long.json()["error"]) == (422, "InvalidDuration")
    market.with_account(market.accounts[1]).rent(0, 1)
    settle = http.post("/v1/rentals/0/settle", headers=AUTH)
    assert (settle.status_code, settle.json()["error"]) == (409, "RentalNotExpired")
    end = http.post("/v1/rentals/0/extend", json={"extra": 1}, headers=AUTH)
    assert (end.status_code, end.json()["error"]) == (403, "NotRenter")


def test_writes_need_the_key(http: TestClient, market: GPUHubClient) -> None:
    """Writes without the key or with a wrong one answer 401; reads stay open."""
    assert http.post("/v1/listings", json=LISTING).status_code == 401
    wrong = http.post("/v1/listings", json=LISTING, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert API_KEY not in wrong.text
    assert http.get("/v1/listings").status_code == 200
    assert market.listing_count() == 0


def test_writes_refused_without_configured_key(market: GPUHubClient) -> None:
    """With no API key configured, writes answer 403 unless explicitly allowed."""
    closed = TestClient(create_app(market))
    answer = closed.post("/addgpu", json={"gpuModel": "A", "capacity": 1, "price": 1})
    assert (answer.status_code, answer.json()["error"]) == (403, "WritesDisabled")
    open_ = TestClient(create_app(market, allow_unauthenticated_writes=True))
    assert (
        open_.post("/addgpu", json={"gpuModel": "A", "capacity": 1, "price": 1}).status_code == 200
    )


def test_cors(market: GPUHubClient) -> None:
    """Configured origins get CORS headers; others do not."""
    http = TestClient(create_app(market, cors_origins=["https://app.example"]))
    ok = http.get("/health", headers={"Origin": "https://app.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    other = http.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_health(http: TestClient, market: GPUHubClient) -> None:
    """GET /health reports the chain, the latest block, the contract and the server account."""
    body = http.get("/health").json()
    assert body == {
        "status": "ok",
        "chain_id": market.chain_id,
        "latest_block": market.block_number(),
        "contract_address": market.contract_address,
        "server_account": market.address,
        "webhooks": None,
        "index": None,
        "worker": None,
    }


def test_event_stream(http: TestClient, market: GPUHubClient) -> None:
    """GET /events streams marketplace events as Server-Sent Events."""
    after_deployment = market.block_number() + 1  # deployment wires governance, with events
    http.post("/v1/listings", json=LISTING, headers=AUTH)
    http.put("/v1/listings/0/availability", json={"available": False}, headers=AUTH)
    params = {"from_block": after_deployment, "max_events": 2}
    with http.stream("GET", "/events", params=params) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    assert "event: ListingCreated" in text and "event: ListingStatusChanged" in text
    assert '"status": "UNAVAILABLE"' in text and '"price": "3600000000000"' in text


def test_openapi_declares_error_codes(http: TestClient) -> None:
    """The spec at /openapi.json declares the error answers of each route; /docs serves."""
    spec = http.get("/openapi.json").json()
    codes = set(spec["paths"]["/v1/rentals"]["post"]["responses"])
    assert {"201", "401", "403", "404", "409", "422", "502", "503"} <= codes
    assert http.get("/docs").status_code == 200


def test_error_statuses() -> None:
    """A lost race is a conflict; the server's transaction running out of gas is a 502."""
    assert status_for(gpuhub.ListingNotFound(3)) == 404
    assert status_for(gpuhub.ListingNotAvailable(3, gpuhub.ListingStatus.RENTED)) == 409
    assert status_for(gpuhub.TransactionReverted("reverted: x")) == 409
    assert status_for(gpuhub.OutOfGas("ran out of gas")) == 502
