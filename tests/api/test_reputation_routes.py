"""The reputation routes: rating a rental, reading reputations and ratings."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gpuhub import GPUHubClient, PriceUnit

from .conftest import AUTH


@pytest.fixture
def ended(market: GPUHubClient) -> int:
    """A rental of another provider's listing, rented and ended by the server's account."""
    provider = market.with_account(market.accounts[1])
    provider.create_listing(
        gpu_model="NVIDIA L4", capacity=24, price=3600 * 10**13, unit=PriceUnit.HOUR
    )
    rental_id = market.rent(0, 2).rental_id
    market.chain.advance_time(600)
    market.end_rental(rental_id)
    return rental_id


def test_rate_and_read_back(http: TestClient, market: GPUHubClient, ended: int) -> None:
    """POST a rating, then find it in the provider's reputation and ratings."""
    provider = market.accounts[1]
    answer = http.post(
        f"/v1/rentals/{ended}/rating", json={"score": 5, "comment": "fast"}, headers=AUTH
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["ratee"], body["role"], body["score"], body["comment"]) == (
        provider,
        "PROVIDER",
        5,
        "fast",
    )
    assert isinstance(body["billed"], str) and int(body["billed"]) > 0
    rep = http.get(f"/v1/accounts/{provider}/reputation").json()
    assert (rep["provider_rating_count"], rep["provider_average"]) == (1, 5.0)
    assert rep["completed_as_provider"] == 1 and rep["terminations"] == 0
    weight = int(body["billed"]) // 10**12
    assert rep["provider_rating_weight"] == weight > 0
    assert rep["provider_score"] == (5 * weight + 10_000 * 3.0) / (weight + 10_000)
    assert http.get(f"/v1/accounts/{provider}/ratings").json() == [body]
    assert http.get(f"/v1/accounts/{provider}/ratings?direction=given").json() == []
    given = http.get(f"/v1/accounts/{market.address}/ratings?direction=given").json()
    assert given == [body]


def test_rate_needs_api_key(http: TestClient, ended: int) -> None:
    """A rating without the API key is refused with 401."""
    answer = http.post(f"/v1/rentals/{ended}/rating", json={"score": 5})
    assert answer.status_code == 401


def test_rate_twice_is_409(http: TestClient, ended: int) -> None:
    """A second rating of the same rental by the same side is a 409 AlreadyRated."""
    http.post(f"/v1/rentals/{ended}/rating", json={"score": 4}, headers=AUTH)
    again = http.post(f"/v1/rentals/{ended}/rating", json={"score": 4}, headers=AUTH)
    assert again.status_code == 409
    assert again.json()["error"] == "AlreadyRated"


def test_rate_active_rental_is_409(http: TestClient, market: GPUHubClient) -> None:
    """Rating a rental that still runs is a 409 RentalNotOver."""
    provider = market.with_account(market.accounts[1])
    provider.create_listing(gpu_model="T4", capacity=16, price=10**9)
    rental_id = market.rent(0, 2).rental_id
    answer = http.post(f"/v1/rentals/{rental_id}/rating", json={"score": 3}, headers=AUTH)
    assert answer.status_code == 409
    assert answer.json()["error"] == "RentalNotOver"


@pytest.mark.parametrize(
    "body",
    [{"score": 0}, {"score": 6}, {"score": "5"}, {"score": 5, "comment": "€" * 94}, {}],
)
def test_bad_rating_is_422(http: TestClient, ended: int, body: dict[str, object]) -> None:
    """A score outside 1..5, a non-integer score or a comment over 280 bytes is a 422."""
    answer = http.post(f"/v1/rentals/{ended}/rating", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["error"] == "ValidationError"


def test_unknown_rental_is_404(http: TestClient) -> None:
    """Rating a rental that does not exist is a 404."""
    answer = http.post("/v1/rentals/3/rating", json={"score": 3}, headers=AUTH)
    assert answer.status_code == 404


def test_bad_address_is_422(http: TestClient) -> None:
    """A malformed address in the path is a 422, not a 500."""
    assert http.get("/v1/accounts/0x123/reputation").status_code == 422
    assert http.get("/v1/accounts/nope/ratings").status_code == 422
