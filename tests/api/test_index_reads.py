"""A server with an index: reads answered from it, streamed, paged, and in step with its writes."""

from __future__ import annotations

import functools
import pathlib
import warnings
from collections.abc import Iterator

import pytest

from gpuhub import GPUHubClient, MarketIndex, PriceUnit
from gpuhub.api import create_app
from gpuhub.heads import Heads

from .conftest import API_KEY, AUTH

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


def stock(market: GPUHubClient) -> None:
    """Eight listings in every unit, one of them taken off the market."""
    for i, unit in enumerate([PriceUnit.MINUTE, PriceUnit.HOUR, PriceUnit.DAY, PriceUnit.HOUR] * 2):
        market.create_listing(
            gpu_model=f"RTX 40{i}0", capacity=8 * (i + 1), price=(i + 1) * 10**15, unit=unit
        )
    market.fulfill_request(2)


@pytest.fixture
def index(market: GPUHubClient, tmp_path: pathlib.Path) -> Iterator[MarketIndex]:
    """An index of ``market`` in a SQLite file, synced."""
    with MarketIndex(market, f"sqlite:///{tmp_path / 'index.db'}") as found:
        found.sync()
        yield found


@pytest.fixture
def served(market: GPUHubClient, index: MarketIndex) -> Iterator[TestClient]:
    """The running app over ``index``, whose head source never polls on its own (an hour
    apart), so the index moves only when the app makes it."""
    app = create_app(market, api_key=API_KEY, index=index, heads=Heads(market, interval=3600))
    with TestClient(app) as http:
        yield http


def test_a_write_is_in_the_next_search(market: GPUHubClient, served: TestClient) -> None:
    """After a write through the server, the writer's next search already finds it."""
    created = served.post(
        "/v1/listings",
        json={"gpu_model": "H200 NVL", "capacity": 141, "price": "5000000000000"},
        headers=AUTH,
    )
    assert created.status_code == 201
    found = served.get("/v1/listings", params={"q": "model~h200"}).json()
    assert [x["listing_id"] for x in found["items"]] == [created.json()["listing_id"]]


def test_a_status_change_is_in_the_next_read(market: GPUHubClient, served: TestClient) -> None:
    """After the server takes a listing off the market, /getgpulist no longer lists it."""
    market.create_listing(gpu_model="A100", capacity=80, price=10**15)
    served.post(
        "/v1/listings", json={"gpu_model": "L4", "capacity": 24, "price": "1"}, headers=AUTH
    )
    assert served.put("/v1/listings/0/availability", json={"available": False}, headers=AUTH)
    listed = served.get("/getgpulist").json()
    assert [x["listingID"] for x in listed] == [1]


def test_getgpulist_from_the_index_is_the_chains_answer(
    market: GPUHubClient, index: MarketIndex
) -> None:
    """/getgpulist from the index streams the very body the chain's answer has, filters too."""
    stock(market)
    index.sync()
    from_index = TestClient(create_app(market, index=index))
    from_chain = TestClient(create_app(market))
    for body in (None, {"maxPrice": 3 * 10**15}, {"minCapacity": 24, "maxPrice": 10**18}):
        indexed = from_index.request("GET", "/getgpulist", json=body)
        assert indexed.headers["content-type"] == "application/json"
        assert indexed.json() == from_chain.request("GET", "/getgpulist", json=body).json()


def test_getgpulist_pages(market: GPUHubClient, index: MarketIndex) -> None:
    """offset and limit page /getgpulist in id order, from the index and from the chain alike."""
    stock(market)
    index.sync()
    for app in (create_app(market, index=index), create_app(market)):
        page = TestClient(app).get("/getgpulist", params={"offset": 1, "limit": 3}).json()
        assert [x["listingID"] for x in page] == [1, 3, 4]


def test_an_empty_list_streams_as_an_empty_array(market: GPUHubClient, index: MarketIndex) -> None:
    """A filter nothing matches streams ``[]``."""
    stock(market)
    index.sync()
    answer = TestClient(create_app(market, index=index)).get("/getgpulist?maxPrice=0")
    assert (answer.status_code, answer.text) == (200, "[]")


def test_a_listing_not_indexed_yet_is_read_from_the_chain(
    market: GPUHubClient, index: MarketIndex
) -> None:
    """A listing created after the index's last sync is answered from the chain, not 404."""
    http = TestClient(create_app(market, index=index))
    market.create_listing(gpu_model="B200", capacity=192, price=10**16)
    answer = http.get("/v1/listings/0")
    assert (answer.status_code, answer.json()["gpu_model"]) == (200, "B200")
    assert http.post("/getgpudetailsbyid", json={"listingID": 0}).json()["gpuModel"] == "B200"


def test_an_unknown_listing_is_still_404(market: GPUHubClient, index: MarketIndex) -> None:
    """An id neither the index nor the chain knows is a 404 ListingNotFound."""
    answer = TestClient(create_app(market, index=index)).get("/v1/listings/7")
    assert (answer.status_code, answer.json()["error"]) == (404, "ListingNotFound")


def test_search_total_says_when_it_is_a_lower_bound(
    market: GPUHubClient, index: MarketIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the index, a total counted only part of the way says so; exact_total counts all."""
    stock(market)
    index.sync()
    monkeypatch.setattr(
        index, "search", functools.partial(MarketIndex.search, index, count_limit=1)
    )
    http = TestClient(create_app(market, index=index))
    some = http.get("/v1/listings", params={"q": "sort=id", "limit": 2}).json()
    every = http.get("/v1/listings", params={"q": "sort=id", "limit": 2, "exact_total": True})
    assert (some["total"], some["total_exact"]) == (4, False)
    assert (every.json()["total"], every.json()["total_exact"]) == (7, True)


def test_health_shows_the_index_in_step(served: TestClient, market: GPUHubClient) -> None:
    """/health of a running server shows its index followed and at the head."""
    body = served.get("/health").json()
    assert body["status"] == "ok"
    assert body["index"]["following"] is True
    assert (body["index"]["synced_block"], body["index"]["lag_blocks"]) == (
        market.block_number(),
        0,
    )


def test_health_is_degraded_while_the_index_trails(
    market: GPUHubClient, index: MarketIndex
) -> None:
    """An index more than 5 blocks behind the head makes /health say degraded, with the lag."""
    for i in range(7):
        market.create_listing(gpu_model=f"GPU {i}", capacity=8, price=10**15)
    body = TestClient(create_app(market, index=index)).get("/health").json()
    assert (body["status"], body["index"]["behind"], body["index"]["lag_blocks"]) == (
        "degraded",
        True,
        7,
    )
