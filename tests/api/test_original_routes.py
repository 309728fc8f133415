"""The original GPUHub routes keep their bodies and answers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gpuhub import GPUHubClient, PriceUnit

from .conftest import AUTH


def add(
    http: TestClient, model: str = "NVIDIA RTX 4090", capacity: int = 24, price: int = 100
) -> int:
    answer = http.post(
        "/addgpu", json={"gpuModel": model, "capacity": capacity, "price": price}, headers=AUTH
    )
    assert answer.status_code == 200, answer.text
    listing_id: int = answer.json()["listingID"]
    return listing_id


def test_addgpu(http: TestClient, market: GPUHubClient) -> None:
    """POST /addgpu answers as the original did and creates a per-minute listing."""
    answer = http.post(
        "/addgpu", json={"gpuModel": "A100", "capacity": 80, "price": 7}, headers=AUTH
    )
    assert answer.json() == {
        "success": True,
        "message": "GPU listing added successfully",
        "listingID": 0,
    }
    listing = market.get_listing(0)
    assert (listing.gpu_model, listing.capacity, listing.price, listing.unit) == (
        "A100",
        80,
        7,
        PriceUnit.MINUTE,
    )


def test_getgpudetailsbyid(http: TestClient, market: GPUHubClient) -> None:
    """POST /getgpudetailsbyid returns the listing with the original and the newer fields."""
    add(http)
    answer = http.post("/getgpudetailsbyid", json={"listingID": 0})
    assert answer.status_code == 200
    assert answer.json() == {
        "listingID": 0,
        "provider": market.address,
        "gpuModel": "NVIDIA RTX 4090",
        "capacity": 24,
        "price": 100,
        "isAvailable": True,
        "unit": "MINUTE",
        "minDuration": 1,
        "maxDuration": 2**24 - 1,
        "status": "AVAILABLE",
    }


def test_fulfill_and_fulfilled(http: TestClient, market: GPUHubClient) -> None:
    """The two availability routes answer with the original messages and flip the listing."""
    add(http)
    off = http.post("/fulfillrequest", json={"listingID": 0}, headers=AUTH)
    assert off.json() == {
        "success": True,
        "message": "GPU listing fulfilled successfully - isAvailable set to false",
    }
    assert not market.get_listing(0).is_available
    on = http.post("/fulfilledrequest", json={"listingID": 0}, headers=AUTH)
    assert on.json() == {
        "success": True,
        "message": "GPU listing fulfilled successfully - isAvailable set to true",
    }
    assert market.get_listing(0).is_available


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_getgpulist_with_json_body(http: TestClient, method: str) -> None:
    """GET (as documented) and POST /getgpulist filter by a JSON body."""
    add(http, capacity=8, price=5)
    add(http, capacity=80, price=5)
    add(http, capacity=80, price=500)
    answer = http.request(method, "/getgpulist", json={"maxPrice": 10, "minCapacity": 16})
    assert [x["listingID"] for x in answer.json()] == [1]


def test_getgpulist_with_query(http: TestClient) -> None:
    """GET /getgpulist takes the filter as query parameters too, and lists only available ones."""
    add(http, price=5)
    add(http, price=50)
    http.post("/fulfillrequest", json={"listingID": 0}, headers=AUTH)
    assert [x["listingID"] for x in http.get("/getgpulist").json()] == [1]
    assert http.get("/getgpulist", params={"maxPrice": 10}).json() == []


def test_getlistingcount(http: TestClient) -> None:
    """GET /getlistingcount returns the number of listings."""
    assert http.get("/getlistingcount").json() == 0
    add(http)
    add(http)
    assert http.get("/getlistingcount").json() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"gpuModel": "A", "capacity": False, "price": 1},
        {"gpuModel": "A", "capacity": "12", "price": 1},
        {"gpuModel": "A", "capacity": 1.5, "price": 1},
        {"gpuModel": "A", "capacity": 1},
        {"gpuModel": "A", "capacity": 1, "price": 1, "extra": 1},
        {"gpuModel": "A", "capacity": -1, "price": 1},
        {"gpuModel": "A", "capacity": 1, "price": 2**256},
        {"gpuModel": 5, "capacity": 1, "price": 1},
    ],
)
def test_addgpu_rejects_bad_bodies(
    http: TestClient, market: GPUHubClient, body: dict[str, object]
) -> None:
    """Wrong types (strictly), missing, extra, negative or oversized fields: 422, nothing sent."""
    answer = http.post("/addgpu", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["error"] == "ValidationError"
    assert market.listing_count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gpuModel": "", "capacity": 1, "price": 1}, "gpu_model"),
        ({"gpuModel": "A", "capacity": 0, "price": 1}, "capacity"),
        ({"gpuModel": "A", "capacity": 70_000, "price": 1}, "capacity"),
        ({"gpuModel": "A", "capacity": 1, "price": 0}, "price"),
    ],
)
def test_addgpu_rejects_out_of_range(http: TestClient, body: dict[str, object], field: str) -> None:
    """Values the contract would refuse answer 422 naming the field."""
    answer = http.post("/addgpu", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["fields"] == {"field": field}


def test_not_found(http: TestClient) -> None:
    """An unknown listing answers 404 with the error's name and fields."""
    for path in ("/getgpudetailsbyid", "/fulfillrequest", "/fulfilledrequest"):
        answer = http.post(path, json={"listingID": 3}, headers=AUTH)
        assert answer.status_code == 404
        assert answer.json()["error"] == "ListingNotFound"
        assert answer.json()["fields"] == {"listing_id": 3}


def test_state_conflict(http: TestClient) -> None:
    """Making an available listing available answers 409 InvalidStatusTransition."""
    add(http)
    answer = http.post("/fulfilledrequest", json={"listingID": 0}, headers=AUTH)
    assert answer.status_code == 409
    assert answer.json()["error"] == "InvalidStatusTransition"
    assert answer.json()["fields"]["current"] == "AVAILABLE"


def test_not_provider(http: TestClient, market: GPUHubClient) -> None:
    """Changing someone else's listing answers 403 NotListingProvider."""
    market.with_account(market.accounts[1]).create_listing(gpu_model="T4", capacity=16, price=1)
    answer = http.post("/fulfillrequest", json={"listingID": 0}, headers=AUTH)
    assert answer.status_code == 403
    assert answer.json()["error"] == "NotListingProvider"


def test_bad_json_body(http: TestClient) -> None:
    """A body that is not JSON answers 422, on POST and on GET /getgpulist."""
    answer = http.post(
        "/getgpudetailsbyid", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    answer = http.request("GET", "/getgpulist", content=b"{nope")
    assert answer.status_code == 422
    answer = http.request("GET", "/getgpulist", json={"maxPrice": "12"})
    assert answer.status_code == 422
