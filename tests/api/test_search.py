"""GET /v1/listings with the query language, from the chain and from an index."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

from fastapi.testclient import TestClient

from gpuhub import GPUHubClient, MarketIndex, PriceUnit, SearchResult
from gpuhub.api import create_app


def stock(market: GPUHubClient) -> None:
    """Three listings in three units; one of them rented for half an hour (billed 0.0005 ETH),
    ended and rated 5."""
    provider = market.with_account(market.accounts[1])
    renter = market.with_account(market.accounts[2])
    provider.create_listing(gpu_model="RTX 4090", capacity=24, price=10**15, unit=PriceUnit.HOUR)
    provider.create_listing(gpu_model="A100", capacity=80, price=10**14, unit=PriceUnit.MINUTE)
    market.create_listing(gpu_model="rtx 4090 ti", capacity=24, price=10**16, unit=PriceUnit.DAY)
    rental = renter.rent(0, 1)
    market.chain.advance_time(1800)
    renter.end_rental(rental.rental_id)
    renter.rate(rental.rental_id, 5)


def test_query_answers_from_the_chain(http: TestClient, market: GPUHubClient) -> None:
    """q and sort select and order listings; the answer names its normal form and source."""
    stock(market)
    answer = http.get("/v1/listings", params={"q": "model~4090", "sort": "-price_per_hour"})
    assert answer.status_code == 200
    body = answer.json()
    assert [x["listing_id"] for x in body["items"]] == [0, 2]
    assert (body["total"], body["query"], body["source"]) == (
        2,
        "model~4090 sort=-price_per_hour limit=100",
        "chain",
    )


def test_answer_carries_provider_reputations(http: TestClient, market: GPUHubClient) -> None:
    """Each provider in the page comes with its reputation and weighted score."""
    stock(market)
    body = http.get("/v1/listings", params={"q": "rating>3"}).json()
    provider = market.accounts[1]
    assert [x["listing_id"] for x in body["items"]] == [0, 1]
    assert body["reputations"][provider]["provider_rating_count"] == 1
    assert (
        body["reputations"][provider]["provider_score"]
        == market.reputation(provider).provider_score()
    )


def test_bad_query_is_a_422_with_its_position(http: TestClient) -> None:
    """A query that does not parse answers 422 naming the position and the fix."""
    answer = http.get("/v1/listings", params={"q": "capacity>=24 modle~4090"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "QueryError"
    assert body["fields"] == {"field": "query", "position": 13}
    assert "did you mean 'model'" in body["message"]


def test_bad_sort_field_is_a_422(http: TestClient) -> None:
    """An unknown sort field answers 422."""
    answer = http.get("/v1/listings", params={"sort": "prise"})
    assert answer.status_code == 422
    assert "did you mean 'price'" in answer.json()["message"]


def test_index_answers_the_same(market: GPUHubClient, tmp_path: pathlib.Path) -> None:
    """With an index the server answers from it, with the chain's answer."""
    stock(market)
    with MarketIndex(market, f"sqlite:///{tmp_path / 'index.db'}") as index:
        index.sync()
        from_index = TestClient(create_app(market, index=index))
        from_chain = TestClient(create_app(market))
        params = {"q": "status=any capacity>=24", "sort": "-rating,price", "limit": 2}
        indexed = from_index.get("/v1/listings", params=params).json()
        read = from_chain.get("/v1/listings", params=params).json()
    assert indexed["source"] == "index"
    assert indexed["items"] == read["items"]
    assert (indexed["total"], indexed["reputations"]) == (read["total"], read["reputations"])


