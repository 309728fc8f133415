"""What a newcomer found trying the API as documented: answers that differ by route or size."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from gpuhub import GPUHubClient, PriceUnit

from .conftest import AUTH


def _first_event(http: TestClient, name: str) -> dict[str, object]:
    """The data of the first ``name`` event the stream sends from block 0."""
    params = {"from_block": 0, "max_events": 1, "event": name}
    with http.stream("GET", "/events", params=params) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                found: dict[str, object] = json.loads(line[6:])
                return found
    raise AssertionError(f"no {name} event in the stream")


def test_event_stream_sends_small_amounts_as_strings(
    http: TestClient, market: GPUHubClient
) -> None:
    """A price of 7 wei arrives in the stream as "7", as /v1 writes every amount."""
    market.create_listing(gpu_model="T4", capacity=16, price=7, unit=PriceUnit.HOUR)
    args = _first_event(http, "ListingCreated")["args"]
    assert isinstance(args, dict)
    assert args["price"] == "7"
    assert args["listingId"] == 0 and args["capacity"] == 16


def test_event_stream_sends_every_amount_of_an_ending_as_strings(
    http: TestClient, market: GPUHubClient
) -> None:
    """used, refund, providerShare and fee of RentalEnded are strings, whatever their size."""
    provider = market.with_account(market.accounts[1])
    provider.create_listing(gpu_model="T4", capacity=16, price=3600, unit=PriceUnit.HOUR)
    rental = market.rent(0, 1)
    market.end_rental(rental.rental_id)
    args = _first_event(http, "RentalEnded")["args"]
    assert isinstance(args, dict)
    assert {k: type(args[k]) for k in ("used", "refund", "providerShare", "fee")} == dict.fromkeys(
        ("used", "refund", "providerShare", "fee"), str
    )
    assert int(args["used"]) + int(args["refund"]) == 3600


def test_withdraw_without_a_body(http: TestClient, market: GPUHubClient) -> None:
    """POST /v1/withdraw with no body withdraws to the server's own account, as documented."""
    provider = market.with_account(market.accounts[1])
    provider.create_listing(gpu_model="T4", capacity=16, price=3600, unit=PriceUnit.HOUR)
    market.end_rental(market.rent(0, 1, max_total=5000).rental_id)
    answer = http.post("/v1/withdraw", headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert int(answer.json()["amount"]) > 0
