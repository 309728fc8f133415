"""The statistics routes: JSON equal to gpuhub.analytics, charts as real PNGs, hostile input 4xx."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuhub import GPUHubClient, MarketIndex, PriceUnit, analytics
from gpuhub.api import create_app
from gpuhub.chain import embedded_web3

from .conftest import API_KEY, TestClient
from .test_hostile_fuzz import hostile_text


@pytest.fixture
def traded() -> GPUHubClient:
    """An embedded market: two models, a rental settled and one ended early, time passed."""
    w3 = embedded_web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    market.set_fee(500)
    seller = market.with_account(market.accounts[1])
    seller.create_listing(gpu_model="A100", capacity=80, price=10**15, unit=PriceUnit.HOUR)
    seller.create_listing(gpu_model="H100", capacity=80, price=2**65, unit=PriceUnit.DAY)
    market.rent(0, 2)
    market.rent(1, 1)
    market.chain.advance_time(3 * 3600)
    market.settle(0)
    market.end_rental(1)
    return market


@pytest.fixture
def index(traded: GPUHubClient, database_url: str) -> Iterator[MarketIndex]:
    """A synced index of the market, on SQLite or PostgreSQL."""
    with MarketIndex(traded, database_url) as opened:
        opened.sync()
        yield opened


@pytest.fixture
def http(traded: GPUHubClient, index: MarketIndex) -> TestClient:
    """The API over the market, answering statistics from the index."""
    return TestClient(create_app(traded, api_key=API_KEY, index=index))


def test_models_equal_the_analytics(http: TestClient, index: MarketIndex) -> None:
    """GET /v1/stats/models answers analytics.market's rows, wei as decimal strings."""
    answer = http.get("/v1/stats/models", params={"window": "7d"})
    assert answer.status_code == 200, answer.text
    expected = analytics.market(index, window="7d")
    assert answer.json()["models"] == expected.to_records()
    h100 = next(m for m in answer.json()["models"] if m["model"] == "H100")
    assert h100["ask_median"] == str(2**65 // 24)
    assert answer.json()["window"]["end"] == expected.window[1].isoformat()


def test_prices_by_hour(http: TestClient, index: MarketIndex) -> None:
    """GET /v1/stats/models/{model}/prices?by=hour answers one object per hour."""
    answer = http.get("/v1/stats/models/A100/prices", params={"by": "hour", "window": "1d"})
    assert answer.status_code == 200, answer.text
    expected = analytics.price_history(index, "A100", by="hour", window="1d")
    assert answer.json()["periods"] == expected.to_records()
    assert answer.json()["periods"][-1]["ask_median"] == str(10**15)


def test_earnings_by_listing(http: TestClient, traded: GPUHubClient) -> None:
    """GET /v1/accounts/{address}/earnings?by=listing answers the money per listing."""
    seller = traded.accounts[1]
    answer = http.get(f"/v1/accounts/{seller.lower()}/earnings", params={"by": "listing"})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert [r["listing_id"] for r in rows] == [0, 1]
    assert rows[0]["billed"] == str(2 * 10**15)
    assert rows[0]["fees"] == str(2 * 10**15 * 500 // 10_000)
    assert answer.json()["provider"] == seller


@pytest.mark.parametrize(
    "path",
    [
        "/v1/stats/models",
        "/v1/stats/models/A100/prices",
        "/v1/accounts/0x70997970C51812dc3A010C7d01b50e0d17dc79C8/earnings",
    ],
)
def test_charts_are_real_pngs(http: TestClient, path: str) -> None:
    """?format=png answers image/png that decodes as an image."""
    from matplotlib.image import imread

    answer = http.get(path, params={"format": "png"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    image = imread(io.BytesIO(answer.content), format="png")
    assert image.shape[0] > 100 and image.shape[1] > 100


def test_without_an_index_the_answer_says_how(traded: GPUHubClient) -> None:
    """A server without an index answers 404 NoIndex naming gpuhub serve --index."""
    answer = TestClient(create_app(traded)).get("/v1/stats/models")
    assert answer.status_code == 404
    assert answer.json()["error"] == "NoIndex"
    assert "gpuhub serve --index" in answer.json()["message"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/stats/models", {"window": "forever"}, "window"),
        ("/v1/stats/models", {"window": "0s"}, "window"),
        ("/v1/stats/models", {"end": "253402300800"}, "end"),
        ("/v1/stats/models/A%00B/prices", {}, "model"),
        ("/v1/stats/models/" + "x" * 64 + "%C3%A9/prices", {}, "model"),
        ("/v1/accounts/0x70997970c51812DC3A010C7d01b50e0d17dc79C8/earnings", {}, "address"),
    ],
)
def test_bad_input_is_422_naming_it(
    http: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    """A bad window, too many periods, a model no listing can have, or an address with a wrong
    checksum is a 422 that names the field."""
    answer = http.get(path, params=params)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    named = body["fields"].get("field") or " ".join(
        " ".join(p["loc"]) for p in body["fields"].get("problems", [])
    )
    assert field in named, body


def test_too_many_periods_is_422(http: TestClient, traded: GPUHubClient) -> None:
    """Hours over two months are more periods than one answer holds: 422 naming ``by``."""
    end = traded.chain.now() + 60 * 86400
    answer = http.get(
        "/v1/stats/models/A100/prices", params={"by": "hour", "window": "61d", "end": end}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"]["field"] == "by"
    assert "group by a longer period" in answer.json()["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_statistics_requests_get_no_5xx(http: TestClient, data: st.DataObject) -> None:
    """Control characters, other digits, escaped quotes and huge numbers in every parameter of
    the statistics routes get an answer below 500."""
    from urllib.parse import quote

    path = data.draw(
        st.sampled_from(
            [
                "/v1/stats/models",
                "/v1/stats/models/{}/prices",
                "/v1/accounts/{}/earnings",
            ]
        )
    )
    if "{}" in path:
        path = path.format(quote(data.draw(hostile_text), safe="") or "A100")
    params: dict[str, Any] = {
        name: data.draw(st.one_of(hostile_text, st.sampled_from(["day", "png", "30d", "1h"])))
        for name in ("window", "by", "end", "format")
        if data.draw(st.booleans())
    }
    answer = http.get(path, params=params)
    assert answer.status_code < 500, (path, params, answer.text[:300])