def test_numbers_past_2_63_from_the_index_are_not_500(
    market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """Numbers past 2**63 in a query answer from the index as from the chain, never 500."""
    stock(market)
    with MarketIndex(market, f"sqlite:///{tmp_path / 'index.db'}") as index:
        index.sync()
        from_index = TestClient(create_app(market, index=index), raise_server_exceptions=False)
        from_chain = TestClient(create_app(market))
        for q in (f"capacity>={2**63}", f"id!={2**64}", f"max_hours<{10**70}", "rating<1e30"):
            indexed = from_index.get("/v1/listings", params={"q": f"status=any {q}"})
            read = from_chain.get("/v1/listings", params={"q": f"status=any {q}"})
            assert indexed.status_code == 200, indexed.text
            assert indexed.json()["items"] == read.json()["items"], q


def test_a_querys_own_sort_and_limit_apply_without_parameters(
    http: TestClient, market: GPUHubClient
) -> None:
    """``sort=`` and ``limit=`` inside ``q`` order and page the answer when the ``sort`` and
    ``limit`` parameters are not given."""
    stock(market)
    body = http.get("/v1/listings", params={"q": "status=any sort=-price limit=2"}).json()
    expected = market.search("status=any sort=-price limit=2")
    assert [x["listing_id"] for x in body["items"]] == [x.listing_id for x in expected.listings]
    assert (body["limit"], body["query"]) == (2, "status=any sort=-price limit=2")


def test_parameters_win_over_the_querys_own_sort_and_limit(
    http: TestClient, market: GPUHubClient
) -> None:
    """The ``sort`` and ``limit`` parameters replace the query's own."""
    stock(market)
    params = {"q": "status=any sort=-price limit=2", "sort": "price", "limit": 3}
    body = http.get("/v1/listings", params=params).json()
    expected = market.search("status=any sort=price limit=3")
    assert [x["listing_id"] for x in body["items"]] == [x.listing_id for x in expected.listings]


def test_a_querys_own_limit_is_held_to_a_page(http: TestClient) -> None:
    """A ``limit=`` inside ``q`` past 1,000 answers a page of at most 1,000, as the parameter
    would."""
    body = http.get("/v1/listings", params={"q": "status=any limit=1000000"}).json()
    assert body["limit"] == 1000


def test_index_and_chain_refuse_bad_parameters_alike(
    market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """With an index, a bad parameter answers the same 422, naming it, as without one."""
    with MarketIndex(market, f"sqlite:///{tmp_path / 'index.db'}") as index:
        index.sync()
        from_index = TestClient(create_app(market, index=index))
        from_chain = TestClient(create_app(market))
        for params in (
            {"limit": "0"},
            {"limit": "ten"},
            {"offset": "-1"},
            {"exact_total": "maybe"},
            {"q": "x" * 2001},
            {"price_unit": "fortnight"},
        ):
            indexed = from_index.get("/v1/listings", params=params)
            read = from_chain.get("/v1/listings", params=params)
            assert indexed.status_code == 422, params
            assert indexed.json() == read.json(), params
            field = next(iter(params))
            assert indexed.json()["fields"]["problems"][0]["loc"] == ["query", field]


def test_index_answers_large_pages_and_exact_totals(
    market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """Pages past 100 listings (by parameter or by the query's own limit) and exact totals
    answer from the index as from the chain."""
    stock(market)
    with MarketIndex(market, f"sqlite:///{tmp_path / 'index.db'}") as index:
        index.sync()
        from_index = TestClient(create_app(market, index=index))
        from_chain = TestClient(create_app(market))
        for params in (
            {"q": "status=any", "limit": "500"},
            {"q": "status=any limit=300 sort=-price"},
            {"q": "status=any", "exact_total": "true"},
        ):
            indexed = from_index.get("/v1/listings", params=params).json()
            read = from_chain.get("/v1/listings", params=params).json()
            assert indexed["source"] == "index"
            assert (indexed["items"], indexed["total"], indexed["limit"]) == (
                read["items"],
                read["total"],
                read["limit"],
            ), params


def test_index_searches_run_off_the_event_loop(
    market: GPUHubClient, tmp_path: pathlib.Path
) -> None:
    """A search from the index runs in a worker thread, so one that no index serves (sorting
    every listing by model) never holds the event loop and the other requests."""
    on_loop: list[bool] = []

    class Recording(MarketIndex):
        def search(self, *args: Any, **kwargs: Any) -> SearchResult:
            try:
                asyncio.get_running_loop()
                on_loop.append(True)
            except RuntimeError:
                on_loop.append(False)
            return super().search(*args, **kwargs)

    stock(market)
    with Recording(market, f"sqlite:///{tmp_path / 'index.db'}") as index:
        index.sync()
        http = TestClient(create_app(market, index=index))
        for params in ({"q": "status=any sort=model"}, {"q": "model~4090", "limit": "5"}):
            assert http.get("/v1/listings", params=params).status_code == 200
    assert on_loop == [False, False]
